"""A request body that the form and the request tests both parse: ``FORM``, multipart with a field and a file."""

from __future__ import annotations

FORM = (
    b"--1234\r\n"
    b'Content-Disposition: form-data; name="title"\r\n\r\n'
    b"hello\r\n"
    b"--1234\r\n"
    b'Content-Disposition: form-data; name="files"; filename="ab.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"Foo\r\n"
    b"--1234--\r\n"
)

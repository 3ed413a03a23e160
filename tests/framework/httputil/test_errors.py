"""Tests for framework/httputil/errors.py: ``HTTPInputError`` carries its status; ``HTTPOutputError`` is apart."""

from __future__ import annotations

from framework.httputil import (
    HTTPInputError,
    HTTPOutputError,
)


def test_input_and_output_errors() -> None:
    error = HTTPInputError("too many parts", 413)
    assert (error.message, error.status, str(error)) == ("too many parts", 413, "too many parts")
    assert HTTPInputError("bad").status == 400
    assert issubclass(HTTPOutputError, Exception) and not issubclass(HTTPOutputError, HTTPInputError)
    assert str(HTTPOutputError("5 body bytes for Content-Length 3")) == "5 body bytes for Content-Length 3"

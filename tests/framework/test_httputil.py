"""``framework.httputil``'s public functions, as Tornado's ``httputil_test`` exercises them."""

from __future__ import annotations

import datetime

import pytest

from framework.httputil import (
    HTTPFile,
    HTTPInputError,
    RequestStartLine,
    ResponseStartLine,
    encode_username_password,
    format_timestamp,
    parse_body_arguments,
    parse_multipart_form_data,
    parse_request_start_line,
    parse_response_start_line,
    split_host_and_port,
    url_concat,
)

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


@pytest.mark.parametrize("boundary", [b"1234", b'"1234"'])
def test_parse_multipart_form_data_fills_arguments_and_files(boundary: bytes) -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_multipart_form_data(boundary, FORM, arguments, files)
    assert arguments == {"title": [b"hello"]}
    upload = files["files"][0]
    assert (upload.filename, upload.content_type, upload.body) == ("ab.txt", "text/plain", b"Foo")


def test_parse_multipart_form_data_refuses_a_truncated_body() -> None:
    with pytest.raises(HTTPInputError):
        parse_multipart_form_data(b"1234", FORM[:-10], {}, {})


def test_parse_multipart_form_data_refuses_a_boundary_with_a_quote() -> None:
    with pytest.raises(HTTPInputError):
        parse_multipart_form_data(b'12"34', FORM, {}, {})


def test_parse_body_arguments_url_encoded_and_multipart() -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_body_arguments("application/x-www-form-urlencoded", b"a=1&a=2&b=", arguments, files)
    assert arguments == {"a": [b"1", b"2"], "b": [b""]}
    parse_body_arguments("multipart/form-data; boundary=1234", FORM, arguments, files)
    assert arguments["title"] == [b"hello"] and files["files"][0].body == b"Foo"


def test_parse_request_start_line() -> None:
    assert parse_request_start_line("GET /foo?a=1 HTTP/1.1") == RequestStartLine("GET", "/foo?a=1", "HTTP/1.1")
    start = parse_request_start_line("POST / HTTP/1.0")
    assert (start.method, start.path, start.version) == ("POST", "/", "HTTP/1.0")


@pytest.mark.parametrize("line", ["GET /foo", "GET /foo HTTP/1.1 extra", "GET /foo HTTP/x", "GET /f\x00o HTTP/1.1", ""])
def test_parse_request_start_line_refuses_malformed_lines(line: str) -> None:
    with pytest.raises(HTTPInputError):
        parse_request_start_line(line)


def test_parse_response_start_line() -> None:
    assert parse_response_start_line("HTTP/1.1 200 OK") == ResponseStartLine("HTTP/1.1", 200, "OK")
    assert parse_response_start_line("HTTP/1.0 404 Not Found") == ResponseStartLine("HTTP/1.0", 404, "Not Found")
    assert parse_response_start_line("HTTP/1.1 204") == ResponseStartLine("HTTP/1.1", 204, "")


@pytest.mark.parametrize("line", ["HTTP/1.1 2000 OK", "HTTP/1.1", "HTTP/x 200 OK", "ICY 200 OK", "HTTP/1.1 200 O\rK"])
def test_parse_response_start_line_refuses_malformed_lines(line: str) -> None:
    with pytest.raises(HTTPInputError):
        parse_response_start_line(line)


def test_encode_username_password() -> None:
    assert encode_username_password("user", "pass") == b"user:pass"
    assert encode_username_password(b"user", "p\u00e4ss") == b"user:p\xc3\xa4ss"


def test_url_concat() -> None:
    assert url_concat("http://example.com/foo", {"c": "d"}) == "http://example.com/foo?c=d"
    assert url_concat("http://example.com/foo?a=b", [("c", "d"), ("c", "d2")]) == "http://example.com/foo?a=b&c=d&c=d2"
    assert url_concat("http://example.com/foo?a=b", None) == "http://example.com/foo?a=b"


def test_format_timestamp_accepts_every_form() -> None:
    expected = "Sun, 27 Jan 2013 18:43:20 GMT"
    ts = 1359312200.503611
    assert format_timestamp(ts) == expected
    assert format_timestamp(datetime.datetime(2013, 1, 27, 18, 43, 20)) == expected
    assert format_timestamp(datetime.datetime(2013, 1, 27, 18, 43, 20, tzinfo=datetime.UTC)) == expected
    assert format_timestamp((2013, 1, 27, 18, 43, 20, 0, 0, 0)) == expected


def test_split_host_and_port() -> None:
    assert split_host_and_port("example.com:8080") == ("example.com", 8080)
    assert split_host_and_port("example.com") == ("example.com", None)
    assert split_host_and_port("[::1]:80") == ("::1", 80)

"""Tests for framework/httputil/startline.py: request and status lines, and ``responses``."""

from __future__ import annotations

import pytest

from framework.httputil import (
    HTTPInputError,
    RequestStartLine,
    ResponseStartLine,
    parse_request_start_line,
    parse_response_start_line,
    responses,
)


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


def test_responses_maps_codes_to_standard_reasons() -> None:
    assert responses[200] == "OK"
    assert responses[404] == "Not Found"
    assert responses[503] == "Service Unavailable"
    assert 599 not in responses  # not a standard code: no made-up reason
    assert all(100 <= code < 600 and reason and reason != "Unknown" for code, reason in responses.items())


def test_start_lines_are_named_tuples() -> None:
    request = RequestStartLine("GET", "/x?y=1", "HTTP/1.1")
    method, path, version = request
    assert (method, path, version) == (request.method, request.path, request.version) == ("GET", "/x?y=1", "HTTP/1.1")
    response = ResponseStartLine("HTTP/1.1", 404, "Not Found")
    assert (response.version, response.code, response.reason) == tuple(response)

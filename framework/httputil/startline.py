"""Request and status lines (Tornado's ``RequestStartLine``, ``ResponseStartLine`` and their parsers), and reason phrases.

The grammar is ``framework.http1``'s; these are the tuples the seam passes.
"""

from __future__ import annotations

from typing import NamedTuple

from framework import http1
from framework.httputil.errors import HTTPInputError

responses: dict[int, str] = {
    code: http1.reason_phrase(code) for code in range(100, 600) if http1.reason_phrase(code) != "Unknown"
}
"""Status code -> standard reason phrase (Tornado's ``httputil.responses``)."""


class RequestStartLine(NamedTuple):
    """The request line: method, target (path and query), version."""

    method: str
    path: str
    version: str


class ResponseStartLine(NamedTuple):
    """The status line: version, code, reason."""

    version: str
    code: int
    reason: str


def parse_request_start_line(line: str) -> RequestStartLine:
    """``"GET /foo HTTP/1.1"`` -> ``RequestStartLine("GET", "/foo", "HTTP/1.1")`` (Tornado's function).

    The grammar is ``framework.http1``'s, so this accepts exactly the request
    lines the server accepts: HTTP/1.0 and HTTP/1.1 only (Tornado takes any
    ``HTTP/1.x``).

    Raises:
        HTTPInputError: the line is malformed.
    """
    try:
        return RequestStartLine(*http1.parse_request_line(line))
    except http1.ProtocolError as exc:
        raise HTTPInputError(f"Malformed HTTP request line: {exc.message}") from None


def parse_response_start_line(line: str) -> ResponseStartLine:
    """``"HTTP/1.1 200 OK"`` -> ``ResponseStartLine("HTTP/1.1", 200, "OK")`` (Tornado's function).

    Raises:
        HTTPInputError: the line is malformed (the client's parser's rule).
    """
    try:
        return ResponseStartLine(*http1.parse_status_line(line, 400))
    except http1.ProtocolError as exc:
        raise HTTPInputError(f"Error parsing response start line: {exc.message}") from None

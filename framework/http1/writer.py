"""Serialising: response and request heads, chunks, and how a response is framed.

Part of the sans-IO ``framework.http1`` package. Names and values are checked
on the way out, so nothing an application sets can split a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from framework.http1.grammar import (
    Headers,
    RequestHead,
    _FORBIDDEN_OUT,
    _REQUEST_TARGET_STR,
    _TOKEN_STR,
    reason_phrase,
    response_has_body,
    validate_header_field,
)


LAST_CHUNK: Final = b"0\r\n\r\n"
"""The chunk that ends a chunked body, with an empty trailer section."""



@dataclass(frozen=True, slots=True)
class ResponseFraming:
    """How a response body is delimited, and whether the connection stays open.

    Attributes:
        has_body: False for HEAD, 1xx, 204 and 304 (RFC 9110 6.4.1).
        chunked: the body is sent with chunked transfer coding.
        length: body bytes promised by Content-Length (0 without a body);
            None when the body is chunked or ends when the connection closes.
        keep_alive: the connection may carry another request afterwards.
        extra_headers: framing headers to add (Transfer-Encoding, Connection).
    """

    has_body: bool
    chunked: bool
    length: int | None
    keep_alive: bool
    extra_headers: Headers


def frame_response(
    request: RequestHead,
    status: int,
    *,
    content_length: str | None,
    transfer_encoding: str | None,
    connection: str | None,
    keep_alive: bool,
) -> ResponseFraming:
    """Decide a response's framing from the request and the headers the application set.

    RFC 9112 6.3 and 9.3: a known length is sent as is; otherwise HTTP/1.1
    gets chunked coding and HTTP/1.0 a body that ends with the connection.
    ``keep_alive`` is the server's own wish (False while draining, or when the
    request body was not read); the request's and the response's
    ``Connection`` can only turn it off.

    Raises:
        ValueError: ``content_length`` is not a non-negative integer.
    """
    has_body = response_has_body(status, request.method)
    extra: Headers = []
    keep = keep_alive and request.keep_alive and "close" not in (connection or "").lower()
    chunked = False
    length: int | None = None
    if content_length is not None:
        if not content_length.isdigit() or not content_length.isascii():
            raise ValueError(f"invalid Content-Length {content_length!r}")
        length = int(content_length) if has_body else 0
    elif not has_body:
        length = 0
    elif transfer_encoding is None:
        if request.version == "HTTP/1.1":
            chunked = True
            extra.append(("Transfer-Encoding", "chunked"))
        else:
            keep = False  # HTTP/1.0: the body ends when the connection closes
    if keep:
        if request.version == "HTTP/1.0":
            extra.append(("Connection", "keep-alive"))
    elif connection is None:
        extra.append(("Connection", "close"))
    return ResponseFraming(has_body, chunked, length, keep, extra)


def serialize_response_head(
    status: int,
    headers: Headers,
    *,
    reason: str | None = None,
    version: str = "HTTP/1.1",
) -> bytes:
    """Render a status line and header block, ending with the blank line.

    Raises:
        ValueError: a header name is not a token, or a name, value or reason
            holds CR, LF or NUL.
    """
    if reason is None:
        reason = reason_phrase(status)
    elif _FORBIDDEN_OUT.search(reason):
        raise ValueError(f"unsafe reason phrase {reason!r}")
    return _render_head(f"{version} {status} {reason}\r\n", headers)


def _render_head(start_line: str, headers: Headers) -> bytes:
    """Join a start line and fields, refusing any name or value that could split them.

    Validated as a whole (speed: one check per response, not per field): the
    names joined must be one token, and the block may hold exactly one CR
    and one LF per line and no NUL. Only when that fails is each field
    looked at, to name the culprit.
    """
    block = start_line + "".join([f"{name}: {value}\r\n" for name, value in headers]) + "\r\n"
    lines = len(headers) + 2
    names = "".join([name for name, _ in headers])
    if (
        block.count("\n") != lines
        or block.count("\r") != lines
        or "\x00" in block
        or (names and not _TOKEN_STR.fullmatch(names))
        or not all(name for name, _ in headers)
    ):
        for name, value in headers:
            validate_header_field(name, value)
    return block.encode("latin-1")


def serialize_request_head(method: str, target: str, headers: Headers) -> bytes:
    """Render a request line and header block for the client.

    Raises:
        ValueError: the method is not a token, the target holds spaces or
            controls, or a header is unsafe.
    """
    if not _TOKEN_STR.fullmatch(method):
        raise ValueError(f"invalid method {method!r}")
    if not _REQUEST_TARGET_STR.fullmatch(target):
        raise ValueError(f"invalid request target {target!r}")
    return _render_head(f"{method} {target} HTTP/1.1\r\n", headers)


def encode_chunk(data: bytes) -> bytes:
    """Frame ``data`` as one chunk; empty data yields nothing (it would end the body)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)

"""Running the parsers of ``framework.http1`` over bytes, so tests state input and expectation as data.

``events(data)`` is what a server pulls from a ``RequestParser`` fed ``data``;
``serve(pieces)`` plays the server's loop (``start_next()`` after each message)
over bytes that arrive in pieces; ``Body`` events are merged before comparing
(``merge_bodies``), because where a body is cut depends only on how the bytes
arrived. ``head()`` builds the ``RequestHead`` a test expects, and the
constants are requests (and their events) that several test files share.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest

from framework.http1 import (
    NEED_DATA,
    PAUSED,
    Body,
    EndOfMessage,
    Event,
    Limits,
    ProtocolError,
    RequestHead,
    RequestParser,
    ResponseParser,
)


def merge_bodies(seen: Iterable[Event]) -> list[Event]:
    """Join consecutive ``Body`` events, so bodies compare as one value."""
    out: list[Event] = []
    for event in seen:
        if isinstance(event, Body) and out and isinstance(out[-1], Body):
            out[-1] = Body(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def drain(parser: RequestParser | ResponseParser) -> tuple[list[Event], Event]:
    """Pull events until ``NEED_DATA`` or ``PAUSED``; return them and that sentinel."""
    seen: list[Event] = []
    while True:
        event = parser.next_event()
        if event is NEED_DATA or event is PAUSED:
            return merge_bodies(seen), event
        seen.append(event)


def events(data: bytes, limits: Limits | None = None, *, eof: bool = False) -> list[Event]:
    """The events of one request stream fed at once, up to the first pause."""
    parser = RequestParser(limits)
    parser.feed(data)
    if eof:
        parser.feed_eof()
    return drain(parser)[0]


def serve(pieces: Iterable[bytes], limits: Limits | None = None) -> list[Event]:
    """Feed ``pieces`` one after another, answering each request as soon as it is complete."""
    parser = RequestParser(limits)
    seen: list[Event] = []
    for piece in pieces:
        parser.feed(piece)
        while True:
            more, stop = drain(parser)
            seen += more
            if stop is not PAUSED:
                break
            parser.start_next()
    return merge_bodies(seen)


def response_events(data: bytes, method: str = "GET", limits: Limits | None = None, *, eof: bool = False) -> list[Event]:
    """The events of one response to ``method``, fed at once."""
    parser = ResponseParser(limits)
    parser.start_response(method)
    parser.feed(data)
    if eof:
        parser.feed_eof()
    return drain(parser)[0]


def request_error(data: bytes, limits: Limits | None = None, *, eof: bool = False) -> ProtocolError:
    """The ``ProtocolError`` a request stream raises."""
    with pytest.raises(ProtocolError) as info:
        events(data, limits, eof=eof)
    return info.value


def response_error(data: bytes, method: str = "GET", limits: Limits | None = None, *, eof: bool = False) -> ProtocolError:
    """The ``ProtocolError`` a response stream raises."""
    with pytest.raises(ProtocolError) as info:
        response_events(data, method, limits, eof=eof)
    return info.value


def head(
    method: str = "GET",
    target: str = "/",
    headers: list[tuple[str, str]] | None = None,
    *,
    version: str = "HTTP/1.1",
    keep_alive: bool = True,
    expect_continue: bool = False,
    chunked: bool = False,
    content_length: int | None = None,
) -> RequestHead:
    """A ``RequestHead`` with the defaults of a plain HTTP/1.1 GET."""
    return RequestHead(
        method,
        target,
        version,
        [("Host", "a")] if headers is None else headers,
        keep_alive=keep_alive,
        expect_continue=expect_continue,
        chunked=chunked,
        content_length=content_length,
    )


GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
POST = b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = (
    b"PUT /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;name=value\r\nhello\r\n"
    b'6 ; quoted="x;y" ; flag\r\n world\r\n'
    b"0;last\r\nChecksum: abc\r\nx-trailer-two: 2\r\n\r\n"
)
# Heads that tests complete with a body, or with an error.
CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
LENGTH_HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n"
CODING_HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: %s\r\n\r\n"

GET_EVENTS: list[Event] = [head(), EndOfMessage()]
POST_EVENTS: list[Event] = [
    head("POST", "/form", [("Host", "a"), ("Content-Length", "5")], content_length=5),
    Body(b"hello"),
    EndOfMessage(),
]
CHUNKED_EVENTS: list[Event] = [
    head("PUT", "/up", [("Host", "a"), ("Transfer-Encoding", "chunked")], chunked=True),
    Body(b"hello world"),
    EndOfMessage([("Checksum", "abc"), ("x-trailer-two", "2")]),
]


# Limits small enough that short inputs reach each of them.
SMALL = Limits(
    max_header_bytes=200,
    max_body_bytes=10,
    max_target_bytes=20,
    max_headers=3,
    max_chunk_line_bytes=32,
    max_trailer_bytes=40,
)


def split_at(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    bounds = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]

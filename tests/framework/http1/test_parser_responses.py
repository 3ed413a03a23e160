"""Tests for framework/http1/parser.py's ``ResponseParser``: the client's side, bytes in, events out.

Status lines, interim 100 responses, bodies by Content-Length, chunked and
until close, responses that never have a body, keep-alive, errors (502 for a
response that cannot be trusted), and responses split anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.http1 import (
    NEED_DATA,
    PAUSED,
    Body,
    EndOfMessage,
    Event,
    ResponseHead,
    ResponseParser,
)
from tests.framework.http1.parsing import (
    SMALL,
    drain,
    merge_bodies,
    response_error,
    response_events,
    split_at,
)

RESPONSES = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET"),
    (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        "POST",
    ),
    (b"HTTP/1.1 204 No Content\r\n\r\n", "DELETE"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", "HEAD"),
]


def client(pieces: Iterable[bytes], methods: list[str]) -> list[Event]:
    """Feed ``pieces`` to a ``ResponseParser``, starting each response in turn."""
    parser = ResponseParser()
    queue = iter(methods)
    parser.start_response(next(queue))
    seen: list[Event] = []
    for piece in pieces:
        parser.feed(piece)
        while True:
            more, stop = drain(parser)
            seen += more
            if stop is not PAUSED:
                break
            parser.start_response(next(queue))
    return merge_bodies(seen)


@settings(deadline=None, max_examples=150)
@given(st.data())
def test_responses_split_anywhere_give_the_same_events(data: st.DataObject) -> None:
    exchange = data.draw(st.lists(st.sampled_from(RESPONSES), min_size=1, max_size=4))
    stream = b"".join(r for r, _ in exchange)
    methods = [m for _, m in exchange] + ["GET"]
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=30))
    assert client(split_at(stream, cuts), methods) == client([stream], methods)


# -- ResponseParser -----------------------------------------------------------


def test_response_with_content_length() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Case: Kept\r\n\r\nhello"
    assert response_events(data) == [
        ResponseHead(200, "OK", "HTTP/1.1", [("Content-Length", "5"), ("X-Case", "Kept")], keep_alive=True),
        Body(b"hello"),
        EndOfMessage(),
    ]


@pytest.mark.parametrize(
    ("status_line", "status", "reason"),
    [
        (b"HTTP/1.1 404 Not Found", 404, "Not Found"),
        (b"HTTP/1.1 200 Very  Fine Indeed", 200, "Very  Fine Indeed"),
        (b"HTTP/1.1 200 ", 200, ""),
        (b"HTTP/1.1 200", 200, ""),  # missing SP before the empty reason: tolerated
        (b"HTTP/1.1 599 Caf\xe9", 599, "Caf\xe9"),
        (b"HTTP/1.0 200 OK", 200, "OK"),
    ],
)
def test_status_lines(status_line: bytes, status: int, reason: str) -> None:
    first = response_events(status_line + b"\r\nContent-Length: 0\r\n\r\n")[0]
    assert isinstance(first, ResponseHead)
    assert (first.status, first.reason, first.version) == (status, reason, status_line[:8].decode())


def test_interim_100_continue_then_final_response() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    assert response_events(data, "POST") == [
        ResponseHead(100, "Continue", "HTTP/1.1", [], keep_alive=True),
        ResponseHead(200, "OK", "HTTP/1.1", [("Content-Length", "2")], keep_alive=True),
        Body(b"ok"),
        EndOfMessage(),
    ]


def test_interim_response_waits_for_the_final_one() -> None:
    parser = ResponseParser()
    parser.start_response("POST")
    parser.feed(b"HTTP/1.1 100 Continue\r\n\r\n")
    interim = ResponseHead(100, "Continue", "HTTP/1.1", [], keep_alive=True)
    assert drain(parser) == ([interim], NEED_DATA)
    parser.feed(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert drain(parser) == (
        [ResponseHead(204, "No Content", "HTTP/1.1", [], keep_alive=True), EndOfMessage()],
        PAUSED,
    )


def test_chunked_response_with_trailers() -> None:
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n"
    assert response_events(data) == [
        ResponseHead(200, "OK", "HTTP/1.1", [("Transfer-Encoding", "chunked")], keep_alive=True),
        Body(b"hello!"),
        EndOfMessage([("T", "v")]),
    ]


def test_response_body_until_close() -> None:
    parser = ResponseParser()
    parser.start_response("GET")
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome")
    assert drain(parser) == (
        [
            ResponseHead(200, "OK", "HTTP/1.1", [("Content-Type", "text/plain")], keep_alive=False),
            Body(b"some"),
        ],
        NEED_DATA,
    )
    parser.feed(b" more")
    assert drain(parser) == ([Body(b" more")], NEED_DATA)
    parser.feed_eof()
    assert drain(parser) == ([EndOfMessage()], PAUSED)


def test_response_body_until_close_over_the_limit_is_413() -> None:
    assert response_error(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 11, limits=SMALL).status == 413


def test_response_content_length_over_the_limit_is_413() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"
    assert response_error(data, limits=SMALL).status == 413


@pytest.mark.parametrize(
    ("status_line", "method"),
    [
        (b"HTTP/1.1 200 OK", "HEAD"),
        (b"HTTP/1.1 204 No Content", "GET"),
        (b"HTTP/1.1 304 Not Modified", "GET"),
    ],
)
def test_responses_without_a_body(status_line: bytes, method: str) -> None:
    """The Content-Length describes what the body would be; the next response follows at once."""
    parser = ResponseParser()
    parser.start_response(method)
    parser.feed(status_line + b"\r\nContent-Length: 5\r\n\r\n")
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    seen, stop = drain(parser)
    assert stop is PAUSED
    assert [type(e) for e in seen] == [ResponseHead, EndOfMessage]
    assert isinstance(seen[0], ResponseHead) and seen[0].keep_alive is True
    parser.start_response("GET")
    assert drain(parser) == (
        [
            ResponseHead(200, "OK", "HTTP/1.1", [("Content-Length", "5")], keep_alive=True),
            Body(b"hello"),
            EndOfMessage(),
        ],
        PAUSED,
    )


def test_head_response_with_chunked_encoding_has_no_body() -> None:
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert response_events(data, "head")[1:] == [EndOfMessage()]


def test_start_response_reuses_the_parser_for_keep_alive() -> None:
    first = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
    second = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n"
    parser = ResponseParser()
    assert parser.next_event() is PAUSED  # nothing asked yet
    parser.start_response("GET")
    parser.feed(first + second)
    assert drain(parser) == (
        [
            ResponseHead(200, "OK", "HTTP/1.1", [("Content-Length", "1")], keep_alive=True),
            Body(b"a"),
            EndOfMessage(),
        ],
        PAUSED,
    )
    assert parser.buffered == len(second)
    parser.start_response("POST")
    assert drain(parser)[0][1:] == [Body(b"b"), EndOfMessage()]


def test_start_response_during_a_response_is_a_bug() -> None:
    parser = ResponseParser()
    parser.start_response("GET")
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe")
    drain(parser)
    with pytest.raises(RuntimeError):
        parser.start_response("GET")


@pytest.mark.parametrize(
    ("version", "connection", "content_length", "keep_alive"),
    [
        ("HTTP/1.1", None, True, True),
        ("HTTP/1.1", "close", True, False),
        ("HTTP/1.1", None, False, False),  # body until close
        ("HTTP/1.0", None, True, False),
        ("HTTP/1.0", "keep-alive", True, True),
        ("HTTP/1.0", "keep-alive", False, False),
    ],
)
def test_response_keep_alive(version: str, connection: str | None, content_length: bool, keep_alive: bool) -> None:
    data = f"{version} 200 OK\r\n".encode()
    if connection is not None:
        data += f"Connection: {connection}\r\n".encode()
    if content_length:
        data += b"Content-Length: 0\r\n"
    first = response_events(data + b"\r\n")[0]
    assert isinstance(first, ResponseHead) and first.keep_alive is keep_alive


@pytest.mark.parametrize(
    "status_line",
    [
        b"HTTP/1.1 20 OK",
        b"HTTP/1.1 2000 OK",
        b"HTTP/1.1 abc OK",
        b"HTTP/1.1",
        b"HTTP/1.1  200 OK",
        b"HTTP/1.1 -20 OK",
        b"ICY 200 OK",
        b"HTTP/1.10 200 OK",
        b"http/1.1 200 OK",
        b"HTTP/2.0 200 OK",
        b"HTTP/0.9 200 OK",
        b"<html>",
    ],
)
def test_malformed_status_line_is_502(status_line: bytes) -> None:
    assert response_error(status_line + b"\r\nContent-Length: 0\r\n\r\n").status == 502


def test_response_with_length_and_chunked_is_502() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert response_error(data).status == 502


@pytest.mark.parametrize(
    "data",
    [b"", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"],
    ids=["no-response", "inside-head", "inside-body"],
)
def test_response_eof_too_early_is_an_error(data: bytes) -> None:
    response_error(data, eof=True)

"""Tests for framework/http1connection/ over real sockets: keep-alive, pipelining, response framing.

Which responses keep the connection (HTTP/1.1, HTTP/1.0, ``Connection:
close``, ``no_keep_alive``), pipelined requests answered in order, how a
response is framed (chunked, until close, no body for HEAD/204/304), write flow
control, and the header checks of ``write_headers``. The same protocol on a
fake transport: ``test_protocol.py`` beside this file.

Every test runs its own server on an ephemeral port of 127.0.0.1, with the
application it exercises declared right beside it: a plain ``handle(request)``
callable (Tornado's simplest ``HTTPServer`` use) or an
``HTTPServerConnectionDelegate`` when the test needs the streaming seam. The
clients are raw asyncio streams (``tests/framework/harness.py``), so hostile
input is written byte for byte and responses are read as bytes, without
trusting the framework's own parser.

Rules kept throughout: every test is bounded (``async_test`` wraps it in
``wait_for``); timeouts are configured short (0.2 s) and only their effect is
asserted (the connection closed, the response arrived), never a duration; every
socket, server and loop is closed before the test ends (warnings are errors).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable

import pytest

from framework.httputil import (
    HTTPHeaders,
    HTTPServerRequest,
    ResponseStartLine,
)
from tests.framework.harness import (
    async_test,
    connect,
    get,
    is_closed,
    post,
    read_response,
    respond,
    serving,
)

# -- keep-alive ------------------------------------------------------------------


@async_test
async def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    seen_connections: list[object] = []

    def handle(request: HTTPServerRequest) -> None:
        seen_connections.append(request.server_connection)
        respond(request.connection, request.path.encode())

    async with serving(handle) as (server, port), connect(port) as (reader, writer):
        for path in ("/one", "/two", "/three"):
            writer.write(get(path))
            response = await read_response(reader)
            assert (response.version, response.code, response.body) == ("HTTP/1.1", 200, path.encode())
            assert "connection" not in response.headers
        assert len(set(map(id, seen_connections))) == 1
        assert server.stats.open == 1


@async_test
async def test_http10_closes_by_default() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"old")

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(get(version="HTTP/1.0"))
        response = await read_response(reader)
        assert (response.code, response.body) == (200, b"old")
        assert response.headers["connection"].lower() == "close"
        assert await is_closed(reader)


@async_test
async def test_http10_keeps_alive_when_asked() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, request.path.encode())

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        for path in ("/a", "/b"):
            writer.write(get(path, version="HTTP/1.0", headers="Connection: keep-alive\r\n"))
            response = await read_response(reader)
            assert (response.code, response.body) == (200, path.encode())
            assert response.headers["connection"].lower() == "keep-alive"


@async_test
async def test_connection_close_from_client_closes_after_the_response() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"bye")

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(get(headers="Connection: close\r\n"))
        response = await read_response(reader)
        assert (response.code, response.body) == (200, b"bye")
        assert response.headers["connection"].lower() == "close"
        assert await is_closed(reader)


@async_test
async def test_no_keep_alive_server_closes_after_each_response() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"once")

    async with serving(handle, no_keep_alive=True) as (_, port), connect(port) as (reader, writer):
        writer.write(get())
        response = await read_response(reader)
        assert response.headers["connection"].lower() == "close"
        assert await is_closed(reader)


# -- pipelining --------------------------------------------------------------------


@async_test
async def test_pipelined_requests_are_answered_in_order() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, request.path.encode())

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(get("/1") + get("/2") + get("/3"))
        bodies = [(await read_response(reader)).body for _ in range(3)]
        assert bodies == [b"/1", b"/2", b"/3"]


@async_test
async def test_pipelined_requests_answered_asynchronously_keep_their_order() -> None:
    delays = {"/slow": 0.05, "/instant": 0.0, "/medium": 0.02}
    started: list[str] = []

    async def handle(request: HTTPServerRequest) -> None:
        started.append(request.path)
        await asyncio.sleep(delays[request.path])
        respond(request.connection, request.path.encode())

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(get("/slow") + get("/instant") + get("/medium"))
        bodies = [(await read_response(reader)).body for _ in range(3)]
        assert bodies == [b"/slow", b"/instant", b"/medium"]
        assert started == ["/slow", "/instant", "/medium"]


@async_test
async def test_a_pipelined_request_starts_after_the_code_that_finished_the_previous_one() -> None:
    # A response finished from a task (a long poll, an async handler) runs its
    # own code after connection.finish(): a handler's access log and
    # on_finish(). The next pipelined request waits for it to return.
    events: list[str] = []

    def answer(request: HTTPServerRequest) -> None:
        respond(request.connection, request.path.encode())
        events.append(f"after finish {request.path}")

    async def answer_later(request: HTTPServerRequest) -> None:
        await asyncio.sleep(0)
        answer(request)

    def handle(request: HTTPServerRequest) -> Awaitable[None] | None:  # the first from a task, the next at once
        events.append(f"start {request.path}")
        if request.path == "/1":
            return answer_later(request)
        answer(request)
        return None

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(get("/1") + get("/2"))
        assert [(await read_response(reader)).body for _ in range(2)] == [b"/1", b"/2"]
    assert events == ["start /1", "after finish /1", "start /2", "after finish /2"], events


@async_test
async def test_a_connection_the_application_closed_stays_closed_though_requests_were_pipelined(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The client's next request is unread, so the close lingers (its sending
    # side shut): what the handler still writes is dropped, quietly, and the
    # pipelined request is never started.
    started: list[str] = []

    def handle(request: HTTPServerRequest) -> None:
        started.append(request.path)
        conn = request.connection
        conn.close()
        respond(conn, b"too late")

    with caplog.at_level(logging.ERROR):
        async with serving(handle) as (_, port), connect(port) as (reader, writer):
            writer.write(get("/1") + get("/2"))
            assert await reader.read() == b""
    assert started == ["/1"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@async_test
async def test_pipelined_requests_with_bodies() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, request.method.encode() + b":" + request.body)

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        chunked = b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        writer.write(post("/a", b"first") + get("/b") + chunked)
        bodies = [(await read_response(reader)).body for _ in range(3)]
        assert bodies == [b"POST:first", b"GET:", b"POST:abc"]


# -- response framing --------------------------------------------------------------------


def stream_three_chunks(request: HTTPServerRequest) -> None:
    """Headers without Content-Length, then the body in several writes."""
    conn = request.connection
    conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Type": "text/plain"}))
    for piece in (b"hello", b" ", b"world"):
        conn.write(piece)
    conn.finish()


@async_test
async def test_response_without_length_is_chunked_on_http11() -> None:
    async with serving(stream_three_chunks) as (_, port), connect(port) as (reader, writer):
        writer.write(get() + get())
        for _ in range(2):  # the connection stays usable after a chunked body
            response = await read_response(reader)
            assert response.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in response.headers
            assert response.raw_body == b"5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
            assert response.body == b"hello world"


@async_test
async def test_response_without_length_on_http10_is_delimited_by_close() -> None:
    async with serving(stream_three_chunks) as (_, port), connect(port) as (reader, writer):
        writer.write(get(version="HTTP/1.0", headers="Connection: keep-alive\r\n"))
        response = await read_response(reader)  # no length: reads until the server closes
        assert response.code == 200
        assert "transfer-encoding" not in response.headers
        assert response.headers["connection"].lower() == "close"
        assert response.body == b"hello world"


@pytest.mark.parametrize(("method", "code"), [("HEAD", 200), ("GET", 204), ("GET", 304)])
@async_test
async def test_bodyless_responses_have_no_body_or_chunk_framing(method: str, code: int) -> None:
    def handle(request: HTTPServerRequest) -> None:
        if request.path == "/next":
            respond(request.connection, b"next")
            return
        request.connection.write_headers(ResponseStartLine("HTTP/1.1", code, ""), HTTPHeaders())
        request.connection.finish()

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(f"{method} / HTTP/1.1\r\nHost: t\r\n\r\n".encode() + get("/next"))
        response = await read_response(reader, method=method)
        assert response.code == code
        assert "transfer-encoding" not in response.headers
        # Had any body or "0\r\n\r\n" been written, this would not parse as the next response.
        following = await read_response(reader)
        assert (following.code, following.body) == (200, b"next")


@async_test
async def test_head_response_keeps_content_length_but_drops_the_body() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"would-be-body")

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/"))
        head = await read_response(reader, method="HEAD")
        assert head.headers["content-length"] == "13"
        following = await read_response(reader)
        assert following.body == b"would-be-body"


@async_test
async def test_large_response_with_write_flow_control() -> None:
    payload = random.Random(1).randbytes(4 * 1024 * 1024)
    buffered: list[int] = []

    async def handle(request: HTTPServerRequest) -> None:
        conn = request.connection
        await conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders())
        for i in range(0, len(payload), 64 * 1024):
            await conn.write(payload[i : i + 64 * 1024])
            transport = request.server_connection.transport  # type: ignore[attr-defined]
            if transport is not None:
                buffered.append(transport.get_write_buffer_size())
        conn.finish()

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(get())
        await asyncio.sleep(0.05)  # let the server fill the socket buffers and pause
        response = await read_response(reader)
        assert hashlib.sha256(response.body).digest() == hashlib.sha256(payload).digest()
        assert max(buffered) < 1024 * 1024  # awaiting write() kept the server's buffer small


@async_test
async def test_pipelining_client_that_never_reads_does_not_grow_server_buffers() -> None:
    # 2,000 pipelined requests for 16 KB each would be 32 MB of responses. A
    # server that keeps answering while its write buffer is over the high-water
    # mark holds all of it in memory for a client that is not reading.
    payload = b"x" * 16 * 1024

    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, payload)

    async with serving(handle) as (server, port), connect(port) as (reader, writer):
        count = 2000
        writer.write(get() * count)
        await writer.drain()
        for _ in range(20):
            await asyncio.sleep(0.01)
        (conn,) = server.state.connections
        assert conn.transport is not None
        assert conn.transport.get_write_buffer_size() < 4 * 1024 * 1024
        for _ in range(count):  # and everything is still answered once the client reads
            assert (await read_response(reader)).body == payload


# -- write_headers validation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Bad", "a\r\nSet-Cookie: evil=1"),
        ("X-Bad", "a\nb"),
        ("X-Bad", "a\rb"),
        ("X-Bad", "a\x00b"),
        ("X Bad", "ok"),
        ("X-Bad\r\nEvil", "ok"),
    ],
)
@async_test
async def test_unsafe_header_raises_and_writes_nothing(name: str, value: str) -> None:
    errors: list[Exception] = []

    def handle(request: HTTPServerRequest) -> None:
        try:
            # No Content-Length: this first attempt would have been chunked.
            request.connection.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({name: value}), b"unsafe")
        except ValueError as exc:
            errors.append(exc)
        respond(request.connection, b"safe")

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(get("/1") + get("/2"))
        for _ in range(2):
            response = await read_response(reader)
            assert (response.code, response.body) == (200, b"safe")
            assert response.raw_body == b"safe"
            assert "transfer-encoding" not in response.headers
            assert all(n.lower() not in ("x-bad", "set-cookie") for n, _ in response.header_list)
        assert len(errors) == 2 and all(isinstance(e, ValueError) for e in errors)


@async_test
async def test_unsafe_reason_phrase_raises() -> None:
    errors: list[Exception] = []

    def handle(request: HTTPServerRequest) -> None:
        try:
            request.connection.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK\r\nX-Evil: 1"), HTTPHeaders())
        except ValueError as exc:
            errors.append(exc)
        respond(request.connection, b"safe")

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(get())
        response = await read_response(reader)
        assert (response.reason, response.body) == ("OK", b"safe")
        assert len(errors) == 1

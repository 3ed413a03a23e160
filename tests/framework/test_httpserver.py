"""Tests for framework/httpserver.py: the HTTP/1.1 server over real sockets.

Every test runs its own server on an ephemeral port of 127.0.0.1, with the
application it exercises declared right beside it: a plain ``handle(request)``
callable (Tornado's simplest ``HTTPServer`` use) or an
``HTTPServerConnectionDelegate`` when the test needs the streaming seam. The
clients are raw asyncio streams, so hostile input is written byte for byte and
responses are read as bytes, without trusting the framework's own parser.

Rules kept throughout: every test is bounded (``async_test`` wraps it in
``wait_for``); timeouts are configured short (0.2 s) and only their effect is
asserted (the connection closed, the response arrived), never a duration; every
socket, server and loop is closed before the test ends (warnings are errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import logging
import random
import resource
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import pytest

from framework import httpserver
from framework.httpserver import DrainReport, HTTPServer, ServerStats
from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from framework.ioloop import IOLoop

TEST_TIMEOUT = 20.0  # seconds; pytest-timeout (60 s) is the outer bound
READ_TIMEOUT = 5.0  # seconds a client waits for bytes that must come


# -- harness -------------------------------------------------------------------


def async_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in a fresh event loop, bounded in time."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), TEST_TIMEOUT))

    return wrapper


@contextlib.asynccontextmanager
async def serving(app: Any, **kwargs: Any) -> AsyncIterator[tuple[HTTPServer, int]]:
    """A server for ``app`` on an ephemeral port; stopped and drained afterwards."""
    server = HTTPServer(app, **kwargs)
    server.listen(0, "127.0.0.1")
    port = server.sockets[0].getsockname()[1]
    await asyncio.sleep(0)  # let the create_server task run
    try:
        yield server, port
    finally:
        server.stop()
        await server.close_all_connections()


@contextlib.asynccontextmanager
async def connect(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclasses.dataclass
class Response:
    version: str
    code: int
    reason: str
    header_list: list[tuple[str, str]]
    body: bytes
    raw_body: bytes  # as framed on the wire (chunked framing included)

    @property
    def headers(self) -> dict[str, str]:
        """Lower-cased names; a repeated name keeps its last value."""
        return {name.lower(): value for name, value in self.header_list}


async def read_response(reader: asyncio.StreamReader, *, method: str = "GET") -> Response:
    """Read one response, framed as RFC 9112 6.3 says (a deliberately small client)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
    lines = head[:-4].decode("latin-1").split("\r\n")
    version, code_text, reason = (lines[0].split(" ", 2) + [""])[:3]
    code = int(code_text)
    pairs = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        pairs.append((name, value.strip()))
    response = Response(version, code, reason, pairs, b"", b"")
    headers = response.headers
    if method == "HEAD" or code < 200 or code in (204, 304):
        return response
    if headers.get("transfer-encoding", "").lower() == "chunked":
        raw = bytearray()
        body = bytearray()
        while True:
            size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), READ_TIMEOUT)
            raw += size_line
            size = int(size_line.split(b";")[0], 16)
            data = await asyncio.wait_for(reader.readexactly(size + 2), READ_TIMEOUT)
            raw += data
            assert data.endswith(b"\r\n")
            if size == 0:
                break
            body += data[:-2]
        response.body, response.raw_body = bytes(body), bytes(raw)
    elif "content-length" in headers:
        response.body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), READ_TIMEOUT)
        response.raw_body = response.body
    else:
        response.body = await read_to_eof(reader)
        response.raw_body = response.body
    return response


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes; fails the test if it does not close."""
    return await asyncio.wait_for(reader.read(), READ_TIMEOUT)


async def is_closed(reader: asyncio.StreamReader) -> bool:
    """True when the server has closed (or reset) the connection with nothing more to send."""
    try:
        return await read_to_eof(reader) == b""
    except ConnectionResetError:
        return True


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate()`` holds (bounded), polling the loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READ_TIMEOUT
    while not predicate():
        assert loop.time() < deadline, "condition never became true"
        await asyncio.sleep(0.005)


def get(path: str = "/", *, version: str = "HTTP/1.1", headers: str = "") -> bytes:
    host = "Host: test\r\n" if version == "HTTP/1.1" else ""
    return f"GET {path} {version}\r\n{host}{headers}\r\n".encode("latin-1")


def post(path: str, body: bytes, *, headers: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    return head.encode("latin-1") + body


def respond(conn: HTTPConnection, body: bytes = b"", *, code: int = 200, headers: dict[str, str] | None = None) -> None:
    """Answer with a Content-Length body in one write, then finish."""
    fields = HTTPHeaders({"Content-Length": str(len(body)), **(headers or {})})
    conn.write_headers(ResponseStartLine("HTTP/1.1", code, ""), fields, body)
    conn.finish()


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
            request.connection.write_headers(
                ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({name: value}), b"unsafe"
            )
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


# -- bad input: answered, then closed --------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "server_kwargs", "status", "delegate_saw_head"),
    [
        pytest.param(b"GARBAGE\r\n\r\n", {}, 400, False, id="malformed-request-line"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", {}, 400, False, id="malformed-header"),
        pytest.param(b"GET / HTTP/1.1\r\n\r\n", {}, 400, False, id="http11-without-host"),
        pytest.param(b"GET / HTTP/1.1\nHost: t\n\n", {}, 400, False, id="bare-lf"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n",
            {"max_header_size": 1024},
            431,
            False,
            id="oversize-head",
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 2000,
            {"max_header_size": 1024},
            431,
            False,
            id="oversize-unfinished-head",
        ),
        pytest.param(post("/", b"x" * 100), {"max_body_size": 10}, 413, True, id="content-length-over-limit"),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n9\r\nworld!!!!\r\n",
            {"max_body_size": 10},
            413,
            True,
            id="chunked-over-limit",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            {},
            400,
            False,
            id="cl-and-te",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            {},
            400,
            False,
            id="conflicting-lengths",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", {}, 501, False, id="unknown-transfer-coding"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", {}, 400, True, id="bad-chunk-size"
        ),
        pytest.param(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", {}, 505, False, id="http2-request-line"),
    ],
)
@async_test
async def test_bad_request_is_answered_then_closed(
    request_bytes: bytes, server_kwargs: dict[str, Any], status: int, delegate_saw_head: bool
) -> None:
    closed: list[str] = []

    class Echo(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return EchoMessage(request_conn)

    class EchoMessage(HTTPMessageDelegate):
        def __init__(self, conn: HTTPConnection) -> None:
            self.conn = conn

        def finish(self) -> None:
            respond(self.conn, b"should not be reached")

        def on_connection_close(self) -> None:
            closed.append("closed")

    async with serving(Echo(), **server_kwargs) as (_, port), connect(port) as (reader, writer):
        writer.write(request_bytes)
        data = await read_to_eof(reader)  # returns only once the server closes
        status_line, _, rest = data.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 %d " % status), data
        assert b"\r\nConnection: close\r\n" in b"\r\n" + rest
        assert b"should not be reached" not in data
    # A delegate that saw the head learns, once, that its request died.
    assert closed == (["closed"] if delegate_saw_head else [])


@async_test
async def test_bad_pipelined_request_after_a_good_one() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"good")

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(get() + b"NOT A REQUEST LINE AT ALL\r\n\r\n")
        first = await read_response(reader)
        assert (first.code, first.body) == (200, b"good")
        rest = await read_to_eof(reader)
        assert rest.startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize("size", [20_000, 2_000_000])
@async_test
async def test_oversize_body_sent_in_full_still_gets_413(size: int) -> None:
    # The client sends the whole body before reading (as curl and browsers
    # do without Expect): the server stops reading at 413, so part of the body
    # may still be unread when it closes.
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"should not be reached")

    async with serving(handle, max_body_size=1000) as (_, port), connect(port) as (reader, writer):
        writer.write(post("/", b"x" * size))
        data = await read_to_eof(reader)
        assert data.startswith(b"HTTP/1.1 413 ")


# -- per-request body limit and 100-continue -------------------------------------------


@async_test
async def test_delegate_raises_body_limit_per_request() -> None:
    class Uploads(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return UploadMessage(request_conn)

    class UploadMessage(HTTPMessageDelegate):
        def __init__(self, conn: HTTPConnection) -> None:
            self.conn = conn
            self.size = 0

        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
            if start_line.path == "/upload":
                self.conn.set_max_body_size(1000)  # type: ignore[attr-defined]

        def data_received(self, chunk: bytes) -> None:
            self.size += len(chunk)

        def finish(self) -> None:
            respond(self.conn, str(self.size).encode())

    async with serving(Uploads(), max_body_size=10) as (_, port), connect(port) as (reader, writer):
        writer.write(post("/upload", b"u" * 500))
        response = await read_response(reader)
        assert (response.code, response.body) == (200, b"500")
        # The override was for that request only: the next one has the server's limit.
        writer.write(post("/other", b"o" * 11))
        data = await read_to_eof(reader)
        assert data.startswith(b"HTTP/1.1 413 ")


@async_test
async def test_delegate_lowers_body_limit_per_request() -> None:
    class Strict(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return StrictMessage(request_conn)

    class StrictMessage(HTTPMessageDelegate):
        def __init__(self, conn: HTTPConnection) -> None:
            self.conn = conn

        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
            self.conn.set_max_body_size(4)  # type: ignore[attr-defined]

        def finish(self) -> None:
            respond(self.conn, b"ok")

    async with serving(Strict()) as (_, port), connect(port) as (reader, writer):
        writer.write(post("/", b"12345"))
        assert (await read_to_eof(reader)).startswith(b"HTTP/1.1 413 ")


@async_test
async def test_expect_100_continue_is_answered_before_the_body() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"got " + request.body)

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"hello")
        response = await read_response(reader)
        assert (response.code, response.body) == (200, b"got hello")
        # Still keep-alive, and a request without Expect gets no interim response.
        writer.write(post("/", b"again"))
        response = await read_response(reader)
        assert (response.code, response.body) == (200, b"got again")


@async_test
async def test_expect_100_continue_with_a_length_over_the_limit_gets_413_and_no_100() -> None:
    # RFC 9110 10.1.1: a server may answer the final status instead of 100;
    # inviting a body it will refuse wastes the client's upload.
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"should not be reached")

    async with serving(handle, max_body_size=1000) as (_, port), connect(port) as (reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\nExpect: 100-continue\r\n\r\n")
        data = await read_to_eof(reader)
        assert data.startswith(b"HTTP/1.1 413 "), data
        assert b"100 Continue" not in data


@async_test
async def test_expect_100_continue_counts_a_limit_raised_in_headers_received() -> None:
    class Uploads(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return UploadMessage(request_conn)

    class UploadMessage(HTTPMessageDelegate):
        def __init__(self, conn: HTTPConnection) -> None:
            self.conn = conn
            self.size = 0

        async def raise_limit(self) -> None:
            await asyncio.sleep(0)  # as an async prepare() does
            self.conn.set_max_body_size(5000)  # type: ignore[attr-defined]

        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> Awaitable[None]:
            return self.raise_limit()

        def data_received(self, chunk: bytes) -> None:
            self.size += len(chunk)

        def finish(self) -> None:
            respond(self.conn, str(self.size).encode())

    async with serving(Uploads(), max_body_size=10) as (_, port), connect(port) as (reader, writer):
        writer.write(b"PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 4000\r\nExpect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"x" * 4000)
        assert (await read_response(reader)).body == b"4000"


@async_test
async def test_expect_100_continue_after_a_flow_controlled_headers_received() -> None:
    class Slow(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return SlowMessage(request_conn)

    class SlowMessage(HTTPMessageDelegate):
        def __init__(self, conn: HTTPConnection) -> None:
            self.conn = conn
            self.body = b""

        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> Awaitable[None]:
            return asyncio.sleep(0.01)  # e.g. opening the file the upload goes to

        def data_received(self, chunk: bytes) -> None:
            self.body += chunk

        def finish(self) -> None:
            respond(self.conn, self.body)

    async with serving(Slow()) as (_, port), connect(port) as (reader, writer):
        writer.write(b"PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"abc")
        assert (await read_response(reader)).body == b"abc"


@async_test
async def test_early_answer_in_headers_received_skips_100_continue() -> None:
    class Refuse(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return RefuseMessage(request_conn)

    class RefuseMessage(HTTPMessageDelegate):
        def __init__(self, conn: HTTPConnection) -> None:
            self.conn = conn

        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
            respond(self.conn, b"no uploads", code=403)

    async with serving(Refuse()) as (_, port), connect(port) as (reader, writer):
        writer.write(b"PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        data = await read_to_eof(reader)  # the body is never sent; the server closes after 403
        assert data.startswith(b"HTTP/1.1 403 ")
        assert b"100 Continue" not in data


@async_test
async def test_early_answer_while_the_body_is_already_buffered(caplog: pytest.LogCaptureFixture) -> None:
    # The head and body arrive in one read; the delegate answers from
    # headers_received. The server must stop there, not feed the rest of the
    # body to a request that is already over.
    class Refuse(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return RefuseMessage(request_conn)

    class RefuseMessage(HTTPMessageDelegate):
        def __init__(self, conn: HTTPConnection) -> None:
            self.conn = conn

        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
            respond(self.conn, b"denied", code=401)

    caplog.set_level(logging.ERROR)
    async with serving(Refuse()) as (_, port), connect(port) as (reader, writer):
        writer.write(post("/", b"hello") + get())
        data = await read_to_eof(reader)
        assert data.startswith(b"HTTP/1.1 401 ")
        assert data.count(b"HTTP/1.1") == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# -- timeouts ------------------------------------------------------------------------


@async_test
async def test_header_timeout_cuts_a_partial_head() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"never")

    async with serving(handle, header_timeout=0.2) as (server, port), connect(port) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        assert await is_closed(reader)
        await eventually(lambda: server.stats.open == 0)


@async_test
async def test_header_timeout_cuts_a_client_that_sends_nothing() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"never")

    async with serving(handle, header_timeout=0.2) as (_, port), connect(port) as (reader, _):
        assert await is_closed(reader)


@async_test
async def test_header_timeout_is_not_reset_by_trickled_bytes() -> None:
    # Slowloris: one byte at a time, each well within the timeout, never finishing.
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"never")

    async with serving(handle, header_timeout=0.2) as (_, port), connect(port) as (reader, writer):

        async def trickle() -> None:
            with contextlib.suppress(OSError):
                for byte in b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 1000:
                    writer.write(bytes([byte]))
                    await asyncio.sleep(0.02)

        sender = asyncio.ensure_future(trickle())
        try:
            assert await is_closed(reader)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender


@async_test
async def test_idle_timeout_closes_a_keep_alive_connection_after_a_response() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"once")

    async with serving(handle, idle_connection_timeout=0.2) as (_, port), connect(port) as (reader, writer):
        writer.write(get())
        assert (await read_response(reader)).body == b"once"
        assert await is_closed(reader)


@async_test
async def test_body_timeout_cuts_a_stalled_body() -> None:
    events: list[str] = []
    closed = asyncio.Event()

    class Upload(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return UploadMessage()

    class UploadMessage(HTTPMessageDelegate):
        def data_received(self, chunk: bytes) -> None:
            events.append("data")

        def finish(self) -> None:
            events.append("finish")

        def on_connection_close(self) -> None:
            events.append("close")
            closed.set()

    async with serving(Upload(), body_timeout=0.2) as (_, port), connect(port) as (reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789")
        assert await is_closed(reader)
        await asyncio.wait_for(closed.wait(), READ_TIMEOUT)
    assert "finish" not in events
    assert events[-1] == "close" and events.count("close") == 1
    assert "data" in events


@async_test
async def test_min_body_rate_cuts_a_trickled_body_that_the_silence_timeout_never_would() -> None:
    # One byte every 0.05 s, each well inside body_timeout (0.3 s): the
    # silence timer alone is reset forever. At 1000 bytes/s minimum, with
    # 0.3 s of grace, the body is cut after 0.3 s + (bytes received / 1000) s.
    closed = asyncio.Event()

    class Upload(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return UploadMessage()

    class UploadMessage(HTTPMessageDelegate):
        def on_connection_close(self) -> None:
            closed.set()

    limits = {"body_timeout": 0.3, "min_body_rate": 1000.0}
    async with serving(Upload(), **limits) as (_, port), connect(port) as (reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        sent = 0

        async def trickle() -> None:
            nonlocal sent
            with contextlib.suppress(OSError):
                while True:
                    writer.write(b"x")
                    sent += 1
                    await asyncio.sleep(0.05)

        sender = asyncio.ensure_future(trickle())
        try:
            assert await is_closed(reader)
            await asyncio.wait_for(closed.wait(), READ_TIMEOUT)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        assert sent < 1000  # cut long before the body (or the test's bound) ended


@async_test
async def test_min_body_rate_lets_a_steady_body_through() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, str(len(request.body)).encode())

    # Longer in total than body_timeout's grace, but far above the rate; each
    # pause a tenth of body_timeout, so a loaded machine's hiccup cannot pass
    # for the client's silence.
    limits = {"body_timeout": 0.5, "min_body_rate": 10.0}
    async with serving(handle, **limits) as (_, port), connect(port) as (reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 750\r\n\r\n")
        for _ in range(15):  # about 1000 bytes/s for 0.75 s, a hundred times the minimum
            writer.write(b"y" * 50)
            await asyncio.sleep(0.05)
        assert (await read_response(reader)).body == b"750"


@async_test
async def test_body_timeout_does_not_count_time_the_application_asked_for() -> None:
    # Flow control: while the delegate's awaitable is pending the server itself
    # stops reading, so that time must not count as the client being slow.
    class SlowDisk(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return SlowDiskMessage(request_conn)

    class SlowDiskMessage(HTTPMessageDelegate):
        def __init__(self, conn: HTTPConnection) -> None:
            self.conn = conn
            self.size = 0

        def data_received(self, chunk: bytes) -> Awaitable[None]:
            self.size += len(chunk)
            return asyncio.sleep(0.5)

        def finish(self) -> None:
            respond(self.conn, str(self.size).encode())

    async with serving(SlowDisk(), body_timeout=0.2) as (_, port), connect(port) as (reader, writer):
        writer.write(post("/", b"z" * 1000))
        response = await read_response(reader)
        assert (response.code, response.body) == (200, b"1000")


@async_test
async def test_waiting_for_the_application_has_no_timeout() -> None:
    # Long-poll: every timeout is short, yet a response that takes longer arrives.
    async def handle(request: HTTPServerRequest) -> None:
        await asyncio.sleep(0.6)
        respond(request.connection, b"late but welcome")

    timeouts = {"header_timeout": 0.2, "idle_connection_timeout": 0.2, "body_timeout": 0.2}
    async with serving(handle, **timeouts) as (_, port), connect(port) as (reader, writer):
        writer.write(post("/", b"payload"))
        assert (await read_response(reader)).body == b"late but welcome"


# -- long polling: learning that the client left ------------------------------------------


@async_test
async def test_pending_delegate_learns_the_client_disconnected() -> None:
    closed = asyncio.Event()
    pending: list[HTTPConnection] = []

    class Poll(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return PollMessage(request_conn)

    class PollMessage(HTTPMessageDelegate):
        def __init__(self, conn: HTTPConnection) -> None:
            self.conn = conn

        def finish(self) -> None:
            pending.append(self.conn)  # answered later, when a message arrives

        def on_connection_close(self) -> None:
            closed.set()

    async with serving(Poll()) as (server, port):
        async with connect(port) as (_, writer):
            writer.write(get("/updates"))
            await eventually(lambda: len(pending) == 1)
        await asyncio.wait_for(closed.wait(), READ_TIMEOUT)
        await eventually(lambda: server.stats.open == 0)


@async_test
async def test_plain_callback_learns_the_client_disconnected_through_close_callback() -> None:
    gone = asyncio.Event()
    waiting = asyncio.Event()

    def handle(request: HTTPServerRequest) -> None:
        request.connection.set_close_callback(gone.set)
        waiting.set()  # and never answer

    async with serving(handle) as (_, port):
        async with connect(port) as (_, writer):
            writer.write(get("/poll"))
            await asyncio.wait_for(waiting.wait(), READ_TIMEOUT)
        await asyncio.wait_for(gone.wait(), READ_TIMEOUT)


@async_test
async def test_close_callback_is_not_called_after_the_response_finished() -> None:
    calls: list[str] = []

    def handle(request: HTTPServerRequest) -> None:
        request.connection.set_close_callback(lambda: calls.append("closed"))
        respond(request.connection, b"done")

    async with serving(handle) as (server, port):
        async with connect(port) as (reader, writer):
            writer.write(get())
            await read_response(reader)
        await eventually(lambda: server.stats.open == 0)
    assert calls == []


# -- flow control of request bodies ------------------------------------------------------------


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@async_test
async def test_flow_controlled_delegate_receives_a_2mb_body_in_order(framing: str) -> None:
    body = random.Random(7).randbytes(2 * 1024 * 1024)
    overlapping: list[int] = []
    buffered: list[int] = []

    class Sink(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return SinkMessage(server_conn, request_conn)

    class SinkMessage(HTTPMessageDelegate):
        def __init__(self, server_conn: Any, conn: HTTPConnection) -> None:
            self.server_conn = server_conn
            self.conn = conn
            self.digest = hashlib.sha256()
            self.size = 0
            self.busy = False

        def data_received(self, chunk: bytes) -> Awaitable[None]:
            if self.busy:
                overlapping.append(len(chunk))
            self.busy = True
            self.digest.update(chunk)
            self.size += len(chunk)
            buffered.append(self.server_conn.parser.buffered)
            return self._write_slowly()

        async def _write_slowly(self) -> None:
            await asyncio.sleep(0.01)
            self.busy = False

        def finish(self) -> None:
            respond(self.conn, self.digest.hexdigest().encode(), headers={"X-Size": str(self.size)})

    if framing == "chunked":
        pieces = [body[i : i + 100_000] for i in range(0, len(body), 100_000)]
        wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        head = b"PUT /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    else:
        wire = body
        head = b"PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)

    async with serving(Sink()) as (_, port), connect(port) as (reader, writer):
        writer.write(head + wire)
        response = await read_response(reader)
        await writer.drain()
        assert response.body == hashlib.sha256(body).hexdigest().encode()
        assert response.headers["x-size"] == str(len(body))
    assert overlapping == []
    assert max(buffered) < 1024 * 1024  # reading paused while the delegate was busy


# -- X-headers ---------------------------------------------------------------------------------


XHEADER_CASES = [
    ("", "127.0.0.1 http"),
    ("X-Forwarded-For: 1.2.3.4\r\n", "1.2.3.4 http"),
    ("X-Forwarded-For: 1.2.3.4, 5.6.7.8\r\n", "5.6.7.8 http"),  # rightmost untrusted hop
    ("X-Forwarded-For: 1.2.3.4, 10.0.0.1\r\n", "1.2.3.4 http"),  # trusted proxy skipped
    ("X-Forwarded-For: 6.6.6.6, 1.2.3.4,10.0.0.1 , 10.0.0.1\r\n", "1.2.3.4 http"),
    ("X-Forwarded-For: 10.0.0.1\r\n", "127.0.0.1 http"),  # nothing but trusted hops
    ("X-Real-Ip: 9.8.7.6\r\n", "9.8.7.6 http"),
    ("X-Real-Ip: 2001:db8::1\r\n", "2001:db8::1 http"),
    ("X-Forwarded-For: not-an-ip\r\n", "127.0.0.1 http"),
    ("X-Forwarded-For: 1.2.3.4, 999.1.1.1\r\n", "127.0.0.1 http"),
    ("X-Real-Ip: 1.2.3.4<script>\r\n", "127.0.0.1 http"),
    ("X-Forwarded-Proto: https\r\n", "127.0.0.1 https"),
    ("X-Forwarded-Proto: HTTPS\r\n", "127.0.0.1 https"),
    ("X-Forwarded-Proto: http, https\r\n", "127.0.0.1 https"),
    ("X-Forwarded-Proto: gopher\r\n", "127.0.0.1 http"),
    ("X-Scheme: https\r\n", "127.0.0.1 https"),
    ("X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\n", "1.2.3.4 https"),
    ("", "127.0.0.1 http"),  # nothing leaks from the previous request on the connection
]


def echo_origin(request: HTTPServerRequest) -> None:
    respond(request.connection, f"{request.remote_ip} {request.protocol}".encode())


@async_test
async def test_xheaders_set_remote_ip_and_protocol() -> None:
    trust = {"trusted_proxies": ["127.0.0.1"], "trusted_downstream": ["10.0.0.1"]}
    async with serving(echo_origin, xheaders=True, **trust) as (_, port):
        async with connect(port) as (reader, writer):
            for headers, expected in XHEADER_CASES:
                writer.write(get(headers=headers))
                body = (await read_response(reader)).body.decode()
                assert body == expected, headers


@async_test
async def test_xheaders_are_ignored_unless_enabled() -> None:
    async with serving(echo_origin, trusted_proxies=["127.0.0.1"]) as (_, port), connect(port) as (reader, writer):
        for headers, _ in XHEADER_CASES:
            writer.write(get(headers=headers))
            assert (await read_response(reader)).body == b"127.0.0.1 http", headers


@pytest.mark.parametrize("trusted", [None, ["10.9.0.0/16", "::1"]], ids=["nobody", "other-networks"])
@async_test
async def test_xheaders_from_a_peer_that_is_not_a_trusted_proxy_are_ignored(
    trusted: list[str] | None, caplog: pytest.LogCaptureFixture
) -> None:
    # A service reached directly (not through its proxy) must not take a
    # client's word for its address or scheme.
    async with serving(echo_origin, xheaders=True, trusted_proxies=trusted) as (_, port):
        async with connect(port) as (reader, writer):
            for headers, _ in XHEADER_CASES:
                writer.write(get(headers=headers))
                assert (await read_response(reader)).body == b"127.0.0.1 http", headers
    warned = [r.getMessage() for r in caplog.records if "trusted_proxies" in r.getMessage()]
    assert bool(warned) is (trusted is None)


@async_test
async def test_trusted_proxy_networks_are_cidr_and_skipped_in_x_forwarded_for() -> None:
    async with serving(echo_origin, xheaders=True, trusted_proxies=["127.0.0.0/8", "10.1.0.0/16"]) as (_, port):
        async with connect(port) as (reader, writer):
            writer.write(get(headers="X-Forwarded-For: 1.2.3.4, 10.1.2.3, 127.0.0.9\r\n"))
            assert (await read_response(reader)).body == b"1.2.3.4 http"


@pytest.mark.parametrize("entry", ["proxy.example", "10.0.0.0/33", ""])
def test_trusted_proxies_must_be_addresses_or_networks(entry: str) -> None:
    with pytest.raises(ValueError):
        HTTPServer(echo_origin, xheaders=True, trusted_proxies=[entry])


# -- connection limit and stats -----------------------------------------------------------------


@async_test
async def test_connection_beyond_max_connections_gets_503_and_is_closed() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"served")

    async with serving(handle, max_connections=2) as (server, port):
        async with connect(port) as (r1, w1), connect(port) as (r2, w2):
            await eventually(lambda: server.stats.open == 2)
            async with connect(port) as (r3, _):
                data = await read_to_eof(r3)
                assert data.startswith(b"HTTP/1.1 503 ")
                assert b"\r\nConnection: close\r\n" in data
            for reader, writer in ((r1, w1), (r2, w2)):  # the first two are still served
                writer.write(get())
                assert (await read_response(reader)).body == b"served"
        await eventually(lambda: server.stats.open == 0)
        async with connect(port) as (reader, writer):  # room again
            writer.write(get())
            assert (await read_response(reader)).body == b"served"


@async_test
async def test_stats_count_open_idle_and_in_flight() -> None:
    release = asyncio.Event()

    async def handle(request: HTTPServerRequest) -> None:
        if request.path == "/wait":
            await release.wait()
        respond(request.connection, b"ok")

    async with serving(handle) as (server, port):
        assert server.stats == ServerStats(open=0, idle=0, in_flight=0)
        async with connect(port) as (ra, wa), connect(port) as (rb, wb):
            wa.write(get("/now"))
            await read_response(ra)
            wb.write(get("/wait"))
            await eventually(lambda: server.stats.in_flight == 1)
            assert server.stats == ServerStats(open=2, idle=1, in_flight=1)
            release.set()
            await read_response(rb)
            assert server.stats == ServerStats(open=2, idle=2, in_flight=0)
        await eventually(lambda: server.stats.open == 0)
        assert server.stats == ServerStats(open=0, idle=0, in_flight=0)


def test_stats_is_a_read_only_snapshot() -> None:
    stats = ServerStats(open=3, idle=2, in_flight=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.open = 0  # type: ignore[misc]
    assert dataclasses.asdict(stats) == {"open": 3, "idle": 2, "in_flight": 1}


# -- graceful drain --------------------------------------------------------------------------------


@async_test
async def test_drain_closes_idle_connections_and_finishes_in_flight_requests() -> None:
    release = asyncio.Event()

    async def handle(request: HTTPServerRequest) -> None:
        if request.path == "/slow":
            await release.wait()
        respond(request.connection, b"done " + request.path.encode())

    async with serving(handle) as (server, port):
        async with connect(port) as (idle_r, idle_w), connect(port) as (busy_r, busy_w):
            idle_w.write(get("/fast"))
            await read_response(idle_r)
            busy_w.write(get("/slow"))
            await eventually(lambda: server.stats.in_flight == 1)

            server.stop()
            drain = asyncio.ensure_future(server.drain(timeout=5))
            assert await is_closed(idle_r)  # at once, while /slow is still pending
            assert not drain.done()
            with pytest.raises(ConnectionRefusedError):  # no longer accepting
                await asyncio.open_connection("127.0.0.1", port)

            release.set()
            response = await read_response(busy_r)
            assert (response.code, response.body) == (200, b"done /slow")
            assert response.headers["connection"].lower() == "close"
            assert await is_closed(busy_r)
            assert await drain == DrainReport(idle_closed=1, finished=1, aborted=0)
        assert server.stats.open == 0


@async_test
async def test_drain_aborts_a_request_that_never_finishes() -> None:
    closed = asyncio.Event()

    class Never(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return NeverMessage()

    class NeverMessage(HTTPMessageDelegate):
        def on_connection_close(self) -> None:
            closed.set()

    async with serving(Never()) as (server, port), connect(port) as (reader, writer):
        writer.write(get("/forever"))
        await eventually(lambda: server.stats.in_flight == 1)
        server.stop()
        report = await server.drain(timeout=0.2)
        assert report == DrainReport(idle_closed=0, finished=0, aborted=1)
        assert await is_closed(reader)
        assert closed.is_set()
        assert server.stats.open == 0


@async_test
async def test_close_all_connections_closes_idle_and_busy_connections() -> None:
    gone = asyncio.Event()

    def handle(request: HTTPServerRequest) -> None:
        if request.path == "/hang":
            request.connection.set_close_callback(gone.set)
            return
        respond(request.connection, b"ok")

    async with serving(handle) as (server, port):
        async with connect(port) as (ra, wa), connect(port) as (rb, wb):
            wa.write(get("/ok"))
            await read_response(ra)
            wb.write(get("/hang"))
            await eventually(lambda: server.stats.in_flight == 1)
            await server.close_all_connections()
            assert server.stats.open == 0
            assert await is_closed(ra)
            assert await is_closed(rb)
            assert gone.is_set()


# -- plain callables, errors in the application ------------------------------------------------------


@async_test
async def test_plain_callable_gets_body_and_form_arguments() -> None:
    seen: list[HTTPServerRequest] = []

    def handle(request: HTTPServerRequest) -> None:
        seen.append(request)
        respond(request.connection, b"thanks")

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(
            post("/form?from=query", b"name=Ada+L&tags=a&tags=b&empty=", headers="Content-Type: application/x-www-form-urlencoded\r\n")
        )
        assert (await read_response(reader)).body == b"thanks"
    (request,) = seen
    assert (request.method, request.path, request.query) == ("POST", "/form", "from=query")
    assert request.body == b"name=Ada+L&tags=a&tags=b&empty="
    assert request.body_arguments == {"name": [b"Ada L"], "tags": [b"a", b"b"], "empty": [b""]}
    assert request.arguments["from"] == [b"query"]
    assert request.arguments["tags"] == [b"a", b"b"]
    assert request.headers["Host"] == "test"
    assert request.remote_ip == "127.0.0.1"


@async_test
async def test_callback_that_raises_closes_only_its_connection(caplog: pytest.LogCaptureFixture) -> None:
    def handle(request: HTTPServerRequest) -> None:
        if request.path == "/boom":
            raise RuntimeError("application bug")
        respond(request.connection, b"fine")

    caplog.set_level(logging.ERROR)
    async with serving(handle) as (_, port):
        async with connect(port) as (reader, writer):
            writer.write(get("/boom"))
            assert await is_closed(reader)
        async with connect(port) as (reader, writer):
            writer.write(get("/"))
            assert (await read_response(reader)).body == b"fine"
    assert any("application bug" in repr(r.exc_info) for r in caplog.records if r.exc_info)


@async_test
async def test_callback_raising_on_a_pipelined_request_does_not_hang_the_connection() -> None:
    # Request 1 is answered from a task; finishing it starts request 2, whose
    # callback raises. That error is not request 1's: its finish() must return
    # normally, and the connection must close instead of waiting forever.
    finish_errors: list[BaseException] = []

    async def answer_later(request: HTTPServerRequest) -> None:
        await asyncio.sleep(0.01)
        try:
            respond(request.connection, b"first")
        except BaseException as exc:  # recorded for the assertion below
            finish_errors.append(exc)

    def dispatch(request: HTTPServerRequest) -> Any:
        if request.path == "/boom":
            raise RuntimeError("application bug in request 2")
        return answer_later(request)

    async with serving(dispatch) as (_, port), connect(port) as (reader, writer):
        writer.write(get("/first") + get("/boom"))
        first = await read_response(reader)
        assert first.body == b"first"
        assert await is_closed(reader)
    assert finish_errors == []


# -- scale -------------------------------------------------------------------------------------------


@async_test
async def test_one_thousand_concurrent_keep_alive_connections() -> None:
    # Each connection needs two descriptors here (client and server end). The
    # soft RLIMIT_NOFILE is raised to the hard limit when it is lower; with a
    # hard limit too low for 1,000 clients we use 900 (and say so in the id).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * 1000 + 100
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        soft = new_soft
    clients = 1000 if soft == resource.RLIM_INFINITY or soft >= wanted else 900

    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, request.path.encode())

    async with serving(handle) as (server, port):
        streams = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(clients)))
        try:

            async def exchange(i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                for n in (1, 2):
                    path = f"/{i}/{n}"
                    writer.write(get(path))
                    response = await read_response(reader)
                    assert (response.code, response.body) == (200, path.encode())

            await asyncio.gather(*(exchange(i, r, w) for i, (r, w) in enumerate(streams)))
            assert server.stats == ServerStats(open=clients, idle=clients, in_flight=0)
        finally:
            for _, writer in streams:
                writer.close()
            await asyncio.gather(*(w.wait_closed() for _, w in streams), return_exceptions=True)
        await eventually(lambda: server.stats.open == 0)


# -- the tutorial's way of running a server ---------------------------------------------------------------


def test_listen_then_ioloop_start_serves_requests() -> None:
    """``HTTPServer(app).listen(port); IOLoop.current().start()``, as the seed's examples do."""

    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"hello from the tutorial")

    IOLoop.clear_current()
    server = HTTPServer(handle)
    server.listen(0, "127.0.0.1")  # before any loop runs
    port = server.sockets[0].getsockname()[1]
    loop = IOLoop.current()
    received: list[bytes] = []

    async def client() -> None:
        try:
            async with connect(port) as (reader, writer):
                writer.write(get())
                received.append((await read_response(reader)).body)
        finally:
            server.stop()
            await server.close_all_connections()
            IOLoop.current().stop()

    try:
        loop.add_callback(client)
        loop.call_later(TEST_TIMEOUT, loop.stop)  # bound the test even if the client hangs
        loop.start()
    finally:
        loop.close()
        IOLoop.clear_current()
    assert received == [b"hello from the tutorial"]


def test_public_server_defaults() -> None:
    # Issue 12: a buffered body of a few MB, keep-alive idle for 75 s (longer
    # than nginx's 60 s upstream pool), a connection cap that fits the
    # open-file limit, a minimum body rate, and no X-header trust.
    config = HTTPServer(echo_origin).state.config
    assert config.limits.max_body_bytes == httpserver.DEFAULT_MAX_BODY_SIZE == 8 * 1024 * 1024
    assert config.idle_connection_timeout == 75.0
    assert config.header_timeout == 10.0 and config.body_timeout == 60.0
    assert config.min_body_rate == 500.0
    assert not config.xheaders and config.trusted_proxies == ()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert config.max_connections == httpserver.default_max_connections()
    if soft != resource.RLIM_INFINITY:
        assert config.max_connections is not None and 0 < config.max_connections < soft
    # Each is overridable, None meaning "no cap" where that makes sense.
    custom = HTTPServer(echo_origin, max_connections=None, idle_connection_timeout=5.0, max_body_size=1).state.config
    assert (custom.max_connections, custom.idle_connection_timeout, custom.limits.max_body_bytes) == (None, 5.0, 1)


def test_default_max_connections_follows_the_open_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    assert httpserver.default_max_connections() == 1024 - 102
    monkeypatch.setattr(resource, "getrlimit", lambda _: (256, 4096))
    assert httpserver.default_max_connections() == 256 - 64
    monkeypatch.setattr(resource, "getrlimit", lambda _: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert httpserver.default_max_connections() is None


@async_test
async def test_default_body_limit_refuses_a_large_buffered_body() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"should not be reached")

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        size = httpserver.DEFAULT_MAX_BODY_SIZE + 1
        writer.write(f"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n".encode())
        assert (await read_to_eof(reader)).startswith(b"HTTP/1.1 413 ")


@async_test
async def test_protocol_error_responses_carry_nosniff() -> None:
    async with serving(echo_origin) as (_, port), connect(port) as (reader, writer):
        writer.write(b"NOT A REQUEST LINE\r\n\r\n")
        data = await read_to_eof(reader)
        assert data.startswith(b"HTTP/1.1 400 ")
        assert b"\r\nX-Content-Type-Options: nosniff\r\n" in data


@async_test
async def test_absolute_form_request_reaches_the_application_as_origin_form() -> None:
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, f"{request.host} {request.uri} {request.path}".encode())

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(b"GET http://real.example:8080/a/b?c=d HTTP/1.1\r\nHost: other.example\r\n\r\n")
        assert (await read_response(reader)).body == b"real.example:8080 /a/b?c=d /a/b"


def test_unknown_constructor_argument_is_an_error() -> None:
    with pytest.raises(TypeError, match="max_body"):
        HTTPServer(echo_origin, max_body=10)
    HTTPServer(echo_origin, decompress_request=True, protocol="https", max_buffer_size=1 << 20)  # Tornado's
    with pytest.raises(TypeError, match="chunk_size"):  # Tornado's, but refused rather than ignored
        HTTPServer(echo_origin, chunk_size=65536)

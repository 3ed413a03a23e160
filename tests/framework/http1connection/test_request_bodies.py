"""Tests for framework/http1connection/ over real sockets: bad input, body limits, 100-continue, flow control.

Bad input is answered with its status and the connection closed; a body over
the limit is a 413 even when sent in full; a delegate may raise or lower the
limit per request; ``Expect: 100-continue`` is answered only for a body that
will be read; a flow-controlled delegate receives a large body in order.

How these tests run (own server per test, raw asyncio clients, bounded, short timeouts whose
effect only is asserted): see ``tests/framework/http1connection/test_keep_alive.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable
from typing import Any

import pytest

from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
)
from tests.framework.harness import (
    WAIT,
    async_test,
    connect,
    get,
    post,
    read_response,
    read_to_eof,
    respond,
    serving,
)

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
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
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
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
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
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
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

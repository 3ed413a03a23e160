"""Tests for framework/http1connection/ over real sockets: timeouts, and learning that the client left.

The header timeout (a partial head, silence, bytes trickled to stretch it),
the idle keep-alive timeout, the body's silence timeout and minimum rate, and
no timeout while the application works (long polls); a pending request learns
that its client disconnected.

How these tests run (own server per test, raw asyncio clients, bounded, short timeouts whose
effect only is asserted): see ``tests/framework/http1connection/test_keep_alive.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable

from framework.httputil import (
    HTTPConnection,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
)
from tests.framework.harness import (
    WAIT,
    async_test,
    connect,
    eventually,
    get,
    is_closed,
    post,
    read_response,
    respond,
    serving,
)

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
async def test_no_idle_timeout_keeps_a_connection_answering() -> None:
    # Tornado's idle_connection_timeout=None: no idle deadline, not an error per response.
    def handle(request: HTTPServerRequest) -> None:
        respond(request.connection, b"again")

    async with serving(handle, idle_connection_timeout=None) as (_, port), connect(port) as (reader, writer):
        for _ in range(3):
            writer.write(get())
            assert (await read_response(reader)).body == b"again"


@async_test
async def test_a_request_may_shorten_its_own_body_timeout() -> None:
    # set_body_timeout() from headers_received (as a @stream_request_body
    # handler's prepare() calls it): this request's body has 0.2 s of
    # silence where the server allows 60.
    closed = asyncio.Event()

    class Upload(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return UploadMessage(request_conn)

    class UploadMessage(HTTPMessageDelegate):
        def __init__(self, request_conn: HTTPConnection) -> None:
            self.request_conn = request_conn

        def headers_received(self, start_line: object, headers: object) -> None:
            self.request_conn.set_body_timeout(0.2)  # type: ignore[attr-defined]

        def on_connection_close(self) -> None:
            closed.set()

    async with serving(Upload(), body_timeout=60.0) as (_, port), connect(port) as (reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789")
        assert await is_closed(reader)
        await asyncio.wait_for(closed.wait(), WAIT)


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
        await asyncio.wait_for(closed.wait(), WAIT)
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
            await asyncio.wait_for(closed.wait(), WAIT)
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
            self.conn.set_close_callback(closed.set)  # how a parked request learns its client left

        def on_connection_close(self) -> None:  # Tornado's rule: after finish(), never
            told.append("on_connection_close")

    told: list[str] = []
    async with serving(Poll()) as (server, port):
        async with connect(port) as (_, writer):
            writer.write(get("/updates"))
            await eventually(lambda: len(pending) == 1)
        await asyncio.wait_for(closed.wait(), WAIT)
        await eventually(lambda: server.stats.open == 0)
    assert told == []


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
            await asyncio.wait_for(waiting.wait(), WAIT)
        await asyncio.wait_for(gone.wait(), WAIT)


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

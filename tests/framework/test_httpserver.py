"""Tests for framework/httpserver.py: the HTTP/1.1 server over real sockets.

What the server itself decides: X-headers and trusted proxies, the connection
limit and its stats, graceful drain, plain callables as applications (and
their errors), a thousand concurrent keep-alive connections, the tutorial's
``listen`` + ``IOLoop.start``, and its defaults and arguments. What each
connection does (keep-alive, bodies, timeouts) is tested in
``tests/framework/http1connection/`` over sockets and in
``http1connection/test_protocol.py`` on a fake transport.

How these tests run (own server per test, raw asyncio clients, bounded, short timeouts whose
effect only is asserted): see ``tests/framework/http1connection/test_keep_alive.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import resource
from typing import Any

import pytest

from framework import httpserver
from framework.httpserver import DrainReport, HTTPServer, ServerStats
from framework.httputil import (
    HTTPConnection,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
)
from framework.ioloop import IOLoop
from tests.framework.harness import (
    TEST_TIMEOUT,
    async_test,
    connect,
    eventually,
    get,
    is_closed,
    post,
    read_response,
    read_to_eof,
    respond,
    serving,
)

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
    told: list[str] = []

    class Never(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            request_conn.set_close_callback(closed.set)
            return NeverMessage()

    class NeverMessage(HTTPMessageDelegate):
        def finish(self) -> None:
            told.append("finish")

        def on_connection_close(self) -> None:  # Tornado's rule: finish() or this, never both
            told.append("on_connection_close")

    async with serving(Never()) as (server, port), connect(port) as (reader, writer):
        writer.write(get("/forever"))
        await eventually(lambda: server.stats.in_flight == 1)
        server.stop()
        report = await server.drain(timeout=0.2)
        assert report == DrainReport(idle_closed=0, finished=0, aborted=1)
        assert await is_closed(reader)
        assert closed.is_set()
        assert told == ["finish"]
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
            post(
                "/form?from=query",
                b"name=Ada+L&tags=a&tags=b&empty=",
                headers="Content-Type: application/x-www-form-urlencoded\r\n",
            )
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

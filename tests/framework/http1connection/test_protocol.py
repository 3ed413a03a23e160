"""Tests for framework/http1connection/protocol.py: the connection protocol on a fake transport.

As uvicorn's ``tests/protocols/test_http.py`` does: no socket, no server
listening. An ``HTTP1ServerProtocol`` is made on a real ``HTTPServer``'s
``state`` (its settings, and a real ``Application`` as the delegate, with the
handlers each test declares beside it); only the transport is fake
(``fake_transport.py``). It records what the protocol does to it (writes,
half-close, close, pause and resume of reading), bytes reach the protocol
through ``data_received`` exactly as the test cuts them, and the flow-control
callbacks a real transport would make (``pause_writing``, ``connection_lost``)
are made by the test when it wants them. What was written is read back with
the harness's small response reader, not with the framework's own parser.

The real-socket tests of the same behaviour are beside this file
(``test_keep_alive.py``, ``test_request_bodies.py``, ``test_timeouts.py``).
Every wait is on a condition, bounded (``harness.eventually``); nothing is timed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import ClassVar

import pytest

from framework.http1connection import HTTP1ServerProtocol
from framework.web import Application, RequestHandler, stream_request_body
from tests.framework.harness import async_test, eventually, get, post
from tests.framework.http1connection.fake_transport import FakeTransport, connect, count


class Hello(RequestHandler):
    def get(self) -> None:
        self.write(f"hello {self.request.path} from {self.request.remote_ip}")


# -- responses and keep-alive ------------------------------------------------------


@async_test
async def test_a_request_is_answered_and_the_connection_kept_for_the_next() -> None:
    server, protocol, transport = connect(Application([(r"/.*", Hello)]))
    protocol.data_received(get("/one"))
    await eventually(lambda: count(transport) == 1)
    assert not transport.closed and not transport.eof_written
    assert server.stats.open == 1 and server.stats.idle == 1
    protocol.data_received(get("/two"))
    await eventually(lambda: count(transport) == 2)
    first, second = await transport.responses()
    assert (first.code, first.body) == (200, b"hello /one from 192.0.2.7")
    assert (second.code, second.body) == (200, b"hello /two from 192.0.2.7")
    assert "connection" not in first.headers  # HTTP/1.1 keeps alive without saying so
    assert not transport.sending_done


@async_test
async def test_a_head_fed_a_byte_at_a_time_is_answered_once_complete() -> None:
    _, protocol, transport = connect(Application([(r"/.*", Hello)]))
    request = get("/bytes")
    for i in range(len(request) - 1):
        protocol.data_received(request[i : i + 1])
    await asyncio.sleep(0)
    assert transport.written == b""  # nothing before the blank line that ends the head
    protocol.data_received(request[-1:])
    await eventually(lambda: count(transport) == 1)
    [response] = await transport.responses()
    assert response.body == b"hello /bytes from 192.0.2.7"


@async_test
async def test_connection_close_is_answered_then_the_transport_closed() -> None:
    server, protocol, transport = connect(Application([(r"/.*", Hello)]))
    protocol.data_received(get("/bye", headers="Connection: close\r\n"))
    await eventually(lambda: transport.sending_done)
    [response] = await transport.responses()
    assert response.code == 200 and response.headers["connection"] == "close"
    transport.peer_closes()  # the client read its answer and closed
    await eventually(lambda: server.stats.open == 0)  # connection_lost reported it gone
    assert transport.closed


@async_test
async def test_a_request_read_whole_closes_at_once_without_lingering() -> None:
    """Nothing of the client's is unread: no half-close and wait for its FIN, the transport just closes."""
    server, protocol, transport = connect(Application([(r"/.*", Hello)]))
    protocol.data_received(get("/bye", headers="Connection: close\r\n"))
    await eventually(lambda: transport.closed)
    assert not transport.eof_written
    await eventually(lambda: server.stats.open == 0)


@async_test
async def test_unread_bytes_make_the_close_linger() -> None:
    """A request after the last answered one is unread: shut our side, read on for a while, then close."""
    _, protocol, transport = connect(Application([(r"/.*", Hello)]), no_keep_alive=True)
    protocol.data_received(get("/a") + get("/b"))
    await eventually(lambda: transport.eof_written)
    assert not transport.closed
    transport.peer_closes()
    await eventually(lambda: transport.closed)


@async_test
async def test_http_1_0_closes_unless_asked_to_keep_alive() -> None:
    _, protocol, transport = connect(Application([(r"/.*", Hello)]))
    protocol.data_received(get("/old", headers="Connection: keep-alive\r\n", version="HTTP/1.0"))
    await eventually(lambda: count(transport) == 1)  # answered as HTTP/1.1, the version we speak
    assert not transport.sending_done
    protocol.data_received(get("/old", version="HTTP/1.0"))
    await eventually(lambda: transport.sending_done)
    first, second = await transport.responses()
    assert first.headers["connection"].lower() == "keep-alive"
    assert second.headers.get("connection", "close").lower() == "close"
    assert second.code == 200 and second.body == b"hello /old from 192.0.2.7"


@async_test
async def test_no_keep_alive_server_closes_after_one_response() -> None:
    _, protocol, transport = connect(Application([(r"/.*", Hello)]), no_keep_alive=True)
    protocol.data_received(get("/a") + get("/b"))
    await eventually(lambda: transport.sending_done)
    assert len(await transport.responses()) == 1


# -- pipelining ----------------------------------------------------------------------


class Gate:
    """Requests that wait for the test to open them, recording the order things happen in."""

    opened: ClassVar[dict[str, asyncio.Event]] = {}
    log: ClassVar[list[str]] = []


class Gated(RequestHandler):
    async def get(self, name: str) -> None:
        Gate.log.append(f"start {name}")
        if name in Gate.opened:
            await Gate.opened[name].wait()
        self.write(f"answer {name}")
        Gate.log.append(f"end {name}")


@async_test
async def test_pipelined_requests_are_answered_in_order_one_at_a_time() -> None:
    Gate.opened, Gate.log = {"slow": asyncio.Event()}, []
    _, protocol, transport = connect(Application([(r"/(\w+)", Gated)]))
    protocol.data_received(get("/slow") + get("/fast") + get("/last"))
    await eventually(lambda: Gate.log == ["start slow"])
    await asyncio.sleep(0.01)  # the others wait in the parser's buffer, whatever the loop does meanwhile
    assert Gate.log == ["start slow"] and transport.written == b""
    Gate.opened["slow"].set()
    await eventually(lambda: count(transport) == 3)
    assert Gate.log == ["start slow", "end slow", "start fast", "end fast", "start last", "end last"]
    assert [r.body for r in await transport.responses()] == [b"answer slow", b"answer fast", b"answer last"]
    assert not transport.sending_done


@async_test
async def test_pipelined_requests_cut_anywhere_are_answered_in_order() -> None:
    Gate.opened, Gate.log = {}, []
    _, protocol, transport = connect(Application([(r"/(\w+)", Gated)]))
    stream = b"".join(get(f"/r{i}") for i in range(5))
    for start in range(0, len(stream), 7):
        protocol.data_received(stream[start : start + 7])
    await eventually(lambda: count(transport) == 5)
    assert [r.body for r in await transport.responses()] == [f"answer r{i}".encode() for i in range(5)]


# -- bad framing: answered, then closed -------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello", 400),
        (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400),
        (b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: a.com,b.com\r\n\r\n", 400),  # the request object refuses these Hosts
        (b"GET / HTTP/1.1\r\nHost: user@evil.com\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    ],
    ids=[
        "length-and-chunked",
        "conflicting-lengths",
        "bad-request-line",
        "unknown-coding",
        "head-too-large",
        "two-hosts",
        "host-with-user",
        "host-with-path",
    ],  # fmt: skip
)
@async_test
async def test_bad_framing_is_answered_with_its_status_and_nothing_more_is_read(data: bytes, status: int) -> None:
    called: list[str] = []

    class Never(RequestHandler):
        def get(self) -> None:
            called.append("get")

    _, protocol, transport = connect(Application([(r"/", Never)]))
    protocol.data_received(data)
    await eventually(lambda: transport.sending_done)
    [response] = await transport.responses()
    assert response.code == status
    assert response.headers["connection"] == "close"
    assert response.headers["x-content-type-options"] == "nosniff"
    written = bytes(transport.written)
    protocol.data_received(get("/"))  # the framing cannot be trusted: nothing more is read
    await asyncio.sleep(0)
    assert bytes(transport.written) == written and called == []
    transport.peer_closes()
    assert transport.closed


@async_test
async def test_a_bad_request_after_a_good_pipelined_one_closes_after_the_good_answer() -> None:
    _, protocol, transport = connect(Application([(r"/.*", Hello)]))
    protocol.data_received(get("/good") + b"BROKEN\r\n\r\n")
    await eventually(lambda: transport.sending_done)
    good, bad = await transport.responses()
    assert (good.code, good.body) == (200, b"hello /good from 192.0.2.7")
    assert bad.code == 400


@async_test
async def test_a_body_over_the_limit_is_413_before_the_handler_runs() -> None:
    called: list[str] = []

    class Upload(RequestHandler):
        def post(self) -> None:
            called.append("post")

    _, protocol, transport = connect(Application([(r"/", Upload)]), max_body_size=10)
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n")
    await eventually(lambda: count(transport) == 1)
    [response] = await transport.responses()
    assert response.code == 413 and called == []


# -- flow control ------------------------------------------------------------------------


@async_test
async def test_a_client_that_does_not_read_stops_being_read_from() -> None:
    Gate.opened, Gate.log = {}, []
    _, protocol, transport = connect(Application([(r"/(\w+)", Gated)]))
    protocol.pause_writing()  # the transport's buffer to the client is full: the client is not reading
    pad = "X-Pad: " + "p" * 8000 + "\r\n"
    for _ in range(40):  # 320 KB of pipelined requests, more than the connection buffers
        protocol.data_received(get("/piped", headers=pad))
    await asyncio.sleep(0.01)
    assert Gate.log == [] and transport.written == b""  # no request starts while writes are backed up
    assert transport.reading_paused  # and the client stops being read from
    protocol.resume_writing()  # the client read its responses
    await eventually(lambda: count(transport) == 40)
    assert not transport.reading_paused
    assert all(r.body == b"answer piped" for r in await transport.responses())


class Drip:
    """The body chunks a streaming handler received, and the future that holds back the next."""

    chunks: ClassVar[list[bytes]] = []
    hold: ClassVar[asyncio.Future[None] | None] = None


@stream_request_body
class SlowConsumer(RequestHandler):
    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        Drip.chunks.append(chunk)
        return Drip.hold

    def put(self) -> None:
        self.write(f"{sum(map(len, Drip.chunks))} bytes")


@async_test
async def test_a_slow_handler_pauses_reading_until_it_has_taken_the_chunk() -> None:
    Drip.chunks, Drip.hold = [], asyncio.get_running_loop().create_future()
    _, protocol, transport = connect(Application([(r"/", SlowConsumer)]))
    protocol.data_received(b"PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabc")
    await eventually(lambda: Drip.chunks == [b"abc"])
    assert transport.reading_paused  # the handler has not taken the chunk yet
    protocol.data_received(b"def")  # bytes already in flight still arrive; they wait
    await asyncio.sleep(0)
    assert Drip.chunks == [b"abc"]
    Drip.hold.set_result(None)
    Drip.hold = None
    await eventually(lambda: count(transport) == 1)
    assert Drip.chunks == [b"abc", b"def"] and not transport.reading_paused
    [response] = await transport.responses()
    assert response.body == b"6 bytes"


@async_test
async def test_expect_100_continue_is_written_before_the_body_is_read() -> None:
    Drip.chunks, Drip.hold = [], None
    _, protocol, transport = connect(Application([(r"/", SlowConsumer)]))
    protocol.data_received(b"PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    await eventually(lambda: bool(transport.written))
    assert transport.written == b"HTTP/1.1 100 Continue\r\n\r\n"
    protocol.data_received(b"xyz")
    await eventually(lambda: count(transport) == 2)
    assert bytes(transport.written).endswith(b"3 bytes")


@async_test
async def test_expect_100_continue_is_written_once_however_often_the_body_waits() -> None:
    _, protocol, transport = connect(Application([(r"/", SlowConsumer)]))
    Drip.chunks, Drip.hold = [], None
    protocol.data_received(b"PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n")
    await eventually(lambda: bool(transport.written))
    for piece in (b"ab", b"cd", b"ef"):  # each chunk makes the server wait for the handler
        Drip.hold = asyncio.get_running_loop().create_future()
        protocol.data_received(piece)
        await eventually(lambda piece=piece: Drip.chunks[-1:] == [piece])
        hold, Drip.hold = Drip.hold, None
        hold.set_result(None)
    await eventually(lambda: bytes(transport.written).endswith(b"6 bytes"))
    assert bytes(transport.written).count(b"100 Continue") == 1


# -- the client leaves ---------------------------------------------------------------------


class LongPoll(RequestHandler):
    """Waits for a message that never comes; records that its client left."""

    left: ClassVar[list[str]] = []

    async def get(self) -> None:
        await asyncio.get_running_loop().create_future()

    def on_connection_close(self) -> None:
        LongPoll.left.append(self.request.path)


@async_test
async def test_connection_lost_while_the_application_waits_tells_the_handler() -> None:
    LongPoll.left = []
    server, protocol, transport = connect(Application([(r"/.*", LongPoll)]))
    protocol.data_received(get("/wait"))
    await eventually(lambda: server.stats.in_flight == 1)
    protocol.connection_lost(ConnectionResetError())
    assert LongPoll.left == ["/wait"]
    assert server.stats.open == 0 and transport.written == b""


@stream_request_body
class PartialUpload(RequestHandler):
    received: ClassVar[list[bytes]] = []
    left: ClassVar[list[str]] = []

    def data_received(self, chunk: bytes) -> None:
        PartialUpload.received.append(chunk)

    def put(self) -> None:
        raise AssertionError("the body never completed")

    def on_connection_close(self) -> None:
        PartialUpload.left.append("left")


@async_test
async def test_connection_lost_in_the_middle_of_a_body_abandons_the_request() -> None:
    PartialUpload.received, PartialUpload.left = [], []
    server, protocol, transport = connect(Application([(r"/", PartialUpload)]))
    protocol.data_received(b"PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n123")
    await eventually(lambda: PartialUpload.received == [b"123"])
    protocol.connection_lost(None)
    assert PartialUpload.left == ["left"]
    assert server.stats.open == 0 and transport.written == b""
    protocol.data_received(b"4567890")  # late bytes after the loss change nothing
    await asyncio.sleep(0)
    assert PartialUpload.received == [b"123"] and transport.written == b""


@async_test
async def test_eof_from_the_client_between_requests_closes_quietly() -> None:
    _, protocol, transport = connect(Application([(r"/.*", Hello)]))
    protocol.data_received(get("/once"))
    await eventually(lambda: count(transport) == 1)
    assert protocol.eof_received() is False  # asyncio then closes the transport itself
    protocol.connection_lost(None)
    assert len(await transport.responses()) == 1


@async_test
async def test_an_idle_connection_borrows_a_parser_only_while_it_has_a_request() -> None:
    """Idle connections share the pool's empty parser; a request takes its own until it is answered."""
    Gate.opened, Gate.log = {"held": asyncio.Event()}, []
    server, first, first_transport = connect(Application([(r"/(\w+)", Gated)]))
    pool = server.state.parsers
    second = HTTP1ServerProtocol(server.state)
    second_transport = FakeTransport()
    second_transport.protocol = second
    second.connection_made(second_transport)
    assert first.parser is pool.idle and second.parser is pool.idle  # connected, nothing sent yet
    first.data_received(get("/held") + get("/after"))  # the second request waits in the parser's buffer
    await eventually(lambda: Gate.log == ["start held"])
    assert first.parser is not pool.idle
    second.data_received(get("/other"))
    await eventually(lambda: count(second_transport) == 1)
    assert second.parser is pool.idle  # answered, nothing buffered: the parser went back
    Gate.opened["held"].set()
    await eventually(lambda: count(first_transport) == 2)
    assert [r.body for r in await first_transport.responses()] == [b"answer held", b"answer after"]
    assert first.parser is pool.idle
    assert pool.idle.buffered == 0 and pool.idle.at_message_start  # lent to nobody, fed nothing


@async_test
async def test_a_request_being_answered_holds_no_parser_once_it_is_all_read() -> None:
    """A long poll waits without a parser: bytes that come meanwhile wait, unread, in a fresh one."""
    Gate.opened, Gate.log = {"held": asyncio.Event()}, []
    server, protocol, transport = connect(Application([(r"/(\w+)", Gated)]))
    pool = server.state.parsers
    protocol.data_received(get("/held"))
    await eventually(lambda: Gate.log == ["start held"])
    assert protocol.parser is pool.idle  # the request is read: its parser went back to the pool
    protocol.data_received(get("/next"))  # pipelined while the first is answered
    await asyncio.sleep(0.01)
    assert protocol.parser is not pool.idle and protocol.parser.buffered
    assert Gate.log == ["start held"]  # not parsed, let alone run, before the first response
    Gate.opened["held"].set()
    await eventually(lambda: count(transport) == 2)
    assert [r.body for r in await transport.responses()] == [b"answer held", b"answer next"]
    assert protocol.parser is pool.idle and pool.idle.buffered == 0 and pool.idle.at_message_start


class GatedNoticingClose(Gated):
    def on_connection_close(self) -> None:
        Gate.log.append("client left")


@async_test
async def test_a_client_leaving_during_a_long_poll_without_a_parser_is_noticed() -> None:
    """EOF while the connection holds the shared idle parser: the handler learns the client left."""
    Gate.opened, Gate.log = {"held": asyncio.Event()}, []
    server, protocol, transport = connect(Application([(r"/(\w+)", GatedNoticingClose)]))
    protocol.data_received(get("/held"))
    await eventually(lambda: Gate.log == ["start held"])
    assert protocol.parser is server.state.parsers.idle
    transport.peer_closes()
    await eventually(lambda: Gate.log == ["start held", "client left"])
    assert transport.closed and transport.written == b""
    assert server.state.parsers.idle.at_message_start and not server.state.parsers.idle.eof_seen


class GatedPost(GatedNoticingClose):
    async def post(self, name: str) -> None:
        await self.get(name)


@async_test
async def test_reading_paused_by_a_pipelined_flood_resumes_while_the_last_request_is_answered() -> None:
    """Once the buffer drains, the socket is read again during a long answer: a client leaving is seen."""
    Gate.opened, Gate.log = {"a": asyncio.Event(), "b": asyncio.Event()}, []
    _, protocol, transport = connect(Application([(r"/(\w+)", GatedPost)]))
    protocol.data_received(get("/a") + post("/b", b"x" * 300_000))  # over the 256 KiB high-water mark
    await eventually(lambda: Gate.log == ["start a"])
    assert transport.reading_paused
    Gate.opened["a"].set()
    await eventually(lambda: Gate.log == ["start a", "end a", "start b"])  # /b read whole, and being answered
    await eventually(lambda: not transport.reading_paused)
    transport.peer_closes()
    await eventually(lambda: Gate.log == ["start a", "end a", "start b", "client left"])


@async_test
async def test_eof_on_an_idle_connection_leaves_the_shared_parser_untouched() -> None:
    server, protocol, transport = connect(Application([(r"/.*", Hello)]))
    protocol.data_received(get("/once"))
    await eventually(lambda: count(transport) == 1)
    assert protocol.parser is server.state.parsers.idle
    transport.peer_closes()
    await eventually(lambda: transport.closed)
    server.state.parsers.idle.feed(b"")  # raises "feed() after feed_eof()" had the EOF reached it
    later = HTTP1ServerProtocol(server.state)
    later_transport = FakeTransport()
    later_transport.protocol = later
    later.connection_made(later_transport)
    later.data_received(get("/next"))
    await eventually(lambda: count(later_transport) == 1)


@async_test
async def test_a_parser_that_saw_eof_is_not_lent_to_the_next_connection() -> None:
    """A client half-closes while its request is answered: its parser stays with it, not in the pool."""
    Gate.opened, Gate.log = {"held": asyncio.Event()}, []
    server, protocol, transport = connect(Application([(r"/(\w+)", Gated)]))
    protocol.data_received(get("/held") + get("/then"))  # a pipelined request keeps the parser here
    await eventually(lambda: Gate.log == ["start held"])
    assert protocol.eof_received() is False  # the EOF, before asyncio gets to close the transport
    assert protocol.parser is not server.state.parsers.idle and protocol.parser.eof_seen
    Gate.opened["held"].set()
    await eventually(lambda: count(transport) == 2)  # answered before connection_lost came
    assert protocol.parser is not server.state.parsers.idle
    later = HTTP1ServerProtocol(server.state)
    later_transport = FakeTransport()
    later_transport.protocol = later
    later.connection_made(later_transport)
    later.data_received(get("/after"))  # raised "feed() after feed_eof()" when the pool lent that parser
    await eventually(lambda: count(later_transport) == 1)
    [response] = await later_transport.responses()
    assert response.body == b"answer after"


@async_test
async def test_an_idle_keep_alive_connection_is_closed_by_its_timer() -> None:
    _, protocol, transport = connect(Application([(r"/.*", Hello)]), idle_connection_timeout=0.05)
    protocol.data_received(get("/then-nothing"))
    await eventually(lambda: count(transport) == 1)
    await eventually(lambda: transport.closed)
    assert len(await transport.responses()) == 1

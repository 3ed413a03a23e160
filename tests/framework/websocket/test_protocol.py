"""Tests for framework/websocket/protocol.py: the connection's state on a fake transport.

``FakeTransport`` records what the protocol does to it (writes, half-close,
close, abort, pause and resume of reading) and reports a write backlog the
test sets; ``Sink`` records what reaches the application. No socket, no
timing asserted: waits are on conditions, bounded.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from framework.websocket import (
    WebSocketClosedError,
    WebSocketProtocol,
)
from framework.websocket.frames import (
    Close,
    Event,
    FrameReader,
    Ping,
    Pong,
)
from framework.websocket.protocol import effective_ping_timeout
from tests.framework.harness import eventually
from tests.framework.websocket.peers import (
    client_frame,
    close_payload,
    events_of,
)


class FakeTransport(asyncio.Transport):
    """Records what the protocol does to its transport."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.eof = self.closed = self.aborted = self.reading_paused = False
        self.protocol: WebSocketProtocol | None = None
        self.backlog = 0  # what a real transport would still hold for the peer

    def get_write_buffer_size(self) -> int:
        return self.backlog

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return 16 * 1024, 64 * 1024

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.eof, "write after write_eof"
        self.written += data

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True
        if self.protocol is not None:
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def is_closing(self) -> bool:
        return self.eof or self.closed or self.aborted

    def pause_reading(self) -> None:
        self.reading_paused = True

    def resume_reading(self) -> None:
        self.reading_paused = False

    def sent(self) -> list[Event]:
        """What the server side wrote, decoded as a client would."""
        return events_of(FrameReader(masked=False), bytes(self.written))


class Sink:
    """A minimal message sink: records everything."""

    def __init__(self) -> None:
        self.messages: list[str | bytes] = []
        self.pings: list[bytes] = []
        self.pongs: list[bytes] = []
        self.closed: list[tuple[int | None, str | None]] = []
        self.result: Awaitable[None] | None = None

    def _ws_message(self, message: str | bytes) -> Awaitable[None] | None:
        self.messages.append(message)
        return self.result

    def _ws_ping(self, data: bytes) -> None:
        self.pings.append(data)

    def _ws_pong(self, data: bytes) -> None:
        self.pongs.append(data)

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        self.closed.append((code, reason))


def on_fake(test: Callable[[FakeTransport, Sink, WebSocketProtocol], Awaitable[None]], **kwargs: Any) -> None:
    async def main() -> None:
        transport, sink = FakeTransport(), Sink()
        protocol = WebSocketProtocol(transport, sink, client=False, **kwargs)
        transport.protocol = protocol
        await test(transport, sink, protocol)

    asyncio.run(main())


def test_events_wait_for_start_then_ping_is_answered() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.receive(client_frame(0x1, b"early") + client_frame(0x9, b"are you there"))
        assert sink.messages == [] and transport.written == b""
        protocol.start()
        assert sink.messages == ["early"] and sink.pings == [b"are you there"]
        assert transport.sent() == [Pong(b"are you there")]

    on_fake(test)


def test_close_frame_is_echoed_and_on_close_runs_once() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.data_received(client_frame(0x8, close_payload(1000, b"bye")) + client_frame(0x1, b"ignored"))
        assert transport.sent() == [Close(1000, "")]
        assert transport.eof and protocol.is_closing()
        assert sink.messages == []
        with pytest.raises(WebSocketClosedError):
            protocol.write_message(b"too late", text=False)
        protocol.connection_lost(None)
        protocol.connection_lost(None)
        assert sink.closed == [(1000, "bye")]

    on_fake(test)


def test_close_waits_a_bounded_time_for_the_peer() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.close(4000, "going")
        assert transport.sent() == [Close(4000, "going")]
        await eventually(lambda: bool(sink.closed))
        assert transport.aborted and sink.closed == [(None, None)]

    on_fake(test, close_timeout=0.01)


def test_protocol_error_fails_the_connection() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.data_received(client_frame(0x1, b"ok") + client_frame(0x1, b"\xff") + client_frame(0x1, b"never"))
        assert sink.messages == ["ok"]
        assert transport.sent() == [Close(1007, "text message is not valid UTF-8")]
        assert transport.eof  # half-closed; lingering until the peer's FIN
        protocol.data_received(client_frame(0x1, b"discarded"))
        assert sink.messages == ["ok"]

    on_fake(test)


def test_a_peer_already_gone_when_half_closing_is_dropped() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        def write_eof() -> None:
            raise OSError(107, "Transport endpoint is not connected")

        transport.write_eof = write_eof  # type: ignore[method-assign]
        protocol.start()
        protocol.data_received(client_frame(0x8, close_payload(1016)))  # an invalid code: fail
        assert transport.aborted
        await eventually(lambda: bool(sink.closed))

    on_fake(test)


def test_async_on_message_holds_back_the_next_message() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sink.result = gate
        protocol.start()
        protocol.data_received(client_frame(0x1, b"one") + client_frame(0x1, b"two"))
        assert sink.messages == ["one"]
        protocol.data_received(client_frame(0x2, b"x" * 70000))
        assert transport.reading_paused  # a little is buffered meanwhile, then TCP pushes back
        sink.result = None
        gate.set_result(None)
        await eventually(lambda: len(sink.messages) == 3)
        assert sink.messages == ["one", "two", b"x" * 70000] and not transport.reading_paused

    on_fake(test)


def test_write_flow_control() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        assert protocol.write_message(b"a", text=False).done()
        protocol.pause_writing()
        first = protocol.write_message(b"b", text=False)
        assert not first.done()
        protocol.resume_writing()
        assert first.done()
        protocol.pause_writing()
        second = protocol.write_message(b"c", text=False)
        protocol.connection_lost(None)
        with pytest.raises(WebSocketClosedError):
            await second

    on_fake(test)


def test_backed_up_writes_stop_reading_and_dispatching() -> None:
    # A peer that sends pings but never reads: every pong is a write, so
    # while the transport is over its high-water mark nothing more is read
    # or answered; the held pings are answered once it drains.
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.pause_writing()
        assert transport.reading_paused
        protocol.data_received(client_frame(0x9, b"one") + client_frame(0x9, b"two"))
        assert transport.sent() == [] and sink.pings == []
        protocol.resume_writing()
        assert transport.sent() == [Pong(b"one"), Pong(b"two")] and sink.pings == [b"one", b"two"]
        assert not transport.reading_paused

    on_fake(test)


def test_reading_stays_paused_while_writes_are_backed_up() -> None:
    # Reaching NEED_DATA (which normally resumes reading) must not undo it.
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.data_received(client_frame(0x9, b"a"))
        protocol.pause_writing()
        protocol.data_received(b"")
        assert transport.reading_paused
        protocol.start()
        assert transport.reading_paused

    on_fake(test)


def test_a_backlog_over_the_limit_drops_a_peer_that_does_not_read() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.pause_writing()
        transport.backlog = 1000
        protocol.write_message(b"fits", text=False)  # at the limit: queued
        transport.backlog = 1001
        with pytest.raises(WebSocketClosedError):
            protocol.write_message(b"one too many", text=False)
        assert transport.aborted
        await eventually(lambda: bool(sink.closed))

    on_fake(test, max_write_backlog=1000)


def test_a_transport_already_backed_up_at_the_upgrade_counts_as_paused() -> None:
    async def main() -> None:
        transport, sink = FakeTransport(), Sink()
        transport.backlog = 100 * 1024  # over the 64 KiB high-water mark
        protocol = WebSocketProtocol(transport, sink, client=False)
        protocol.start()
        protocol.data_received(client_frame(0x9, b"held"))
        assert transport.sent() == []
        protocol.resume_writing()
        assert transport.sent() == [Pong(b"held")]

    asyncio.run(main())


def test_keepalive_ping_timeout_closes() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        await eventually(lambda: transport.eof)
        sent = transport.sent()
        assert sent[0] == Ping(b"") and sent[-1] == Close(1001, "ping timeout")

    on_fake(test, ping_interval=0.01, ping_timeout=0.02)


class PongingTransport(FakeTransport):
    """A client that answers each ping at once, and notes when each came."""

    def __init__(self) -> None:
        super().__init__()
        self.ping_times: list[float] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        super().write(data)
        if bytes(data[:1]) == b"\x89" and self.protocol is not None:  # a ping frame
            loop = asyncio.get_running_loop()
            self.ping_times.append(loop.time())
            loop.call_soon(self.protocol.data_received, client_frame(0xA))


def test_keepalive_pong_keeps_the_connection_and_pings_come_every_interval() -> None:
    # Tornado's schedule: a ping every interval, its pong checked timeout after
    # it; a timeout shorter than the interval must not make pings more frequent.
    async def main() -> None:
        transport, sink = PongingTransport(), Sink()
        protocol = WebSocketProtocol(transport, sink, client=False, ping_interval=0.05, ping_timeout=0.01)
        transport.protocol = protocol
        protocol.start()
        await eventually(lambda: len(sink.pongs) >= 4)
        assert not transport.eof and all(event == Ping(b"") for event in transport.sent())
        gaps = [b - a for a, b in itertools.pairwise(transport.ping_times)]
        assert min(gaps) >= 0.045, gaps
        protocol.abort()
        await eventually(lambda: bool(sink.closed))

    asyncio.run(main())


def test_keepalive_timeout_defaults_to_the_interval() -> None:
    # Tornado 6.5: without ping_timeout a missing pong closes one interval
    # after the ping (it was max(3 x interval, 30 s) here before).
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        protocol.start()
        await asyncio.wait_for(eventually(lambda: transport.eof), 2.0)
        assert transport.sent()[-1] == Close(1001, "ping timeout")
        assert loop.time() - started >= 0.1  # the ping at one interval, the close at two

    on_fake(test, ping_interval=0.05)


def test_keepalive_timeout_zero_pings_but_never_closes() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        await eventually(lambda: transport.sent().count(Ping(b"")) >= 3)
        assert not transport.eof

    on_fake(test, ping_interval=0.01, ping_timeout=0)


@pytest.mark.parametrize(
    ("interval", "timeout", "effective"),
    [(10, None, 10.0), (10, 60, 10.0), (5, 2, 2.0), (5, 0, 0.0), (None, 5, None), (0, None, None)],
)
def test_effective_ping_timeout_is_tornados_rule(interval: float | None, timeout: float | None, effective: float | None) -> None:
    assert effective_ping_timeout(interval, timeout) == effective


def test_a_ping_timeout_over_the_interval_is_cut_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="framework.general"):
        assert effective_ping_timeout(3.5, 99.0) == 3.5
        assert effective_ping_timeout(3.5, 99.0) == 3.5
    assert [r.getMessage() for r in caplog.records] == [
        "websocket ping timeout (99.0s) cannot be longer than the ping interval (3.5s): using 3.5s"
    ]

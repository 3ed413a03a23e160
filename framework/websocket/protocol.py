"""An open WebSocket on an asyncio transport, shared by the server handler and the client.

Strategy: after the opening handshake the HTTP protocol hands its transport
over (``transport.set_protocol``) to a ``WebSocketProtocol``. Received bytes
go into the sans-IO ``FrameReader``; events pulled from it go to a *sink*
(the ``WebSocketHandler`` or the ``WebSocketClientConnection``) through four
verbs: ``_ws_message``, ``_ws_ping``, ``_ws_pong``, ``_ws_closed``. A message
callback that returns an awaitable holds back the next message until it
completes (messages are processed in order), and reading pauses once a
little is buffered meanwhile: flow control reaches the peer through TCP.

The other direction too: while the transport's write buffer is over its
high-water mark (asyncio's ``pause_writing``), nothing more is read or
dispatched. Every ping is answered with a pong and every echoed message is a
write, so a peer that sends without reading would otherwise make this side
queue answers without bound (issue 12: 40 MB of pings grew the server by
33 MB). Writes the application makes without awaiting them are bounded as
well: past ``max_write_backlog`` queued bytes the peer is taken to have
stopped reading and the connection is dropped.

Closing (RFC 6455 7): the side that receives a Close frame echoes it; the
server then half-closes TCP (it closes first, RFC 6455 7.1.1) and lingers,
discarding input, until the client's FIN or a timeout; the client waits for
the server to close. ``close()`` waits a bounded time for the peer's answer.
A protocol violation fails the connection: a Close frame with the code from
the ``FrameError``, then the same half-close. Every path ends in
``connection_lost``, the one place the sink hears ``_ws_closed`` (so
``on_close`` runs exactly once).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, cast

from framework import escape
from framework.websocket.deflate import Deflater, Inflater
from framework.websocket.frames import (
    DEFAULT_MAX_MESSAGE_SIZE,
    NEED_DATA,
    Close,
    CloseCode,
    Event,
    FrameError,
    FrameReader,
    FrameWriter,
    Message,
    Ping,
    Pong,
)

__all__ = [
    "CLOSE_TIMEOUT",
    "MessageSink",
    "WebSocketClosedError",
    "WebSocketError",
    "WebSocketProtocol",
    "effective_ping_timeout",
    "encode_message",
]

app_log = logging.getLogger("framework.application")
gen_log = logging.getLogger("framework.general")

CLOSE_TIMEOUT: Final = 5.0
"""Seconds to wait for the peer's side of a closing handshake before aborting."""

_READ_HIGH_WATER: Final = 64 * 1024  # bytes buffered, not consumed, before reading pauses

MAX_WRITE_BACKLOG: Final = 8 * 1024 * 1024
"""Bytes a connection may have queued for a peer that is not reading before it is dropped."""


class WebSocketError(Exception):
    """Base class of WebSocket errors (Tornado's ``WebSocketError``)."""


class WebSocketClosedError(WebSocketError):
    """Raised by an operation on a closed connection (Tornado's ``WebSocketClosedError``)."""


class MessageSink(Protocol):
    """What a ``WebSocketProtocol`` reports to: the handler or the client connection."""

    def _ws_message(self, message: str | bytes) -> Awaitable[None] | None: ...

    def _ws_ping(self, data: bytes) -> None: ...

    def _ws_pong(self, data: bytes) -> None: ...

    def _ws_closed(self, code: int | None, reason: str | None) -> None: ...


class WebSocketProtocol(asyncio.Protocol):
    """One WebSocket connection over a transport that has left HTTP behind.

    Args:
        transport: the connection, already past the handshake.
        sink: receives messages, pings, pongs and the end of the connection.
        client: this is the client side (frames are masked when sent).
        max_message_size: largest message accepted; larger ones close with 1009.
        compression: the permessage-deflate codec, if negotiated.
        ping_interval: seconds between keepalive pings; None or 0 for none.
        ping_timeout: seconds to wait for a pong before closing; 0 never
            closes; None (the default) and anything above ``ping_interval``
            mean ``ping_interval`` (see ``effective_ping_timeout``).
        close_timeout: seconds to wait for the peer during a close.
        max_write_backlog: bytes that may wait in the transport's write
            buffer when a frame is sent; beyond it the connection is dropped
            (``write_message`` callers that never await their futures).
    """

    __slots__ = (
        "loop",
        "transport",
        "sink",
        "client",
        "reader",
        "writer",
        "close_code",
        "close_reason",
        "_ping_interval",
        "_ping_timeout",
        "_close_timeout",
        "_started",
        "_dispatching",
        "_reading_paused",
        "_writing_paused",
        "_ready",
        "_drain_waiters",
        "_close_sent",
        "_close_received",
        "_ending",
        "_lost",
        "_timer",
        "_ping_timer",
        "_ping_sent_at",
        "_task",
        "_max_write_backlog",
    )

    def __init__(
        self,
        transport: asyncio.BaseTransport,
        sink: MessageSink,
        *,
        client: bool,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        compression: tuple[Deflater, Inflater] | None = None,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        close_timeout: float = CLOSE_TIMEOUT,
        max_write_backlog: int = MAX_WRITE_BACKLOG,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport: asyncio.Transport | None = cast(asyncio.Transport, transport)
        self.sink = sink
        self.client = client
        deflater, inflater = compression if compression is not None else (None, None)
        self.reader = FrameReader(masked=not client, max_message_size=max_message_size, inflater=inflater)
        self.writer = FrameWriter(client=client, deflater=deflater)
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._ping_interval = ping_interval or None
        self._ping_timeout = effective_ping_timeout(ping_interval, ping_timeout)
        self._close_timeout = close_timeout
        self._started = False
        self._dispatching = False
        self._reading_paused = False
        # The transport may be backed up already (the HTTP protocol heard
        # its pause_writing): resume_writing will come to us.
        self._writing_paused = _over_high_water(transport)
        self._max_write_backlog = max_write_backlog
        self._ready: asyncio.Future[None] = self.loop.create_future()
        self._ready.set_result(None)
        # One future per paused write: a shared one would be cancelled for
        # every writer when one writer's task is cancelled.
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._close_sent = False
        self._close_received = False
        self._ending = False  # the connection is being taken down; input is discarded
        self._lost = False
        self._timer: asyncio.TimerHandle | None = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._ping_sent_at: float | None = None
        self._task: asyncio.Future[Any] | None = None

    # -- asyncio callbacks ---------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._ending or self._close_received:
            return  # lingering: what arrives now is dropped
        self.reader.feed(data)
        self._pump()
        if self._writing_paused or ((not self._started or self._dispatching) and self.reader.buffered > _READ_HIGH_WATER):
            self._pause_reading()

    def eof_received(self) -> bool:
        return False  # let the transport close; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        self.transport = None
        self._cancel_timers()
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(WebSocketClosedError())
        try:
            self.sink._ws_closed(self.close_code, self.close_reason)
        except Exception:
            app_log.error("uncaught exception in on_close", exc_info=True)

    def pause_writing(self) -> None:
        # The peer is not reading what we send: stop reading what it sends
        # (each ping, each echoed message, would be one more thing queued).
        self._writing_paused = True
        if not self._ending:
            self._pause_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._pump()  # frames held back while writes were backed up; resumes reading at NEED_DATA

    # -- verbs for the handler and the client ------------------------------------

    def receive(self, data: bytes) -> None:
        """Feed bytes that arrived before this protocol took over (after the handshake)."""
        if data:
            self.data_received(data)

    def start(self) -> None:
        """Begin delivering events (after ``open()``), and the keepalive pings."""
        if self._started:
            return
        self._started = True
        if self._ping_interval and self.transport is not None and not self._close_sent:
            self._ping_timer = self.loop.call_later(self._ping_interval, self._keepalive)
        self._pump()

    def is_closing(self) -> bool:
        """True once a Close frame was sent or received, or the transport is gone."""
        return self._close_sent or self._close_received or self.transport is None

    def write_message(self, data: bytes, *, text: bool) -> asyncio.Future[None]:
        """Send a data message.

        Returns:
            A future that completes when the transport can take more (flow
            control); it raises ``WebSocketClosedError`` if the connection
            closes first.

        Raises:
            WebSocketClosedError: the connection is closing or closed.
        """
        return self._send(self.writer.message(data, text=text))

    def ping(self, data: bytes = b"") -> None:
        """Send a Ping frame.

        Raises:
            WebSocketClosedError: the connection is closing or closed.
            ValueError: ``data`` is over 125 bytes.
        """
        self._send(self.writer.ping(data))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake; the transport closes when the peer answers or after a timeout.

        Raises:
            ValueError: a code that may not be sent, or a reason over 123 bytes.
        """
        if self._close_sent or self.transport is None:
            return
        if code is None and reason is not None:
            code = CloseCode.NORMAL  # as Tornado: a reason implies a normal close
        frame = self.writer.close(code, reason or "")
        self._close_sent = True
        self.transport.write(frame)
        self._stop_keepalive()
        if self._close_received:
            self._end()
        else:
            self._arm_timer(self._close_timeout, self.abort)

    def fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 7.1.7): a Close frame with ``code``, then close."""
        transport = self.transport
        if transport is None:
            return
        if not self._close_sent:
            self._close_sent = True
            transport.write(self.writer.close(code, _short(reason)))
        self._end()

    def abort(self) -> None:
        """Drop the connection at once."""
        if self.transport is not None:
            self.transport.abort()

    # -- receiving ------------------------------------------------------------

    def _pump(self) -> None:
        """Pull events and hand them to the sink until blocked."""
        reader = self.reader
        while self._started and not self._dispatching and not self._ending and not self._close_received:
            if self.transport is None or self._writing_paused:
                return  # resume_writing pumps again
            try:
                event = reader.next_event()
            except FrameError as exc:
                gen_log.info("websocket protocol error, closing with %d: %s", exc.code, exc.message)
                self.fail(exc.code, exc.message)
                return
            if event is NEED_DATA:
                self._resume_reading()
                return
            self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, Message):
            self._deliver(event.data)
        elif isinstance(event, Ping):
            if not self._close_sent and self.transport is not None:
                self.transport.write(self.writer.pong(event.data))
            self._call_sink("on_ping", self.sink._ws_ping, event.data)
        elif isinstance(event, Pong):
            self._ping_sent_at = None
            self._call_sink("on_pong", self.sink._ws_pong, event.data)
        elif isinstance(event, Close):
            self._on_close_frame(event)

    def _deliver(self, message: str | bytes) -> None:
        try:
            result = self.sink._ws_message(message)
        except Exception:
            self._callback_failed("on_message")
            return
        if result is None or not inspect.isawaitable(result):
            return
        self._dispatching = True
        self._task = asyncio.ensure_future(result)
        self._task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Future[Any]) -> None:
        self._dispatching = False
        self._task = None
        if not task.cancelled() and task.exception() is not None:
            self._callback_failed("on_message", task.exception())
            return
        self._pump()

    def _call_sink(self, what: str, method: Callable[[bytes], object], data: bytes) -> None:
        try:
            method(data)
        except Exception:
            self._callback_failed(what)

    def _callback_failed(self, what: str, exc: BaseException | None = None) -> None:
        app_log.error("uncaught exception in %s; closing the websocket with 1011", what, exc_info=exc or True)
        self.fail(CloseCode.INTERNAL_ERROR, "internal error")

    def _on_close_frame(self, close: Close) -> None:
        self._close_received = True
        self.close_code, self.close_reason = close.code, close.reason or None
        self._stop_keepalive()
        if not self._close_sent and self.transport is not None:
            self._close_sent = True
            self.transport.write(self.writer.close(close.code))  # echo the code (RFC 6455 5.5.1)
        if self.client:
            self._arm_timer(self._close_timeout, self.abort)  # the server closes TCP first
        else:
            self._end()

    # -- sending --------------------------------------------------------------

    def _send(self, frame: bytes) -> asyncio.Future[None]:
        transport = self.transport
        if transport is None or self._close_sent:
            raise WebSocketClosedError()
        if self._writing_paused and transport.get_write_buffer_size() > self._max_write_backlog:
            gen_log.info(
                "websocket peer is not reading (%d bytes queued, max %d); dropping the connection",
                transport.get_write_buffer_size(),
                self._max_write_backlog,
            )
            transport.abort()
            raise WebSocketClosedError()
        transport.write(frame)
        if not self._writing_paused:
            return self._ready
        waiter = self.loop.create_future()
        self._drain_waiters.append(waiter)
        return waiter

    # -- closing ----------------------------------------------------------------

    def _end(self) -> None:
        """Take TCP down: half-close and linger (discarding input) until the peer's FIN or a timeout."""
        transport = self.transport
        if transport is None or self._ending:
            return
        self._ending = True
        self._stop_keepalive()
        if transport.can_write_eof():
            try:
                transport.write_eof()
            except OSError:  # the peer is already gone (ENOTCONN after a reset)
                transport.abort()
                return
            self._resume_reading(force=True)  # read on, so the peer's FIN (or its leftovers) arrive
        else:
            transport.close()  # TLS: close_notify, then the transport closes
        self._arm_timer(self._close_timeout, self.abort)

    def _arm_timer(self, seconds: float, callback: Callable[[], object]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(seconds, callback)

    def _cancel_timers(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._stop_keepalive()

    # -- keepalive --------------------------------------------------------------

    def _keepalive(self) -> None:
        """Send a ping; check for its pong ``_ping_timeout`` later, or just ping again."""
        self._ping_timer = None
        interval = self._ping_interval
        if self.transport is None or self._close_sent or interval is None:
            return
        sent_at = self.loop.time()
        self.transport.write(self.writer.ping(b""))
        self._ping_sent_at = sent_at  # a pong sets it back to None
        if self._ping_timeout:
            self._ping_timer = self.loop.call_later(self._ping_timeout, self._check_pong, sent_at)
        else:
            self._ping_timer = self.loop.call_later(interval, self._keepalive)

    def _check_pong(self, sent_at: float) -> None:
        """Close if the last ping has had no pong; else ping again ``_ping_interval`` after it."""
        self._ping_timer = None
        interval = self._ping_interval
        if self.transport is None or self._close_sent or interval is None:
            return
        if self._ping_sent_at is not None:
            gen_log.info("websocket ping timeout after %.1fs; closing", self._ping_timeout)
            self.fail(CloseCode.GOING_AWAY, "ping timeout")
            return
        delay = sent_at + interval - self.loop.time()
        self._ping_timer = self.loop.call_later(max(delay, 0.0), self._keepalive)

    def _stop_keepalive(self) -> None:
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None

    # -- reading flow control ---------------------------------------------------

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self, *, force: bool = False) -> None:
        """Read again, unless writes are backed up (``force``: when lingering, input is only discarded)."""
        if self._writing_paused and not force:
            return
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()


def _over_high_water(transport: asyncio.BaseTransport) -> bool:
    """True when ``transport``'s write buffer is over its high-water mark (it paused its protocol)."""
    try:
        size = cast(asyncio.WriteTransport, transport).get_write_buffer_size()
        _, high = cast(asyncio.WriteTransport, transport).get_write_buffer_limits()
    except (AttributeError, NotImplementedError):
        return False
    return size > high


# (interval, timeout) pairs already warned about: one line per configuration, not per connection.
_capped_ping_timeouts: set[tuple[float, float]] = set()


def effective_ping_timeout(interval: float | None, timeout: float | None) -> float | None:
    """The seconds a ping waits for its pong, by Tornado 6.5's rule.

    Without ``timeout`` it is the interval; a ``timeout`` longer than the
    interval is cut to the interval, with a warning logged once per pair (as
    Tornado does: the next ping would be due before the pong). ``0`` keeps
    the pings and never closes for a missing pong.

    Args:
        interval: Seconds between keepalive pings; None or 0 for no pings.
        timeout: Seconds without a pong before closing, or None.

    Returns:
        None when there are no pings, else the timeout in seconds.
    """
    if not interval:
        return None
    if timeout is None:
        return float(interval)
    if timeout > interval:
        if (interval, timeout) not in _capped_ping_timeouts:
            _capped_ping_timeouts.add((interval, timeout))
            gen_log.warning(
                "websocket ping timeout (%ss) cannot be longer than the ping interval (%ss): using %ss",
                timeout,
                interval,
                interval,
            )
        return float(interval)
    return float(timeout)


def encode_message(message: str | bytes | dict[str, Any], binary: bool) -> tuple[bytes, bool]:
    """The payload and whether it goes in a text frame, as Tornado's ``write_message`` decides.

    Raises:
        TypeError: another type of message.
        ValueError: bytes sent as text (``binary=False``) that are not UTF-8.
    """
    if isinstance(message, dict):
        message = escape.json_encode(message)
    if isinstance(message, str):
        return message.encode("utf-8"), not binary
    if isinstance(message, (bytes, bytearray, memoryview)):
        data = bytes(message)
        if not binary:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("bytes sent as a text message must be UTF-8; pass binary=True") from None
        return data, not binary
    raise TypeError(f"write_message() takes str, bytes or dict, not {type(message).__name__}")


def _short(reason: str) -> str:
    """A reason that fits a Close frame (123 bytes of UTF-8)."""
    encoded = reason.encode("utf-8")[:123]
    return encoded.decode("utf-8", "ignore")

"""The asyncio ``Protocol`` of one HTTP/1.1 server connection, driving a delegate.

Strategy: bytes from the transport go into an ``http1.RequestParser``; events
pulled from it drive the application's ``HTTPMessageDelegate`` (the seam in
``httputil``). Nothing here parses or serialises HTTP itself: heads, chunks and
error responses come from ``http1``. Pipelined requests simply wait in the
parser's buffer (which reports ``PAUSED``) until the response in flight is
finished; reading is paused when that buffer grows past a high-water mark, and
while an awaitable returned by the delegate is pending (flow control for
streamed bodies). No new request is started while the transport's write
buffer is over its high-water mark, so a client that pipelines without
reading cannot make the server hold its responses in memory.

Corked writes: after a loop iteration's first write, the others (the
answers to the other connections' requests read in that iteration, long
polls woken by one ``notify_all()``) wait for one pass at the start of the
next iteration (``_write_corked``), one write per connection. So the
handlers run back to back and then the sends, and a client reading many
connections is woken once for the burst rather than once per response: on
this project's virtual machine, waking it was a sixth of the server's time
(loadtest/bench.py, loadtest/longpoll_fanout.py).

Each connection has one deadline, re-armed lazily: a phase change only moves
it, and the server's ``DeadlineWheel`` (one loop timer per second of
deadlines, not one per connection) asks the connection when its slot comes
due; a deadline not yet reached joins a later slot.
Phases: reading a head (``header_timeout``: a total deadline from the head's
first byte, so trickling bytes does not extend it: slowloris), idle between
requests (``idle_connection_timeout``), reading a body (``body_timeout`` of
silence, and a minimum average rate, ``min_body_rate``: see
``serverstate.body_deadline``), and waiting for the application (no limit, so
long-polls live; time the application takes is never counted against the
client).

``xheaders``: the ``X-Real-Ip``/``X-Forwarded-*`` headers are believed only
on connections whose peer address is in ``trusted_proxies``; from anyone
else they are ignored (a client could claim any address or scheme).

Each request gets its own ``exchange.HTTP1Connection``, which frames the
response and hands its bytes to ``send`` here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import cast

from framework import http1
from framework.decompress import GzipMessageDelegate, wants_decompression
from framework.http1connection.corkexit import note_corking
from framework.http1connection.exchange import HTTP1Connection
from framework.httputil import (
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    RequestStartLine,
)
from framework.iostream import StreamClosedError
from framework.serverstate import BodyClock, ConnectionContext, ServerState, body_deadline, is_trusted

__all__ = ["HTTP1ServerProtocol"]

app_log = logging.getLogger("framework.application")
gen_log = logging.getLogger("framework.general")

_READ_HIGH_WATER = 256 * 1024  # buffered-but-unparsed bytes before reading pauses
_IDLE, _HEAD, _BODY, _APP, _CLOSING, _LINGER = range(6)
# Lingering close: after answering a request whose body was not read (413,
# an early error), the server shuts its sending side and discards what the
# client still sends, for a bounded time and amount, before closing. Closing
# at once with unread bytes makes the kernel send a reset, and the client
# loses the response it was sent.
_LINGER_SECONDS = 2.0
_LINGER_MAX_BYTES = 16 * 1024 * 1024
_CONTINUE = http1.serialize_response_head(100, [])
# Corked bytes a connection may hold: a handler writing and flushing in a
# loop without yielding still meets the transport's flow control.
_CORK_LIMIT = 16 * 1024
_new_tuple = tuple.__new__


def _closed_write(loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    """What a write returns once the client has gone: a Future failed with ``StreamClosedError``.

    Marked retrieved: a write nobody awaits (a handler that does not wait
    for its flush) is no error for asyncio to report when it is collected.
    """
    future: asyncio.Future[None] = loop.create_future()
    future.set_exception(StreamClosedError())
    future.exception()
    return future


def _write_corked(state: ServerState) -> None:
    """The end of a loop iteration's corking: each connection's bytes, in one pass.

    Scheduled by the iteration's first write (``call_soon``): it runs in the next, before what was queued later.
    A loop stopped in between writes them when it runs again; ``close()`` and a drain write them
    first, and a program that exits instead at exit (``corkexit``).
    """
    state.corking = False
    # Only this module's protocols cork (a cast per connection would be a call each).
    pending: dict[HTTP1ServerProtocol, bytes] = state.corked.copy()  # type: ignore[assignment]
    state.corked.clear()
    for proto, data in pending.items():
        transport = proto.transport
        if transport is None:
            continue
        try:
            transport.write(data)
        except Exception:  # one connection's failure, not the others': they still get their bytes
            gen_log.error("writing corked bytes to %s failed; aborting it", proto.context.remote_ip, exc_info=True)
            transport.abort()


class HTTP1ServerProtocol(asyncio.Protocol):
    """One client connection: parser in, delegate driven, responses out."""

    __slots__ = (
        "state",
        "config",
        "parser",
        "transport",
        "context",
        "phase",
        "draining",
        "request_complete",
        "current",
        "message",
        "waiting",
        "processing",
        "reading_paused",
        "write_waiter",
        "writing_paused",
        "deadline",
        "slot",
        "body",
        "loop",
        "lingered",
        "peer_trusted",
    )

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.config = state.config
        self.loop = asyncio.get_running_loop()
        # The pool's shared idle parser until bytes arrive (serverstate.ParserPool).
        self.parser = state.parsers.idle
        self.transport: asyncio.Transport | None = None
        self.context = ConnectionContext(None, None, "http")
        self.phase = _IDLE
        self.draining = False
        self.request_complete = False
        self.current: HTTP1Connection | None = None
        self.message: HTTPMessageDelegate | None = None
        self.waiting = False
        self.processing = False
        self.reading_paused = False
        self.writing_paused = False
        self.write_waiter: asyncio.Future[None] | None = None
        self.deadline: float | None = None
        self.slot: int | None = None  # the deadline wheel's second this connection waits in
        self.body: BodyClock | None = None  # while a request's body is read (_arm_body_deadline)
        self.lingered = 0
        self.peer_trusted = False

    # -- asyncio callbacks ------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)
        count = self.state.add(self)
        self.state.written_on(self.loop)  # (what send() returns: a Future, as Tornado's writes do)
        address = transport.get_extra_info("peername")
        ip = address[0] if isinstance(address, tuple) else None
        config = self.config
        proto = config.protocol or ("https" if transport.get_extra_info("sslcontext") is not None else "http")
        self.context = ConnectionContext(address, ip, proto, transport.get_extra_info("ssl_object"))
        self.peer_trusted = config.xheaders and is_trusted(ip, config.trusted_proxies)
        cap = config.max_connections
        # Upgraded connections (WebSockets) hold a descriptor too: add() counts them.
        if cap is not None and count > cap:
            gen_log.warning("refusing connection from %s: %d connections open (max %d)", ip, count, cap)
            self._send_error(503, "server at its connection limit")
            return
        self._set_deadline(self.config.header_timeout)

    def data_received(self, data: bytes) -> None:
        phase = self.phase
        if phase >= _CLOSING:
            self._discard(len(data))
            return
        parser = self.parser
        if parser is self.state.parsers.idle:
            parser = self.parser = self.state.parsers.take()
        parser.feed(data)
        if phase == _IDLE:
            self.phase = _HEAD
        elif phase == _BODY:  # (_process arms its deadline again if more is to come)
            body = self.body
            if body is not None:  # (always, in this phase)
                body.received += len(data)
        if not self.waiting:
            self._process()
        if self.phase == _HEAD and phase != _HEAD:
            # A head began and is still incomplete: the slowloris clock starts.
            # (A head that arrives whole, the usual case, never needs it.)
            self._set_deadline(self.config.header_timeout)
        # (_IDLE after processing means the buffer is empty: no property call.)
        if (
            self.phase != _IDLE
            and self.parser.buffered > _READ_HIGH_WATER
            and not self.reading_paused
            and self.transport is not None
        ):
            self.reading_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        # A client that half-closes is treated as gone: browsers never
        # half-close, and a waiting long-poll must learn its client left.
        # (Idle: nothing buffered, nothing to finish.)
        if self.phase < _CLOSING and self.parser is not self.state.parsers.idle:
            self.parser.feed_eof()
            if self.current is None and self.parser.buffered and not self.waiting:
                self._process()
        # Returning False closes the transport: what is corked goes first,
        # answers _process just wrote included.
        self._uncork()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.remove(self)
        self.state.corked.pop(self, None)  # (nowhere to write it now)
        self.transport = None
        self._leave_wheel()
        waiter, self.write_waiter = self.write_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._abandon_request()
        self.state.closed(self)

    def detach(
        self, conn: HTTP1Connection, on_server_drain: Callable[[], object] | None = None
    ) -> tuple[asyncio.Transport, bytes]:
        """See ``HTTP1Connection.detach``."""
        transport = self.transport
        if conn is not self.current or transport is None:
            raise RuntimeError("detach() of a request that is not the connection's current one")
        self._uncork()  # (a 101 written from a task: before the new protocol's bytes)
        leftover = self.parser.take_buffer()
        self.phase = _CLOSING
        self.transport = None
        self.current = self.message = None
        self._leave_wheel()
        if self.reading_paused:
            self.reading_paused = False
            transport.resume_reading()
        self.state.hand_off(self, transport, on_server_drain)
        return transport, leftover

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        waiter, self.write_waiter = self.write_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self.current is None and not self.waiting and self.transport is not None:
            self._process()  # pipelined requests held back while the client was not reading

    # -- the event pump -----------------------------------------------------

    def _process(self) -> None:
        """Pull parser events and hand them to the delegate until blocked.

        The loop is written inside the guard rather than in a method of its
        own: a call less per request (loadtest/instructions.py).
        """
        if self.processing:
            return
        self.processing = True
        try:
            parser = self.parser
            while self.transport is not None and not self.waiting and self.phase < _CLOSING:
                if self.current is None:
                    if self.writing_paused:
                        return  # start no new request until the client reads; resume_writing goes on
                elif self.request_complete:
                    # The request is all in and the application is answering it:
                    # the next one, if any, waits in the buffer until it has.
                    self._lend_parser()
                    self._resume_if_drained()
                    return
                try:
                    event = parser.next_event()
                except http1.ProtocolError as exc:
                    self._on_protocol_error(exc)
                    return
                kind = type(event)
                if kind is http1.Body:
                    assert self.message is not None
                    result = self.message.data_received(event.data)  # type: ignore[union-attr]
                    if result is not None:
                        self._wait_for(result)
                elif kind is http1.RequestHead:
                    self._start_request(event)  # type: ignore[arg-type]
                elif kind is http1.EndOfMessage:
                    self._finish_request()
                    if self.phase == _IDLE:
                        # Answered, and nothing more buffered: response_finished
                        # gave this parser back to the pool (unless the client
                        # half-closed) and resumed reading.
                        return
                else:  # NEED_DATA or PAUSED
                    if self.phase == _BODY:  # (waiting was ruled out above) the rest of the body, within its deadline
                        self._arm_body_deadline()
                    self._resume_if_drained()
                    return
        except Exception:
            # The delegate raised. This may run inside another request's
            # finish() (pipelining) or a future's callback, where the error
            # would be misattributed or lost and the connection left hanging.
            app_log.error("uncaught exception from the application; closing connection", exc_info=True)
            self.close()
        finally:
            self.processing = False

    def _resume_if_drained(self) -> None:
        """Read again once the buffer that paused reading is down to half its high-water mark.

        (While a request is answered too: a long poll must still see its
        client leave.)
        """
        if self.reading_paused and self.parser.buffered < _READ_HIGH_WATER // 2:
            self._resume_reading()

    def _lend_parser(self) -> None:
        """Give the parser back while the application answers a request read to its end.

        Only a parser holding nothing (no pipelined bytes, no EOF) goes; the
        connection holds the pool's idle one meanwhile, and bytes that arrive
        take a fresh parser that waits, unread, until the response is done
        (``_process``). A long poll then waits without a parser of its own
        (loadtest/longpoll_fanout.py: bytes per waiter).
        """
        parser = self.parser
        if parser.buffered or parser.eof_seen:
            return
        pool = self.state.parsers
        parser.start_next()
        if pool.give_back(parser):
            self.parser = pool.idle

    def _start_request(self, head: http1.RequestHead) -> None:
        self.request_complete = False
        context = self.context
        headers = HTTPHeaders.adopt(head.fields)
        if self.peer_trusted:
            context = dataclasses.replace(context)
            context.apply_xheaders(headers, self.config.trusted_downstream, self.config.trusted_proxies)
        conn = HTTP1Connection(self, context, head)
        self.current = conn
        if head.chunked or head.content_length:
            self.phase = _BODY
            # Its deadline is armed only if the body has to be waited for
            # (_process, on NEED_DATA): one that came with its head, the
            # usual form, never moves the connection in the deadline wheel.
            self.body = BodyClock(self.config.body_timeout, self.loop.time())
        else:
            self.phase = _APP
            self.deadline = None  # the application's time: no limit
        self.message = self.state.delegate.start_request(self, conn)
        if self.config.decompress_request and wants_decompression(head.fields.get("content-encoding")):
            self.message = self._gzip_message(self.message)
        # tuple.__new__ skips the named tuple's Python-level __new__ (bench_inprocess).
        start_line = _new_tuple(RequestStartLine, (head.method, head.target, head.version))
        try:
            result = self.message.headers_received(start_line, headers)
        except HTTPInputError as exc:  # the request object refused the head (a Host outside its rule)
            self._on_protocol_error(http1.ProtocolError(exc.message, exc.status))
            return
        if result is not None:
            self._wait_for(result)
        elif head.expect_continue:
            self._send_continue()

    def _gzip_message(self, message: HTTPMessageDelegate) -> HTTPMessageDelegate:
        """``decompress_request``: the body inflated, its limit applied to the inflated size."""
        parser = self.parser

        def fail(status: int, reason: str) -> None:
            self._on_protocol_error(http1.ProtocolError(reason, status))

        return GzipMessageDelegate(message, lambda: parser.max_body_size, fail)

    def _send_continue(self) -> None:
        conn = self.current
        if conn is None or conn._headers_written or self.transport is None:
            return
        if self.parser.declared_body_too_large:
            # The body would be refused (413, from the next event): never
            # invite it. Asked now, after headers_received, so a handler that
            # raised its limit in prepare() gets its 100 Continue.
            return
        self._uncork()
        self.transport.write(_CONTINUE)
        conn.expect_continue = False  # once: not again after each flow-control wait of the body

    def _finish_request(self) -> None:
        self.request_complete = True
        self.phase = _APP
        self.deadline = None
        self.body = None
        message = self.message
        assert message is not None
        # Tornado's contract: a delegate gets finish() or on_connection_close(),
        # never both; a client leaving from now on reaches the application
        # through the close callback. Dropped before the call, so a long poll
        # holds no delegate while it waits (loadtest/longpoll_memory.py).
        self.message = None
        message.finish()

    def _wait_for(self, awaitable: Awaitable[None]) -> None:
        """Stop reading until the delegate's awaitable completes (flow control)."""
        self.waiting = True
        body = self.body
        if self.phase == _BODY and body is not None:
            self._set_deadline(None)  # the application's time, not the client's
            body.waited_since = self.loop.time()
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        future = asyncio.ensure_future(awaitable)
        future.add_done_callback(self._wait_done)

    def _wait_done(self, future: asyncio.Future[None]) -> None:
        self.waiting = False
        if not future.cancelled() and future.exception() is not None:
            app_log.error("delegate failed; closing connection", exc_info=future.exception())
            self.close()
            return
        if self.transport is None:
            return
        body = self.body
        if self.phase == _BODY and body is not None:
            body.started += self.loop.time() - body.waited_since
            self._arm_body_deadline()
            if self.current is not None and self.current.expect_continue:
                self._send_continue()
        self._resume_reading()
        self._process()

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    # -- the response side --------------------------------------------------

    def send(self, data: bytes) -> asyncio.Future[None]:
        """Write bytes (after any corked), or cork them (module docstring).

        Returns:
            A Future done when the transport wants more (the server state's
            shared done one, usually), or failed with ``StreamClosedError``
            once the client has gone.
        """
        transport = self.transport
        if transport is None or self.phase >= _CLOSING:  # (lingering: the sending side is shut)
            return _closed_write(self.loop)
        if data:
            self._write_or_cork(transport, data)
        if not self.writing_paused:
            return self.state.written  # type: ignore[return-value]  # (made for this loop in connection_made)
        if self.write_waiter is None:
            self.write_waiter = self.loop.create_future()
        return self.write_waiter

    def _write_or_cork(self, transport: asyncio.Transport, data: bytes) -> None:
        """A write: at once if it is the iteration's first (then any more are corked), else corked."""
        state = self.state
        corked = state.corked
        held = corked.get(self) if corked else None
        if held is not None:
            data = held + data  # (before anything is taken out: a str raises here, to its writer)
        if state.corking and self.phase < _CLOSING and len(data) < _CORK_LIMIT:
            if not corked:  # (the iteration's first: a server to look at on exit)
                note_corking(state)
            corked[self] = data if type(data) is bytes else bytes(data)  # (the writer may reuse its buffer)
            return
        if held is not None:
            del corked[self]
        if not state.corking:
            state.corking = True
            self.loop.call_soon(_write_corked, state)
        transport.write(data)

    def _uncork(self) -> None:
        """Write what this connection has corked now: a direct write must not overtake it."""
        data = self.state.corked.pop(self, None)
        if data is not None and self.transport is not None:
            self.transport.write(data)

    def response_finished(self, conn: HTTP1Connection) -> None:
        """Called by ``HTTP1Connection.finish`` (or ``finish_prepared``): close, or go on to the next request."""
        if conn is not self.current:
            return
        self.current = None
        self.message = None
        if not conn.keep_alive or self.transport is None or self.phase >= _CLOSING:
            self.close()  # (a no-op if the handler closed the connection already: it stays closed)
            return
        parser = self.parser
        pool = self.state.parsers
        # Else the pool's idle parser, given back when the request was read (a
        # long poll's, say): nothing to start or to take back (two calls less).
        if parser is not pool.idle:
            parser.start_next()  # (a no-op for a parser taken meanwhile: _lend_parser)
            # Asked first, as it takes back only a parser with nothing buffered
            # and no EOF (the usual case: a call less than asking `buffered` too).
            if pool.give_back(parser):
                self.parser = pool.idle
            elif parser.buffered:  # the next request, pipelined
                self.phase = _HEAD
                self._set_deadline(self.config.header_timeout)
                if not self.processing:  # else the running _process goes on by itself
                    # Not called from here: this runs inside the handler's finish(),
                    # which still has its access log and on_finish() to do before
                    # the next request may start (Tornado's order). In the server's
                    # context, not this request's.
                    self.loop.call_soon(self._process, context=self.state.context)
                return
        # (else nothing buffered, but a half-closed client keeps its own: serverstate.ParserPool)
        self.phase = _IDLE
        self._set_deadline(self.config.idle_connection_timeout)  # (None: Tornado's "no idle limit")
        if self.draining:
            self.close()
        elif self.reading_paused:  # (nothing buffered, nothing to pump: reading resumes)
            self._resume_reading()

    def _abandon_request(self) -> None:
        conn, message = self.current, self.message
        self.current = self.message = None
        if conn is None or conn._finished:
            return
        if conn._close_callback is not None:
            callback, conn._close_callback = conn._close_callback, None
            callback()
        if message is not None:
            message.on_connection_close()

    def _on_protocol_error(self, exc: http1.ProtocolError) -> None:
        peer = self.context.remote_ip
        gen_log.info("bad request from %s: %s (answering %d)", peer, exc.message, exc.status)
        conn = self.current
        if conn is None or not conn._headers_written:
            self._send_error(exc.status, exc.message)
        else:
            self.close()
        self._abandon_request()

    def _send_error(self, status: int, message: str) -> None:
        """Answer a request we could not parse, then close the connection."""
        transport = self.transport
        if transport is None:
            return
        body = f"{status} {http1.reason_phrase(status)}: {message}\n".encode("utf-8", "replace")
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        headers += [("X-Content-Type-Options", "nosniff"), ("Connection", "close")]
        self._uncork()
        transport.write(http1.serialize_response_head(status, headers) + body)
        self.close()

    def close(self) -> None:
        """Close after what was written is flushed; linger if request bytes are unread.

        Public for the server (``close_all_connections``, a drain closing idle
        connections); a request's handler closes through ``HTTP1Connection.close``.
        """
        transport = self.transport
        if transport is None or self.phase >= _CLOSING:
            return
        self._uncork()
        unread = self.parser.in_message or self.parser.buffered > 0
        if unread and transport.can_write_eof():
            self.phase = _LINGER
            transport.write_eof()
            self.deadline = None
            self._set_deadline(_LINGER_SECONDS)
            self._resume_reading()
            return
        self.phase = _CLOSING
        transport.close()

    def _discard(self, count: int) -> None:
        """Drop bytes that arrive while lingering; stop lingering past the cap."""
        self.lingered += count
        if self.lingered > _LINGER_MAX_BYTES and self.transport is not None:
            self.phase = _CLOSING
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once, without flushing (what is corked too)."""
        self.state.corked.pop(self, None)
        if self.transport is not None:
            self.transport.abort()

    # -- timeouts ------------------------------------------------------------

    def _set_deadline(self, seconds: float | None) -> None:
        if seconds is None:
            self.deadline = None
            return
        self._set_deadline_at(self.loop.time() + seconds)

    def _arm_body_deadline(self) -> None:
        """The body's deadline (``serverstate.body_deadline``); time waiting for the application moves ``body.started`` on."""
        body = self.body
        if body is None or body.timeout is None:
            self.deadline = None
            return
        now = self.loop.time()
        self._set_deadline_at(body_deadline(now, body.timeout, body.started, body.received, self.config.min_body_rate))

    def _set_deadline_at(self, deadline: float) -> None:
        self.deadline = deadline
        slot = self.slot
        if slot is None or slot > deadline:  # a later slot would be too late: move to the deadline's
            wheel = self.state.deadlines
            if slot is not None:
                wheel.disarm(self, slot)
            self.slot = wheel.arm(self, deadline)

    def _leave_wheel(self) -> None:
        if self.slot is not None:
            self.state.deadlines.disarm(self, self.slot)
            self.slot = None

    def on_deadline_slot(self) -> None:
        """The wheel's slot passed: time out if the deadline has, else wait in the deadline's slot."""
        self.slot = None
        deadline = self.deadline
        if deadline is None or self.transport is None:
            return
        if self.loop.time() < deadline:
            self.slot = self.state.deadlines.arm(self, deadline)
            return
        if self.phase == _LINGER:
            self.phase = _CLOSING
            self.transport.close()
            return
        names = {_IDLE: "idle", _HEAD: "header", _BODY: "body (silence or rate)"}
        gen_log.info("closing connection from %s: %s timeout", self.context.remote_ip, names.get(self.phase, "?"))
        self.close()

    @property
    def is_idle(self) -> bool:
        """True between requests, with nothing of the next one received."""
        return self.phase == _IDLE and self.current is None

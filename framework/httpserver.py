"""A non-blocking HTTP/1.1 server: one asyncio ``Protocol`` per connection.

Strategy: bytes from the transport go into an ``http1.RequestParser``; events
pulled from it drive the application's ``HTTPMessageDelegate`` (the seam in
``httputil``). The server holds no HTTP grammar: heads, chunks and error
responses are all serialised by ``http1``. Pipelined requests simply wait in
the parser's buffer (which reports ``PAUSED``) until the response in flight is
finished; reading is paused when that buffer grows past a high-water mark, and
while an awaitable returned by the delegate is pending (flow control for
streamed bodies).

Each connection owns one timer, re-armed lazily: a phase change only moves a
deadline, and the timer, when it fires early, re-arms itself for the rest.
Phases: reading a head (``header_timeout``, slowloris), idle between requests
(``idle_connection_timeout``), reading a body (``body_timeout``, reset by each
chunk), and waiting for the application (no limit, so long-polls live).

``max_connections``: a connection beyond the cap is answered with 503 and
closed at once (simpler and fairer to clients than leaving them in the
kernel's backlog).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from framework import http1
from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPOutputError,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from framework.ioloop import IOLoop

__all__ = ["HTTPServer", "ServerStats", "DrainReport", "bind_sockets"]

app_log = logging.getLogger("framework.application")
access_log = logging.getLogger("framework.access")
gen_log = logging.getLogger("framework.general")

_READ_HIGH_WATER = 256 * 1024  # buffered-but-unparsed bytes before reading pauses
_IDLE, _HEAD, _BODY, _APP, _CLOSING = range(5)
_CONTINUE = http1.serialize_response_head(100, [])


@dataclasses.dataclass(slots=True)
class ConnectionContext:
    """Where a request came from: ``remote_ip`` and ``protocol`` (after ``xheaders``)."""

    address: Any
    remote_ip: str | None
    protocol: str
    trusted_downstream: frozenset[str] = frozenset()

    def apply_xheaders(self, headers: HTTPHeaders) -> None:
        """Trust the proxy's ``X-Real-Ip``/``X-Forwarded-For`` and ``X-Forwarded-Proto``.

        The client is the rightmost ``X-Forwarded-For`` entry that is not a
        trusted downstream proxy: entries further left are the client's to forge.
        """
        forwarded = headers.get("X-Forwarded-For", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        while hops and hops[-1] in self.trusted_downstream:
            hops.pop()
        ip = headers.get("X-Real-Ip") or (hops[-1] if hops else None)
        if ip and _is_ip(ip):
            self.remote_ip = ip
        proto = headers.get("X-Scheme") or headers.get("X-Forwarded-Proto", "")
        proto = proto.split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            self.protocol = proto


def _is_ip(text: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except (OSError, ValueError):
            pass
    return False


@dataclasses.dataclass(frozen=True, slots=True)
class ServerStats:
    """Live connection counts, for metrics and health checks."""

    open: int
    idle: int
    in_flight: int


@dataclasses.dataclass(frozen=True, slots=True)
class DrainReport:
    """What a graceful drain did: idle connections closed, requests finished, connections aborted."""

    idle_closed: int
    finished: int
    aborted: int


@dataclasses.dataclass(frozen=True, slots=True)
class _ServerConfig:
    xheaders: bool
    no_keep_alive: bool
    limits: http1.Limits
    header_timeout: float
    idle_connection_timeout: float
    body_timeout: float | None
    max_connections: int | None
    trusted_downstream: frozenset[str]
    ssl_context: ssl.SSLContext | None


class _CallableAdapter(HTTPServerConnectionDelegate):
    """Lets a plain ``callback(request)`` serve requests, as Tornado's HTTPServer allows."""

    def __init__(self, callback: Callable[[HTTPServerRequest], Any]) -> None:
        self.callback = callback

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        return _CallableMessage(self.callback, request_conn, server_conn)


class _CallableMessage(HTTPMessageDelegate):
    def __init__(self, callback: Callable[[HTTPServerRequest], Any], conn: HTTPConnection, server_conn: object) -> None:
        self.callback = callback
        self.conn = conn
        self.server_conn = server_conn
        self.request: HTTPServerRequest | None = None
        self.chunks: list[bytes] = []

    def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
        self.request = HTTPServerRequest(
            connection=self.conn, start_line=start_line, headers=headers, server_connection=self.server_conn
        )

    def data_received(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def finish(self) -> None:
        assert self.request is not None  # internal invariant: headers come first
        self.request.body = b"".join(self.chunks)
        self.request._parse_body()
        result = self.callback(self.request)
        if asyncio.iscoroutine(result):
            asyncio.ensure_future(result)


class _RequestConnection(HTTPConnection):
    """The ``HTTPConnection`` of one request on a connection.

    A fresh object per request, so a handler that writes after its response
    finished cannot write into the next pipelined response.
    """

    __slots__ = (
        "_proto", "context", "_head", "_headers_written", "_finished",
        "_chunked", "_expected", "_written", "_close_callback", "keep_alive",
    )

    def __init__(self, proto: _HTTP1Protocol, context: ConnectionContext) -> None:
        self._proto = proto
        self.context = context
        self._head: http1.RequestHead | None = None
        self._headers_written = False
        self._finished = False
        self._chunked = False
        self._expected: int | None = None
        self._written = 0
        self._close_callback: Callable[[], None] | None = None
        self.keep_alive = False

    # Tornado's HTTP1Connection API used by applications.

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` if the connection closes before the response finished."""
        self._close_callback = callback

    def set_max_body_size(self, max_body_size: int) -> None:
        """Change the body limit for this request (before its body is read)."""
        self._proto.parser.set_max_body_size(max_body_size)

    def set_body_timeout(self, timeout: float) -> None:
        """Change the body inactivity timeout for this request."""
        self._proto.body_timeout = timeout

    def write_headers(
        self, start_line: ResponseStartLine, headers: HTTPHeaders, chunk: bytes | None = None
    ) -> Awaitable[None]:
        """Frame and send the response head (and first chunk) in one write.

        Raises:
            ValueError: a header name or value is unsafe (CR, LF, NUL).
            RuntimeError: headers were already written.
        """
        if self._headers_written:
            raise RuntimeError("write_headers() called twice")
        head = self._head
        assert head is not None  # the server sets it before the delegate sees the request
        proto = self._proto
        code = start_line.code
        has_body = http1.response_has_body(code, head.method)
        pairs = list(headers.get_all())
        self.keep_alive = head.keep_alive and not proto.draining and not proto.config.no_keep_alive
        if not proto.request_complete or "close" in headers.get("Connection", "").lower():
            self.keep_alive = False
        if "Content-Length" in headers:
            self._expected = int(headers["Content-Length"]) if has_body else 0
        elif has_body and "Transfer-Encoding" not in headers:
            if head.version == "HTTP/1.1":
                self._chunked = True
                pairs.append(("Transfer-Encoding", "chunked"))
            else:
                self.keep_alive = False  # HTTP/1.0: the body ends when we close
        if not has_body:
            self._expected = 0
        if self.keep_alive:
            if head.version == "HTTP/1.0":
                pairs.append(("Connection", "keep-alive"))
        elif "Connection" not in headers:
            pairs.append(("Connection", "close"))
        data = http1.serialize_response_head(code, pairs, reason=start_line.reason or None, version=head.version)
        self._headers_written = True
        if chunk and has_body:
            data += self._frame(chunk)
        return proto.send(data)

    def write(self, chunk: bytes) -> Awaitable[None]:
        """Send a body chunk, framed as the headers decided."""
        if not self._headers_written or self._finished:
            raise RuntimeError("write() before write_headers() or after finish()")
        if not chunk:
            return self._proto.send(b"")
        return self._proto.send(self._frame(chunk))

    def _frame(self, chunk: bytes) -> bytes:
        self._written += len(chunk)
        if self._expected is not None and self._written > self._expected:
            self.keep_alive = False
            raise HTTPOutputError(f"wrote {self._written} body bytes, Content-Length is {self._expected}")
        return http1.encode_chunk(chunk) if self._chunked else chunk

    def finish(self) -> None:
        """Complete the response; the server moves on to the next request or closes."""
        if self._finished:
            return
        self._finished = True
        if not self._headers_written:
            raise RuntimeError("finish() before write_headers()")
        if self._chunked:
            self._proto.send(http1.LAST_CHUNK)
        elif self._expected is not None and self._written != self._expected:
            gen_log.warning(
                "response to %s %s had %d body bytes, Content-Length said %d; closing",
                self._head.method if self._head else "?", self._head.target if self._head else "?",
                self._written, self._expected,
            )
            self.keep_alive = False
        self._proto.response_finished(self)


class _Ready:
    """An awaitable that is already complete: the common result of a write."""

    __slots__ = ()

    def __await__(self) -> Any:
        return iter(())


_READY = _Ready()


class _HTTP1Protocol(asyncio.Protocol):
    """One client connection: parser in, delegate driven, responses out."""

    __slots__ = (
        "server", "config", "parser", "transport", "context", "phase", "draining",
        "request_complete", "current", "message", "waiting", "processing",
        "reading_paused", "write_waiter", "writing_paused", "deadline", "timer",
        "timer_when", "body_timeout", "loop",
    )

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.config = server._config
        self.loop = asyncio.get_running_loop()
        self.parser = http1.RequestParser(self.config.limits)
        self.transport: asyncio.Transport | None = None
        self.context = ConnectionContext(None, None, "http")
        self.phase = _IDLE
        self.draining = False
        self.request_complete = False
        self.current: _RequestConnection | None = None
        self.message: HTTPMessageDelegate | None = None
        self.waiting = False
        self.processing = False
        self.reading_paused = False
        self.writing_paused = False
        self.write_waiter: asyncio.Future[None] | None = None
        self.deadline: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_when = 0.0
        self.body_timeout = self.config.body_timeout

    # -- asyncio callbacks ------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        connections = self.server._connections
        connections.add(self)
        address = transport.get_extra_info("peername")
        ip = address[0] if isinstance(address, tuple) else None
        proto = "https" if transport.get_extra_info("sslcontext") is not None else "http"
        self.context = ConnectionContext(address, ip, proto, self.config.trusted_downstream)
        cap = self.config.max_connections
        if cap is not None and len(connections) > cap:
            gen_log.warning("refusing connection from %s: %d connections open (max %d)", ip, len(connections), cap)
            self._send_error(503, "server at its connection limit")
            return
        self._set_deadline(self.config.header_timeout)

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        phase = self.phase
        if phase == _IDLE:
            self.phase = _HEAD
            self._set_deadline(self.config.header_timeout)
        elif phase == _BODY and self.body_timeout is not None:
            self._set_deadline(self.body_timeout)
        if not self.waiting:
            self._process()
        if self.parser.buffered > _READ_HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        # A client that half-closes is treated as gone: browsers never
        # half-close, and a waiting long-poll must learn its client left.
        self.parser.feed_eof()
        if self.current is None and self.parser.buffered and not self.waiting:
            self._process()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        self.transport = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        waiter, self.write_waiter = self.write_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._abandon_request()
        self.server._connection_closed(self)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        waiter, self.write_waiter = self.write_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the event pump -----------------------------------------------------

    def _process(self) -> None:
        """Pull parser events and hand them to the delegate until blocked."""
        if self.processing:
            return
        self.processing = True
        try:
            self._pump()
        finally:
            self.processing = False

    def _pump(self) -> None:
        parser = self.parser
        while self.transport is not None and not self.waiting:
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
            else:  # NEED_DATA or PAUSED
                if self.reading_paused and parser.buffered < _READ_HIGH_WATER // 2:
                    self._resume_reading()
                return

    def _start_request(self, head: http1.RequestHead) -> None:
        self.request_complete = False
        context = self.context
        headers = HTTPHeaders.from_pairs(head.headers)
        if self.config.xheaders:
            context = dataclasses.replace(context)
            context.apply_xheaders(headers)
        conn = _RequestConnection(self, context)
        conn._head = head
        self.current = conn
        self.body_timeout = self.config.body_timeout
        has_body = head.chunked or bool(head.content_length)
        self.phase = _BODY if has_body else _APP
        self._set_deadline(self.body_timeout if has_body else None)
        self.message = self.server._delegate.start_request(self, conn)
        start_line = RequestStartLine(head.method, head.target, head.version)
        result = self.message.headers_received(start_line, headers)
        if result is not None:
            self._wait_for(result)
        elif head.expect_continue:
            self._send_continue()

    def _send_continue(self) -> None:
        conn = self.current
        if conn is not None and not conn._headers_written and self.transport is not None:
            self.transport.write(_CONTINUE)

    def _finish_request(self) -> None:
        self.request_complete = True
        self.phase = _APP
        self._set_deadline(None)
        message = self.message
        assert message is not None
        message.finish()

    def _wait_for(self, awaitable: Awaitable[None]) -> None:
        """Stop reading until the delegate's awaitable completes (flow control)."""
        self.waiting = True
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        future = asyncio.ensure_future(awaitable)
        future.add_done_callback(self._wait_done)

    def _wait_done(self, future: asyncio.Future[None]) -> None:
        self.waiting = False
        if not future.cancelled() and future.exception() is not None:
            app_log.error("delegate failed; closing connection", exc_info=future.exception())
            self._close()
            return
        if self.transport is None:
            return
        head = self.current._head if self.current is not None else None
        if head is not None and head.expect_continue and self.phase == _BODY:
            self._send_continue()
        self._resume_reading()
        self._process()

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    # -- the response side --------------------------------------------------

    def send(self, data: bytes) -> Awaitable[None]:
        """Write bytes; the result completes when the transport wants more."""
        transport = self.transport
        if transport is None:
            return _READY
        if data:
            transport.write(data)
        if not self.writing_paused:
            return _READY
        if self.write_waiter is None:
            self.write_waiter = self.loop.create_future()
        return self.write_waiter

    def response_finished(self, conn: _RequestConnection) -> None:
        """Called by ``_RequestConnection.finish``: close, or go on to the next request."""
        if conn is not self.current:
            return
        self.current = None
        self.message = None
        if not conn.keep_alive or self.transport is None:
            self._close()
            return
        self.parser.start_next()
        if self.parser.buffered:
            self.phase = _HEAD
            self._set_deadline(self.config.header_timeout)
        else:
            self.phase = _IDLE
            self._set_deadline(self.config.idle_connection_timeout)
        if self.draining and not self.parser.buffered:
            self._close()
            return
        self._process()

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
            self._close()
        self._abandon_request()

    def _send_error(self, status: int, message: str) -> None:
        """Answer a request we could not parse, then close the connection."""
        transport = self.transport
        if transport is None:
            return
        body = f"{status} {http1.reason_phrase(status)}: {message}\n".encode("utf-8", "replace")
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
        transport.write(http1.serialize_response_head(status, headers) + body)
        self._close()

    def _close(self) -> None:
        self.phase = _CLOSING
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once, without flushing."""
        if self.transport is not None:
            self.transport.abort()

    # -- timeouts ------------------------------------------------------------

    def _set_deadline(self, seconds: float | None) -> None:
        if seconds is None:
            self.deadline = None
            return
        deadline = self.loop.time() + seconds
        self.deadline = deadline
        if self.timer is None or self.timer_when > deadline:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = self.loop.call_at(deadline, self._on_timer)
            self.timer_when = deadline

    def _on_timer(self) -> None:
        self.timer = None
        deadline = self.deadline
        if deadline is None or self.transport is None:
            return
        if self.loop.time() < deadline:
            self.timer = self.loop.call_at(deadline, self._on_timer)
            self.timer_when = deadline
            return
        names = {_IDLE: "idle", _HEAD: "header", _BODY: "body"}
        gen_log.info("closing connection from %s: %s timeout", self.context.remote_ip, names.get(self.phase, "?"))
        self._close()

    @property
    def is_idle(self) -> bool:
        """True between requests, with nothing of the next one received."""
        return self.phase == _IDLE and self.current is None


def bind_sockets(
    port: int,
    address: str | None = None,
    *,
    family: socket.AddressFamily = socket.AF_UNSPEC,
    backlog: int = 1024,
    reuse_port: bool = False,
) -> list[socket.socket]:
    """Create listening, non-blocking sockets for ``address:port`` (Tornado's ``netutil.bind_sockets``).

    ``address`` None or "" means every interface. With ``port=0`` every
    family gets the same ephemeral port.
    """
    host = address or None
    flags = socket.AI_PASSIVE
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0, flags)
    sockets: list[socket.socket] = []
    seen: set[Any] = set()
    for fam, kind, proto, _, sockaddr in infos:
        if sockaddr in seen:
            continue
        seen.add(sockaddr)
        sock = socket.socket(fam, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if fam == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and sockets:
                sockaddr = (sockaddr[0], sockets[0].getsockname()[1]) + tuple(sockaddr[2:])
            sock.setblocking(False)
            sock.bind(sockaddr)
        except OSError as exc:
            sock.close()
            if fam == socket.AF_INET6 and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                continue  # IPv6 disabled here (common in containers)
            raise
        sock.listen(backlog)
        sockets.append(sock)
    return sockets


def _ssl_context(ssl_options: ssl.SSLContext | dict[str, Any] | None) -> ssl.SSLContext | None:
    if ssl_options is None or isinstance(ssl_options, ssl.SSLContext):
        return ssl_options
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ssl_options["certfile"], ssl_options.get("keyfile"))
    if "ca_certs" in ssl_options:
        context.load_verify_locations(ssl_options["ca_certs"])
    if "cert_reqs" in ssl_options:
        context.verify_mode = ssl_options["cert_reqs"]
    return context


class HTTPServer:
    """A non-blocking HTTP/1.1 server (Tornado's ``HTTPServer``).

    ``request_callback`` is an ``HTTPServerConnectionDelegate`` (such as an
    ``Application``) or a plain callable taking an ``HTTPServerRequest``.

    Args:
        xheaders: trust ``X-Real-Ip``/``X-Forwarded-For`` and
            ``X-Forwarded-Proto``/``X-Scheme`` (only behind a proxy you run).
        max_header_size: bytes of request line plus headers (431 beyond).
        max_body_size: bytes of a request body (413 beyond); handlers may
            override it per request.
        header_timeout: seconds to receive a complete head (slowloris guard).
        idle_connection_timeout: seconds an idle keep-alive connection is kept.
        body_timeout: seconds without body bytes before the connection is cut.
        max_connections: concurrent connections; beyond it a 503 and close.
        trusted_downstream: proxy addresses skipped in ``X-Forwarded-For``.
        limits: a complete ``http1.Limits``, instead of the two size arguments.
    """

    def __init__(
        self,
        request_callback: HTTPServerConnectionDelegate | Callable[[HTTPServerRequest], Any],
        no_keep_alive: bool = False,
        xheaders: bool = False,
        ssl_options: ssl.SSLContext | dict[str, Any] | None = None,
        *,
        max_header_size: int | None = None,
        max_body_size: int | None = None,
        header_timeout: float = 10.0,
        idle_connection_timeout: float = 3600.0,
        body_timeout: float | None = 60.0,
        max_connections: int | None = None,
        trusted_downstream: Iterable[str] | None = None,
        limits: http1.Limits | None = None,
        **ignored: Any,
    ) -> None:
        if ignored:
            unknown = ", ".join(sorted(set(ignored) - _TORNADO_ONLY_ARGS))
            if unknown:
                raise TypeError(f"HTTPServer got unexpected arguments: {unknown}")
        if isinstance(request_callback, HTTPServerConnectionDelegate):
            self._delegate: HTTPServerConnectionDelegate = request_callback
        else:
            self._delegate = _CallableAdapter(request_callback)
        limits = limits or http1.Limits()
        if max_header_size is not None:
            limits = dataclasses.replace(limits, max_header_bytes=max_header_size)
        if max_body_size is not None:
            limits = dataclasses.replace(limits, max_body_bytes=max_body_size)
        self._config = _ServerConfig(
            xheaders=xheaders,
            no_keep_alive=no_keep_alive,
            limits=limits,
            header_timeout=header_timeout,
            idle_connection_timeout=idle_connection_timeout,
            body_timeout=body_timeout,
            max_connections=max_connections,
            trusted_downstream=frozenset(trusted_downstream or ()),
            ssl_context=_ssl_context(ssl_options),
        )
        self._connections: set[_HTTP1Protocol] = set()
        self._servers: list[asyncio.Server] = []
        self._starting: list[asyncio.Task[asyncio.Server]] = []
        self._pending_sockets: list[socket.socket] = []
        self._sockets: list[socket.socket] = []
        self._closed_waiter: asyncio.Future[None] | None = None

    # -- listening -----------------------------------------------------------

    def listen(self, port: int, address: str = "", **kwargs: Any) -> None:
        """Bind ``address:port`` and start serving on the current IOLoop."""
        self.add_sockets(bind_sockets(port, address, **kwargs))

    def bind(self, port: int, address: str | None = None, **kwargs: Any) -> None:
        """Bind now, serve after ``start()`` (so the sockets can be shared by forks)."""
        self._pending_sockets.extend(bind_sockets(port, address, **kwargs))

    def start(self, num_processes: int | None = 1) -> None:
        """Serve the sockets from ``bind()``, forking ``num_processes`` processes first.

        ``num_processes`` None or 0 means one per CPU. Forking happens before
        any event loop runs; the parent serves too, and there is no
        supervisor (run one process per container, or use a process manager).
        """
        count = num_processes if num_processes else (os.cpu_count() or 1)
        for _ in range(count - 1):
            if os.fork() == 0:
                break
        sockets, self._pending_sockets = self._pending_sockets, []
        self.add_sockets(sockets)

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        """Serve already-listening sockets on the current IOLoop.

        Works before the loop runs (``app.listen(); IOLoop.current().start()``):
        the sockets are bound and listening already, so early clients wait in
        the backlog until serving begins.
        """
        loop = IOLoop.current().asyncio_loop
        for sock in sockets:
            self._sockets.append(sock)
            coro = loop.create_server(lambda: _HTTP1Protocol(self), sock=sock, ssl=self._config.ssl_context)
            task = loop.create_task(coro)
            task.add_done_callback(self._server_started)
            self._starting.append(task)

    def add_socket(self, sock: socket.socket) -> None:
        """Serve one listening socket."""
        self.add_sockets([sock])

    def _server_started(self, task: asyncio.Task[asyncio.Server]) -> None:
        self._starting.remove(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            gen_log.error("could not start serving", exc_info=task.exception())
            return
        self._servers.append(task.result())

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets (for tests: ``server.sockets[0].getsockname()``)."""
        return list(self._sockets)

    # -- stopping --------------------------------------------------------------

    def stop(self) -> None:
        """Stop accepting connections; open connections are left alone."""
        for task in self._starting:
            task.cancel()
        for server in self._servers:
            server.close()
        for sock in self._sockets:
            sock.close()
        self._servers.clear()
        self._sockets.clear()

    async def close_all_connections(self) -> None:
        """Close every open connection, in-flight requests included, and wait for them."""
        for conn in list(self._connections):
            conn._close()
        await self._wait_closed()

    async def drain(self, timeout: float = 10.0) -> DrainReport:
        """Graceful drain: close idle connections, let in-flight requests finish.

        Call ``stop()`` first. Connections serving a request get
        ``Connection: close`` on their response and close after it; any still
        open after ``timeout`` seconds are aborted.
        """
        idle = [c for c in self._connections if c.is_idle]
        busy = [c for c in self._connections if not c.is_idle]
        for conn in idle:
            conn._close()
        for conn in busy:
            conn.draining = True
        try:
            await asyncio.wait_for(self._wait_closed(), timeout)
        except TimeoutError:
            pass
        left = list(self._connections)
        for conn in left:
            conn.abort()
        if left:
            await self._wait_closed()
        return DrainReport(idle_closed=len(idle), finished=len(busy) - len(left), aborted=len(left))

    async def _wait_closed(self) -> None:
        while self._connections:
            if self._closed_waiter is None or self._closed_waiter.done():
                self._closed_waiter = asyncio.get_running_loop().create_future()
            await self._closed_waiter

    def _connection_closed(self, conn: _HTTP1Protocol) -> None:
        self._delegate.on_close(conn)
        if not self._connections and self._closed_waiter is not None and not self._closed_waiter.done():
            self._closed_waiter.set_result(None)

    # -- metrics -----------------------------------------------------------------

    @property
    def stats(self) -> ServerStats:
        """Live counts: open connections, idle ones, and requests in flight."""
        conns = self._connections
        idle = sum(1 for c in conns if c.is_idle)
        in_flight = sum(1 for c in conns if c.current is not None)
        return ServerStats(open=len(conns), idle=idle, in_flight=in_flight)


# Tornado arguments accepted for compatibility that this server has no use for.
_TORNADO_ONLY_ARGS = frozenset({"protocol", "decompress_request", "chunk_size", "max_buffer_size"})

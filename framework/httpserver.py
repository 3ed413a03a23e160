"""``HTTPServer``: listening sockets, accepting, connection limits and graceful drain.

The per-connection work (parsing via ``http1``, driving the delegate, framing
responses, timeouts) lives in ``http1connection``; this module owns the
sockets. ``max_connections``: a connection beyond the cap is answered with
503 and closed at once (simpler and fairer to clients than leaving them in the
kernel's backlog).

Defaults are a public server's (issue 12), each overridable by its argument:

- ``max_body_size``: 8 MiB (``DEFAULT_MAX_BODY_SIZE``), since a buffered body
  sits whole in memory (Tornado's default is 100 MB; ours is stricter).
  Handlers that take more, such as ``@stream_request_body`` uploads, raise it
  per request with ``self.request.connection.set_max_body_size(n)`` in
  ``prepare()``.
- ``header_timeout``: 10 s for a whole request head from its first byte
  (slowloris: trickled bytes do not extend it).
- ``body_timeout``: 60 s without a body byte; and ``min_body_rate``: 500
  bytes/s on average once ``body_timeout`` of grace is spent
  (``DEFAULT_MIN_BODY_RATE``; None turns the rate rule off).
- ``idle_connection_timeout``: 75 s (``DEFAULT_IDLE_CONNECTION_TIMEOUT``),
  longer than a proxy's upstream keep-alive (nginx: 60 s), so the proxy closes
  an idle pooled connection before this server does and never reuses one that
  is being closed.
- ``max_connections``: the open-file limit less a reserve for the
  application's own files and sockets (``default_max_connections()``);
  upgraded connections (WebSockets) count too.
- ``xheaders``: off; when on, believed only on connections from
  ``trusted_proxies`` (none by default: nobody is trusted until configured).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import resource
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from framework import http1, process
from framework.http1connection import HTTP1ServerProtocol
from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
)
from framework.ioloop import IOLoop
from framework.netutil import bind_sockets
from framework.serverstate import ConnectionContext, ServerConfig, ServerState, parse_networks

__all__ = [
    "CallbackDelegate",
    "DEFAULT_IDLE_CONNECTION_TIMEOUT",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MIN_BODY_RATE",
    "ConnectionContext",
    "DrainReport",
    "HTTPServer",
    "ServerStats",
    "bind_sockets",
    "default_max_connections",
]

gen_log = logging.getLogger("framework.general")

DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024
"""Bytes of a request body when neither ``max_body_size`` nor ``limits`` says otherwise."""
DEFAULT_MIN_BODY_RATE = 500.0
"""Bytes per second a request body must average once its grace (``body_timeout``) is spent."""
DEFAULT_IDLE_CONNECTION_TIMEOUT = 75.0
"""Seconds an idle keep-alive connection is kept (a proxy's pool gives up at 60 s)."""
_FD_RESERVE_MIN = 64


def default_max_connections() -> int | None:
    """A connection cap that fits the process's open-file limit (RLIMIT_NOFILE, soft).

    Each connection is a descriptor; past the limit ``accept()`` fails and the
    listening socket spins on EMFILE. A tenth of the limit (at least 64) is
    kept back for the application's own files and sockets. None when the
    limit is unlimited or unknown.
    """
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    return max(1, soft - max(_FD_RESERVE_MIN, soft // 10))


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


# Tasks of async request callbacks still running (asyncio keeps weak references).
_callback_tasks: set[asyncio.Future[Any]] = set()


class CallbackDelegate(HTTPServerConnectionDelegate):
    """Lets a plain ``callback(request)`` serve requests, as Tornado's HTTPServer allows.

    The body is collected whole, then the callback runs (a coroutine callback
    runs as a task). ``HTTPServer`` wraps a callable given as its delegate in
    one of these; a container that reads the body itself (WSGI) passes
    ``parse_body=False`` so form bodies are left as they came.
    """

    def __init__(self, callback: Callable[[HTTPServerRequest], object], *, parse_body: bool = True) -> None:
        self.callback = callback
        self.parse_body = parse_body

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        return _CallableMessage(self.callback, request_conn, server_conn, parse_body=self.parse_body)


class _CallableMessage(HTTPMessageDelegate):
    def __init__(
        self, callback: Callable[[HTTPServerRequest], object], conn: HTTPConnection, server_conn: object, *, parse_body: bool
    ) -> None:
        self.callback = callback
        self.parse_body = parse_body
        self.conn = conn
        self.server_conn = server_conn
        self.request: HTTPServerRequest | None = None
        self.chunks: list[bytes] = []

    def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
        self.request = HTTPServerRequest.from_start_line(start_line, headers, self.conn, self.server_conn)

    def data_received(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def finish(self) -> None:
        assert self.request is not None  # internal invariant: headers come first
        self.request.body = b"".join(self.chunks)
        if self.parse_body:
            self.request.parse_body()
        result = self.callback(self.request)
        if result is not None and asyncio.iscoroutine(result):
            task = asyncio.ensure_future(result)
            _callback_tasks.add(task)
            task.add_done_callback(self._callback_done)

    def _callback_done(self, task: asyncio.Future[Any]) -> None:
        _callback_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            gen_log.error("request callback failed for %s; closing connection", self.request, exc_info=task.exception())
            close = getattr(self.conn, "close", None)
            if close is not None:
                close()


class _Default:
    """The type of ``_DEFAULT``: "not given", where None already means "no cap"."""

    __slots__ = ()


_DEFAULT = _Default()


def _trusted_proxies(
    xheaders: bool, entries: Iterable[str] | str | None
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Resolve ``trusted_proxies`` once; warn when ``xheaders`` is on but trusts nobody.

    Raises:
        ValueError: an entry is not an address or network.
    """
    if isinstance(entries, str):
        entries = [entries]  # one network given bare: not its characters
    networks = parse_networks(entries or ())
    if xheaders and not networks:
        gen_log.warning(
            "xheaders=True without trusted_proxies: X-Forwarded-*/X-Real-Ip are ignored "
            "(pass the proxy's addresses or networks as trusted_proxies)"
        )
    return networks


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
        xheaders: use ``X-Real-Ip``/``X-Forwarded-For`` and
            ``X-Forwarded-Proto``/``X-Scheme`` for ``remote_ip`` and
            ``protocol`` (Tornado's name), but only on connections from
            ``trusted_proxies``. Unlike Tornado, ``xheaders=True`` alone
            trusts nobody (a warning says so).
        trusted_proxies: addresses and CIDR networks (``"172.18.0.0/16"``,
            ``"::1"``) whose connections may set the X-headers: the proxy in
            front of this server. ``["0.0.0.0/0", "::/0"]`` is Tornado's
            trust-everyone behaviour. Also skipped, as proxies, when looking for
            the client in ``X-Forwarded-For``.
        max_header_size: bytes of request line plus headers (431 beyond).
        max_body_size: bytes of a request body (413 beyond); default
            ``DEFAULT_MAX_BODY_SIZE`` (8 MiB); handlers may raise or lower it
            per request (``request.connection.set_max_body_size``).
        header_timeout: seconds to receive a complete head, counted from its
            first byte and not extended by more bytes (slowloris guard).
        idle_connection_timeout: seconds an idle keep-alive connection is kept.
        body_timeout: seconds without body bytes before the connection is cut.
        min_body_rate: bytes per second a body must average after
            ``body_timeout`` seconds of grace (one more second is allowed per
            ``min_body_rate`` bytes received); None for no rate rule.
        max_connections: concurrent connections (WebSockets included); beyond
            it a 503 and close. Default: ``default_max_connections()``, from
            the open-file limit when the server is created; None for no cap.
        trusted_downstream: proxy addresses skipped in ``X-Forwarded-For``
            (Tornado's argument; ``trusted_proxies`` are skipped as well).
        limits: a complete ``http1.Limits``, instead of the two size arguments.
        decompress_request: inflate gzip request bodies (``Content-Encoding:
            gzip``) for the application, as Tornado does; ``max_body_size``
            then applies to the inflated body too (a zip bomb is a 413).
        protocol: the scheme every request reports (``"https"`` behind a
            proxy that terminates TLS without X-headers), Tornado's argument.
        max_buffer_size: Tornado's read-buffer size; here it only stands for
            ``max_body_size`` when that is not given, as Tornado's default does.
        chunk_size: refused (TypeError): body chunks are delivered as they
            arrive, never split or merged to a size.

    Attributes:
        state: the ``serverstate.ServerState`` this server's connections
            share and report to: the resolved settings (``state.config``), the
            delegate, the open and the upgraded connections. Not in Tornado.
    """

    def __init__(
        self,
        request_callback: HTTPServerConnectionDelegate | Callable[[HTTPServerRequest], object],
        no_keep_alive: bool = False,
        xheaders: bool = False,
        ssl_options: ssl.SSLContext | dict[str, Any] | None = None,
        *,
        max_header_size: int | None = None,
        max_body_size: int | None = None,
        header_timeout: float = 10.0,
        idle_connection_timeout: float = DEFAULT_IDLE_CONNECTION_TIMEOUT,
        body_timeout: float | None = 60.0,
        min_body_rate: float | None = DEFAULT_MIN_BODY_RATE,
        max_connections: int | None | _Default = _DEFAULT,
        trusted_downstream: Iterable[str] | None = None,
        trusted_proxies: Iterable[str] | None = None,
        limits: http1.Limits | None = None,
        decompress_request: bool = False,
        protocol: str | None = None,
        max_buffer_size: int | None = None,
        chunk_size: int | None = None,
    ) -> None:
        if chunk_size is not None:
            raise TypeError(
                "HTTPServer(chunk_size=...) is not supported: body chunks reach data_received as they "
                "arrive (at most one read of the socket), never merged; drop the argument"
            )
        if protocol not in (None, "http", "https"):
            raise ValueError(f"HTTPServer(protocol=...) must be 'http' or 'https', not {protocol!r}")
        if max_body_size is None and max_buffer_size is not None:
            max_body_size = max_buffer_size  # Tornado: the body limit defaults to the buffer size
        if isinstance(request_callback, HTTPServerConnectionDelegate):
            delegate: HTTPServerConnectionDelegate = request_callback
        else:
            delegate = CallbackDelegate(request_callback)
        limits = limits or http1.Limits(max_body_bytes=DEFAULT_MAX_BODY_SIZE)
        if max_header_size is not None:
            limits = dataclasses.replace(limits, max_header_bytes=max_header_size)
        if max_body_size is not None:
            limits = dataclasses.replace(limits, max_body_bytes=max_body_size)
        config = ServerConfig(
            xheaders=xheaders,
            no_keep_alive=no_keep_alive,
            limits=limits,
            header_timeout=header_timeout,
            idle_connection_timeout=idle_connection_timeout,
            body_timeout=body_timeout,
            max_connections=default_max_connections() if isinstance(max_connections, _Default) else max_connections,
            trusted_downstream=frozenset(trusted_downstream or ()),
            ssl_context=_ssl_context(ssl_options),
            min_body_rate=min_body_rate,
            trusted_proxies=_trusted_proxies(xheaders, trusted_proxies),
            decompress_request=decompress_request,
            protocol=protocol,
        )
        # What the connections share and report to: settings, delegate, the
        # open and the upgraded connections (the seam with http1connection).
        self.state = ServerState(config, delegate)
        self._forced_aborts = 0
        self._servers: list[asyncio.Server] = []
        self._starting: list[asyncio.Task[asyncio.Server]] = []
        self._pending_sockets: list[socket.socket] = []
        self._sockets: list[socket.socket] = []

    # -- listening -----------------------------------------------------------

    def listen(self, port: int, address: str = "", **kwargs: Any) -> None:
        """Bind ``address:port`` and start serving on the current IOLoop."""
        self.add_sockets(bind_sockets(port, address, **kwargs))

    def bind(self, port: int, address: str | None = None, **kwargs: Any) -> None:
        """Bind now, serve after ``start()`` (so the sockets can be shared by forks)."""
        self._pending_sockets.extend(bind_sockets(port, address, **kwargs))

    def start(self, num_processes: int | None = 1, max_restarts: int | None = None) -> None:
        """Serve the sockets from ``bind()``, in ``num_processes`` processes (Tornado's ``start``).

        With more than one (None or 0: one per CPU) this process forks through
        ``process.fork_processes`` before any event loop runs: the children
        serve, the parent supervises them (restarting one that dies, up to
        ``max_restarts``), forwards SIGTERM/SIGINT so they drain, and exits
        with them.
        """
        sockets, self._pending_sockets = self._pending_sockets, []
        if num_processes != 1:
            process.fork_processes(num_processes, max_restarts)
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
            coro = loop.create_server(lambda: HTTP1ServerProtocol(self.state), sock=sock, ssl=self.state.config.ssl_context)
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

    def abort_all_connections(self) -> None:
        """Drop every connection at once, upgraded ones included, without flushing (a drain cut short)."""
        connections, upgraded = list(self.state.connections), [t for t in self.state.upgraded if not t.is_closing()]
        self._forced_aborts += len(connections) + len(upgraded)
        for conn in connections:
            conn.abort()
        for transport in upgraded:
            transport.abort()

    async def close_all_connections(self) -> None:
        """Close every open connection, in-flight requests included, and wait for them."""
        for conn in list(self.state.connections):
            conn.close()
        await self.state.wait_closed()

    async def drain(self, timeout: float = 10.0) -> DrainReport:
        """Graceful drain: close idle connections, let in-flight requests finish.

        Call ``stop()`` first. Connections serving a request get
        ``Connection: close`` on their response and close after it; any still
        open after ``timeout`` seconds are aborted.
        """
        self._forced_aborts = 0
        connections = self.state.connections
        idle = [c for c in connections if c.is_idle]
        busy = [c for c in connections if not c.is_idle]
        for conn in idle:
            conn.close()
        for conn in busy:
            conn.draining = True
        upgraded = [t for t in list(self.state.upgraded) if not t.is_closing()]
        for transport in upgraded:
            self._ask_to_close(transport)
        try:
            await asyncio.wait_for(self._wait_all_closed(upgraded), timeout)
        except TimeoutError:
            pass
        left = list(self.state.connections)
        for conn in left:
            conn.abort()
        left_upgraded = [t for t in upgraded if not t.is_closing()]
        for transport in left_upgraded:
            transport.abort()
        if left:
            await self.state.wait_closed()
        # Connections abort_all_connections() dropped meanwhile count as aborted, not finished.
        forced = self._forced_aborts
        finished = max(0, len(busy) - len(left) + len(upgraded) - len(left_upgraded) - forced)
        return DrainReport(idle_closed=len(idle), finished=finished, aborted=len(left) + len(left_upgraded) + forced)

    def _ask_to_close(self, transport: asyncio.Transport) -> None:
        """An upgraded connection (WebSocket) is asked to close itself; without a callback it just closes."""
        callback = self.state.upgraded.get(transport)
        try:
            if callback is None:
                transport.close()
            else:
                callback()
        except Exception:
            gen_log.error("closing an upgraded connection on drain failed", exc_info=True)
            transport.abort()

    async def _wait_all_closed(self, upgraded: list[asyncio.Transport]) -> None:
        """HTTP connections by their close notification; upgraded ones by polling (the server no longer hears them)."""
        await self.state.wait_closed()
        while any(not t.is_closing() for t in upgraded):
            await asyncio.sleep(0.05)

    # -- metrics -----------------------------------------------------------------

    @property
    def stats(self) -> ServerStats:
        """Live counts: open connections, idle ones, and requests in flight (a read-only snapshot).

        Linear in the open connections (one pass: about 25 ms at 100,000),
        so a caller sampling it periodically spaces its samples by that cost
        (``services.common.metrics`` does). Upgraded connections (WebSockets)
        are not counted.
        """
        conns = self.state.connections
        idle = in_flight = 0
        for conn in conns:
            if conn.current is not None:
                in_flight += 1
            elif conn.is_idle:
                idle += 1
        return ServerStats(open=len(conns), idle=idle, in_flight=in_flight)

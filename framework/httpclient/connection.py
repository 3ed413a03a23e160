"""One client connection and one request/response exchange on it.

Strategy: a ``Connection`` is an ``asyncio.Protocol`` whose received bytes go
straight into an ``http1.ResponseParser``; ``next_event`` pulls events and
waits only when the parser needs data. So the pool can tell, without reading,
whether an idle connection was closed or sent stray bytes (``reusable``). EOF
reaches the parser only once it has asked for more data: an error that EOF
alone causes is a truncated response (``HTTPStreamClosedError``), any other
``ProtocolError`` a malformed one (``HTTPClientError`` 599). Every byte of
HTTP grammar, both ways, comes from ``http1``. ``open_connection`` asks a
``netutil.Resolver`` where the host is and connects there, while TLS still
names the URL's host.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import inspect
import io
import socket
import ssl
import urllib.parse
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, Final, cast

from framework import http1, httputil
from framework.netutil import Resolver
from framework.util import GzipDecompressor

from .messages import (
    HTTPClientError,
    HTTPRequest,
    HTTPResponse,
    HTTPStreamClosedError,
    Options,
)

__all__ = [
    "REDIRECT_CODES",
    "Connection",
    "Hop",
    "Target",
    "open_connection",
    "receive_response",
    "send_request",
    "serialize_head",
]

REDIRECT_CODES: Final = frozenset({301, 302, 303, 307, 308})
_STANDARD_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_READ_HIGH_WATER: Final = 256 * 1024
_INFLATE_STEP: Final = 64 * 1024

# -- the request on the wire -----------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """The parts of a URL a connection and a request line need."""

    scheme: str
    host: str
    port: int
    authority: str
    path: str
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> Target:
        """Split an absolute http(s) URL; user info in it becomes Basic credentials.

        Raises:
            ValueError: another scheme, no host, or a bad port.
        """
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme in {url!r}")
        if not parts.hostname:
            raise ValueError(f"no host in URL {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        username = urllib.parse.unquote(parts.username) if parts.username is not None else None
        password = urllib.parse.unquote(parts.password) if parts.password is not None else None
        authority = parts.netloc.rpartition("@")[2]
        return cls(parts.scheme, parts.hostname, port, authority, path, username, password)


@dataclasses.dataclass(frozen=True, slots=True)
class Hop:
    """One request on the wire: the original fetch or one of its redirects.

    Attributes:
        request: what this hop sends (a redirect's rewritten copy).
        original: what the caller passed, which every response reports.
        head: the serialised request line and headers.
        chunked: whether a ``body_producer``'s output is chunk-framed.
        may_redirect: a 3xx with Location will be followed, so its body is
            read and dropped instead of streamed.
    """

    request: HTTPRequest
    original: HTTPRequest
    opts: Options
    target: Target
    head: bytes
    chunked: bool
    may_redirect: bool


def _check_method_and_body(request: HTTPRequest, opts: Options) -> None:
    """Refuse, as Tornado does, bodies where the method takes none and the reverse."""
    if opts.allow_nonstandard_methods:
        return
    if request.method not in _STANDARD_METHODS:
        raise ValueError(f"unknown method {request.method!r} (set allow_nonstandard_methods)")
    if request.body is not None and request.body_producer is not None:
        raise ValueError("body and body_producer are mutually exclusive")
    expected = request.method in _BODY_METHODS
    present = request.body is not None or request.body_producer is not None
    if expected != present:
        must = "must not" if expected else "must"
        raise ValueError(f"Body {must} be None for method {request.method} (see allow_nonstandard_methods)")


def serialize_head(request: HTTPRequest, opts: Options, target: Target) -> tuple[bytes, bool]:
    """Render the request head; return it and whether the body is chunked."""
    _check_method_and_body(request, opts)
    headers = request.headers.copy()
    headers.setdefault("Host", target.authority)
    headers.setdefault("User-Agent", opts.user_agent)
    if opts.decompress_response:
        headers.setdefault("Accept-Encoding", "gzip")
    username = opts.auth_username if opts.auth_username is not None else target.username
    if username is not None:
        if opts.auth_mode != "basic":
            raise ValueError(f"unsupported auth_mode {opts.auth_mode!r}")
        password = opts.auth_password if opts.auth_username is not None else target.password
        token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    if request.if_modified_since is not None:
        headers["If-Modified-Since"] = httputil.format_timestamp(request.if_modified_since)
    chunked = False
    if request.body is not None:
        headers["Content-Length"] = str(len(request.body))
    elif request.body_producer is not None and "Content-Length" not in headers:
        headers["Transfer-Encoding"] = "chunked"
        chunked = True
    if request.method == "POST":
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if request.expect_100_continue:
        headers["Expect"] = "100-continue"
    return http1.serialize_request_head(request.method, target.path, list(headers.get_all())), chunked


# -- one connection ------------------------------------------------------------


class Connection(asyncio.Protocol):
    """One keep-alive client connection whose received bytes feed an ``http1.ResponseParser``.

    Tornado's ``simple_httpclient`` opens an ``IOStream`` per request; here a
    connection outlives its requests, so it keeps what the pool needs to
    judge it: ``reusable``, ``received`` (bytes of the current exchange),
    ``idle_timer``, and ``closed`` (done once the socket is released).
    """

    def __init__(self, limits: http1.Limits) -> None:
        self.parser = http1.ResponseParser(limits)
        self.received = 0  # bytes received since begin(): none means a retry is safe
        self.idle_timer: asyncio.TimerHandle | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._transport: asyncio.Transport | None = None
        self._eof = False
        self._close_error: BaseException | None = None
        self._reader: asyncio.Future[None] | None = None
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._write_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        self.parser.feed(data)
        if self.parser.buffered > _READ_HIGH_WATER and self._transport is not None:
            self._transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._close_error = exc
        self._wake_reader()
        self._release_writers()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._release_writers()

    @property
    def reusable(self) -> bool:
        """Still open, no EOF seen and no stray bytes: safe to send a request on."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return False
        return not self._eof and not self.parser.buffered

    def begin(self, method: str) -> None:
        """Start an exchange whose response answers ``method``."""
        self.parser.start_response(method)
        self.received = 0

    def write(self, data: bytes) -> asyncio.Future[None]:
        """Send ``data`` now; the future completes when the transport can take more.

        Raises:
            HTTPStreamClosedError: the connection is already closed.
        """
        transport = self._transport
        if transport is None or transport.is_closing() or self._eof:
            raise HTTPStreamClosedError("Connection closed before the request was sent", self._close_error)
        transport.write(data)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._write_paused:
            self._drain_waiters.append(waiter)
        else:
            waiter.set_result(None)
        return waiter

    async def next_event(self) -> http1.Event:
        """The next response event, waiting for bytes as needed; never ``NEED_DATA``.

        Raises:
            HTTPClientError: the response is malformed (599, from a ``ProtocolError``).
            HTTPStreamClosedError: the connection ended before the response did.
        """
        while True:
            try:
                event = self.parser.next_event()
            except http1.ProtocolError as exc:
                raise HTTPClientError(599, f"Malformed HTTP response: {exc.message}") from exc
            if event is not http1.NEED_DATA:
                return event
            if self._eof:
                return self._event_at_eof()
            if self._transport is not None:
                self._transport.resume_reading()
            self._reader = asyncio.get_running_loop().create_future()
            try:
                await self._reader
            finally:
                self._reader = None

    def _event_at_eof(self) -> http1.Event:
        # The parser needed more bytes and none will come: whatever it says
        # now is caused by the connection ending, not by bad bytes.
        self.parser.feed_eof()
        cause = self._close_error
        try:
            event = self.parser.next_event()
        except http1.ProtocolError as exc:
            what = "was reset" if cause is not None else "closed"
            message = f"Connection {what} before the response was complete ({exc.message})"
            raise HTTPStreamClosedError(message, cause) from (cause or exc)
        if event is http1.NEED_DATA:  # http1 promises this cannot happen after EOF
            raise HTTPStreamClosedError("Connection closed before the response was complete", cause)
        return event

    def close(self) -> None:
        """Close gracefully (nothing is pending to flush)."""
        self._cancel_idle_timer()
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Close at once: the exchange failed and its framing is unknown."""
        self._cancel_idle_timer()
        if self._transport is not None:
            self._transport.abort()

    def _cancel_idle_timer(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def _wake_reader(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    def _release_writers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


async def open_connection(
    resolver: Resolver, target: Target, limits: http1.Limits, context: ssl.SSLContext | None
) -> tuple[asyncio.Transport, Connection]:
    """A connection to ``target`` at the address ``resolver`` gives for its host and port.

    The addresses are tried in the resolver's order until one connects (any
    family the resolver names, ``AF_UNIX`` paths included). With ``context``
    TLS runs on top, its server name (SNI, certificate check) being the URL's
    host, not the address connected to. No time limit here: callers wrap it.

    Raises:
        OSError: the host could not be resolved (``socket.gaierror``), it
            resolved to nothing, or no address accepted (the last error).
        ssl.SSLError: the TLS handshake failed (no other address is tried).
    """
    addresses = await resolver.resolve(target.host, target.port, socket.AF_UNSPEC)
    last_error: OSError = OSError(f"{target.host!r} resolved to no address")
    for family, address in addresses:
        try:
            return await _connect_to(family, address, target.host, limits, context)
        except ssl.SSLError:
            raise
        except OSError as exc:
            last_error = exc
    raise last_error


async def _connect_to(
    family: int, address: Any, host: str, limits: http1.Limits, context: ssl.SSLContext | None
) -> tuple[asyncio.Transport, Connection]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, address)
    except BaseException:
        # The loop already stopped watching the socket (sock_connect's own
        # done callback runs before this task resumes), so it may be closed.
        sock.close()
        raise
    # From here the transport owns the socket and closes it on any failure.
    transport, conn = await loop.create_connection(
        functools.partial(Connection, limits),
        sock=sock,
        ssl=context,
        server_hostname=host if context is not None else None,
    )
    return transport, conn


# -- one exchange on a connection --------------------------------------------


async def _send_body(conn: Connection, hop: Hop) -> None:
    """Write the body, or run the producer with a ``write`` that frames its chunks."""
    request = hop.request
    if request.body is not None:
        await conn.write(request.body)
        return
    if request.body_producer is None:
        return

    def write(chunk: bytes) -> Awaitable[None]:
        # Written at once, even if the producer never awaits the result.
        return conn.write(http1.encode_chunk(chunk) if hop.chunked else chunk)

    produced = request.body_producer(write)
    if inspect.isawaitable(produced):
        await produced
    if hop.chunked:
        await conn.write(http1.LAST_CHUNK)


async def send_request(conn: Connection, hop: Hop) -> bool:
    """Write the request; return True if the body waits for ``100 Continue``."""
    request = hop.request
    has_body = request.body is not None or request.body_producer is not None
    if request.expect_100_continue and has_body:
        await conn.write(hop.head)
        return True
    if request.body is not None:
        await conn.write(hop.head + request.body)  # one write for small requests
    else:
        await conn.write(hop.head)
        await _send_body(conn, hop)
    return False


async def _final_head(conn: Connection, hop: Hop, awaiting_continue: bool) -> tuple[http1.ResponseHead, bool]:
    """Skip interim 1xx heads, sending the body on ``100 Continue``.

    Returns:
        The final head, and whether the body went out (a server may answer an
        ``Expect`` with a final status at once).
    """
    while True:
        event = await conn.next_event()
        if not isinstance(event, http1.ResponseHead):
            raise HTTPClientError(599, f"Malformed HTTP response: {event!r} before a head")
        if event.status >= 200:
            return event, not awaiting_continue
        if event.status == 100 and awaiting_continue:
            awaiting_continue = False
            await _send_body(conn, hop)


class _BodyDecoder:
    """Undo ``Content-Encoding: gzip`` as chunks arrive and hand them on.

    Chunks go to ``on_chunk`` (the ``streaming_callback``) or else to
    ``buffer``. As in Tornado 6.6, ``on_chunk`` may return an awaitable (a
    coroutine function, say): it is awaited before the next chunk is handed
    over or more of the response is read, so a slow consumer holds the
    server back (the connection stops reading once its parser holds
    ``_READ_HIGH_WATER`` bytes). Tornado awaits any result that is not None,
    so a callback like ``BytesIO.write`` fails there; here only awaitables are
    awaited.
    """

    def __init__(
        self,
        headers: httputil.HTTPHeaders,
        decompress: bool,
        on_chunk: Callable[[bytes], object] | None,
        limit: int,
    ) -> None:
        self.buffer = io.BytesIO()
        self._deliver = on_chunk if on_chunk is not None else self.buffer.write
        self._limit = limit
        self._total = 0
        self._inflater: GzipDecompressor | None = None
        if decompress and headers.get("Content-Encoding", "").strip().lower() == "gzip":
            self._inflater = GzipDecompressor()
            # As in Tornado: the body handed over is no longer gzipped.
            headers["X-Consumed-Content-Encoding"] = headers.pop("Content-Encoding")

    async def feed(self, data: bytes) -> None:
        inflater = self._inflater
        if inflater is None:
            await self._emit(data)
            return
        # Bounded steps: a small gzip bomb cannot allocate its whole output.
        while data:
            try:
                piece = inflater.decompress(data, _INFLATE_STEP)
            except zlib.error as exc:
                raise HTTPClientError(599, f"Malformed gzip response body: {exc}") from exc
            await self._emit(piece)
            data = inflater.unconsumed_tail

    async def finish(self) -> None:
        if self._inflater is not None:
            try:
                rest = self._inflater.flush()
            except zlib.error as exc:  # the body ended inside the gzip stream
                raise HTTPClientError(599, f"Malformed gzip response body: {exc}") from exc
            await self._emit(rest)

    async def _emit(self, data: bytes) -> None:
        if not data:
            return
        self._total += len(data)
        if self._total > self._limit:
            raise HTTPClientError(599, "Decompressed response body larger than max_body_size")
        delivered = self._deliver(data)
        if inspect.isawaitable(delivered):
            await delivered


def _replay_head(head: http1.ResponseHead, callback: Callable[[str], object]) -> None:
    """Give ``header_callback`` the head line by line, as Tornado does."""
    callback(f"{head.version} {head.status} {head.reason}\r\n")
    for name, value in head.headers:
        callback(f"{name}: {value}\r\n")
    callback("\r\n")


async def receive_response(conn: Connection, hop: Hop, awaiting_continue: bool) -> tuple[HTTPResponse, bool]:
    """Read the response; return it and whether the connection may be reused."""
    head, body_sent = await _final_head(conn, hop, awaiting_continue)
    headers = httputil.HTTPHeaders.from_pairs(head.headers)
    request = hop.request
    # A response about to be redirected is read and dropped, not streamed.
    redirecting = hop.may_redirect and head.status in REDIRECT_CODES and "Location" in headers
    if request.header_callback is not None and not redirecting:
        _replay_head(head, request.header_callback)
    on_chunk = None if redirecting else request.streaming_callback
    decoder = _BodyDecoder(headers, hop.opts.decompress_response, on_chunk, conn.parser.limits.max_body_bytes)
    while True:
        event = await conn.next_event()
        if isinstance(event, http1.EndOfMessage):
            break
        if not isinstance(event, http1.Body):
            raise HTTPClientError(599, f"Malformed HTTP response: unexpected {event!r}")
        await decoder.feed(event.data)
    await decoder.finish()
    response = HTTPResponse(hop.original, head.status, headers, decoder.buffer, request.url, reason=head.reason or None)
    # A request that said "Connection: close" gets a connection the server will close.
    asked_close = "close" in request.headers.get("Connection", "").lower()
    return response, head.keep_alive and body_sent and not asked_close and conn.reusable

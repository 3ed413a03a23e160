"""The client: ``websocket_connect`` and ``WebSocketClientConnection``.

Strategy: the opening handshake is an ordinary exchange on one of the HTTP
client's connections (``framework.httpclient``'s ``Connection``, whose
``http1.ResponseParser`` reads the ``101``); the request head comes from
``http1`` too, so no HTTP grammar lives here. Once the answer is checked,
the bytes the parser already holds and the transport pass to a
``WebSocketProtocol``. The connection goes where a ``netutil.Resolver`` says
(``httpclient``'s ``open_connection``), as in Tornado. Received messages wait in a one-slot buffer for
``read_message()``: while it is full the protocol stops delivering, and
reading stops soon after, so a slow reader slows the server down instead of
growing memory (Tornado's ``Queue(1)``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from framework import http1, httputil
from framework.httpclient import HTTPClientError, HTTPRequest, HTTPTimeoutError
from framework.httpclient.client import make_ssl_context
from framework.httpclient.connection import (
    Connection,
    Target,
    open_connection,
    serialize_head,
)
from framework.httpclient.messages import Options, resolve_options
from framework.netutil import Resolver
from framework.websocket import deflate, handshake
from framework.websocket.frames import DEFAULT_MAX_MESSAGE_SIZE
from framework.websocket.protocol import (
    WebSocketClosedError,
    WebSocketError,
    WebSocketProtocol,
    encode_message,
)

__all__ = ["WebSocketClientConnection", "websocket_connect"]

_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
MessageCallback = Callable[[str | bytes | None], object]


class WebSocketClientConnection:
    """A client WebSocket (Tornado's ``WebSocketClientConnection``); made by ``websocket_connect``.

    Messages go to ``on_message_callback`` if one was given (and None once
    the connection closed), otherwise to ``read_message()``. ``resolver``
    finds the server's address; None: a ``netutil.Resolver()`` made for the
    connection attempt and closed after it.
    """

    def __init__(
        self,
        request: HTTPRequest,
        *,
        on_message_callback: MessageCallback | None = None,
        compression_options: dict[str, Any] | None = None,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        subprotocols: list[str] | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.request = request
        self._resolver = resolver
        self.protocol: WebSocketProtocol | None = None
        self.headers: httputil.HTTPHeaders | None = None
        self.selected_subprotocol: str | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._on_message_callback = on_message_callback
        self._compression_options = compression_options
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._max_message_size = max_message_size
        self._subprotocols = list(subprotocols or [])
        self._messages: collections.deque[str | bytes] = collections.deque()
        self._readers: collections.deque[asyncio.Future[str | bytes | None]] = collections.deque()
        self._space: asyncio.Future[None] | None = None
        self._closed = False

    # -- Tornado's API ------------------------------------------------------------

    def write_message(self, message: str | bytes | dict[str, Any], binary: bool = False) -> asyncio.Future[None]:
        """Send a message, as ``WebSocketHandler.write_message``.

        Raises:
            WebSocketClosedError: the connection is closing or closed.
        """
        protocol = self.protocol
        if protocol is None or protocol.is_closing():
            raise WebSocketClosedError()
        data, text = encode_message(message, binary)
        return protocol.write_message(data, text=text)

    def read_message(
        self, callback: Callable[[asyncio.Future[str | bytes | None]], object] | None = None
    ) -> asyncio.Future[str | bytes | None]:
        """The next message: ``str`` (text) or ``bytes`` (binary), or None once the connection closed.

        ``callback``, if given, is called with the future when it is done.
        """
        future: asyncio.Future[str | bytes | None] = asyncio.get_running_loop().create_future()
        if self._messages:
            future.set_result(self._messages.popleft())
            if not self._messages:
                self._release_space()
        elif self._closed:
            future.set_result(None)
        else:
            self._readers.append(future)
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake; ``read_message()`` returns None once it is done.

        Raises:
            ValueError: a code that may not be sent, or a reason over 123 bytes.
        """
        protocol, self.protocol = self.protocol, None
        if protocol is not None:
            protocol.close(code, reason)

    def ping(self, data: str | bytes = b"") -> None:
        """Send a ping (at most 125 bytes).

        Raises:
            WebSocketClosedError: the connection is closing or closed.
        """
        protocol = self.protocol
        if protocol is None or protocol.is_closing():
            raise WebSocketClosedError()
        protocol.ping(data.encode("utf-8") if isinstance(data, str) else data)

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        """Deliver a message to the callback or the ``read_message`` buffer; override to intercept."""
        if self._on_message_callback is not None:
            self._on_message_callback(message)
            return None
        while self._readers:
            reader = self._readers.popleft()
            if not reader.done():
                reader.set_result(message)
                return None
        self._messages.append(message)
        if self._space is None:
            self._space = asyncio.get_running_loop().create_future()
        return self._space

    def on_ping(self, data: bytes) -> None:
        """Called when the server pings (the pong is already sent)."""

    def on_pong(self, data: bytes) -> None:
        """Called when the server answers a ping."""

    # -- the sink a WebSocketProtocol reports to ---------------------------------

    def _ws_message(self, message: str | bytes) -> Awaitable[None] | None:
        return self.on_message(message)

    def _ws_ping(self, data: bytes) -> None:
        self.on_ping(data)

    def _ws_pong(self, data: bytes) -> None:
        self.on_pong(data)

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        self.close_code, self.close_reason = code, reason
        self.protocol = None
        self._closed = True
        self._release_space()
        readers, self._readers = self._readers, collections.deque()
        for reader in readers:
            if not reader.done():
                reader.set_result(None)
        if self._on_message_callback is not None:
            self._on_message_callback(None)

    def _release_space(self) -> None:
        space, self._space = self._space, None
        if space is not None and not space.done():
            space.set_result(None)

    # -- the handshake --------------------------------------------------------------

    async def _connect(self) -> WebSocketClientConnection:
        """Open the connection and run the opening handshake.

        Raises:
            ValueError: an unsupported URL.
            HTTPClientError: the server answered with an error status (its
                status), or did not answer (599).
            HTTPTimeoutError: connecting or the handshake took too long.
            WebSocketError: the server answered 2xx without switching
                protocols, or its answer breaks RFC 6455 4.1.
        """
        scheme, sep, rest = self.request.url.partition("://")
        if not sep or scheme.lower() not in _SCHEMES:
            raise ValueError(f"unsupported WebSocket URL {self.request.url!r}")
        target = Target.parse(f"{_SCHEMES[scheme.lower()]}://{rest}")
        opts = dataclasses.replace(resolve_options(self.request, {}), decompress_response=False)
        transport, conn = await _open(target, opts, self._resolver)
        try:
            key = handshake.new_key()
            async with _Deadline(opts.request_timeout, "Timeout during the WebSocket handshake"):
                head = await self._exchange(conn, target, opts, key)
            compression = self._check_answer(head, key)
        except BaseException:
            conn.abort()
            raise
        self._take_over(transport, conn, compression)
        return self

    async def _exchange(self, conn: Connection, target: Target, opts: Options, key: str) -> http1.ResponseHead:
        headers = self.request.headers.copy()
        headers["Upgrade"] = "websocket"
        headers["Connection"] = "Upgrade"
        headers["Sec-WebSocket-Key"] = key
        headers["Sec-WebSocket-Version"] = handshake.VERSION
        if self._subprotocols:
            headers["Sec-WebSocket-Protocol"] = ", ".join(self._subprotocols)
        if self._compression_options is not None:
            headers["Sec-WebSocket-Extensions"] = deflate.client_offer()
        head, _ = serialize_head(HTTPRequest(self.request.url, "GET", headers), opts, target)
        conn.begin("GET")
        await conn.write(head)
        event = await conn.next_event()
        if not isinstance(event, http1.ResponseHead):
            raise HTTPClientError(599, f"Malformed HTTP response: {event!r} before a head")
        return event

    def _check_answer(self, head: http1.ResponseHead, key: str) -> tuple[deflate.Deflater, deflate.Inflater] | None:
        if head.status != 101:
            if 200 <= head.status < 300:
                raise WebSocketError(f"Non-websocket response: {head.status} {head.reason}")
            raise HTTPClientError(head.status, head.reason or None)
        fields = httputil.HTTPHeaders.from_pairs(head.headers)
        try:
            self.selected_subprotocol = handshake.check_response(fields, key, self._subprotocols)
            extensions = fields.get_list("Sec-WebSocket-Extensions")
            if self._compression_options is None:
                if extensions:
                    raise ValueError(f"server answered with extensions that were not offered: {extensions!r}")
                compression = None
            else:
                compression = deflate.client_accept(extensions, self._compression_options)
        except (handshake.HandshakeError, ValueError) as exc:
            raise WebSocketError(f"WebSocket handshake failed: {exc}") from None
        self.headers = fields
        return compression

    def _take_over(
        self,
        transport: asyncio.BaseTransport,
        conn: Connection,
        compression: tuple[deflate.Deflater, deflate.Inflater] | None,
    ) -> None:
        """Move the transport and what the parser holds past the ``101`` to a ``WebSocketProtocol``."""
        leftover = conn.parser.take_buffer()
        protocol = WebSocketProtocol(
            transport,
            self,
            client=True,
            max_message_size=self._max_message_size,
            compression=compression,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
        )
        transport.set_protocol(protocol)
        self.protocol = protocol
        protocol.receive(leftover)
        protocol.start()
        if conn.closed.done():  # the server closed before the hand-over: nothing more will come
            protocol.connection_lost(None)
        elif isinstance(transport, asyncio.ReadTransport):
            transport.resume_reading()  # the HTTP connection may have paused it


class _Deadline:
    """``asyncio.timeout`` that raises ``HTTPTimeoutError`` (None or 0: no limit, as Tornado)."""

    def __init__(self, seconds: float | None, message: str) -> None:
        self._timeout = asyncio.timeout(seconds if seconds else None)
        self._message = message

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await self._timeout.__aexit__(*exc_info)
        except TimeoutError:
            if self._timeout.expired():
                raise HTTPTimeoutError(self._message) from None
            raise


async def _open(target: Target, opts: Options, resolver: Resolver | None) -> tuple[asyncio.BaseTransport, Connection]:
    """A TCP (or TLS) connection to ``target``, found by ``resolver``, with an HTTP client ``Connection`` on it.

    Without a resolver, one made here (``Resolver()``, so ``Resolver.configure``
    applies) serves this attempt and is closed after it, as Tornado's
    ``TCPClient`` closes the resolver it made.
    """
    context: ssl.SSLContext | None = None
    if target.scheme == "https":
        context = opts.ssl_options if isinstance(opts.ssl_options, ssl.SSLContext) else make_ssl_context(opts)
    chosen = Resolver() if resolver is None else resolver
    try:
        async with _Deadline(opts.connect_timeout, "Timeout while connecting"):
            return await open_connection(chosen, target, http1.Limits(), context)
    finally:
        if resolver is None:
            chosen.close()


def _opening_request(url: str | HTTPRequest, connect_timeout: float | None) -> HTTPRequest:
    """The request the opening handshake is sent as: a copy of ``url``'s (headers, timeouts, TLS)."""
    if isinstance(url, HTTPRequest):
        request = HTTPRequest(
            url.url,
            headers=url.headers,
            connect_timeout=url.connect_timeout,
            request_timeout=url.request_timeout,
            validate_cert=url.validate_cert,
            ca_certs=url.ca_certs,
            ssl_options=url.ssl_options,
            user_agent=url.user_agent,
            auth_username=url.auth_username,
            auth_password=url.auth_password,
            auth_mode=url.auth_mode,
        )
    else:
        request = HTTPRequest(url)
    if connect_timeout is not None:
        request.connect_timeout = connect_timeout
    return request


def websocket_connect(
    url: str | HTTPRequest,
    *,
    callback: Callable[[asyncio.Future[WebSocketClientConnection]], object] | None = None,
    connect_timeout: float | None = None,
    on_message_callback: MessageCallback | None = None,
    compression_options: dict[str, Any] | None = None,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    subprotocols: list[str] | None = None,
    resolver: Resolver | None = None,
) -> asyncio.Future[WebSocketClientConnection]:
    """Connect to a WebSocket server (Tornado's ``websocket_connect``).

    Args:
        url: a ``ws://`` or ``wss://`` URL, or an ``HTTPRequest`` for one
            (its headers, timeouts and TLS options are used).
        callback: called with the returned future once it is done.
        connect_timeout: overrides the request's ``connect_timeout``.
        on_message_callback: receives every message, then None at close;
            ``read_message()`` is not used then.
        compression_options: a dict (``compression_level``, ``mem_level``)
            to offer permessage-deflate; None does not offer it.
        ping_interval: seconds between keepalive pings.
        ping_timeout: seconds to wait for a pong before closing: by
            default, and at most, ``ping_interval`` (Tornado 6.5); 0 never closes.
        max_message_size: largest message accepted (larger closes with 1009).
        subprotocols: ``Sec-WebSocket-Protocol`` values to offer, preferred first.
        resolver: finds the server's address (a ``netutil.Resolver``, such
            as an ``OverrideResolver``; Tornado 6.3's argument); the URL's host
            stays in ``Host`` and the TLS server name. It stays the caller's.
            None: ``netutil.Resolver()``, closed once connected.

    Returns:
        A future resolving to the open ``WebSocketClientConnection``.
        Difference from Tornado: optional arguments are keyword-only.
    """
    connection = WebSocketClientConnection(
        _opening_request(url, connect_timeout),
        on_message_callback=on_message_callback,
        compression_options=compression_options,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_message_size=max_message_size,
        subprotocols=subprotocols,
        resolver=resolver,
    )
    future = asyncio.ensure_future(connection._connect())
    if callback is not None:
        future.add_done_callback(callback)
    return future

"""``WebSocketHandler``: the server side, a ``RequestHandler`` whose GET upgrades.

Strategy: ``get()`` checks the opening handshake (``handshake``), writes the
``101`` through the handler's own ``flush()`` (so default headers and the
access log behave as for any response), then takes the transport from the
HTTP connection with ``detach_transport()`` and installs a ``WebSocketProtocol`` on
it. The request then finishes normally as far as the web layer knows
(``on_finish`` runs once, at the upgrade, as in Tornado): the request's
connection is replaced by a stand-in that writes nothing. Events are held
until ``open()`` (which may be async) has returned.
"""

from __future__ import annotations

import inspect
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from framework import escape
from framework.httputil import HTTPConnection, HTTPHeaders, HTTPServerRequest, ResponseStartLine
from framework.web.contracts import HandlerApplication
from framework.web.handler import RequestHandler
from framework.websocket import deflate, handshake
from framework.websocket.frames import DEFAULT_MAX_MESSAGE_SIZE, CloseCode
from framework.websocket.protocol import WebSocketClosedError, WebSocketProtocol, effective_ping_timeout, encode_message

if TYPE_CHECKING:
    import asyncio

__all__ = ["WebSocketHandler"]

app_log = logging.getLogger("framework.application")
gen_log = logging.getLogger("framework.general")


class _Done:
    """An awaitable that is already complete."""

    __slots__ = ()

    def __await__(self) -> Any:
        return iter(())


class _UpgradedConnection(HTTPConnection):
    """Stands in for a request's HTTP connection once a WebSocket took its transport.

    The handler's ``finish()`` completes through it without writing: the
    ``101`` is out and the bytes that follow are WebSocket frames.
    """

    def write_headers(self, start_line: ResponseStartLine, headers: HTTPHeaders, chunk: bytes | None = None) -> Awaitable[None]:
        return _Done()

    def write(self, chunk: bytes) -> Awaitable[None]:
        return _Done()

    def finish(self) -> None:
        pass


class WebSocketHandler(RequestHandler):
    """Subclass to handle a WebSocket (Tornado's ``tornado.websocket.WebSocketHandler``).

    Override ``open()``, ``on_message()`` and ``on_close()``; send with
    ``write_message()``, end with ``close()``. ``open`` and ``on_message``
    may be coroutines: no message is delivered until ``open`` has returned,
    and each ``on_message`` completes before the next is delivered.

    Settings read: ``websocket_ping_interval``, ``websocket_ping_timeout``,
    ``websocket_max_message_size``, and ``trusted_origins`` (through
    ``check_origin``). Compression (permessage-deflate) is on
    when ``get_compression_options()`` returns a dict.
    """

    def __init__(self, application: HandlerApplication, request: HTTPServerRequest, **kwargs: Any) -> None:
        self.ws_connection: WebSocketProtocol | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.open_args: tuple[Any, ...] = ()
        self.open_kwargs: dict[str, Any] = {}
        self._selected_subprotocol: str | None = None
        self._on_close_called = False
        super().__init__(application, request, **kwargs)

    # -- hooks for subclasses -------------------------------------------------

    def open(self, *args: Any, **kwargs: Any) -> Awaitable[None] | None:
        """Called when the WebSocket is open, with the route's arguments; may be async."""
        return None

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        """Handle a message: ``str`` for text, ``bytes`` for binary; may be async."""
        raise NotImplementedError()

    def on_close(self) -> None:
        """Called once when the connection has closed; see ``close_code``/``close_reason``."""

    def on_ping(self, data: bytes) -> None:
        """Called when a ping arrives (the pong has already been sent)."""

    def on_pong(self, data: bytes) -> None:
        """Called when a pong arrives."""

    def check_origin(self, origin: str) -> bool:
        """Accept a handshake that looks cross-origin, given its ``Origin`` header?

        Mirrors Tornado 6.6's ``WebSocketHandler.check_origin``. Browsers let
        any page open a WebSocket to any site, cookies included, so every
        handshake is checked, whatever the ``cross_origin_protection`` setting,
        by the rule of ``security.cross_origin_refusal``: this method is not
        called for a ``Sec-Fetch-Site`` of ``same-origin`` or ``none``, nor
        (without ``Sec-Fetch-Site``) when the ``Origin`` matches the ``Host``
        header, nor for a client sending no ``Origin`` (not a browser). It runs
        after ``prepare()``, so it may use what ``prepare`` set up (the user).

        Returns:
            True to accept, False to answer 403. By default,
            ``check_trusted_origin(origin)``: whether the origin is one of the
            setting ``trusted_origins``. Override to return True to accept
            every site (then authenticate by something other than cookies).
        """
        return self.check_trusted_origin(origin)

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        """Choose one of the client's ``Sec-WebSocket-Protocol`` values, or None (the default)."""
        return None

    def get_compression_options(self) -> dict[str, Any] | None:
        """Return a dict (``compression_level``, ``mem_level``) to allow permessage-deflate; None disables it."""
        return None

    # -- settings -------------------------------------------------------------

    @property
    def ping_interval(self) -> float | None:
        """Seconds between keepalive pings (setting ``websocket_ping_interval``); None for none."""
        value = self.application.config.websocket_ping_interval
        return float(value) if value else None

    @property
    def ping_timeout(self) -> float | None:
        """Seconds a ping waits for its pong before the connection closes; None without pings.

        Tornado 6.5's rule (``protocol.effective_ping_timeout``): the setting
        ``websocket_ping_timeout``, by default equal to the ping interval, and
        cut to the interval (with a warning) when longer; 0 never closes.
        Difference: Tornado's property returns the setting as given, and
        applies the rule in its protocol object; here it is the value used
        (the protocol applies the rule again to an override).
        """
        value = self.application.config.websocket_ping_timeout
        return effective_ping_timeout(self.ping_interval, None if value is None else float(value))

    @property
    def max_message_size(self) -> int | None:
        """Largest message accepted (``websocket_max_message_size``, 10 MiB by default; None: no limit).

        A larger message closes the connection with 1009.
        """
        value = self.settings.get("websocket_max_message_size", DEFAULT_MAX_MESSAGE_SIZE)
        return None if value is None else int(value)

    @property
    def selected_subprotocol(self) -> str | None:
        """The subprotocol ``select_subprotocol`` chose, or None."""
        return self._selected_subprotocol

    # -- the connection ---------------------------------------------------------

    def write_message(self, message: str | bytes | dict[str, Any], binary: bool = False) -> asyncio.Future[None]:
        """Send a message: ``str`` or ``dict`` (JSON) as text, ``bytes`` as binary with ``binary=True``.

        Returns:
            A future for flow control: it completes when the transport can
            take more.

        Raises:
            WebSocketClosedError: the connection is closing or closed.
            ValueError: bytes that are not UTF-8 sent as text.
        """
        connection = self.ws_connection
        if connection is None or connection.is_closing():
            raise WebSocketClosedError()
        data, text = encode_message(message, binary)
        return connection.write_message(data, text=text)

    def ping(self, data: str | bytes = b"") -> None:
        """Send a ping (at most 125 bytes); ``on_pong`` hears the answer.

        Raises:
            WebSocketClosedError: the connection is closing or closed.
            ValueError: ``data`` is over 125 bytes.
        """
        connection = self.ws_connection
        if connection is None or connection.is_closing():
            raise WebSocketClosedError()
        connection.ping(escape.utf8(data))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the WebSocket: a Close frame now, the TCP connection once the client answers.

        As in Tornado, ``ws_connection`` is None afterwards; ``on_close``
        runs when the connection is gone (at most ``CLOSE_TIMEOUT`` later).

        Raises:
            ValueError: a code that may not be sent, or a reason over 123 bytes.
        """
        connection = self.ws_connection
        if connection is not None:
            connection.close(code, reason)
            self.ws_connection = None

    def on_connection_close(self) -> None:
        """The connection is gone: runs ``on_close`` (once)."""
        connection, self.ws_connection = self.ws_connection, None
        if connection is not None:
            connection.abort()
        if not self._on_close_called:
            self._on_close_called = True
            self.on_close()

    def set_nodelay(self, value: bool) -> None:
        """Turn Nagle's algorithm off (True, the default here) or on for this connection."""
        connection = self.ws_connection
        sock = connection.transport.get_extra_info("socket") if connection and connection.transport else None
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if value else 0)

    # -- the handshake ------------------------------------------------------------

    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Answer the opening handshake, then run ``open()``; errors get 400, 403 or 426."""
        self.open_args, self.open_kwargs = args, kwargs
        protocol = self._upgrade()
        if protocol is None:
            return
        try:
            result = self.open(*args, **kwargs)
            if result is not None and inspect.isawaitable(result):
                await result
        except Exception:
            app_log.error("uncaught exception in %s open(); closing with 1011", self._request_summary(), exc_info=True)
            protocol.fail(CloseCode.INTERNAL_ERROR, "internal error")
            return
        protocol.start()

    def _upgrade(self) -> WebSocketProtocol | None:
        """Check the handshake and switch protocols; None when an error was answered instead."""
        headers = self.request.headers
        try:
            key = handshake.check_request(self.request.version, headers)
        except handshake.HandshakeError as exc:
            self._refuse(exc.status, exc.message, exc.headers)
            return None
        refusal = self._cross_origin_refusal(self.check_origin)
        if refusal is not None:
            self._refuse(403, "Cross origin websockets not allowed", log=refusal)
            return None
        offered = handshake.requested_subprotocols(headers)
        selected = self.select_subprotocol(offered)
        if selected is not None and selected not in offered:
            raise ValueError(f"select_subprotocol() chose {selected!r}, which the client did not offer")
        try:
            compression = self._negotiate_compression()
        except handshake.HandshakeError as exc:
            self._refuse(exc.status, exc.message, exc.headers)
            return None
        connection = self.request.connection
        if connection is None or type(connection).detach_transport is HTTPConnection.detach_transport:
            raise RuntimeError("this server connection cannot be upgraded to a WebSocket")
        self._write_switching_protocols(key, selected, compression[0] if compression else None)
        return self._take_over(connection.detach_transport, selected, compression[1:] if compression else None)

    def _negotiate_compression(self) -> tuple[str, deflate.Deflater, deflate.Inflater] | None:
        options = self.get_compression_options()
        if options is None:
            return None
        try:
            offers = deflate.parse_extensions(self.request.headers.get_list("Sec-WebSocket-Extensions"))
        except ValueError as exc:
            raise handshake.HandshakeError(str(exc)) from None
        return deflate.server_negotiate(offers, options)

    def _write_switching_protocols(self, key: str, subprotocol: str | None, extensions: str | None) -> None:
        self.set_status(101)
        self.clear_header("Content-Type")
        self.set_header("Upgrade", "websocket")
        self.set_header("Connection", "Upgrade")
        self.set_header("Sec-WebSocket-Accept", handshake.accept_key(key))
        if subprotocol is not None:
            self.set_header("Sec-WebSocket-Protocol", subprotocol)
        if extensions is not None:
            self.set_header("Sec-WebSocket-Extensions", extensions)
        self.flush()

    def _take_over(
        self,
        detach: Callable[..., tuple[asyncio.Transport, bytes]],
        subprotocol: str | None,
        compression: tuple[deflate.Deflater, deflate.Inflater] | None,
    ) -> WebSocketProtocol | None:
        """Take the transport from HTTP and finish the request as far as the web layer knows."""
        try:
            transport, leftover = detach(on_server_drain=self._close_for_drain)
        except RuntimeError:  # the client left before the upgrade completed
            self.request.connection = _UpgradedConnection()
            self.finish()
            return None
        protocol = WebSocketProtocol(
            transport,
            self,
            client=False,
            max_message_size=self.max_message_size,
            compression=compression,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
        )
        transport.set_protocol(protocol)
        self.ws_connection = protocol
        self._selected_subprotocol = subprotocol
        protocol.receive(leftover)
        self.request.connection = _UpgradedConnection()
        try:
            self.finish()  # on_finish and the access log, as for any request
        except Exception:  # the WebSocket lives on: log as the web layer would
            app_log.error("uncaught exception finishing %s", self._request_summary(), exc_info=True)
        return protocol

    def _close_for_drain(self) -> None:
        """The server is draining: close with 1001 (Going Away) so the client reconnects elsewhere."""
        if self.ws_connection is not None:
            self.ws_connection.close(CloseCode.GOING_AWAY, "server shutting down")

    def _refuse(self, status: int, message: str, headers: Sequence[tuple[str, str]] = (), *, log: str | None = None) -> None:
        """Answer ``status`` with ``message`` as the body; ``log`` (default: the message) says why in the log."""
        gen_log.info("websocket handshake refused (%d) for %s: %s", status, self._request_summary(), log or message)
        self.set_status(status)
        for name, value in headers:
            self.set_header(name, value)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish(message)

    # -- the sink a WebSocketProtocol reports to -------------------------------

    def _ws_message(self, message: str | bytes) -> Awaitable[None] | None:
        return self.on_message(message)

    def _ws_ping(self, data: bytes) -> None:
        self.on_ping(data)

    def _ws_pong(self, data: bytes) -> None:
        self.on_pong(data)

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        self.close_code, self.close_reason = code, reason
        self.ws_connection = None
        self.on_connection_close()

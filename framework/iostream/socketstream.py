"""Streams over sockets: ``IOStream`` (TCP or Unix) and ``SSLIOStream`` (TLS), which ``IOStream.start_tls`` returns."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

from framework.iostream.base import BaseIOStream, gen_log
from framework.iostream.errors import StreamClosedError
from framework.iostream.futures import current_loop as _loop
from framework.iostream.futures import fail as _fail
from framework.iostream.futures import succeed as _succeed
from framework.iostream.tls import ssl_options_to_context

_T = TypeVar("_T")


class IOStream(BaseIOStream):
    """A stream over a TCP (or Unix) socket (Tornado's ``IOStream``).

    Give it a connected socket (an accepted one) and it starts serving it at
    once; give it a new one and call :meth:`connect`.

    Args:
        socket: the socket; made non-blocking and owned by the stream from now on.
        args, kwargs: the ``BaseIOStream`` arguments.
    """

    def __init__(self, socket: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.socket = socket
        socket.setblocking(False)
        self._connecting: asyncio.Task[Any] | None = None
        # Whether asyncio has the socket: from then on its transport closes it.
        self._handed_over = False
        if _is_connected(socket):
            self._start_connecting(self._serve_accepted())

    @classmethod
    def from_transport(cls, transport: asyncio.Transport, received: bytes = b"", **kwargs: Any) -> IOStream:
        """A stream taking over a connected transport another protocol served (``RequestHandler.detach``).

        Not in Tornado, whose streams own sockets; here asyncio's transport
        owns the socket, so a handed-over connection keeps its transport.
        ``received``: bytes that protocol read but did not use; reads see them first.
        """
        stream = cls.__new__(cls)
        BaseIOStream.__init__(stream, **kwargs)
        stream.socket = transport.get_extra_info("socket")
        stream._connecting, stream._handed_over = None, True
        transport.set_protocol(stream._protocol)
        stream._protocol.connection_made(transport)
        if received:
            stream._on_data(received)
        return stream

    def fileno(self) -> int:
        return self.socket.fileno()

    def set_nodelay(self, value: bool) -> None:
        if self.socket.family in (socket.AF_INET, socket.AF_INET6) and not self._closed:
            with contextlib.suppress(OSError):  # the peer may have reset it meanwhile
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if value else 0)

    def _server_ssl(self) -> ssl.SSLContext | None:
        return None

    def _client_ssl(self) -> ssl.SSLContext | None:
        return None

    def _start_connecting(self, work: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        task = _loop().create_task(work)
        self._connecting = task
        task.add_done_callback(self._connecting_done)
        return task

    def _connecting_done(self, task: asyncio.Task[Any]) -> None:
        if not self._handed_over:  # failed or cancelled before asyncio took the socket
            self.socket.close()

    async def _serve_accepted(self) -> None:
        context = self._server_ssl()
        self._handed_over = True
        try:
            await _loop().connect_accepted_socket(lambda: self._protocol, self.socket, ssl=context)
        except (OSError, ssl.SSLError) as error:
            gen_log.debug("could not start the stream: %s", error)
            self.close(exc_info=error)

    def connect(self, address: Any, server_hostname: str | None = None) -> asyncio.Future[Self]:
        """Connect the socket to ``address``; the future resolves with this stream.

        Mirrors ``IOStream.connect``: writes and reads may be started before
        it resolves (they wait for the connection). ``server_hostname`` is
        for TLS (SNI and certificate check, default: the host in ``address``).

        Returns:
            A future for the stream, or failing with ``StreamClosedError``
            (``real_error``: the ``OSError`` or ``SSLError``).
        """
        return self._start_connecting(self._connect_to(address, server_hostname))

    async def _connect_to(self, address: Any, server_hostname: str | None) -> Self:
        loop = _loop()
        context = self._client_ssl()
        hostname = None
        if context is not None:
            hostname = server_hostname if server_hostname is not None else str(address[0])
        try:
            await loop.sock_connect(self.socket, address)
            self._handed_over = True
            await loop.create_connection(lambda: self._protocol, sock=self.socket, ssl=context, server_hostname=hostname)
        except (OSError, ssl.SSLError) as error:
            self.close(exc_info=error)
            raise StreamClosedError(real_error=error) from error
        return self

    def _close_unattached(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()  # the task's end closes the socket, or its transport does
        elif not self._handed_over:
            self.socket.close()

    def start_tls(
        self,
        server_side: bool,
        ssl_options: ssl.SSLContext | dict[str, Any] | None = None,
        server_hostname: str | None = None,
    ) -> asyncio.Future[SSLIOStream]:
        """Upgrade this connection to TLS; the future resolves with a new ``SSLIOStream``.

        Mirrors ``IOStream.start_tls`` (STARTTLS in SMTP, IMAP...): this stream
        must be idle (no read or write pending, nothing buffered) and is not
        to be used afterwards; its close callback moves to the new stream.

        Raises:
            ValueError: the stream is not idle.
            StreamClosedError: it is closed.
        """
        self._check_closed()
        if self._read is not None or self._write_futures or self._buffer or self._transport is None:
            raise ValueError("IOStream is not idle; cannot convert to SSL")
        context = ssl_options_to_context(ssl_options or {}, server_side=server_side)
        new = SSLIOStream(
            self.socket,
            ssl_options=context,
            max_buffer_size=self.max_buffer_size,
            read_chunk_size=self.read_chunk_size,
            max_write_buffer_size=self.max_write_buffer_size,
            _adopting=True,
        )
        new._close_callback, self._close_callback = self._close_callback, None
        transport, self._transport = self._transport, None
        self._closed = True  # handed over: nothing of this stream runs again
        self._protocol.stream = new
        new._protocol = self._protocol
        return _loop().create_task(new._upgrade(transport, server_side, server_hostname))


class SSLIOStream(IOStream):
    """A TLS stream (Tornado's ``SSLIOStream``).

    Server side: give it an accepted socket and ``ssl_options`` with the
    certificate; the handshake runs before the first byte is read. Client
    side: give it a new socket and call :meth:`connect`, which also shakes
    hands (``ssl_options`` default: the system's trusted CAs and hostname check).

    Args:
        ssl_options: an ``ssl.SSLContext`` or Tornado's dict of options.
    """

    def __init__(
        self,
        socket: socket.socket,
        *args: Any,
        ssl_options: ssl.SSLContext | dict[str, Any] | None = None,
        _adopting: bool = False,
        **kwargs: Any,
    ) -> None:
        self._ssl_options = ssl_options or {}
        if _adopting:  # start_tls: the socket already has a transport
            BaseIOStream.__init__(self, *args, **kwargs)
            self.socket = socket
            self._connecting = None
            self._handed_over = True
            return
        super().__init__(socket, *args, **kwargs)

    def _server_ssl(self) -> ssl.SSLContext:
        return ssl_options_to_context(self._ssl_options, server_side=True)

    def _client_ssl(self) -> ssl.SSLContext:
        return ssl_options_to_context(self._ssl_options, server_side=False)

    def wait_for_handshake(self) -> asyncio.Future[SSLIOStream]:
        """A future resolving with this stream once the TLS handshake is done.

        Raises (in the future):
            StreamClosedError: the handshake failed or the stream closed first.
        """
        result: asyncio.Future[SSLIOStream] = _loop().create_future()

        def done(attached: asyncio.Future[None]) -> None:
            if attached.exception() is not None:
                _fail(result, attached.exception() or StreamClosedError())
            else:
                _succeed(result, self)

        self._attached.add_done_callback(done)
        return result

    async def _upgrade(self, transport: asyncio.Transport, server_side: bool, server_hostname: str | None) -> SSLIOStream:
        context = self._server_ssl() if server_side else self._client_ssl()
        try:
            upgraded = await _loop().start_tls(
                transport, self._protocol, context, server_side=server_side, server_hostname=server_hostname
            )
        except (OSError, ssl.SSLError) as error:
            transport.abort()
            self.close(exc_info=error)
            raise StreamClosedError(real_error=error) from error
        if upgraded is None:  # pragma: no cover - only when the loop is closing
            raise StreamClosedError()
        self._attach(upgraded)
        return self


def _is_connected(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True

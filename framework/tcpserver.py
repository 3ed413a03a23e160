"""A non-blocking TCP server for any protocol (Tornado's ``tcpserver``).

Subclass :class:`TCPServer` and override ``handle_stream(stream, address)``;
each accepted connection arrives as an ``IOStream`` (an ``SSLIOStream`` with
``ssl_options``). Listening follows Tornado and ``HTTPServer``: ``listen``
for one process, ``bind`` + ``start(n)`` to fork, ``add_sockets`` for sockets
made elsewhere (``netutil.bind_sockets``). Accepting goes through
``netutil.add_accept_handler``, as Tornado's does. No HTTP here.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from framework import process
from framework.ioloop import IOLoop
from framework.iostream import IOStream, SSLIOStream, ssl_options_to_context
from framework.netutil import add_accept_handler, bind_sockets

__all__ = ["TCPServer"]

app_log = logging.getLogger("framework.application")


class TCPServer:
    """Accepts TCP connections and hands each to :meth:`handle_stream`.

    Mirrors ``tornado.tcpserver.TCPServer``.

    Args:
        ssl_options: an ``ssl.SSLContext`` or Tornado's dict (``certfile``,
            ``keyfile``...): connections are then TLS, shaken hands before the
            first byte is read.
        max_buffer_size: each stream's ``max_buffer_size``.
        read_chunk_size: each stream's ``read_chunk_size``.

    Raises:
        ValueError: ``ssl_options`` has unknown keys; ``FileNotFoundError``:
            its certificate files do not exist (checked here, as in Tornado,
            rather than at the first connection).
    """

    def __init__(
        self,
        ssl_options: ssl.SSLContext | dict[str, Any] | None = None,
        max_buffer_size: int | None = None,
        read_chunk_size: int | None = None,
    ) -> None:
        self.ssl_options = ssl_options
        self._ssl_context = None if ssl_options is None else ssl_options_to_context(ssl_options, server_side=True)
        self.max_buffer_size = max_buffer_size
        self.read_chunk_size = read_chunk_size
        self._sockets: dict[int, socket.socket] = {}
        self._stop_accepting: dict[int, Callable[[], None]] = {}
        self._pending_sockets: list[socket.socket] = []
        self._handlers: set[asyncio.Future[Any]] = set()
        self._started = False
        self._stopped = False

    def listen(self, port: int, address: str | None = None, **kwargs: Any) -> None:
        """Bind ``address:port`` and accept on the current IOLoop (keywords go to ``bind_sockets``)."""
        self.add_sockets(bind_sockets(port, address, **kwargs))

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        """Accept connections on already-listening sockets, on the current IOLoop."""
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._stop_accepting[sock.fileno()] = add_accept_handler(sock, self._handle_connection)

    def add_socket(self, socket: socket.socket) -> None:
        """Accept connections on one listening socket."""
        self.add_sockets([socket])

    def bind(self, port: int, address: str | None = None, **kwargs: Any) -> None:
        """Bind now, accept after :meth:`start` (so forked children share the sockets)."""
        if self._started:
            self.add_sockets(bind_sockets(port, address, **kwargs))
        else:
            self._pending_sockets.extend(bind_sockets(port, address, **kwargs))

    def start(self, num_processes: int | None = 1, max_restarts: int | None = None) -> None:
        """Accept on the sockets from :meth:`bind`, in ``num_processes`` processes.

        With more than one (None or 0: one per CPU) this forks through
        ``process.fork_processes`` before any event loop may run, as Tornado does.

        Raises:
            RuntimeError: already started.
        """
        if self._started:
            raise RuntimeError("TCPServer already started")
        self._started = True
        if num_processes != 1:
            process.fork_processes(num_processes, max_restarts)
        sockets, self._pending_sockets = self._pending_sockets, []
        self.add_sockets(sockets)

    def stop(self) -> None:
        """Stop accepting and close the listening sockets; open streams are left alone.

        Mirrors ``TCPServer.stop``; may be called more than once.
        """
        if self._stopped:
            return
        self._stopped = True
        for fd, sock in self._sockets.items():
            self._stop_accepting.pop(fd)()
            sock.close()
        self._sockets.clear()

    def handle_stream(self, stream: IOStream, address: Any) -> Any:
        """Serve one connection; override this. May be a coroutine (``async def``).

        Args:
            stream: the connection.
            address: the peer's address, as ``accept()`` gave it.
        """
        raise NotImplementedError()

    def _handle_connection(self, connection: socket.socket, address: object) -> None:
        options: dict[str, Any] = {"max_buffer_size": self.max_buffer_size, "read_chunk_size": self.read_chunk_size}
        try:
            if self._ssl_context is not None:
                stream: IOStream = SSLIOStream(connection, ssl_options=self._ssl_context, **options)
            else:
                stream = IOStream(connection, **options)
            result = self.handle_stream(stream, address)
        except Exception:  # noqa: BLE001 - one connection's failure must not stop accepting
            app_log.error("Error in connection callback", exc_info=True)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result, loop=IOLoop.current().asyncio_loop)
            self._handlers.add(task)  # the loop holds tasks only weakly
            task.add_done_callback(self._handler_done)

    def _handler_done(self, task: asyncio.Future[Any]) -> None:
        self._handlers.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            app_log.error("Exception in handle_stream", exc_info=error)

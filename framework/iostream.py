"""Byte streams over TCP and TLS with Tornado's ``IOStream`` API, on asyncio transports.

Mirrors ``tornado.iostream`` for code that speaks its own protocol over TCP
(``TCPServer.handle_stream``, ``TCPClient.connect``): ``read_until``,
``read_until_regex``, ``read_bytes``, ``read_into``, ``read_until_close``,
``write``, ``start_tls``. The HTTP server does not use it (its connections are
asyncio protocols of their own); ``StreamClosedError`` is also what HTTP
handlers catch when the client has gone. No HTTP here.

Strategy: a stream owns one asyncio ``Protocol`` whose callbacks feed a read
buffer; at most one read is pending, and after every change (data, a new
read, the close) the pending read is checked against the buffer. Reading from
the socket goes on while a read is waiting for more, or until ``read_chunk_size``
bytes are buffered ahead of any read; then the transport is paused
(``pause_reading``), so a peer that sends faster than the application reads
is held back by TCP instead of filling memory. A read that cannot be satisfied
within ``max_buffer_size`` closes the stream. Writes go straight to the
transport; the write limits are set to zero so that asyncio calls
``resume_writing`` exactly when its buffer is empty, which is when write
futures resolve.

Differences from Tornado: a write's future resolves when the transport's whole
buffer has drained (Tornado tracks each write's own end); a second read while
one is pending raises ``RuntimeError`` (Tornado: ``AssertionError``);
``SSLIOStream`` takes a plain socket (the TLS layer is asyncio's, not an
``ssl.SSLSocket``); a read failing because the buffer filled fails with
``StreamClosedError`` whose ``real_error`` is the ``StreamBufferFullError``.
``PipeIOStream`` serves one end of a pipe (a subprocess's stdin, stdout or
stderr: ``process.Subprocess``) through asyncio's pipe transports.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import numbers
import os
import re
import socket
import ssl
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

from framework.ioloop import IOLoop

__all__ = [
    "BaseIOStream",
    "IOStream",
    "PipeIOStream",
    "SSLIOStream",
    "StreamBufferFullError",
    "StreamClosedError",
    "UnsatisfiableReadError",
    "ssl_options_to_context",
]

gen_log = logging.getLogger("framework.general")

_T = TypeVar("_T")

DEFAULT_MAX_BUFFER_SIZE = 104857600
"""Bytes a single read may buffer before the stream is closed (100 MiB, Tornado's default)."""
DEFAULT_READ_CHUNK_SIZE = 65536
"""Bytes buffered ahead of any pending read before the transport is paused."""

ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


class StreamClosedError(IOError):
    """The stream is closed: nothing more can be written, or the read cannot complete.

    Mirrors ``tornado.iostream.StreamClosedError``.

    Args:
        real_error: the error that caused the close, if there was one
            (a ``ConnectionResetError``, an ``UnsatisfiableReadError``...).
    """

    def __init__(self, real_error: BaseException | None = None) -> None:
        super().__init__("Stream is closed")
        self.real_error = real_error


class UnsatisfiableReadError(Exception):
    """A read cannot complete: ``read_until(..., max_bytes=n)`` found no delimiter in ``n`` bytes."""


class StreamBufferFullError(Exception):
    """More than ``max_buffer_size`` bytes (or ``max_write_buffer_size`` for writes) would be buffered."""


def ssl_options_to_context(ssl_options: ssl.SSLContext | dict[str, Any], *, server_side: bool) -> ssl.SSLContext:
    """Turn Tornado's ``ssl_options`` dict into an ``SSLContext`` (a context is returned as is).

    Tornado has this as ``netutil.ssl_options_to_context`` (so has
    ``framework.netutil``). Keys read: ``certfile``, ``keyfile``,
    ``ca_certs``, ``cert_reqs``, ``ciphers``, ``ssl_version`` (a protocol
    constant for ``ssl.SSLContext``; without it, the ``ssl`` module's
    defaults for that side: a client checks certificates against the
    system's trusted CAs).

    Raises:
        ValueError: an unknown key (Tornado accepts only these too).
    """
    if isinstance(ssl_options, ssl.SSLContext):
        return ssl_options
    unknown = set(ssl_options) - {"certfile", "keyfile", "ca_certs", "cert_reqs", "ciphers", "ssl_version"}
    if unknown:
        raise ValueError(f"unknown ssl_options: {', '.join(sorted(unknown))}")
    purpose = ssl.Purpose.CLIENT_AUTH if server_side else ssl.Purpose.SERVER_AUTH
    if "ssl_version" in ssl_options:
        context = ssl.SSLContext(ssl_options["ssl_version"])
        context.load_default_certs(purpose)
        if "ca_certs" in ssl_options:
            context.load_verify_locations(ssl_options["ca_certs"])
    else:
        context = ssl.create_default_context(purpose, cafile=ssl_options.get("ca_certs"))
    if "certfile" in ssl_options:
        context.load_cert_chain(ssl_options["certfile"], ssl_options.get("keyfile"))
    if "cert_reqs" in ssl_options:
        if ssl_options["cert_reqs"] == ssl.CERT_NONE:
            context.check_hostname = False
        context.verify_mode = ssl_options["cert_reqs"]
    if "ciphers" in ssl_options:
        context.set_ciphers(ssl_options["ciphers"])
    return context


@dataclass(slots=True)
class _Read:
    """The pending read: how many buffered bytes would satisfy it, and what it returns.

    ``take(buffer)`` gives the byte count that completes the read now, or None
    to wait for more; ``take_at_close`` the same once no more bytes will come.
    """

    future: asyncio.Future[Any]
    take: Callable[[bytearray], int | None]
    take_at_close: Callable[[bytearray], int | None]
    into: memoryview | None = None


def _never(buffer: bytearray) -> None:
    return None


class _StreamProtocol(asyncio.Protocol):
    """The asyncio side of a stream: forwards every transport event to the stream it serves."""

    def __init__(self, stream: BaseIOStream) -> None:
        self.stream = stream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.stream._attach(transport)  # the stream's own protocol: private access is within the module

    def data_received(self, data: bytes) -> None:
        self.stream._on_data(data)

    def eof_received(self) -> bool:
        self.stream._mark_closed(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.stream._mark_closed(exc)

    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        self.stream._on_drained()


class BaseIOStream:
    """The transport-independent stream API (Tornado's ``BaseIOStream``).

    Args:
        max_buffer_size: bytes a read may buffer before the stream is closed
            (default 100 MiB, as Tornado).
        read_chunk_size: bytes read ahead of any pending read before reading
            pauses (default 64 KiB).
        max_write_buffer_size: bytes of unsent writes allowed; beyond it
            :meth:`write` raises ``StreamBufferFullError``. None: no limit.
    """

    def __init__(
        self,
        max_buffer_size: int | None = None,
        read_chunk_size: int | None = None,
        max_write_buffer_size: int | None = None,
    ) -> None:
        self.max_buffer_size = max_buffer_size or DEFAULT_MAX_BUFFER_SIZE
        self.read_chunk_size = min(read_chunk_size or DEFAULT_READ_CHUNK_SIZE, self.max_buffer_size // 2)
        self.max_write_buffer_size = max_write_buffer_size
        self.error: BaseException | None = None
        self._protocol = _StreamProtocol(self)
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._read: _Read | None = None
        self._unsent: list[bytes] = []
        self._write_futures: list[asyncio.Future[None]] = []
        self._close_callback: Callable[[], object] | None = None
        self._closed = False
        self._reading_paused = False
        self._attached: asyncio.Future[None] = _loop().create_future()

    # -- reading -----------------------------------------------------------------

    def read_until(self, delimiter: bytes, max_bytes: int | None = None) -> asyncio.Future[bytes]:
        """Read up to and including ``delimiter``.

        Returns:
            A future for the data, delimiter included. If ``max_bytes`` is set
            and the delimiter is not within that many bytes, the stream is
            closed and the future fails with ``StreamClosedError`` whose
            ``real_error`` is an ``UnsatisfiableReadError``.

        Raises:
            RuntimeError: another read is pending.
        """
        scanned = 0

        def take(buffer: bytearray) -> int | None:
            nonlocal scanned
            found = buffer.find(delimiter, max(0, scanned - len(delimiter) + 1))
            if found == -1:
                scanned = len(buffer)
                _check_max_bytes(max_bytes, len(buffer), f"delimiter {delimiter!r}")
                return None
            end = found + len(delimiter)
            _check_max_bytes(max_bytes, end, f"delimiter {delimiter!r}")
            return end

        return self._start_read(take, _never)

    def read_until_regex(self, regex: bytes | re.Pattern[bytes], max_bytes: int | None = None) -> asyncio.Future[bytes]:
        """Read up to and including the end of the first match of ``regex``.

        Returns:
            A future for the data; ``max_bytes`` as in :meth:`read_until`.

        Raises:
            RuntimeError: another read is pending.
        """
        pattern = re.compile(regex)

        def take(buffer: bytearray) -> int | None:
            match = pattern.search(buffer)
            if match is None:
                _check_max_bytes(max_bytes, len(buffer), f"regex {pattern.pattern!r}")
                return None
            _check_max_bytes(max_bytes, match.end(), f"regex {pattern.pattern!r}")
            return match.end()

        return self._start_read(take, _never)

    def read_bytes(self, num_bytes: int, partial: bool = False) -> asyncio.Future[bytes]:
        """Read ``num_bytes`` bytes; with ``partial``, return as soon as any are there (at most that many).

        Raises:
            RuntimeError: another read is pending.
            ValueError: ``num_bytes`` is negative.
        """
        take = _counted(num_bytes, partial)
        return self._start_read(take, take)

    def read_into(self, buf: bytearray | memoryview, partial: bool = False) -> asyncio.Future[int]:
        """Fill ``buf`` with data; with ``partial``, with whatever is there as soon as any is.

        Returns:
            A future for the number of bytes put into ``buf``.

        Raises:
            RuntimeError: another read is pending.
        """
        target = memoryview(buf).cast("B")
        take = _counted(len(target), partial)
        return self._start_read(take, take, into=target)

    def read_until_close(self) -> asyncio.Future[bytes]:
        """Read everything until the peer closes; the future resolves with all of it then.

        Raises:
            RuntimeError: another read is pending.
        """
        return self._start_read(_never, len)

    def _start_read(
        self,
        take: Callable[[bytearray], int | None],
        take_at_close: Callable[[bytearray], int | None],
        *,
        into: memoryview | None = None,
    ) -> asyncio.Future[Any]:
        if self._read is not None:
            raise RuntimeError("Already reading")
        self._read = _Read(_loop().create_future(), take, take_at_close, into)
        future = self._read.future
        self._service_read()
        return future

    def _service_read(self) -> None:
        """Complete, fail or keep waiting the pending read; then decide whether to read on."""
        read = self._read
        if read is not None:
            try:
                count = read.take(self._buffer)
            except UnsatisfiableReadError as error:
                gen_log.info("Unsatisfiable read, closing connection: %s", error)
                self._abandon_read(error)
                return
            if count is None and self._closed:
                count = read.take_at_close(self._buffer)
                if count is None:
                    self._read = None
                    _fail(read.future, StreamClosedError(real_error=self.error))
                    return
            if count is not None:
                self._read = None
                _succeed(read.future, self._consume(count, read.into))
            elif len(self._buffer) > self.max_buffer_size:
                gen_log.error("Reached maximum read buffer size")
                self._abandon_read(StreamBufferFullError("Reached maximum read buffer size"))
                return
        self._pace_reading()

    def _abandon_read(self, error: Exception) -> None:
        """Close because the pending read can never complete; it fails with ``error`` as the cause."""
        read, self._read = self._read, None
        self.close(exc_info=error)
        if read is not None:
            _fail(read.future, StreamClosedError(real_error=error))

    def _consume(self, count: int, into: memoryview | None) -> bytes | int:
        if into is not None:
            into[:count] = self._buffer[:count]
            del self._buffer[:count]
            return count
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def _pace_reading(self) -> None:
        """Read from the socket while a read waits, or until a chunk is buffered ahead."""
        transport = self._transport
        if transport is None or self._closed:
            return
        wanted = self._read is not None or len(self._buffer) < self.read_chunk_size
        if wanted and self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        elif not wanted and not self._reading_paused:
            self._reading_paused = True
            transport.pause_reading()

    def reading(self) -> bool:
        """Whether a read is pending."""
        return self._read is not None

    # -- writing -----------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> asyncio.Future[None]:
        """Send ``data``; the future resolves once everything written so far has gone to the kernel.

        Raises:
            StreamClosedError: the stream is closed.
            StreamBufferFullError: unsent data would exceed ``max_write_buffer_size``.
        """
        self._check_closed()
        if data:
            pending = self._write_buffer_size()
            if self.max_write_buffer_size is not None and pending + len(data) > self.max_write_buffer_size:
                raise StreamBufferFullError("Reached maximum write buffer size")
            if self._transport is None:
                self._unsent.append(bytes(data))
            else:
                self._transport.write(data)
        future: asyncio.Future[None] = _loop().create_future()
        if self._transport is not None and self._transport.get_write_buffer_size() == 0:
            future.set_result(None)
        else:
            self._write_futures.append(future)
        return future

    def writing(self) -> bool:
        """Whether written data is still waiting to be sent."""
        return self._write_buffer_size() > 0

    def _write_buffer_size(self) -> int:
        if self._transport is None:
            return sum(map(len, self._unsent))
        return self._transport.get_write_buffer_size()

    def _on_drained(self) -> None:
        futures, self._write_futures = self._write_futures, []
        for future in futures:
            _succeed(future, None)

    # -- connection state ------------------------------------------------------

    def _attach(self, transport: asyncio.BaseTransport) -> None:
        """The transport is ready (connected, TLS handshake done): flush what was written meanwhile."""
        if not isinstance(transport, asyncio.Transport):  # pragma: no cover - always a stream transport
            raise TypeError(f"not a stream transport: {transport!r}")
        self._transport = transport
        if self._closed:
            transport.close()
            return
        transport.set_write_buffer_limits(high=0)
        unsent, self._unsent = self._unsent, []
        if unsent:
            transport.writelines(unsent)
        if transport.get_write_buffer_size() == 0:
            self._on_drained()
        _succeed(self._attached, None)
        self._pace_reading()

    def _on_data(self, data: bytes) -> None:
        self._buffer += data
        self._service_read()

    def _mark_closed(self, exc: BaseException | None) -> None:
        """The stream is closed (by us, by EOF or by an error): settle everything waiting."""
        if self._closed:
            return
        self._closed = True
        if self.error is None:
            self.error = exc
        _fail(self._attached, StreamClosedError(real_error=self.error))
        futures, self._write_futures = self._write_futures, []
        for future in futures:
            _fail(future, StreamClosedError(real_error=self.error))
        self._service_read()
        callback, self._close_callback = self._close_callback, None
        if callback is not None:
            IOLoop.current().add_callback(callback)

    def set_close_callback(self, callback: Callable[[], object] | None) -> None:
        """Call ``callback()`` (on the next loop iteration) when the stream closes.

        Mirrors ``BaseIOStream.set_close_callback``: a stream already closed
        calls it at once; None removes it. The peer's close is noticed while a
        read is pending or while little data is buffered ahead (see the module's
        strategy), as in Tornado.
        """
        if callback is not None and self._closed:
            IOLoop.current().add_callback(callback)
            return
        self._close_callback = callback

    def close(self, exc_info: bool | BaseException | ExcInfo = False) -> None:
        """Close the stream; unsent data is dropped (as in Tornado), a pending read fails.

        Args:
            exc_info: True to record the exception being handled as ``error``,
                or an exception or ``sys.exc_info()`` triple to record.
        """
        if self._closed:
            return
        if exc_info is True:
            exc_info = sys.exc_info()
        if isinstance(exc_info, tuple):
            self.error = exc_info[1]
        elif isinstance(exc_info, BaseException):
            self.error = exc_info
        transport = self._transport
        if transport is not None:
            if transport.get_write_buffer_size():
                transport.abort()
            else:
                transport.close()
        else:
            self._close_unattached()
        self._mark_closed(None)

    def _close_unattached(self) -> None:
        """Close before any transport exists (``IOStream`` closes its socket here)."""

    def closed(self) -> bool:
        """Whether the stream is closed (by either side)."""
        return self._closed

    def _check_closed(self) -> None:
        if self._closed:
            raise StreamClosedError(real_error=self.error)

    def set_nodelay(self, value: bool) -> None:
        """Turn Nagle's algorithm off (True) or on; a no-op for streams that are not TCP."""

    def fileno(self) -> int:
        """The file descriptor underneath."""
        raise NotImplementedError()


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


class PipeIOStream(BaseIOStream):
    """A stream over one end of a pipe (Tornado's ``PipeIOStream``); Unix only.

    A pipe goes one way: a descriptor opened write-only (``os.pipe()[1]``, a
    child's stdin) is written to, any other is read from. Writing to a
    read end closes the stream with ``EBADF`` as ``error``, as in Tornado.

    Args:
        fd: an integer file descriptor; the stream owns it and closes it.
        args, kwargs: the ``BaseIOStream`` arguments.
    """

    def __init__(self, fd: int, *args: Any, **kwargs: Any) -> None:
        import fcntl  # here, not above: Unix only, and sockets need no pipes elsewhere

        super().__init__(*args, **kwargs)
        self.fd = fd
        self._writes = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
        self._file = os.fdopen(fd, "wb" if self._writes else "rb", buffering=0)
        self._opening = _loop().create_task(self._open())
        self._opening.add_done_callback(self._opening_done)

    def fileno(self) -> int:
        return self.fd

    def write(self, data: bytes | bytearray | memoryview) -> asyncio.Future[None]:
        if not self._writes and not self._closed:
            self.close(exc_info=OSError(errno.EBADF, "this end of the pipe is for reading"))
        return super().write(data)

    async def _open(self) -> None:
        loop = _loop()
        connect = loop.connect_write_pipe if self._writes else loop.connect_read_pipe
        try:
            await connect(lambda: self._protocol, self._file)
        except (OSError, ValueError) as error:  # ValueError: not a pipe, socket or character device
            self.close(exc_info=error)

    def _opening_done(self, task: asyncio.Task[None]) -> None:
        if self._transport is None:  # failed or cancelled before asyncio took the pipe
            self._file.close()

    def _attach(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, (asyncio.ReadTransport, asyncio.WriteTransport)):  # pragma: no cover
            raise TypeError(f"not a pipe transport: {transport!r}")
        super()._attach(_OneWayPipe(transport))

    def _close_unattached(self) -> None:
        self._opening.cancel()  # its end closes the pipe


class _OneWayPipe(asyncio.Transport):
    """A pipe's read or write transport behind the two-way face ``BaseIOStream`` drives."""

    def __init__(self, pipe: asyncio.ReadTransport | asyncio.WriteTransport) -> None:
        super().__init__()
        self.pipe = pipe

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if isinstance(self.pipe, asyncio.WriteTransport):
            self.pipe.write(data)

    def get_write_buffer_size(self) -> int:
        return self.pipe.get_write_buffer_size() if isinstance(self.pipe, asyncio.WriteTransport) else 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if isinstance(self.pipe, asyncio.WriteTransport):
            self.pipe.set_write_buffer_limits(high, low)

    def pause_reading(self) -> None:
        if isinstance(self.pipe, asyncio.ReadTransport):
            self.pipe.pause_reading()

    def resume_reading(self) -> None:
        if isinstance(self.pipe, asyncio.ReadTransport):
            self.pipe.resume_reading()

    def abort(self) -> None:
        if isinstance(self.pipe, asyncio.WriteTransport):
            self.pipe.abort()
        else:
            self.pipe.close()

    def close(self) -> None:
        self.pipe.close()

    def is_closing(self) -> bool:
        return self.pipe.is_closing()


def _loop() -> asyncio.AbstractEventLoop:
    return IOLoop.current().asyncio_loop


def _is_connected(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


def _counted(num_bytes: int, partial: bool) -> Callable[[bytearray], int | None]:
    """``take`` for reads of a byte count: all of them, or with ``partial`` any (at most that many)."""
    if not isinstance(num_bytes, numbers.Integral) or num_bytes < 0:
        raise ValueError(f"num_bytes must be a non-negative integer, not {num_bytes!r}")

    def take(buffer: bytearray) -> int | None:
        if len(buffer) >= num_bytes:
            return num_bytes
        if partial and buffer:
            return len(buffer)
        return None

    return take


def _check_max_bytes(max_bytes: int | None, size: int, what: str) -> None:
    if max_bytes is not None and size > max_bytes:
        raise UnsatisfiableReadError(f"{what} not found within {max_bytes} bytes")


def _succeed(future: asyncio.Future[_T], value: _T) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
        future.exception()  # retrieved: nobody need await a write or read that the close ended

"""The transport-independent stream: ``BaseIOStream``, its read buffer and pending read, its asyncio protocol.

Strategy: as in the package docstring (one pending read checked against the
buffer after every change; reading paused once a chunk is buffered ahead;
write futures resolved when the transport's buffer is empty).
"""

from __future__ import annotations

import asyncio
import logging
import numbers
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from framework.ioloop import IOLoop
from framework.iostream.errors import StreamBufferFullError, StreamClosedError, UnsatisfiableReadError
from framework.iostream.futures import current_loop as _loop
from framework.iostream.futures import fail as _fail
from framework.iostream.futures import succeed as _succeed

gen_log = logging.getLogger("framework.general")

DEFAULT_MAX_BUFFER_SIZE = 104857600
"""Bytes a single read may buffer before the stream is closed (100 MiB, Tornado's default)."""
DEFAULT_READ_CHUNK_SIZE = 65536
"""Bytes buffered ahead of any pending read before the transport is paused."""

ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


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

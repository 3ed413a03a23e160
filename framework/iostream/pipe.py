"""``PipeIOStream``: one end of a pipe (a subprocess's stdin, stdout or stderr) through asyncio's pipe transports."""

from __future__ import annotations

import asyncio
import errno
import os
from typing import Any

from framework.iostream.base import BaseIOStream
from framework.iostream.futures import current_loop as _loop


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

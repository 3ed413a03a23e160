"""The errors a stream fails with; ``StreamClosedError`` is also what HTTP handlers catch when the client has gone."""

from __future__ import annotations


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

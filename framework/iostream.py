"""Compatibility: the ``tornado.iostream`` names application code catches.

The framework has no ``IOStream`` (connections are asyncio protocols), but
handlers that stream a response catch ``StreamClosedError`` from
``await self.flush()`` when the client has gone, as they do with Tornado.
"""

from __future__ import annotations

__all__ = ["StreamClosedError"]


class StreamClosedError(IOError):
    """The connection closed: writing is no longer possible.

    Args:
        real_error: the underlying error, if the close was caused by one.
    """

    def __init__(self, real_error: BaseException | None = None) -> None:
        super().__init__("Stream is closed")
        self.real_error = real_error

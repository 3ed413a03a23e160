"""Gzip request bodies decoded for the application: ``HTTPServer(decompress_request=True)``.

Strategy: a ``GzipMessageDelegate`` sits between the connection and the
application's ``HTTPMessageDelegate``, as Tornado's private
``_GzipMessageDelegate`` does. It inflates each received chunk in pieces of
at most ``PIECE`` bytes, handing every piece on before inflating the next, so
the memory a chunk costs is bounded however well it compresses, and an
awaitable returned by the application (flow control) is awaited between
pieces. The body limit applies to the inflated bytes: a body over it is a
413 reported through ``on_error``, which is what keeps a zip bomb (a few
kilobytes that inflate to gigabytes) from reaching the application. The
compressed bytes on the wire stay under the same limit, enforced by the
parser.

Differences from Tornado: the inflated size is limited (Tornado limits only
the wire size); ``Content-Length`` is removed when the body starts and set to
the inflated length before ``finish`` (Tornado leaves the compressed length,
which misleads a WSGI application reading ``CONTENT_LENGTH``); a corrupt or
truncated gzip stream is a 400 rather than an exception.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable

from framework.httputil import HTTPHeaders, HTTPMessageDelegate, RequestStartLine
from framework.util import GzipDecompressor

__all__ = ["PIECE", "GzipMessageDelegate", "wants_decompression"]

PIECE = 64 * 1024
"""Most bytes inflated, and handed to the application, at a time."""


def wants_decompression(content_encoding: list[str] | None) -> bool:
    """True for a body whose only content coding is gzip (what this delegate decodes)."""
    return content_encoding is not None and len(content_encoding) == 1 and content_encoding[0].strip().lower() == "gzip"


class GzipMessageDelegate(HTTPMessageDelegate):
    """Inflate a gzip request body on its way to ``delegate``.

    Args:
        delegate: the application's message delegate.
        max_body_size: returns the request's body limit when asked (a
            handler may change it in ``prepare``).
        on_error: called with ``(status, message)`` when the body cannot be
            delivered (413 over the limit, 400 corrupt); the caller answers
            and closes, and nothing more is handed on.
    """

    def __init__(
        self,
        delegate: HTTPMessageDelegate,
        max_body_size: Callable[[], int],
        on_error: Callable[[int, str], None],
    ) -> None:
        self._delegate = delegate
        self._max_body_size = max_body_size
        self._on_error = on_error
        self._inflater = GzipDecompressor()
        self._inflated = 0
        self._failed = False
        self._headers: HTTPHeaders | None = None

    def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> Awaitable[None] | None:
        """Rename ``Content-Encoding`` to ``X-Consumed-Content-Encoding`` (Tornado's name) and hand on."""
        headers.add("X-Consumed-Content-Encoding", headers["Content-Encoding"])
        del headers["Content-Encoding"]
        if "Content-Length" in headers:
            del headers["Content-Length"]
        self._headers = headers
        return self._delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """Inflate ``chunk`` piece by piece; an awaitable if the application asked to wait."""
        pending, rest = self._inflate(chunk)
        if pending is None:
            return None
        return self._continue(pending, rest)

    async def _continue(self, pending: Awaitable[None], rest: bytes) -> None:
        while True:
            await pending
            next_pending, rest = self._inflate(rest)
            if next_pending is None:
                return
            pending = next_pending

    def _inflate(self, data: bytes) -> tuple[Awaitable[None] | None, bytes]:
        """Hand on pieces of ``data`` until it is used up or the application returns an awaitable."""
        while data and not self._failed:
            try:
                piece = self._inflater.decompress(data, PIECE)
            except zlib.error as exc:
                self._fail(400, f"invalid gzip request body: {exc}")
                break
            data = self._inflater.unconsumed_tail
            if not piece:
                continue
            self._inflated += len(piece)
            if self._inflated > self._max_body_size():
                self._fail(413, "request body larger than the limit once decompressed")
                break
            result = self._delegate.data_received(piece)
            if result is not None:
                return result, data
        return None, b""

    def _fail(self, status: int, message: str) -> None:
        self._failed = True
        self._on_error(status, message)

    def finish(self) -> None:
        """Check the gzip stream ended, give the inflated length, and finish."""
        if self._failed:
            return
        if not self._inflater.eof:
            self._fail(400, "truncated gzip request body")
            # The request ends without finish(), and the connection has let go
            # of this delegate (it did before calling finish()): tell the one
            # inside, whose request will never finish.
            self._delegate.on_connection_close()
            return
        if self._headers is not None:
            self._headers["Content-Length"] = str(self._inflated)
        self._delegate.finish()

    def on_connection_close(self) -> None:
        self._delegate.on_connection_close()

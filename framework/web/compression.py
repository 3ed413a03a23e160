"""Response compression (the ``compress_response`` setting): gzip for text a client accepts.

Tornado's ``GZipContentEncoding`` behaviour: compress when the client sends
``Accept-Encoding: gzip``, the body is of a compressible type, has no
encoding yet, and (when its size is known) is at least ``MIN_LENGTH`` bytes;
always add ``Vary: Accept-Encoding`` to compressible responses so caches keep
the two forms apart. A body written whole is compressed at once; a streamed
one (``flush()`` before ``finish()``) chunk by chunk with sync flushes, so
each chunk reaches the client without waiting for the next.
"""

from __future__ import annotations

import gzip
import zlib

from framework.httputil import HTTPHeaders

__all__ = ["MIN_LENGTH", "GzipStream", "compressible", "client_accepts_gzip", "gzip_body"]

MIN_LENGTH = 1024
LEVEL = 6
_COMPRESSIBLE = frozenset(
    {"application/json", "application/javascript", "application/xml", "application/xhtml+xml", "image/svg+xml"}
)


def compressible(headers: HTTPHeaders) -> bool:
    """True for text-like content without an encoding of its own."""
    if "Content-Encoding" in headers:
        return False
    media_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _COMPRESSIBLE


def client_accepts_gzip(request_headers: HTTPHeaders) -> bool:
    """True when ``Accept-Encoding`` lists gzip without ``q=0``."""
    for part in (request_headers.get("Accept-Encoding") or "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


def gzip_body(body: bytes) -> bytes:
    """A whole body, gzip-compressed (deterministic: no timestamp)."""
    return gzip.compress(body, compresslevel=LEVEL, mtime=0)


class GzipStream:
    """Incremental gzip for a streamed body: each piece is flushed so it can be sent at once."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def compress(self, chunk: bytes, *, last: bool = False) -> bytes:
        """Compress ``chunk``; with ``last`` also end the gzip stream."""
        data = self._compressor.compress(chunk)
        return data + self._compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)

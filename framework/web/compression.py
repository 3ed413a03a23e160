"""Output transforms (Tornado's ``OutputTransform``) and gzip, the one the ``compress_response`` setting adds.

``Application(transforms=[...])`` lists transform classes; each response
makes one of each when it is first flushed, and every chunk passes through
them (``transform_first_chunk`` may change the status and headers). With
``compress_response`` (or Tornado's older ``gzip``) the application adds
``GZipContentEncoding`` to the list unless it is there already (Tornado
drops the setting when ``transforms`` is given: a setting silently ignored).

``GZipContentEncoding`` behaviour, as Tornado's: compress when the client sends
``Accept-Encoding: gzip``, the body is of a compressible type, has no
encoding yet, and (when its size is known) is at least ``MIN_LENGTH`` bytes;
always add ``Vary: Accept-Encoding`` to compressible responses so caches keep
the two forms apart. A body written whole is compressed at once; a streamed
one (``flush()`` before ``finish()``) chunk by chunk with sync flushes, so
each chunk reaches the client without waiting for the next.
Differences from Tornado: ``Vary`` is added only to compressible responses;
a streamed response whose handler set ``Content-Length`` is left alone
(Tornado compresses it and drops the length); ``Accept-Encoding`` is parsed
(``gzip;q=0`` is a refusal), not searched for the substring ``gzip``.
"""

from __future__ import annotations

import gzip
import zlib

from framework.httputil import HTTPHeaders, HTTPServerRequest

__all__ = [
    "MIN_LENGTH",
    "GZipContentEncoding",
    "GzipStream",
    "OutputTransform",
    "client_accepts_gzip",
    "compressible",
    "gzip_body",
]

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


def gzip_body(body: bytes, level: int = LEVEL) -> bytes:
    """A whole body, gzip-compressed (deterministic: no timestamp)."""
    return gzip.compress(body, compresslevel=level, mtime=0)


class GzipStream:
    """Incremental gzip for a streamed body: each piece is flushed so it can be sent at once."""

    def __init__(self, level: int = LEVEL) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def compress(self, chunk: bytes, *, last: bool = False) -> bytes:
        """Compress ``chunk``; with ``last`` also end the gzip stream."""
        data = self._compressor.compress(chunk)
        return data + self._compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class OutputTransform:
    """Rewrites a response as it is sent; mirrors ``tornado.web.OutputTransform``.

    The base class passes everything through. One instance serves one response.
    """

    def __init__(self, request: HTTPServerRequest) -> None:
        pass

    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        """The first chunk, with the status and headers still open to change."""
        return status_code, headers, chunk

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        """Every later chunk; ``finishing`` on the last."""
        return chunk


class GZipContentEncoding(OutputTransform):
    """Gzip text responses for clients that accept it; mirrors Tornado's (see the module docstring)."""

    GZIP_LEVEL = LEVEL
    MIN_LENGTH = MIN_LENGTH

    def __init__(self, request: HTTPServerRequest) -> None:
        self._accepts = client_accepts_gzip(request.headers)
        self._stream: GzipStream | None = None

    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        if not compressible(headers) or (not finishing and "Content-Length" in headers):
            return status_code, headers, chunk
        headers.add("Vary", "Accept-Encoding")
        if not self._accepts or (finishing and len(chunk) < self.MIN_LENGTH):
            return status_code, headers, chunk
        headers["Content-Encoding"] = "gzip"
        if finishing:
            chunk = gzip_body(chunk, self.GZIP_LEVEL)
            if "Content-Length" in headers:
                headers["Content-Length"] = str(len(chunk))
            return status_code, headers, chunk
        self._stream = GzipStream(level=self.GZIP_LEVEL)
        return status_code, headers, self._stream.compress(chunk)

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        if self._stream is None:
            return chunk
        return self._stream.compress(chunk, last=finishing)

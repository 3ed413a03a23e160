"""``StaticFileHandler``: files under a directory, with caching headers and ranges.

Strategy: the public methods are Tornado's overridable hooks, called in its
order (``parse_url_path``, ``get_absolute_path``, ``validate_absolute_path``,
headers, 304 check, range, content), so a subclass overrides only what it
needs. Files go out in 64 KiB chunks, each flushed and awaited: that is the
flow control, so a slow client never makes us read ahead of the socket.

Files in memory: with ``static_hash_cache`` on (the default; ``debug`` turns
it off) a file of up to ``MEMORY_FILE_MAX`` bytes is kept in memory after its
first request, with what the checks found (its validated path, size and
mtime). A ``realpath``, the checks, a ``stat``, an ``open`` and a ``read``
per request are a dozen file system calls, each a round trip in containers
on a FUSE storage driver (the suite's stylesheet served at 19% of
``/healthz``'s rate); from memory a request makes none, except one ``stat``
at most every ``MEMORY_REVALIDATE_SECONDS`` per file (as nginx's
``open_file_cache_valid``), which notices a file changed or removed. The
cache is bounded (``MEMORY_CACHE_MAX`` bytes in all, then files go to disk
each time) and ``reset()`` empties it. A subclass that overrides how files
are found, checked or read gets Tornado's per-request calls.

Deliberate differences from Tornado: containment is checked on the
``realpath`` of root and file, so symlinks cannot lead out of the root; the
version of a file the memory cache sees changed is hashed afresh (no stale
``ETag`` for it after an edit in place); ``If-Range`` is honoured; a ``Range`` on an
empty file is ignored; ``make_static_url`` percent-quotes the path; small
files are served from memory (above).
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import hashlib
import io
import logging
import mimetypes
import os
import re
import stat
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Iterable, Iterator
from typing import Any, ClassVar

from framework.web.errors import HTTPError
from framework.web.handler import RequestHandler

__all__ = ["StaticFileHandler"]

gen_log = logging.getLogger("framework.general")

# RFC 9110 14.1.2: int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length.
# One range only (we never send multipart/byteranges); 19 digits cover any file size.
_BYTE_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})", re.IGNORECASE)


@dataclasses.dataclass(slots=True)
class _FileInMemory:
    """A small static file as its first request found it: where it is, its facts, its bytes."""

    absolute_path: str
    modified: datetime.datetime
    content: bytes
    stamp: tuple[int, int]  # (st_mtime_ns, st_size) when read
    checked_at: float  # time.monotonic() of the last look at the file


# The hooks whose per-request calls the memory cache replaces: a subclass
# overriding any of them is served the way it asks (Tornado's way).
_FILE_HOOKS = ("get_absolute_path", "validate_absolute_path", "get_content", "get_content_size", "get_modified_time")


class StaticFileHandler(RequestHandler):
    """Serve files from the directory given as ``path`` (Tornado's ``StaticFileHandler``).

    ``Application(static_path=...)`` routes ``/static/(.*)``, ``/favicon.ico``
    and ``/robots.txt`` here; map more with
    ``(r"/content/(.*)", StaticFileHandler, {"path": "/var/www"})``. With
    ``default_filename`` (e.g. ``"index.html"``) a directory serves that file.
    A request carrying ``?v=`` (as ``static_url()`` makes) may be cached by
    browsers for ten years.
    """

    CACHE_MAX_AGE: ClassVar[int] = 86400 * 365 * 10
    CHUNK_SIZE: ClassVar[int] = 64 * 1024
    MEMORY_FILE_MAX: ClassVar[int] = 256 * 1024
    """Largest file kept in memory (see the module's docstring); 0 keeps none."""
    MEMORY_CACHE_MAX: ClassVar[int] = 32 * 1024 * 1024
    """Bytes of files kept in memory in all, over every handler class."""
    MEMORY_REVALIDATE_SECONDS: ClassVar[float] = 1.0
    """How often a file in memory is compared with the disk (one ``stat``)."""
    MAX_VERSION_CONTENT_SIZE: ClassVar[int] = 64 * 1024 * 1024
    """Largest content ``get_content_version`` hashes: a larger file gets no version and no ETag.

    Hashing runs on the event loop; a gigabyte would stall every connection
    for seconds (Tornado 6.6 has the same limit).
    """
    MAX_CACHED_VERSIONS: ClassVar[int] = 10_000
    """Versions kept in ``_static_hashes``; the least recently used goes first."""

    # absolute path -> content version, or None when none could be made; oldest use first.
    _static_hashes: ClassVar[dict[str, str | None]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()
    # (root, path, default_filename) -> the file; shared by every class using the memory cache.
    _in_memory: ClassVar[dict[tuple[str, str, str | None], _FileInMemory]] = {}
    _in_memory_bytes: ClassVar[list[int]] = [0]

    root: str
    default_filename: str | None
    path: str
    absolute_path: str
    modified: datetime.datetime | None

    def initialize(self, path: str, default_filename: str | None = None) -> None:
        """Receive the route's ``path`` (the root directory) and ``default_filename``."""
        self.root = path
        self.default_filename = default_filename
        self._stat_result: os.stat_result | None = None
        self._client_gone = False

    @classmethod
    def reset(cls) -> None:
        """Forget every cached version hash (Tornado's ``reset``)."""
        with cls._lock:
            cls._static_hashes.clear()
            StaticFileHandler._in_memory.clear()
            StaticFileHandler._in_memory_bytes[0] = 0

    def head(self, path: str) -> Awaitable[None]:
        """Like GET with the same headers, without the body."""
        return self.get(path, include_body=False)

    async def get(self, path: str, include_body: bool = True) -> None:
        """Serve the file at ``path`` (the route's group); mirrors Tornado's ``get``.

        Raises:
            HTTPError: 403 outside the root or not a file, 404 missing.
        """
        self.path = self.parse_url_path(path)
        key = (self.root, self.path, self.default_filename)
        use_memory = self._memory_cache_applies()
        in_memory = self._from_memory(key) if use_memory else None
        if in_memory is not None:
            self.absolute_path, self.modified = in_memory.absolute_path, in_memory.modified
        else:
            absolute_path = self.get_absolute_path(self.root, self.path)
            validated = self.validate_absolute_path(self.root, absolute_path)
            if validated is None:
                return  # validate_absolute_path already answered (a redirect)
            self.absolute_path = validated
            self.modified = self.get_modified_time()
            if use_memory:
                in_memory = self._keep_in_memory(key)
        self.set_headers()
        if self.should_return_304():
            self.set_status(304)
            return
        span = self._select_range(len(in_memory.content) if in_memory is not None else self.get_content_size())
        if span is None:
            return  # 416 already set
        start, end = span
        self.set_header("Content-Length", end - start)
        if not include_body:
            return
        if in_memory is not None:
            self.write(in_memory.content[start:end] if (start, end) != (0, len(in_memory.content)) else in_memory.content)
            return
        await self._send_content(start, end)

    def _memory_cache_applies(self) -> bool:
        """True when files may be served from memory: the hash cache is on and no file hook is overridden."""
        if self.MEMORY_FILE_MAX <= 0 or not self.application.config.static_hash_cache:
            return False
        return _keeps_file_hooks(type(self))

    def _from_memory(self, key: tuple[str, str, str | None]) -> _FileInMemory | None:
        """The file in memory, unless a due look at the disk finds it changed or gone (then forgotten)."""
        in_memory = self._in_memory.get(key)
        if in_memory is None:
            return None
        now = time.monotonic()
        if now - in_memory.checked_at < self.MEMORY_REVALIDATE_SECONDS:
            return in_memory
        try:
            found = os.stat(in_memory.absolute_path)
            unchanged = (found.st_mtime_ns, found.st_size) == in_memory.stamp
        except OSError:
            unchanged = False
        if unchanged:
            in_memory.checked_at = now
            return in_memory
        with self._lock:
            if self._in_memory.pop(key, None) is in_memory:
                self._in_memory_bytes[0] -= len(in_memory.content)
            self._static_hashes.pop(in_memory.absolute_path, None)  # its version is hashed afresh too
        return None

    def _keep_in_memory(self, key: tuple[str, str, str | None]) -> _FileInMemory | None:
        """Read the (validated) file whole if it is small and the budget allows; None otherwise."""
        found = self._stat()
        size = found.st_size
        assert self.modified is not None  # get_modified_time is not overridden here
        with self._lock:
            if size > self.MEMORY_FILE_MAX or self._in_memory_bytes[0] + size > self.MEMORY_CACHE_MAX:
                return None
        try:
            with _open_regular_file(self.absolute_path) as file:  # (replaced by a FIFO since the checks: no wait)
                content = file.read(size + 1)
        except (OSError, HTTPError):
            return None
        if len(content) != size:  # changed while we looked: serve it from disk this time
            return None
        stamp = (found.st_mtime_ns, size)
        in_memory = _FileInMemory(self.absolute_path, self.modified, content, stamp, time.monotonic())
        with self._lock:
            if key not in self._in_memory:
                self._in_memory[key] = in_memory
                self._in_memory_bytes[0] += size
        return in_memory

    async def _send_content(self, start: int, end: int) -> None:
        """Write the span chunk by chunk, awaiting each flush (flow control)."""
        content: Iterable[bytes] | bytes = self.get_content(self.absolute_path, start, end)
        chunks = [content] if isinstance(content, bytes) else content
        try:
            for chunk in chunks:
                if self._client_gone:
                    return
                self.write(chunk)
                await self.flush()
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # closes the file now if the client left mid-way

    def on_connection_close(self) -> None:
        """Stop streaming when the client disconnects; subclasses should call super()."""
        self._client_gone = True
        super().on_connection_close()

    # -- ranges -----------------------------------------------------------

    def _select_range(self, size: int) -> tuple[int, int] | None:
        """The ``[start, end)`` span to send, setting 206 or 416; None after a 416.

        A malformed or multi-range header is ignored (200, whole file), as in Tornado.
        """
        header = self.request.headers.get("Range")
        parsed = _parse_byte_range(header) if header and size > 0 and self._if_range_holds() else None
        if parsed is None:
            return 0, size
        first, last = parsed
        if first is None:  # suffix form: the last ``last`` bytes; "-0" is unsatisfiable
            suffix = last or 0
            start, end = (max(size - suffix, 0), size) if suffix else (size, size)
        else:
            start, end = first, size if last is None else min(last + 1, size)
        if start >= end:
            self.set_status(416)
            self.set_header("Content-Type", "text/plain")
            self.set_header("Content-Range", f"bytes */{size}")
            return None
        if (start, end) != (0, size):
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        return start, end

    def _if_range_holds(self) -> bool:
        """RFC 9110 13.1.5: a range applies only if ``If-Range`` (when sent) still matches."""
        condition = self.request.headers.get("If-Range")
        if condition is None:
            return True
        condition = condition.strip()
        if condition.startswith(('"', "W/")):
            return condition == self._headers.get("Etag")  # strong comparison: W/ never matches
        return self.modified is not None and _parse_http_date(condition) == self.modified

    # -- headers and conditional requests ---------------------------------

    def set_headers(self) -> None:
        """Describe the file: its validators, its type, and how long a cache may keep it.

        The same headers as Tornado's ``set_headers`` (``Etag`` from
        ``compute_etag``, ``Last-Modified``, ``Content-Type``,
        ``Accept-Ranges``, and ``Expires``/``Cache-Control`` when
        ``get_cache_time`` gives seconds), then ``set_extra_headers``.
        """
        self.set_etag_header()
        content_type = self.get_content_type()
        described: dict[str, str | datetime.datetime | None] = {
            "Last-Modified": self.modified,
            "Content-Type": content_type or None,
            "Accept-Ranges": "bytes",
            **self._freshness(content_type),
        }
        for name, value in described.items():
            if value is not None:
                self.set_header(name, value)
        self.set_extra_headers(self.path)

    def _freshness(self, content_type: str) -> dict[str, str | datetime.datetime]:
        """``Expires`` and ``Cache-Control`` for ``get_cache_time()``'s seconds; none for 0."""
        seconds = self.get_cache_time(self.path, self.modified, content_type)
        if seconds <= 0:
            return {}
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
        return {"Expires": expires, "Cache-Control": f"max-age={seconds}"}

    def should_return_304(self) -> bool:
        """True when the client's copy is current (Tornado's): ``If-None-Match`` first."""
        if self.request.headers.get("If-None-Match"):
            return self.check_etag_header()
        since = self.request.headers.get("If-Modified-Since")
        if since is None or self.modified is None:
            return False
        when = _parse_http_date(since)
        return when is not None and when >= self.modified

    def compute_etag(self) -> str | None:
        """The quoted content hash, so the ETag never needs the body in memory."""
        use_cache = self.application.config.static_hash_cache
        version = self._get_cached_version(self.absolute_path, use_cache=use_cache)
        return f'"{version}"' if version else None

    def get_content_type(self) -> str:
        """The MIME type from the file name (Tornado's rule for compressed files).

        ``x.tar.gz`` is ``application/gzip``, not ``application/x-tar`` with an
        encoding, so browsers do not silently unpack a download.
        """
        mime_type, encoding = mimetypes.guess_type(self.absolute_path)
        if encoding == "gzip":
            return "application/gzip"
        if encoding is not None or mime_type is None:
            return "application/octet-stream"
        return mime_type

    def set_extra_headers(self, path: str) -> None:
        """Override to add headers to every file response."""

    def get_cache_time(self, path: str, modified: datetime.datetime | None, mime_type: str) -> int:
        """Seconds browsers may cache the file: ten years for versioned URLs, else 0."""
        return self.CACHE_MAX_AGE if "v" in self.request.arguments else 0

    # -- the file ----------------------------------------------------------

    def _stat(self) -> os.stat_result:
        if self._stat_result is None:
            self._stat_result = os.stat(self.absolute_path)
        return self._stat_result

    def get_content_size(self) -> int:
        """Size of the file in bytes (one ``stat`` per request)."""
        return self._stat().st_size

    def get_modified_time(self) -> datetime.datetime | None:
        """The mtime in whole seconds (HTTP dates have no fractions), timezone-aware UTC."""
        return datetime.datetime.fromtimestamp(int(self._stat().st_mtime), datetime.UTC)

    @classmethod
    def get_content(cls, abspath: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``[start, end)`` of the file in ``CHUNK_SIZE`` pieces.

        Overrides may return ``bytes`` instead, as in Tornado. Only a regular
        file is read: a FIFO would block the opening (so it is opened without
        waiting) and a device may never end. ``static_url()`` reaches here
        with no validation in between.

        Raises:
            HTTPError: 404 missing, 403 for anything but a regular file.
            OSError: the file cannot be opened otherwise.
        """
        with _open_regular_file(abspath) as file:
            if start is not None:
                file.seek(start)
            remaining = None if end is None else end - (start or 0)
            while remaining is None or remaining > 0:
                chunk = file.read(cls.CHUNK_SIZE if remaining is None else min(cls.CHUNK_SIZE, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    @classmethod
    def get_content_version(cls, abspath: str) -> str:
        """A hash of the content (BLAKE2b, 32 hex digits; Tornado uses SHA-512).

        Raises:
            ValueError: the content is longer than ``MAX_VERSION_CONTENT_SIZE``.
            OSError, HTTPError: from ``get_content``.
        """
        hasher = hashlib.blake2b(digest_size=16)
        content: Iterable[bytes] | bytes = cls.get_content(abspath)
        chunks = [content] if isinstance(content, bytes) else content
        size = 0
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > cls.MAX_VERSION_CONTENT_SIZE:
                    raise ValueError(f"over MAX_VERSION_CONTENT_SIZE ({cls.MAX_VERSION_CONTENT_SIZE} bytes)")
                hasher.update(chunk)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # the file closes now, not when the generator is collected
        return hasher.hexdigest()

    @classmethod
    def _get_cached_version(cls, abs_path: str, *, use_cache: bool = True) -> str | None:
        """The content version: hashed once per path while the cache is on.

        A cached version is returned without looking at the file again, since
        ``static_url()`` runs on the request path (every page render) where a
        ``stat`` is a blocking file system call; in containers on a FUSE storage
        driver each one is a round trip. A file that gave no version (missing,
        not a regular file, too large) is remembered as such too, so a page
        naming it neither reads the disk nor logs the error on every render.
        The cache keeps ``MAX_CACHED_VERSIONS`` paths, dropping the least
        recently used. A file changed in production is picked up after
        ``reset()``; with ``static_hash_cache`` off (``debug``) every call
        hashes the file afresh, as Tornado does.
        """
        hashes = cls._static_hashes
        if use_cache:
            with cls._lock:
                if abs_path in hashes:
                    version = hashes[abs_path] = hashes.pop(abs_path)  # (now the most recently used)
                    return version
        try:
            version = cls.get_content_version(abs_path)
        except Exception as exc:  # (a subclass's hook may fail any way: the URL then has no version)
            gen_log.error("no version for static file %r: %s", abs_path, exc)
            version = None
        if use_cache:
            with cls._lock:
                hashes.pop(abs_path, None)
                while hashes and len(hashes) >= cls.MAX_CACHED_VERSIONS:
                    del hashes[next(iter(hashes))]
                hashes[abs_path] = version
        return version or None

    # -- paths and URLs ----------------------------------------------------

    def parse_url_path(self, url_path: str) -> str:
        """The route's path group as a relative filesystem path (``/`` -> ``os.sep``)."""
        return url_path.replace("/", os.sep) if os.sep != "/" else url_path

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        """``path`` joined to ``root`` and made absolute; symlinks are checked later.

        A path that leads out of ``root`` as written (``../``, an absolute
        path) is refused here, as in Tornado 6.6: this is what keeps
        ``static_url()`` and ``get_version`` from reading files outside it.

        Raises:
            HTTPError: 403 outside ``root``.
        """
        absolute = os.path.abspath(os.path.join(root, path))
        base = os.path.abspath(root)
        if absolute != base and not absolute.startswith(base if base.endswith(os.sep) else base + os.sep):
            raise HTTPError(403, "%s is not in the root static directory", path)
        return absolute

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        """The path to serve, or None after redirecting (Tornado's hook, on real paths).

        The path returned is not resolved, so the content type and the version
        cache key follow the name asked for. With ``default_filename`` a
        directory redirects to its ``/`` form, which serves that file.

        Raises:
            HTTPError: 400 for a NUL in the path; 403 outside the root or not
                a regular file; 404 missing.
        """
        if "\x00" in absolute_path:
            raise HTTPError(400, "NUL in static path %r", self.path)
        real_root = os.path.realpath(root)
        _check_contained(real_root, absolute_path, self.path)
        if os.path.isdir(absolute_path) and self.default_filename is not None:
            if not self.request.path.endswith("/"):
                if self.request.path.startswith("//"):
                    raise HTTPError(403, "refusing to redirect %s (two leading slashes)", self.request.path)
                self.redirect(self.request.path + "/", permanent=True)
                return None
            absolute_path = os.path.join(absolute_path, self.default_filename)
            _check_contained(real_root, absolute_path, self.path)
        if not os.path.exists(absolute_path):
            raise HTTPError(404)
        if not os.path.isfile(absolute_path):
            raise HTTPError(403, "%s is not a file", self.path)
        return absolute_path

    @classmethod
    def make_static_url(cls, settings: dict[str, Any], path: str, include_version: bool = True) -> str:
        """The URL of ``path``, with ``?v=<hash>`` when ``include_version`` (Tornado's)."""
        url = str(settings.get("static_url_prefix", "/static/")) + urllib.parse.quote(path)
        if not include_version:
            return url
        version = cls.get_version(settings, path)
        return f"{url}?v={version}" if version else url

    @classmethod
    def get_version(cls, settings: dict[str, Any], path: str) -> str | None:
        """The version of ``path`` under ``settings["static_path"]``; None if unreadable.

        Cached unless ``static_hash_cache`` is false (``debug`` turns it off).
        """
        abs_path = cls.get_absolute_path(settings["static_path"], path)
        return cls._get_cached_version(abs_path, use_cache=bool(settings.get("static_hash_cache", True)))


_KEEPS_FILE_HOOKS: dict[type, bool] = {}  # handler class -> answer of _keeps_file_hooks


def _keeps_file_hooks(cls: type[StaticFileHandler]) -> bool:
    """True when ``cls`` takes every file hook from ``StaticFileHandler`` itself (worked out once per class)."""
    known = _KEEPS_FILE_HOOKS.get(cls)
    if known is None:
        owners = (next(k for k in cls.__mro__ if hook in vars(k)) for hook in _FILE_HOOKS)
        known = _KEEPS_FILE_HOOKS[cls] = all(owner is StaticFileHandler for owner in owners)
    return known


def _open_regular_file(path: str) -> io.BufferedReader:
    """``path`` opened for reading, if it is a regular file.

    Opened without blocking (a FIFO with no writer would otherwise hold the
    event loop), then checked on the open descriptor, so what is read is
    what was checked.

    Raises:
        HTTPError: 404 when there is no such file, 403 for a directory,
            device, FIFO or socket (Tornado's statuses for the same).
        OSError: it cannot be opened otherwise (permissions).
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (FileNotFoundError, NotADirectoryError):
        raise HTTPError(404) from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise HTTPError(403, "%s is not a file", path)
        return open(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _check_contained(real_root: str, path: str, shown: str) -> None:
    """Refuse ``path`` unless its real path lies inside ``real_root``.

    ``commonpath`` compares whole components: ``static-private`` is not inside
    ``static``, though a string prefix check would say it is.

    Raises:
        HTTPError: 403 for ``..``, absolute paths, symlinks leading out.
    """
    try:
        inside = os.path.commonpath([real_root, os.path.realpath(path)]) == real_root
    except ValueError:  # paths on different drives (Windows)
        inside = False
    if not inside:
        raise HTTPError(403, "%s is not in the root static directory", shown)


def _parse_byte_range(header: str) -> tuple[int | None, int | None] | None:
    """``(first, last)`` of a single byte range (``first`` None for a suffix), else None."""
    found = _BYTE_RANGE.fullmatch(header.strip())
    if found is None:
        return None
    first, last = (int(text) if text else None for text in found.groups())
    if (first is None and last is None) or (first is not None and last is not None and last < first):
        return None  # RFC 9110 14.1.1: invalid, so the header is ignored
    return first, last


def _parse_http_date(value: str) -> datetime.datetime | None:
    """An HTTP date as aware UTC, or None if it does not parse."""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=datetime.UTC) if parsed.tzinfo is None else parsed

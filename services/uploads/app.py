"""The uploads demo service: ``make_app(**settings)``.

Browser uploads (``multipart/form-data``, one or many files) and raw
streamed ``PUT`` uploads both go straight to disk as they arrive: the
handlers are ``@stream_request_body`` and feed the sans-IO multipart decoder
chunk by chunk, so a multi-gigabyte upload never sits in memory. Each stored
file is listed with its size and SHA-256 and can be downloaded back.
"""

from __future__ import annotations

import logging
import os
import tempfile
import urllib.parse
from asyncio import Future
from collections.abc import Callable
from typing import Any, TypeVar

from framework.ioloop import IOLoop
from framework.multipart import (
    NEED_DATA,
    MultipartDecoder,
    MultipartEnd,
    MultipartError,
    MultipartLimits,
    PartData,
    PartEnd,
    PartStart,
    parse_boundary,
)
from framework.options import OptionParser
from framework.routing import URLSpec
from framework.web import Application, HTTPError, stream_request_body
from services.common.app import make_service_app
from services.common.handlers import BaseHandler
from services.common.run import APP_OPTIONS
from services.uploads.store import Store, StoredFile, Writer

__all__ = ["define_options", "make_app"]

MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
MAX_FILES = 20
MAX_TOKEN_BYTES = 512
CHUNK = 64 * 1024
REFRESH_EVERY = 2.0  # seconds between looks for uploads other processes stored

_T = TypeVar("_T")
log = logging.getLogger("services.uploads")


class UploadsHandler(BaseHandler):
    """Shared: the store, the size limit, and running disk work off the event loop."""

    @property
    def store(self) -> Store:
        store: Store = self.settings["store"]
        return store

    @property
    def max_upload_bytes(self) -> int:
        return int(self.settings.get("max_upload_bytes", MAX_UPLOAD_BYTES))

    async def blocking(self, func: Callable[..., _T], *args: Any) -> _T:
        """Run a file operation in the executor: the loop never waits on the disk."""
        return await IOLoop.current().run_in_executor(None, func, *args)

    def refresh_soon(self) -> None:
        """Pick up what other processes stored, off the loop, at most every ``REFRESH_EVERY`` s.

        The page is served from the index as it is; a refresh shows on the next view.
        """
        if self.store.refresh_due(REFRESH_EVERY):
            IOLoop.current().run_in_executor(None, self.store.refresh).add_done_callback(_report_refresh)

    def describe(self, stored: StoredFile) -> dict[str, Any]:
        return {
            "id": stored.id,
            "name": stored.name,
            "size": stored.size,
            "sha256": stored.sha256,
            "url": self.reverse_url("download", stored.id),
        }


class IndexHandler(UploadsHandler):
    """The upload form and the list of stored files."""

    def get(self) -> None:
        self.refresh_soon()
        uploaded = set(self.get_query_arguments("uploaded"))
        self.render(
            "index.html",
            files=self.store.list(),
            uploaded=uploaded,
            max_bytes=self.max_upload_bytes,
            max_mb=self.max_upload_bytes // (1024 * 1024),
            max_files=MAX_FILES,
            put_url=self.request.protocol + "://" + self.request.host + self.reverse_url("put", "example.bin"),
        )


class StreamingUploadHandler(UploadsHandler):
    """Stages a request's files and stores them only once the whole request has succeeded.

    Any error, and a client that goes away, throws away every file of the
    request (the one being written and those already staged) before the
    error page goes out.
    """

    writer: Writer | None = None
    staged: list[Writer]
    aborted = False

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        self._abort()
        super().send_error(status_code, **kwargs)

    def on_connection_close(self) -> None:
        self._abort()

    def allow_body_of(self, size: int) -> None:
        """Raise this request's body limit to ``size`` bytes (from ``prepare()``: the body streams in after it).

        Raises:
            HTTPError: 500 for a request that came from no connection (built by hand).
        """
        connection = self.request.connection
        if connection is None:
            raise HTTPError(500, "a streamed upload needs the request's connection")
        connection.set_max_body_size(size)

    def on_finish(self) -> None:
        self._abort()

    async def begin(self, name: str, content_type: str) -> None:
        """Start writing a file (unless the request already failed while the file was being opened)."""
        writer = await self.blocking(self.store.begin, name, content_type)
        if self.aborted:
            writer.abort()
            raise HTTPError(400, reason="the upload was abandoned")
        self.writer = writer

    async def stage(self) -> None:
        """The current file is complete: close it and keep it for ``commit``."""
        writer, self.writer = self.writer, None
        if writer is not None:
            self.staged.append(writer)
            await self.blocking(writer.finish)

    async def commit(self) -> list[StoredFile]:
        """The request succeeded: store every staged file."""
        staged, self.staged = self.staged, []
        return await self.blocking(self.store.commit, staged)

    def _abort(self) -> None:
        self.aborted = True
        writers = [self.writer, *getattr(self, "staged", ())]
        self.writer, self.staged = None, []
        for writer in writers:
            if writer is not None:
                writer.abort()


@stream_request_body
class MultipartUploadHandler(StreamingUploadHandler):
    """``POST upload``: a browser form with one or many files, streamed part by part to disk.

    The XSRF token travels in the body (or, from scripts, in an
    ``X-XSRFToken`` header), never in the URL where access logs would keep
    it. With a streamed body the framework checks the token before the body
    has arrived, so a body token must be the form's first field (browsers
    send fields in document order): it is checked when that part ends,
    before any file is written.
    """

    xsrf_pending = False
    xsrf_field: bytearray | None = None

    def check_xsrf_cookie(self) -> None:
        """A header token is checked now; a body token once its field has streamed in."""
        if self.request.headers.get("X-Xsrftoken") or self.request.headers.get("X-Csrftoken"):
            self.check_xsrf_now()
            return
        self.xsrf_pending = True

    def check_xsrf_now(self) -> None:
        """The framework's XSRF check itself, at once."""
        super().check_xsrf_cookie()

    def prepare(self) -> None:
        # Room for the multipart framing around a file of the full size.
        self.allow_body_of(self.max_upload_bytes + 64 * 1024)
        try:
            boundary = parse_boundary(self.request.headers.get("Content-Type", ""))
        except MultipartError as exc:
            raise HTTPError(exc.status, reason=exc.message) from None
        limits = MultipartLimits(max_parts=MAX_FILES + 10, max_file_bytes=self.max_upload_bytes)
        self.decoder = MultipartDecoder(boundary, limits=limits)
        self.staged = []

    async def data_received(self, chunk: bytes) -> None:
        try:
            self.decoder.feed(chunk)
            await self._consume()
        except MultipartError as exc:
            raise HTTPError(exc.status, reason=exc.message) from None

    async def _consume(self) -> None:
        """Act on every event the decoder has: the token checked, files staged, other fields ignored."""
        while (event := self.decoder.next_event()) is not NEED_DATA:
            if isinstance(event, PartStart):
                await self._part_starts(event)
            elif isinstance(event, PartData):
                await self._part_data(event.data)
            elif isinstance(event, PartEnd):
                await self._part_ends()
            elif isinstance(event, MultipartEnd):
                return

    async def _part_starts(self, part: PartStart) -> None:
        if self.xsrf_pending:
            if part.name != "_xsrf" or part.filename is not None:
                raise HTTPError(403, reason="XSRF token missing (the _xsrf field must come before the files)")
            self.xsrf_field = bytearray()
        elif part.filename is not None:
            if len(self.staged) >= MAX_FILES:
                raise HTTPError(413, reason=f"at most {MAX_FILES} files per upload")
            await self.begin(part.filename, part.content_type)

    async def _part_data(self, data: bytes) -> None:
        if self.xsrf_field is not None:
            if len(self.xsrf_field) + len(data) > MAX_TOKEN_BYTES:
                raise HTTPError(403, reason="XSRF token does not match")
            self.xsrf_field += data
        elif self.writer is not None:
            await self.blocking(self.writer.write, data)

    async def _part_ends(self) -> None:
        if self.xsrf_field is not None:
            token, self.xsrf_field = bytes(self.xsrf_field), None
            self.request.body_arguments.setdefault("_xsrf", []).append(token)
            self.request.arguments.setdefault("_xsrf", []).append(token)
            self.check_xsrf_now()
            self.xsrf_pending = False
        else:
            await self.stage()

    async def post(self) -> None:
        try:
            self.decoder.feed_eof()
            await self._consume()
        except MultipartError as exc:
            raise HTTPError(exc.status, reason=exc.message) from None
        if self.xsrf_pending:
            raise HTTPError(403, reason="XSRF token missing")
        if not self.staged:
            raise HTTPError(400, reason="no file was chosen")
        stored = await self.commit()
        if "application/json" in self.request.headers.get("Accept", ""):
            self.write({"files": [self.describe(s) for s in stored]})
            return
        query = urllib.parse.urlencode([("uploaded", s.id) for s in stored])
        self.redirect(self.reverse_url("index") + "?" + query, status=303)


@stream_request_body
class PutHandler(StreamingUploadHandler):
    """``PUT put/<name>``: the raw body is the file (``curl -T file URL``), streamed to disk."""

    def check_xsrf_cookie(self) -> None:
        """No token for PUT: a page on another site cannot send one without a CORS
        preflight, which this service never answers, so only real clients (curl) can."""

    async def prepare(self) -> None:
        self.allow_body_of(self.max_upload_bytes)
        self.staged = []
        name = self.path_args[0] if self.path_args else "upload.bin"
        content_type = self.request.headers.get("Content-Type", "application/octet-stream")
        await self.begin(name, content_type)

    async def data_received(self, chunk: bytes) -> None:
        if self.writer is not None:
            await self.blocking(self.writer.write, chunk)

    async def put(self, name: str) -> None:
        if self.writer is None:
            raise HTTPError(500)
        await self.stage()
        (stored,) = await self.commit()
        self.set_status(201)
        self.set_header("Location", self.reverse_url("download", stored.id))
        self.write(self.describe(stored))


class DownloadHandler(UploadsHandler):
    """``GET files/<id>``: the file back, streamed, always as a download (never rendered here)."""

    async def get(self, file_id: str) -> None:
        stored = self.store.get(file_id) or await self.blocking(self.store.lookup, file_id)
        if stored is None:
            raise HTTPError(404)
        # Uploaded content never runs on this origin: a download, not a page.
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Disposition", "attachment; filename*=UTF-8''" + urllib.parse.quote(stored.name))
        self.set_header("Content-Length", stored.size)
        self.set_header("X-Content-SHA256", stored.sha256)
        try:
            data = await self.blocking(open, self.store.data_path(stored.id), "rb")
        except FileNotFoundError:
            raise HTTPError(404, reason="that upload was pruned to make room") from None
        try:
            while chunk := await self.blocking(data.read, CHUNK):
                self.write(chunk)
                await self.flush()
        finally:
            await self.blocking(data.close)

    def compute_etag(self) -> str | None:
        return None


def _report_refresh(done: Future[bool]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.error("re-reading the upload records failed", exc_info=done.exception())


def define_options(parser: OptionParser) -> None:
    """The uploads demo's own option (passed to ``make_app`` as the setting of the same name)."""
    parser.define(
        "upload_dir", default=os.environ.get("UPLOAD_DIR", ""), type=str, group=APP_OPTIONS,
        help="where uploaded files are kept (default: $UPLOAD_DIR, else a new temporary directory)",
    )  # fmt: skip


def make_app(**settings: Any) -> Application:
    """The uploads demo's application; ``upload_dir`` (default: a temporary directory) holds the files."""
    upload_dir = settings.pop("upload_dir", None) or tempfile.mkdtemp(prefix="framework-uploads-")
    store = Store(upload_dir)
    routes: list[Any] = [
        URLSpec(r"/", IndexHandler, name="index"),
        URLSpec(r"/upload", MultipartUploadHandler, name="upload"),
        URLSpec(r"/put/([^/]{1,200})", PutHandler, name="put"),
        URLSpec(r"/files/([A-Za-z0-9_-]{16})", DownloadHandler, name="download"),
    ]
    return make_service_app(__name__, routes, store=store, **settings)

"""The uploads demo service: ``make_app(**settings)`` and ``main()``.

Browser uploads (``multipart/form-data``, one or many files) and raw
streamed ``PUT`` uploads both go straight to disk as they arrive: the
handlers are ``@stream_request_body`` and feed the sans-IO multipart decoder
chunk by chunk, so a multi-gigabyte upload never sits in memory. Each stored
file is listed with its size and SHA-256 and can be downloaded back.
"""

from __future__ import annotations

import os
import tempfile
import urllib.parse
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
from framework.routing import URLSpec
from framework.web import Application, HTTPError, stream_request_body

from services.common.app import make_service_app
from services.common.handlers import BaseHandler
from services.common.run import run
from services.uploads.store import Store, StoredFile, Writer

__all__ = ["make_app", "main"]

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
MAX_FILES = 20
CHUNK = 64 * 1024

_T = TypeVar("_T")


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
        token = getattr(self, "xsrf_token", None)
        action = self.reverse_url("upload")
        if token is not None:
            value = token.decode("latin-1") if isinstance(token, bytes) else str(token)
            action += "?" + urllib.parse.urlencode({"_xsrf": value})
        uploaded = set(self.get_query_arguments("uploaded"))
        self.render(
            "index.html",
            files=self.store.list(),
            uploaded=uploaded,
            action=action,
            max_mb=self.max_upload_bytes // (1024 * 1024),
            put_url=self.request.protocol + "://" + self.request.host + self.reverse_url("put", "example.bin"),
        )


class StreamingUploadHandler(UploadsHandler):
    """An upload in progress is thrown away on any error, before the error page goes out."""

    writer: Writer | None = None

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        self._abort()
        super().send_error(status_code, **kwargs)

    def on_connection_close(self) -> None:
        self._abort()

    def on_finish(self) -> None:
        self._abort()

    def _abort(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.abort()


@stream_request_body
class MultipartUploadHandler(StreamingUploadHandler):
    """``POST upload``: a browser form with one or many files, streamed part by part to disk.

    The XSRF token comes in the query string: with a streamed body, the
    check runs before any of the body (where a form's ``_xsrf`` field is) has arrived.
    """

    def prepare(self) -> None:
        # Room for the multipart framing around a file of the full size.
        self.request.connection.set_max_body_size(self.max_upload_bytes + 64 * 1024)
        try:
            boundary = parse_boundary(self.request.headers.get("Content-Type", ""))
        except MultipartError as exc:
            raise HTTPError(exc.status, reason=exc.message) from None
        limits = MultipartLimits(max_parts=MAX_FILES + 10, max_file_bytes=self.max_upload_bytes)
        self.decoder = MultipartDecoder(boundary, limits=limits)
        self.stored: list[StoredFile] = []

    async def data_received(self, chunk: bytes) -> None:
        try:
            self.decoder.feed(chunk)
            await self._consume()
        except MultipartError as exc:
            raise HTTPError(exc.status, reason=exc.message) from None

    async def _consume(self) -> None:
        """Act on every event the decoder has: files to disk, fields ignored."""
        while (event := self.decoder.next_event()) is not NEED_DATA:
            if isinstance(event, PartStart) and event.filename is not None:
                if len(self.stored) >= MAX_FILES:
                    raise HTTPError(413, reason=f"at most {MAX_FILES} files per upload")
                self.writer = await self.blocking(self.store.begin, event.filename, event.content_type)
            elif isinstance(event, PartData) and self.writer is not None:
                await self.blocking(self.writer.write, event.data)
            elif isinstance(event, PartEnd) and self.writer is not None:
                writer, self.writer = self.writer, None
                self.stored.append(await self.blocking(writer.commit))
            elif isinstance(event, MultipartEnd):
                return

    async def post(self) -> None:
        try:
            self.decoder.feed_eof()
            await self._consume()
        except MultipartError as exc:
            raise HTTPError(exc.status, reason=exc.message) from None
        if not self.stored:
            raise HTTPError(400, reason="no file was chosen")
        if "application/json" in self.request.headers.get("Accept", ""):
            self.write({"files": [self.describe(s) for s in self.stored]})
            return
        query = urllib.parse.urlencode([("uploaded", s.id) for s in self.stored])
        self.redirect(self.reverse_url("index") + "?" + query, status=303)



@stream_request_body
class PutHandler(StreamingUploadHandler):
    """``PUT put/<name>``: the raw body is the file (``curl -T file URL``), streamed to disk."""

    def check_xsrf_cookie(self) -> None:
        """No token for PUT: a page on another site cannot send one without a CORS
        preflight, which this service never answers, so only real clients (curl) can."""

    async def prepare(self) -> None:
        self.request.connection.set_max_body_size(self.max_upload_bytes)
        name = self.path_args[0] if self.path_args else "upload.bin"
        content_type = self.request.headers.get("Content-Type", "application/octet-stream")
        self.writer = await self.blocking(self.store.begin, name, content_type)

    async def data_received(self, chunk: bytes) -> None:
        if self.writer is not None:
            await self.blocking(self.writer.write, chunk)

    async def put(self, name: str) -> None:
        writer, self.writer = self.writer, None
        if writer is None:
            raise HTTPError(500)
        stored = await self.blocking(writer.commit)
        self.set_status(201)
        self.set_header("Location", self.reverse_url("download", stored.id))
        self.write(self.describe(stored))



class DownloadHandler(UploadsHandler):
    """``GET files/<id>``: the file back, streamed, always as a download (never rendered here)."""

    async def get(self, file_id: str) -> None:
        stored = self.store.get(file_id)
        if stored is None:
            raise HTTPError(404)
        # Uploaded content never runs on this origin: a download, not a page.
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Disposition", "attachment; filename*=UTF-8''" + urllib.parse.quote(stored.name))
        self.set_header("Content-Length", stored.size)
        self.set_header("X-Content-SHA256", stored.sha256)
        with open(self.store.data_path(stored.id), "rb") as data:
            while chunk := await self.blocking(data.read, CHUNK):
                self.write(chunk)
                await self.flush()

    def compute_etag(self) -> str | None:
        return None


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
    settings.setdefault("xsrf_cookies", True)
    return make_service_app(routes, template_dir=TEMPLATES, store=store, **settings)


def main() -> int:
    """``python -m services.uploads --port=8003`` (``UPLOAD_DIR`` chooses where files go)."""
    return run(lambda **s: make_app(upload_dir=os.environ.get("UPLOAD_DIR"), **s), default_port=8003,
               default_prefix="/uploads/")

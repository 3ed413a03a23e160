"""Where uploads live: one file per upload, with its metadata beside it.

Strategy: an upload is written to a temporary file in ``incoming/`` while it
arrives, hashed as it goes. A finished file stays there, staged, until the
request that brought it has succeeded as a whole: ``Store.commit`` then
renames every staged file of the request into place (atomic on one
filesystem), its data first and its JSON record last, since the record is
what makes it listed. A request that fails at any point (a later part
invalid, one file too many, the body cut off) aborts its staged files, so
it stores nothing and a listing never shows a half-written or truncated file. The store keeps the newest
``keep`` uploads and deletes older ones. File writes are blocking calls:
callers run them in an executor so the event loop never waits on the disk.

Reading never waits on the disk either: the records are read once at start-up
into an index in memory, which commits and prunes keep current, so listing
the uploads (every page view) costs no file system call. Other processes
sharing the directory (several per service, or replicas on one volume) commit
behind our back: ``refresh`` (run off the loop now and then) re-reads the
records when the directory changed, and ``lookup`` reads one record from disk
when the index does not know its id yet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from typing import BinaryIO

__all__ = ["Store", "StoredFile", "Writer"]


@dataclasses.dataclass(frozen=True, slots=True)
class StoredFile:
    """A complete upload."""

    id: str
    name: str
    size: int
    sha256: str
    content_type: str
    uploaded_at: float


def clean_name(name: str) -> str:
    """A display name safe to show and to offer back: no path, no control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:200] or "upload.bin"


class Writer:
    """One upload being written: ``write`` chunks, ``finish``, then ``Store.commit`` it (or ``abort``)."""

    def __init__(self, store: Store, name: str, content_type: str) -> None:
        self.store = store
        self.id = secrets.token_urlsafe(12)
        self.name = clean_name(name)
        self.content_type = content_type or "application/octet-stream"
        self.size = 0
        self._hash = hashlib.sha256()
        self._temp = os.path.join(store.incoming, self.id)
        self._file: BinaryIO | None = open(self._temp, "wb")  # noqa: SIM115 - closed by finish/abort
        self.finished = False

    def write(self, chunk: bytes) -> None:
        """Append a chunk (blocking: run it in an executor)."""
        if self._file is None:
            raise RuntimeError("write() after commit() or abort()")
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def finish(self) -> None:
        """Close the complete file; it stays staged until ``Store.commit`` (blocking)."""
        if self._file is None:
            raise RuntimeError("finish() after finish() or abort()")
        self._file.close()
        self._file = None
        self.finished = True

    def stored(self) -> StoredFile:
        """What the listing will show for this upload once committed."""
        return StoredFile(self.id, self.name, self.size, self._hash.hexdigest(), self.content_type, time.time())

    def _move_into_place(self) -> StoredFile:
        stored = self.stored()
        record = self._temp + ".json"
        with open(record, "w", encoding="utf-8") as meta:
            json.dump(dataclasses.asdict(stored), meta)
        os.replace(self._temp, self.store.data_path(self.id))
        os.replace(record, self.store.meta_path(self.id))
        return stored

    def abort(self) -> None:
        """Throw the upload away, partial or staged (a no-op once committed)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        for path in (self._temp, self._temp + ".json"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


class Store:
    """The upload directory: ``<root>/<id>`` data, ``<root>/<id>.json`` records."""

    def __init__(self, root: str, *, keep: int = 50) -> None:
        self.root = os.path.abspath(root)
        self.incoming = os.path.join(self.root, "incoming")
        self.keep = keep
        os.makedirs(self.incoming, exist_ok=True)
        for leftover in os.listdir(self.incoming):  # uploads cut short by a restart
            os.unlink(os.path.join(self.incoming, leftover))
        # Commits and refreshes run in executor threads while the loop reads the
        # index. _disk makes each of them one step against the directory, so a
        # refresh never replaces the index with a listing taken before a commit
        # of this process finished; _lock guards the index itself.
        self._disk = threading.RLock()
        self._lock = threading.Lock()
        self._index: dict[str, StoredFile] = {}
        self._newest_first: list[StoredFile] = []
        self._seen_mtime = 0
        self._refreshed_at = time.monotonic()
        self.refresh()

    def begin(self, name: str, content_type: str) -> Writer:
        """Start writing an upload (opens a file: run it in an executor)."""
        return Writer(self, name, content_type)

    def commit(self, writers: Sequence[Writer]) -> list[StoredFile]:
        """Store every finished upload of one request, all or none; then prune old uploads (blocking).

        Raises:
            OSError: moving a file failed; the ones already moved are removed again.
            RuntimeError: a writer was not finished.
        """
        if not all(w.finished for w in writers):
            raise RuntimeError("commit() of an unfinished upload")
        with self._disk:
            stored: list[StoredFile] = []
            try:
                for writer in writers:
                    stored.append(writer._move_into_place())
            except BaseException:
                self._remove([s.id for s in stored])
                raise
            self._index_update(add=stored)
            self.prune()
        return stored

    def data_path(self, file_id: str) -> str:
        return os.path.join(self.root, file_id)

    def meta_path(self, file_id: str) -> str:
        return os.path.join(self.root, file_id + ".json")

    def get(self, file_id: str) -> StoredFile | None:
        """A stored upload by id, from the index (no file system call)."""
        return self._index.get(file_id)

    def lookup(self, file_id: str) -> StoredFile | None:
        """A stored upload by id, read from disk when the index lacks it (blocking).

        Another process may have just stored it. Ids are URL-safe tokens;
        anything else is None.
        """
        known = self._index.get(file_id)
        if known is not None or not _is_token(file_id):
            return known
        found = self._read_record(file_id)
        if found is not None and os.path.exists(self.data_path(file_id)):
            self._index_update(add=[found])
            return found
        return None

    def list(self) -> list[StoredFile]:
        """Every stored upload, newest first, from the index (no file system call)."""
        return list(self._newest_first)

    def refresh(self) -> bool:
        """Re-read the records if the directory changed since the last read (blocking).

        Returns:
            Whether the records were read again.
        """
        with self._disk:
            mtime = os.stat(self.root).st_mtime_ns
            if mtime == self._seen_mtime:
                return False
            self._seen_mtime = mtime
            found = [self._read_record(name[:-5]) for name in os.listdir(self.root) if name.endswith(".json")]
            with self._lock:
                self._index = {f.id: f for f in found if f is not None}
                self._sort_index()
        return True

    def refresh_due(self, interval: float) -> bool:
        """True at most once per ``interval`` seconds: time to ``refresh`` again."""
        now = time.monotonic()
        with self._lock:
            if now - self._refreshed_at < interval:
                return False
            self._refreshed_at = now
        return True

    def prune(self) -> None:
        """Delete all but the newest ``keep`` uploads (blocking)."""
        with self._disk:
            self._remove([old.id for old in self.list()[self.keep :]])

    def _read_record(self, file_id: str) -> StoredFile | None:
        try:
            with open(self.meta_path(file_id), encoding="utf-8") as meta:
                return StoredFile(**json.load(meta))
        except (FileNotFoundError, json.JSONDecodeError, TypeError):
            return None

    def _index_update(self, *, add: Iterable[StoredFile] = (), remove: Iterable[str] = ()) -> None:
        with self._lock:
            for stored in add:
                self._index[stored.id] = stored
            for file_id in remove:
                self._index.pop(file_id, None)
            self._sort_index()

    def _sort_index(self) -> None:
        self._newest_first = sorted(self._index.values(), key=lambda f: -f.uploaded_at)

    def _remove(self, file_ids: Iterable[str]) -> None:
        removed = list(file_ids)
        for file_id in removed:
            for path in (self.meta_path(file_id), self.data_path(file_id)):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        if removed:
            self._index_update(remove=removed)


def _is_token(file_id: str) -> bool:
    return bool(file_id) and all(c.isalnum() or c in "-_" for c in file_id)

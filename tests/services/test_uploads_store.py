"""The uploads store on its own: staged files are invisible until committed together, and aborted without trace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.uploads.store import Store, Writer


def staged(store: Store, name: str, data: bytes) -> Writer:
    writer = store.begin(name, "text/plain")
    writer.write(data)
    writer.finish()
    return writer


def test_staged_files_are_not_listed_until_committed(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    writers = [staged(store, "a.txt", b"a"), staged(store, "b.txt", b"bb")]
    assert store.list() == []
    stored = store.commit(writers)
    assert [(s.name, s.size) for s in stored] == [("a.txt", 1), ("b.txt", 2)]
    assert {s.id for s in store.list()} == {s.id for s in stored}
    assert os.listdir(store.incoming) == []


def test_aborting_staged_files_leaves_nothing(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    writers = [staged(store, "a.txt", b"a"), store.begin("partial.txt", "text/plain")]
    for writer in writers:
        writer.abort()
    assert store.list() == [] and os.listdir(store.incoming) == []


def test_a_commit_that_fails_midway_stores_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(str(tmp_path))
    first, second = staged(store, "a.txt", b"a"), staged(store, "b.txt", b"b")

    def broken() -> None:
        raise OSError("disk full")

    monkeypatch.setattr(second, "_move_into_place", broken)
    with pytest.raises(OSError):
        store.commit([first, second])
    assert store.list() == []
    assert [p for p in os.listdir(tmp_path) if p != "incoming"] == []


def test_only_finished_uploads_can_be_committed(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    writer = store.begin("open.txt", "text/plain")
    with pytest.raises(RuntimeError):
        store.commit([writer])
    writer.abort()


def test_listing_and_lookup_come_from_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(str(tmp_path))
    (stored,) = store.commit([staged(store, "a.txt", b"a")])

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file system was touched")

    monkeypatch.setattr(os, "listdir", refuse)
    monkeypatch.setattr(os, "stat", refuse)
    monkeypatch.setattr("builtins.open", refuse)
    assert store.list() == [stored]
    assert store.get(stored.id) == stored
    assert store.lookup(stored.id) == stored


def test_uploads_of_another_process_show_after_a_refresh(tmp_path: Path) -> None:
    ours, theirs = Store(str(tmp_path)), Store(str(tmp_path))  # two processes on one directory
    (stored,) = theirs.commit([staged(theirs, "b.txt", b"b")])
    assert ours.get(stored.id) is None  # not seen yet: the index is ours
    assert ours.lookup(stored.id) == stored  # a download by id reads the record
    (second,) = theirs.commit([staged(theirs, "c.txt", b"c")])
    assert ours.refresh() is True
    assert [s.id for s in ours.list()] == [second.id, stored.id]
    assert ours.refresh() is False  # the directory did not change since


def test_a_refresh_is_due_at_most_once_per_interval(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    assert store.refresh_due(0.0) is True
    assert store.refresh_due(60.0) is False


def test_a_refresh_never_loses_a_commit_made_while_it_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The loop's refresh runs in one executor thread while an upload commits
    # in another: the listing it read must not replace the committed one.
    import threading

    store = Store(str(tmp_path))
    (tmp_path / "poke").write_text("")  # the directory changed: the next refresh reads it
    reading, go_on = threading.Event(), threading.Event()
    real_listdir = os.listdir

    def slow_listdir(path: str) -> list[str]:
        names = real_listdir(path)
        reading.set()
        go_on.wait(5)
        return names

    monkeypatch.setattr(os, "listdir", slow_listdir)
    refresher = threading.Thread(target=store.refresh)
    refresher.start()
    assert reading.wait(5)
    committer = threading.Thread(target=lambda: store.commit([staged(store, "late.txt", b"x")]))
    committer.start()
    go_on.set()
    refresher.join(5)
    committer.join(5)
    assert [s.name for s in store.list()] == ["late.txt"]

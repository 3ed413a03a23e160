"""Tests for framework/web/static.py: ``StaticFileHandler`` over a real server.

Each test builds its static tree under ``tmp_path``, runs the application on
an ephemeral port of 127.0.0.1, and talks to it either with ``requests`` (in a
thread, so the event loop keeps serving) or with raw sockets where the path
must reach the server byte for byte (``..`` and ``%2e%2e``, which clients
normalise away). Every server, session and socket is closed before the test
ends (warnings are errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import logging
import os
import pathlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from framework.web import Application, HTTPError, RequestHandler, StaticFileHandler
from tests.framework.harness import async_test, serving

READ_TIMEOUT = 10.0
TEN_YEARS = 86400 * 365 * 10


# -- fixtures and clients ------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_hash_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Files in memory are compared with the disk on every request unless a test
    # says otherwise, so tests that change files see what Tornado would serve.
    monkeypatch.setattr(StaticFileHandler, "MEMORY_REVALIDATE_SECONDS", 0.0)
    StaticFileHandler.reset()
    SmallLimits.reset()  # (a version cache of its own)
    yield
    StaticFileHandler.reset()
    SmallLimits.reset()


@pytest.fixture
def static(tmp_path: pathlib.Path) -> pathlib.Path:
    """A static root with a few files, a sibling sharing its prefix, and a file outside."""
    root = tmp_path / "static"
    (root / "sub").mkdir(parents=True)
    (root / "a.css").write_text("body { color: red }\n")
    (root / "app.js").write_text("console.log(1);\n")
    (root / "digits.txt").write_bytes(b"0123456789")
    (root / "empty.txt").write_bytes(b"")
    (root / "blob.weird-extension").write_bytes(b"\x00\x01")
    (root / "archive.tar.gz").write_bytes(b"\x1f\x8b")
    (root / "robots.txt").write_text("User-agent: *\n")
    (root / "sub" / "index.html").write_text("<p>sub index</p>")
    (root / "index.html").write_text("<p>root index</p>")
    private = tmp_path / "static-private"
    private.mkdir()
    (private / "secret.txt").write_text("secret")
    (tmp_path / "outside.txt").write_text("outside")
    return root


def _fetch(port: int, method: str, path: str, headers: dict[str, str] | None) -> requests.Response:
    with requests.Session() as session:
        return session.request(
            method, f"http://127.0.0.1:{port}{path}", headers=headers, allow_redirects=False, timeout=READ_TIMEOUT
        )


async def fetch(port: int, path: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> requests.Response:
    """One request through ``requests`` in a thread, redirects not followed."""
    return await asyncio.to_thread(_fetch, port, method, path, headers)


async def raw_status(port: int, target: str) -> int:
    """Send ``GET target`` exactly as written and return the status code."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = await asyncio.wait_for(reader.read(), READ_TIMEOUT)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return int(data.split(b" ", 2)[1])


def static_app(root: pathlib.Path, **settings: Any) -> Application:
    return Application(static_path=str(root), **settings)


# -- serving a file ------------------------------------------------------------


@async_test
async def test_get_serves_the_file_with_caching_headers(static: pathlib.Path) -> None:
    async with serving(static_app(static)) as (_, port):
        response = await fetch(port, "/static/a.css")
    assert response.status_code == 200
    assert response.content == (static / "a.css").read_bytes()
    headers = response.headers
    assert headers["Content-Type"] == "text/css"
    assert headers["Content-Length"] == str(len(response.content))
    assert headers["Accept-Ranges"] == "bytes"
    mtime = int((static / "a.css").stat().st_mtime)
    assert headers["Last-Modified"] == email.utils.formatdate(mtime, usegmt=True)
    assert headers["Etag"] == f'"{StaticFileHandler.get_content_version(str(static / "a.css"))}"'
    # Without ?v= the browser must revalidate: no long-lived caching.
    assert "Cache-Control" not in headers
    assert "Expires" not in headers


@async_test
async def test_head_sends_the_same_headers_without_a_body(static: pathlib.Path) -> None:
    def head_then_get(port: int) -> tuple[requests.Response, requests.Response]:
        # One keep-alive connection: a stray body after HEAD would corrupt the GET.
        with requests.Session() as session:
            url = f"http://127.0.0.1:{port}/static/digits.txt"
            return session.head(url, timeout=READ_TIMEOUT), session.get(url, timeout=READ_TIMEOUT)

    async with serving(static_app(static)) as (_, port):
        head, get = await asyncio.to_thread(head_then_get, port)
    assert head.status_code == 200
    assert head.content == b""
    assert get.content == b"0123456789"
    for name in ("Content-Length", "Content-Type", "Etag", "Last-Modified", "Accept-Ranges"):
        assert head.headers[name] == get.headers[name]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.css", {"text/css"}),
        ("app.js", {"text/javascript", "application/javascript"}),
        ("blob.weird-extension", {"application/octet-stream"}),
        ("archive.tar.gz", {"application/gzip"}),
    ],
)
@async_test
async def test_content_type_comes_from_the_file_name(static: pathlib.Path, name: str, expected: set[str]) -> None:
    async with serving(static_app(static)) as (_, port):
        response = await fetch(port, f"/static/{name}")
    assert response.headers["Content-Type"] in expected


@async_test
async def test_robots_txt_is_served_from_the_static_path(static: pathlib.Path) -> None:
    async with serving(static_app(static)) as (_, port):
        response = await fetch(port, "/robots.txt")
    assert response.status_code == 200
    assert response.text == "User-agent: *\n"


@async_test
async def test_missing_file_is_404_and_post_is_405(static: pathlib.Path) -> None:
    async with serving(static_app(static)) as (_, port):
        missing = await fetch(port, "/static/nope.css")
        posted = await fetch(port, "/static/a.css", method="POST")
    assert missing.status_code == 404
    assert posted.status_code == 405


# -- versioned URLs --------------------------------------------------------------


class StaticUrlHandler(RequestHandler):
    def get(self) -> None:
        self.write(self.static_url("a.css"))


@async_test
async def test_static_url_carries_a_content_hash_and_versioned_urls_cache_long(static: pathlib.Path) -> None:
    app = Application([(r"/url", StaticUrlHandler)], static_path=str(static))
    async with serving(app) as (_, port):
        url = (await fetch(port, "/url")).text
        response = await fetch(port, url)
    version = StaticFileHandler.get_content_version(str(static / "a.css"))
    assert re.fullmatch(r"[0-9a-f]{32}", version)
    assert url == f"/static/a.css?v={version}"
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == f"max-age={TEN_YEARS}"
    expires = email.utils.parsedate_to_datetime(response.headers["Expires"])
    date = email.utils.parsedate_to_datetime(response.headers["Date"])
    assert (expires - date).days >= 3650 - 1


def test_make_static_url_without_version_and_for_a_missing_file(static: pathlib.Path) -> None:
    settings = {"static_path": str(static), "static_url_prefix": "/assets/"}
    assert StaticFileHandler.make_static_url(settings, "a.css", include_version=False) == "/assets/a.css"
    assert StaticFileHandler.make_static_url(settings, "missing.css") == "/assets/missing.css"
    assert StaticFileHandler.make_static_url(settings, "dir/a b.css", include_version=False) == "/assets/dir/a%20b.css"


def test_a_cached_version_is_served_without_touching_the_file(static: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # static_url() runs on every page render: once hashed, a version must come
    # from memory with no stat or open (a FUSE round trip in the containers).
    settings = {"static_path": str(static)}
    path = static / "a.css"
    first = StaticFileHandler.get_version(settings, "a.css")
    assert first and str(path) in StaticFileHandler._static_hashes

    path.write_bytes(b"changed")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file system was touched for a cached version")

    monkeypatch.setattr(os, "stat", refuse)
    monkeypatch.setattr(StaticFileHandler, "get_content", refuse)
    assert StaticFileHandler.get_version(settings, "a.css") == first
    monkeypatch.undo()
    StaticFileHandler.reset()
    assert StaticFileHandler._static_hashes == {}
    assert StaticFileHandler.get_version(settings, "a.css") != first  # reset() picks up the change


def test_without_the_cache_every_call_hashes_the_file_afresh(static: pathlib.Path) -> None:
    settings = {"static_path": str(static), "static_hash_cache": False}
    first = StaticFileHandler.get_version(settings, "a.css")
    (static / "a.css").write_text("body { color: blue; margin: 0 }\n")
    assert StaticFileHandler.get_version(settings, "a.css") != first
    assert StaticFileHandler._static_hashes == {}


def test_debug_turns_off_the_version_cache(static: pathlib.Path) -> None:
    app = static_app(static, debug=True, autoreload=False)
    assert app.settings["static_hash_cache"] is False
    url = app.static_url("a.css")
    assert url.startswith("/static/a.css?v=")
    assert StaticFileHandler._static_hashes == {}


def test_a_path_out_of_the_static_root_gets_no_url_and_its_file_is_never_read(
    static: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # static_url() hashes the file it names: "../" must not reach past the root
    # (Tornado 6.6 refuses it with a 403, as the request for it would be).
    settings = {"static_path": str(static)}
    read: list[str] = []
    original = StaticFileHandler.get_content.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        StaticFileHandler, "get_content", classmethod(lambda cls, path, *a: read.append(path) or original(cls, path, *a))
    )
    for path in ("../outside.txt", "../static-private/secret.txt", "sub/../../outside.txt", str(static.parent / "outside.txt")):
        with pytest.raises(HTTPError) as refused:
            StaticFileHandler.make_static_url(settings, path)
        assert refused.value.status_code == 403
    assert read == []
    assert StaticFileHandler._static_hashes == {}
    assert StaticFileHandler.make_static_url(settings, "sub/../a.css").startswith("/static/sub/../a.css?v=")  # still inside


@async_test
async def test_a_handlers_include_host_attribute_is_static_urls_default(static: pathlib.Path) -> None:
    class AbsoluteUrls(RequestHandler):
        include_host = True

        def get(self) -> None:
            absolute = self.static_url("a.css", include_version=False)
            relative = self.static_url("a.css", include_host=False, include_version=False)
            self.write(f"{absolute} {relative}")

    app = Application([(r"/urls", AbsoluteUrls)], static_path=str(static))
    async with serving(app) as (_, port):
        answer = (await fetch(port, "/urls")).text
    assert answer == f"http://127.0.0.1:{port}/static/a.css /static/a.css"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_directory_gets_no_version_without_blocking(static: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    # Opening a FIFO with no writer waits for one: on the event loop, forever.
    os.mkfifo(static / "pipe")
    settings = {"static_path": str(static)}
    with caplog.at_level(logging.ERROR, logger="framework.general"):
        assert StaticFileHandler.make_static_url(settings, "pipe") == "/static/pipe"
        assert StaticFileHandler.make_static_url(settings, "sub") == "/static/sub"
    assert [record.getMessage().count("is not a file") for record in caplog.records] == [1, 1]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@async_test
async def test_a_file_replaced_by_a_fifo_after_its_checks_does_not_block_the_server(
    static: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The memory cache reads a small file whole after the checks: the file
    # can change in between, and opening a FIFO would wait for a writer.
    checked = StaticFileHandler.get_modified_time

    def swap_after_the_checks(self: StaticFileHandler) -> Any:
        modified = checked(self)
        os.remove(static / "a.css")
        os.mkfifo(static / "a.css")
        return modified

    monkeypatch.setattr(StaticFileHandler, "get_modified_time", swap_after_the_checks)  # (the memory cache stays on)
    async with serving(static_app(static)) as (_, port):
        response = await fetch(port, "/static/a.css")
    assert response.status_code == 403


def test_get_content_of_a_missing_file_is_a_404(static: pathlib.Path) -> None:
    with pytest.raises(HTTPError) as missing:
        list(StaticFileHandler.get_content(str(static / "nope.css")))
    assert missing.value.status_code == 404


def test_a_file_without_a_version_is_looked_at_once_until_reset(
    static: pathlib.Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A page naming a missing file renders on every request: one error, one look.
    settings = {"static_path": str(static)}
    looks: list[str] = []
    original = StaticFileHandler.get_content_version.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        StaticFileHandler, "get_content_version", classmethod(lambda cls, path: looks.append(path) or original(cls, path))
    )
    with caplog.at_level(logging.ERROR, logger="framework.general"):
        for _ in range(3):
            assert StaticFileHandler.make_static_url(settings, "later.css") == "/static/later.css"
    assert len(looks) == 1 and len(caplog.records) == 1
    (static / "later.css").write_text("p {}\n")
    assert StaticFileHandler.make_static_url(settings, "later.css") == "/static/later.css"  # remembered
    StaticFileHandler.reset()
    assert StaticFileHandler.make_static_url(settings, "later.css").startswith("/static/later.css?v=")


class SmallLimits(StaticFileHandler):
    MAX_VERSION_CONTENT_SIZE = 10
    MAX_CACHED_VERSIONS = 2
    _static_hashes: dict[str, str | None] = {}


def test_content_over_the_version_size_limit_gets_no_version(static: pathlib.Path) -> None:
    settings = {"static_path": str(static)}
    (static / "eleven.txt").write_bytes(b"01234567890")
    assert SmallLimits.make_static_url(settings, "digits.txt").startswith("/static/digits.txt?v=")  # 10 bytes: hashed
    assert SmallLimits.make_static_url(settings, "eleven.txt") == "/static/eleven.txt"


@async_test
async def test_a_file_over_the_version_size_limit_is_served_without_an_etag(static: pathlib.Path) -> None:
    (static / "eleven.txt").write_bytes(b"01234567890")
    app = Application([(r"/files/(.*)", SmallLimits, {"path": str(static)})])
    async with serving(app) as (_, port):
        large = await fetch(port, "/files/eleven.txt")
        small = await fetch(port, "/files/digits.txt")
    assert large.status_code == 200 and large.content == b"01234567890"
    assert "Etag" not in large.headers
    assert small.headers["Etag"] == f'"{SmallLimits.get_content_version(str(static / "digits.txt"))}"'


def test_the_version_cache_keeps_the_most_recently_used(static: pathlib.Path) -> None:
    settings = {"static_path": str(static)}
    for path in ("a.css", "app.js", "a.css", "digits.txt"):  # a.css used again: app.js is the oldest use
        SmallLimits.get_version(settings, path)
    assert list(SmallLimits._static_hashes) == [str(static / "a.css"), str(static / "digits.txt")]


# -- conditional requests --------------------------------------------------------------


@async_test
async def test_if_none_match_gives_304(static: pathlib.Path) -> None:
    async with serving(static_app(static)) as (_, port):
        etag = (await fetch(port, "/static/a.css")).headers["Etag"]
        same = await fetch(port, "/static/a.css", headers={"If-None-Match": etag})
        weak = await fetch(port, "/static/a.css", headers={"If-None-Match": f'"other", W/{etag}'})
        other = await fetch(port, "/static/a.css", headers={"If-None-Match": '"other"'})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["Etag"] == etag
    assert weak.status_code == 304
    assert other.status_code == 200
    assert other.content == (static / "a.css").read_bytes()


@async_test
async def test_if_modified_since_gives_304_unless_the_file_is_newer(static: pathlib.Path) -> None:
    async with serving(static_app(static)) as (_, port):
        modified = (await fetch(port, "/static/a.css")).headers["Last-Modified"]
        same = await fetch(port, "/static/a.css", headers={"If-Modified-Since": modified})
        mtime = (static / "a.css").stat().st_mtime
        older = email.utils.formatdate(mtime - 3600, usegmt=True)
        stale = await fetch(port, "/static/a.css", headers={"If-Modified-Since": older})
        garbage = await fetch(port, "/static/a.css", headers={"If-Modified-Since": "yesterday"})
        # If-None-Match wins over If-Modified-Since when both are sent.
        both = await fetch(port, "/static/a.css", headers={"If-Modified-Since": modified, "If-None-Match": '"x"'})
    assert same.status_code == 304
    assert stale.status_code == 200
    assert garbage.status_code == 200
    assert both.status_code == 200


# -- ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_header", "body", "content_range"),
    [
        ("bytes=2-5", b"2345", "bytes 2-5/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=3-100", b"3456789", "bytes 3-9/10"),
        ("BYTES=0-0", b"0", "bytes 0-0/10"),
    ],
)
@async_test
async def test_single_range_gives_206(static: pathlib.Path, range_header: str, body: bytes, content_range: str) -> None:
    async with serving(static_app(static)) as (_, port):
        response = await fetch(port, "/static/digits.txt", headers={"Range": range_header})
    assert response.status_code == 206
    assert response.content == body
    assert response.headers["Content-Range"] == content_range
    assert response.headers["Content-Length"] == str(len(body))


@pytest.mark.parametrize("range_header", ["bytes=10-", "bytes=99-200", "bytes=-0", "bytes=9999999999999999999-"])
@async_test
async def test_unsatisfiable_range_gives_416(static: pathlib.Path, range_header: str) -> None:
    async with serving(static_app(static)) as (_, port):
        response = await fetch(port, "/static/digits.txt", headers={"Range": range_header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */10"
    assert response.content == b""


@pytest.mark.parametrize(
    "range_header",
    [
        "bytes=0-1,4-5",  # several ranges: we never send multipart/byteranges
        "bytes=5-2",
        "items=0-1",
        "bytes=abc",
        "bytes=-",
        "bytes=0-9",  # the whole file: a plain 200, as Tornado
        "bytes=-20",
        "bytes=" + "9" * 5000 + "-",  # more digits than int() accepts by default
    ],
)
@async_test
async def test_multiple_malformed_or_whole_ranges_serve_the_whole_file(static: pathlib.Path, range_header: str) -> None:
    async with serving(static_app(static)) as (_, port):
        response = await fetch(port, "/static/digits.txt", headers={"Range": range_header})
    assert response.status_code == 200
    assert response.content == b"0123456789"
    assert "Content-Range" not in response.headers


@async_test
async def test_range_on_an_empty_file_serves_200(static: pathlib.Path) -> None:
    async with serving(static_app(static)) as (_, port):
        response = await fetch(port, "/static/empty.txt", headers={"Range": "bytes=0-"})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["Content-Length"] == "0"


@async_test
async def test_head_with_range_and_if_range(static: pathlib.Path) -> None:
    async with serving(static_app(static)) as (_, port):
        head = await fetch(port, "/static/digits.txt", method="HEAD", headers={"Range": "bytes=2-5"})
        etag = head.headers["Etag"]
        current = await fetch(port, "/static/digits.txt", headers={"Range": "bytes=2-5", "If-Range": etag})
        changed = await fetch(port, "/static/digits.txt", headers={"Range": "bytes=2-5", "If-Range": '"old"'})
        by_date = await fetch(
            port, "/static/digits.txt", headers={"Range": "bytes=2-5", "If-Range": head.headers["Last-Modified"]}
        )
    assert (head.status_code, head.headers["Content-Length"], head.content) == (206, "4", b"")
    assert (current.status_code, current.content) == (206, b"2345")
    assert (changed.status_code, changed.content) == (200, b"0123456789")
    assert (by_date.status_code, by_date.content) == (206, b"2345")


# -- staying inside the root -------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/static/../static-private/secret.txt",  # sibling sharing the root's prefix
        "/static/%2e%2e/static-private/secret.txt",  # encoded dots (the router decodes groups)
        "/static/%2E%2E%2Fstatic-private%2Fsecret.txt",  # encoded slashes as well
        "/static/../outside.txt",
        "/static/sub/../../outside.txt",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static//etc/passwd",  # absolute path in the group
        "/static/%2Fetc%2Fpasswd",
        "/static/../nonexistent.txt",  # outside and missing: still 403
    ],
)
@async_test
async def test_paths_leaving_the_root_are_403(static: pathlib.Path, target: str) -> None:
    async with serving(static_app(static)) as (_, port):
        assert await raw_status(port, target) == 403


@async_test
async def test_symlinks_out_of_the_root_are_403_and_inside_are_served(static: pathlib.Path) -> None:
    os.symlink(static.parent / "outside.txt", static / "link-out.txt")
    os.symlink(static.parent / "static-private", static / "private-dir")
    os.symlink(static / "digits.txt", static / "link-in.txt")
    async with serving(static_app(static)) as (_, port):
        out = await fetch(port, "/static/link-out.txt")
        through_dir = await fetch(port, "/static/private-dir/secret.txt")
        inside = await fetch(port, "/static/link-in.txt")
    assert out.status_code == 403
    assert through_dir.status_code == 403
    assert (inside.status_code, inside.content) == (200, b"0123456789")


@async_test
async def test_nul_in_the_path_is_400(static: pathlib.Path) -> None:
    async with serving(static_app(static)) as (_, port):
        assert await raw_status(port, "/static/a.css%00.txt") == 400


# -- directories -----------------------------------------------------------------------


@async_test
async def test_directories_are_403_without_default_filename(static: pathlib.Path) -> None:
    async with serving(static_app(static)) as (_, port):
        sub = await fetch(port, "/static/sub")
        sub_slash = await fetch(port, "/static/sub/")
        root = await fetch(port, "/static/")
    assert (sub.status_code, sub_slash.status_code, root.status_code) == (403, 403, 403)


@async_test
async def test_default_filename_redirects_to_the_slash_form_and_serves_the_index(static: pathlib.Path) -> None:
    app = static_app(static, static_handler_args={"default_filename": "index.html"})
    async with serving(app) as (_, port):
        redirect = await fetch(port, "/static/sub")
        index = await fetch(port, "/static/sub/")
        root = await fetch(port, "/static/")
        (static / "sub" / "index.html").unlink()
        gone = await fetch(port, "/static/sub/")
    assert redirect.status_code == 301
    assert redirect.headers["Location"] == "/static/sub/"
    assert (index.status_code, index.text) == (200, "<p>sub index</p>")
    assert index.headers["Content-Type"] == "text/html"
    assert root.text == "<p>root index</p>"
    assert gone.status_code == 404


# -- large files -------------------------------------------------------------------------


@async_test
async def test_a_large_file_arrives_intact(static: pathlib.Path) -> None:
    data = os.urandom(5 * 1024 * 1024 + 123)
    (static / "big.bin").write_bytes(data)
    async with serving(static_app(static)) as (_, port):
        response = await fetch(port, "/static/big.bin")
        tail = await fetch(port, "/static/big.bin", headers={"Range": "bytes=1000000-"})
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(data))
    assert "Transfer-Encoding" not in response.headers
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(data).digest()
    assert tail.status_code == 206
    assert hashlib.sha256(tail.content).digest() == hashlib.sha256(data[1000000:]).digest()


def test_get_content_yields_bounded_chunks(static: pathlib.Path) -> None:
    path = static / "chunks.bin"
    path.write_bytes(bytes(range(256)) * 1024)  # 256 KiB
    chunks = list(StaticFileHandler.get_content(str(path), 1000, 200_000))
    assert max(map(len, chunks)) <= StaticFileHandler.CHUNK_SIZE
    assert b"".join(chunks) == path.read_bytes()[1000:200_000]
    assert b"".join(StaticFileHandler.get_content(str(path))) == path.read_bytes()


class CountingStaticHandler(StaticFileHandler):
    """Counts chunks read from disk, and signals when the request is over."""

    chunks_read = 0
    done: asyncio.Event

    @classmethod
    def get_content(cls, abspath: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        for chunk in super().get_content(abspath, start, end):
            if start is not None:  # the response body, not the version hash
                CountingStaticHandler.chunks_read += 1
            yield chunk

    def on_finish(self) -> None:
        CountingStaticHandler.done.set()


async def _settle(read_count: Callable[[], int]) -> int:
    """Wait until the count stops moving for two rounds (the server is blocked on the socket)."""
    history = [-3, -2, -1]
    while history[-1] != history[-2] or history[-2] != history[-3]:
        await asyncio.sleep(0.1)
        history.append(read_count())
    return history[-1]


@async_test
async def test_a_slow_client_holds_the_server_back_and_a_gone_one_stops_it(static: pathlib.Path) -> None:
    size = 64 * 1024 * 1024
    with open(static / "sparse.bin", "wb") as file:
        file.truncate(size)  # sparse: costs no disk, reads as zeros
    CountingStaticHandler.chunks_read = 0
    CountingStaticHandler.done = asyncio.Event()
    app = static_app(static, static_handler_class=CountingStaticHandler)
    async with serving(app) as (_, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1024)
        try:
            writer.write(b"GET /static/sparse.bin HTTP/1.1\r\nHost: test\r\n\r\n")
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            stalled_at = await _settle(lambda: CountingStaticHandler.chunks_read)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await asyncio.wait_for(CountingStaticHandler.done.wait(), READ_TIMEOUT)
    total_chunks = size // StaticFileHandler.CHUNK_SIZE
    assert stalled_at < total_chunks // 2  # flow control: not read ahead of the socket
    assert CountingStaticHandler.chunks_read < total_chunks // 2  # and stopped once the client left


# -- small files from memory ------------------------------------------------------


@pytest.fixture
def file_system_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every stat, lstat and open the process makes while the fixture is active (the server's included)."""
    calls: list[str] = []
    import builtins
    import posix

    for name in ("stat", "lstat"):
        real = getattr(posix, name)

        def watched(path: Any, *args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            calls.append(f"{_name} {path}")
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(posix, name, watched)
        monkeypatch.setattr(os, name, watched)
    real_open = builtins.open

    def watched_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"open {file}")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watched_open)
    return calls


@async_test
async def test_a_small_file_is_served_from_memory_after_its_first_request(
    static: pathlib.Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StaticFileHandler, "MEMORY_REVALIDATE_SECONDS", 3600.0)
    async with serving(static_app(static)) as (_, port):
        first = await fetch(port, "/static/a.css")
        first_range = await fetch(port, "/static/digits.txt", headers={"Range": "bytes=2-4"})
        calls: list[str] = request.getfixturevalue("file_system_calls")
        again = await fetch(port, "/static/a.css?v=1")
        ranged = await fetch(port, "/static/digits.txt", headers={"Range": "bytes=2-4"})
        head = await fetch(port, "/static/digits.txt", method="HEAD")
        touched = [c for c in calls if str(static) in c]
    assert touched == []
    assert again.content == first.content == (static / "a.css").read_bytes()
    assert again.headers["Etag"] == first.headers["Etag"]
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]
    assert again.headers["Cache-Control"] == f"max-age={TEN_YEARS}"
    for response in (first_range, ranged):
        assert (response.status_code, response.content, response.headers["Content-Range"]) == (206, b"234", "bytes 2-4/10")
    assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", "10")


@async_test
async def test_a_file_in_memory_is_compared_with_the_disk_when_due(static: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(StaticFileHandler, "MEMORY_REVALIDATE_SECONDS", 3600.0)
    async with serving(static_app(static)) as (_, port):
        assert (await fetch(port, "/static/digits.txt")).content == b"0123456789"
        (static / "digits.txt").write_bytes(b"changed")
        assert (await fetch(port, "/static/digits.txt")).content == b"0123456789"  # not due yet
        monkeypatch.setattr(StaticFileHandler, "MEMORY_REVALIDATE_SECONDS", 0.0)
        changed = await fetch(port, "/static/digits.txt")
        assert changed.content == b"changed"
        assert changed.headers["Etag"] == f'"{StaticFileHandler.get_content_version(str(static / "digits.txt"))}"'
        (static / "digits.txt").unlink()
        assert (await fetch(port, "/static/digits.txt")).status_code == 404
    assert StaticFileHandler._in_memory_bytes == [0]


@async_test
async def test_reset_empties_the_memory(static: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(StaticFileHandler, "MEMORY_REVALIDATE_SECONDS", 3600.0)
    async with serving(static_app(static)) as (_, port):
        assert (await fetch(port, "/static/digits.txt")).content == b"0123456789"
        (static / "digits.txt").write_bytes(b"9876543210")
        assert (await fetch(port, "/static/digits.txt")).content == b"0123456789"
        StaticFileHandler.reset()
        assert StaticFileHandler._in_memory == {}
        assert (await fetch(port, "/static/digits.txt")).content == b"9876543210"


@async_test
async def test_debug_and_large_files_are_read_from_disk_every_time(static: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(static_app(static, debug=True, autoreload=False)) as (_, port):
        assert (await fetch(port, "/static/digits.txt")).content == b"0123456789"
        (static / "digits.txt").write_bytes(b"changed")
        assert (await fetch(port, "/static/digits.txt")).content == b"changed"
    monkeypatch.setattr(StaticFileHandler, "MEMORY_FILE_MAX", 4)
    async with serving(static_app(static)) as (_, port):
        assert (await fetch(port, "/static/digits.txt")).content == b"changed"
        (static / "digits.txt").write_bytes(b"changed again")
        assert (await fetch(port, "/static/digits.txt")).content == b"changed again"
    assert StaticFileHandler._in_memory == {}


@async_test
async def test_the_memory_budget_is_shared_and_bounded(static: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(StaticFileHandler, "MEMORY_CACHE_MAX", 15)
    async with serving(static_app(static)) as (_, port):
        for name in ("digits.txt", "app.js", "a.css"):  # 10, 16 and 20 bytes: only the first fits
            assert (await fetch(port, f"/static/{name}")).content == (static / name).read_bytes()
    assert [key[1] for key in StaticFileHandler._in_memory] == ["digits.txt"]
    assert StaticFileHandler._in_memory_bytes == [10]


class UpperCaseFiles(StaticFileHandler):
    """Overrides how content is read: Tornado's per-request hook must still run."""

    @classmethod
    def get_content(cls, abspath: str, start: int | None = None, end: int | None = None) -> bytes:
        with open(abspath, "rb") as file:
            return file.read().upper()[start:end]


@async_test
async def test_a_subclass_overriding_a_file_hook_is_asked_every_time(static: pathlib.Path) -> None:
    app = Application([(r"/files/(.*)", UpperCaseFiles, {"path": str(static)})])
    async with serving(app) as (_, port):
        assert (await fetch(port, "/files/a.css")).content == b"BODY { COLOR: RED }\n"
        (static / "a.css").write_text("p {}\n")
        assert (await fetch(port, "/files/a.css")).content == b"P {}\n"
    assert StaticFileHandler._in_memory == {}

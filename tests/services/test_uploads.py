"""The uploads demo in-process: multipart and PUT uploads verified byte for byte, limits, hostile input."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from framework.testing import ServerThread, serve
from services.uploads.app import make_app


@pytest.fixture
def uploads(tmp_path: Path) -> Iterator[ServerThread]:
    with serve(make_app(prefix="/uploads/", upload_dir=str(tmp_path / "store"), max_upload_bytes=8 * 1024 * 1024)) as server:
        yield server


def upload_action(server: ServerThread, session: requests.Session) -> str:
    page = session.get(server.url("/uploads/"), timeout=10).text
    match = re.search(r'<form method="post" action="([^"]+)"', page)
    assert match is not None
    return match.group(1).replace("&amp;", "&")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_multipart_upload_of_several_files_round_trips(uploads: ServerThread) -> None:
    files = {"a.txt": b"hello\r\n--not-a-boundary\r\n", "b.bin": os.urandom(3 * 1024 * 1024 + 17), "empty.dat": b""}
    with requests.Session() as session:
        action = upload_action(uploads, session)
        response = session.post(
            uploads.url(action),
            files=[("files", (name, data, "application/octet-stream")) for name, data in files.items()],
            headers={"Accept": "application/json"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        stored = response.json()["files"]
        assert [f["name"] for f in stored] == list(files)
        for f in stored:
            assert f["sha256"] == sha(files[f["name"]])
            assert f["size"] == len(files[f["name"]])
            back = session.get(uploads.url(f["url"]), timeout=30)
            assert back.content == files[f["name"]]
            assert back.headers["Content-Type"] == "application/octet-stream"
            assert back.headers["Content-Disposition"].startswith("attachment;")
        listing = session.get(uploads.url("/uploads/"), timeout=10).text
        assert all(sha(data) in listing for data in files.values())


def test_browser_upload_redirects_to_the_listing(uploads: ServerThread) -> None:
    with requests.Session() as session:
        action = upload_action(uploads, session)
        response = session.post(uploads.url(action), files={"files": ("x.txt", b"x")}, allow_redirects=False, timeout=10)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/uploads/?uploaded=")


def test_put_streams_the_body(uploads: ServerThread) -> None:
    data = os.urandom(5 * 1024 * 1024)
    response = requests.put(uploads.url("/uploads/put/big%20file.bin"), data=data, timeout=30)
    assert response.status_code == 201
    info = response.json()
    assert (info["name"], info["size"], info["sha256"]) == ("big file.bin", len(data), sha(data))
    assert requests.get(uploads.url(info["url"]), timeout=30).content == data


def test_upload_over_the_limit_is_refused_and_not_stored(uploads: ServerThread, tmp_path: Path) -> None:
    response = requests.put(uploads.url("/uploads/put/huge.bin"), data=b"x" * (9 * 1024 * 1024), timeout=30)
    assert response.status_code == 413
    assert [p for p in (tmp_path / "store").iterdir() if p.is_file()] == []
    assert list((tmp_path / "store" / "incoming").iterdir()) == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=abc", b"--abc\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\ntruncated"),
        ("multipart/form-data; boundary=abc", b"--wrong\r\n\r\nbody\r\n--wrong--\r\n"),
        ("text/plain", b"hello"),
    ],
)
def test_malformed_multipart_is_a_400(uploads: ServerThread, content_type: str, body: bytes, tmp_path: Path) -> None:
    with requests.Session() as session:
        action = upload_action(uploads, session)
        response = session.post(uploads.url(action), data=body, headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == 400
    assert list((tmp_path / "store" / "incoming").iterdir()) == []


def test_header_injection_in_a_filename_is_refused(uploads: ServerThread) -> None:
    body = (
        b"--abc\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a\rX-Injected: 1.txt\"\r\n\r\n"
        b"data\r\n--abc--\r\n"
    )
    with requests.Session() as session:
        action = upload_action(uploads, session)
        response = session.post(uploads.url(action), data=body, headers={"Content-Type": "multipart/form-data; boundary=abc"}, timeout=10)
    assert response.status_code == 400
    assert "X-Injected" not in response.headers


def test_a_body_that_stops_midway_leaves_nothing(tmp_path: Path) -> None:
    app = make_app(prefix="/uploads/", upload_dir=str(tmp_path / "store"))
    with serve(app, body_timeout=0.3) as server:
        head = (
            b"PUT /uploads/put/partial.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head + b"x" * 1000)
            assert sock.recv(100) == b""  # the server cut the stalled body off
        deadline = time.monotonic() + 10
        while list((tmp_path / "store" / "incoming").iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list((tmp_path / "store" / "incoming").iterdir()) == []
        assert requests.get(server.url("/uploads/"), timeout=10).text.count("<tr") == 0


def test_unknown_download_is_404(uploads: ServerThread) -> None:
    assert requests.get(uploads.url("/uploads/files/AAAAAAAAAAAAAAAA"), timeout=10).status_code == 404

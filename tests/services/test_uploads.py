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


def upload_form(server: ServerThread, session: requests.Session) -> tuple[str, str]:
    """The form's action and its XSRF token (a body field, the form's first)."""
    page = session.get(server.url("/uploads/"), timeout=10).text
    match = re.search(
        r'<form id="upload-form" method="post" action="([^"]+)" enctype="multipart/form-data"[^>]*>\s*'
        r'<input type="hidden" name="_xsrf" value="([^"]+)"',
        page,
    )
    assert match is not None
    return match.group(1), match.group(2)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_page_gives_its_script_the_limits_the_server_enforces(uploads: ServerThread) -> None:
    page = requests.get(uploads.url("/uploads/"), timeout=10).text
    form = re.search(r'<form id="upload-form"[^>]*>', page)
    assert form is not None
    assert 'data-max-bytes="8388608"' in form.group(0)  # the fixture's max_upload_bytes
    assert 'data-max-files="20"' in form.group(0)
    (src,) = re.findall(r'<script src="([^"]+)"></script>', page)
    assert src.startswith("/uploads/static/uploads.js?v=")  # the service's own static file
    script = requests.get(uploads.url(src), timeout=10)
    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
    assert 'upload.addEventListener("progress"' in script.text


def test_multipart_upload_of_several_files_round_trips(uploads: ServerThread) -> None:
    files = {"a.txt": b"hello\r\n--not-a-boundary\r\n", "b.bin": os.urandom(3 * 1024 * 1024 + 17), "empty.dat": b""}
    with requests.Session() as session:
        action, token = upload_form(uploads, session)
        response = session.post(
            uploads.url(action),
            data={"_xsrf": token},
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
        action, token = upload_form(uploads, session)
        response = session.post(
            uploads.url(action), data={"_xsrf": token}, files={"files": ("x.txt", b"x")}, allow_redirects=False, timeout=10
        )
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
        (
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\ntruncated',
        ),
        ("multipart/form-data; boundary=abc", b"--wrong\r\n\r\nbody\r\n--wrong--\r\n"),
        ("text/plain", b"hello"),
    ],
)
def test_malformed_multipart_is_a_400(uploads: ServerThread, content_type: str, body: bytes, tmp_path: Path) -> None:
    with requests.Session() as session:
        action, token = upload_form(uploads, session)
        response = session.post(
            uploads.url(action), data=body, headers={"Content-Type": content_type, "X-XSRFToken": token}, timeout=10
        )
    assert response.status_code == 400
    assert list((tmp_path / "store" / "incoming").iterdir()) == []


def test_header_injection_in_a_filename_is_refused(uploads: ServerThread) -> None:
    body = b'--abc\r\nContent-Disposition: form-data; name="files"; filename="a\rX-Injected: 1.txt"\r\n\r\ndata\r\n--abc--\r\n'
    with requests.Session() as session:
        action, token = upload_form(uploads, session)
        response = session.post(
            uploads.url(action),
            data=body,
            timeout=10,
            headers={"Content-Type": "multipart/form-data; boundary=abc", "X-XSRFToken": token},
        )
    assert response.status_code == 400
    assert "X-Injected" not in response.headers


def test_a_body_that_stops_midway_leaves_nothing(tmp_path: Path) -> None:
    app = make_app(prefix="/uploads/", upload_dir=str(tmp_path / "store"))
    with serve(app, body_timeout=0.3) as server:
        head = b"PUT /uploads/put/partial.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n"
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


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    """A multipart body from (field name, filename or None, content) parts."""
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def stored_nothing(server: ServerThread, store: Path) -> bool:
    listing = requests.get(server.url("/uploads/"), timeout=10).text
    return (
        "<tbody>" not in listing and [p for p in store.iterdir() if p.is_file()] == [] and not any((store / "incoming").iterdir())
    )


def wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def post_multipart(server: ServerThread, session: requests.Session, body: bytes, **headers: str) -> requests.Response:
    action, _ = upload_form(server, session)
    headers.setdefault("Content-Type", "multipart/form-data; boundary=b0undary")
    return session.post(server.url(action), data=body, headers=headers, timeout=30)


def test_a_later_invalid_part_stores_none_of_the_request(uploads: ServerThread, tmp_path: Path) -> None:
    with requests.Session() as session:
        _, token = upload_form(uploads, session)
        good = multipart([("_xsrf", None, token.encode()), ("files", "good.txt", b"complete")]).rsplit(b"--b0undary--", 1)[0]
        bad = good + b"--b0undary\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--b0undary--\r\n"
        response = post_multipart(uploads, session, bad)
    assert response.status_code == 400
    assert stored_nothing(uploads, tmp_path / "store")


def test_one_file_too_many_stores_none(uploads: ServerThread, tmp_path: Path) -> None:
    with requests.Session() as session:
        _, token = upload_form(uploads, session)
        files = [("files", f"f{i}.txt", b"x") for i in range(21)]
        response = post_multipart(uploads, session, multipart([("_xsrf", None, token.encode()), *files]))
    assert response.status_code == 413
    assert stored_nothing(uploads, tmp_path / "store")


def test_a_body_cut_after_a_complete_file_stores_nothing(uploads: ServerThread, tmp_path: Path) -> None:
    with requests.Session() as session:
        _, token = upload_form(uploads, session)
        cookie = session.cookies["_xsrf"]
    body = multipart([("_xsrf", None, token.encode()), ("files", "whole.txt", b"all of it")]).rsplit(b"--b0undary--", 1)[0]
    body += b'--b0undary\r\nContent-Disposition: form-data; name="files"; filename="cut.txt"\r\n\r\nhalf'
    head = (
        "POST /uploads/upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b0undary\r\n"
        f"Cookie: _xsrf={cookie}\r\nContent-Length: {len(body) + 1000}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", uploads.port), timeout=10) as sock:
        sock.sendall(head + body)
        time.sleep(0.3)  # the complete file has been staged
    assert wait_for(lambda: stored_nothing(uploads, tmp_path / "store"))


def test_the_form_keeps_the_xsrf_token_out_of_the_url(uploads: ServerThread) -> None:
    with requests.Session() as session:
        action, token = upload_form(uploads, session)
    assert action == "/uploads/upload" and "_xsrf" not in action and token


@pytest.mark.parametrize("where", ["query", "after the file", "wrong", "missing"])
def test_uploads_without_the_token_first_in_the_body_are_refused(uploads: ServerThread, tmp_path: Path, where: str) -> None:
    with requests.Session() as session:
        action, token = upload_form(uploads, session)
        file = ("files", "f.txt", b"data")
        parts = {
            "query": [file],
            "after the file": [file, ("_xsrf", None, token.encode())],
            "wrong": [("_xsrf", None, b"2|00000000|" + b"0" * 32 + b"|1"), file],
            "missing": [file],
        }[where]
        url = uploads.url(action + (f"?_xsrf={token}" if where == "query" else ""))
        response = session.post(
            url, data=multipart(parts), timeout=10, headers={"Content-Type": "multipart/form-data; boundary=b0undary"}
        )
    assert response.status_code == 403
    assert stored_nothing(uploads, tmp_path / "store")


def test_scripts_may_send_the_token_in_a_header(uploads: ServerThread) -> None:
    with requests.Session() as session:
        action, token = upload_form(uploads, session)
        response = session.post(
            uploads.url(action),
            files={"files": ("h.txt", b"by header")},
            headers={"X-XSRFToken": token, "Accept": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["files"][0]["sha256"] == sha(b"by header")
        wrong = session.post(uploads.url(action), files={"files": ("h.txt", b"x")}, headers={"X-XSRFToken": "nope"}, timeout=10)
        assert wrong.status_code == 403


def test_a_download_of_a_file_pruned_meanwhile_is_a_404(tmp_path: Path) -> None:
    app = make_app(prefix="/uploads/", upload_dir=str(tmp_path))
    store = app.settings["store"]
    writer = store.begin("gone.txt", "text/plain")
    writer.write(b"soon gone")
    writer.finish()
    (stored,) = store.commit([writer])
    os.unlink(store.data_path(stored.id))  # another process pruned it; our index still lists it
    with serve(app) as server:
        response = requests.get(server.url(f"/uploads/files/{stored.id}"), timeout=10)
        assert response.status_code == 404
        assert "pruned" in response.text  # the handler's own 404, not a missing route

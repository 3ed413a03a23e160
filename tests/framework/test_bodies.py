"""Request bodies through a real server: forms, multipart into request.files, JSON, and hostile input."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from framework.testing import ServerThread, serve
from framework.web import Application, RequestHandler

CALLS: list[str] = []


class FilesHandler(RequestHandler):
    def post(self) -> None:
        CALLS.append("post")
        files = {
            name: [
                {"filename": f["filename"], "content_type": f.content_type, "sha256": hashlib.sha256(f["body"]).hexdigest(),
                 "size": len(f.body)}
                for f in infos
            ]
            for name, infos in self.request.files.items()
        }
        self.write({"fields": {k: self.get_body_arguments(k) for k in self.request.body_arguments}, "files": files})


class JSONHandler(RequestHandler):
    def post(self) -> None:
        self.write({"got": self.get_json_body()})


@pytest.fixture
def server() -> Iterator[ServerThread]:
    CALLS.clear()
    with serve(Application([(r"/files", FilesHandler), (r"/json", JSONHandler)]), body_timeout=0.3) as running:
        yield running


def raw(server: ServerThread, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def multipart_request(boundary: str, body: bytes) -> bytes:
    return (
        f"POST /files HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def test_files_and_fields_round_trip(server: ServerThread) -> None:
    blobs = {"a.bin": os.urandom(200_000) + b"\r\n--" + os.urandom(10), "b.txt": b"", "c.txt": b"third"}
    response = requests.post(
        server.url("/files"),
        data={"title": "héllo", "tag": ["x", "y"]},
        files=[("docs", (n, d, "application/x-test")) for n, d in blobs.items()],
        timeout=20,
    )
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    assert result["fields"] == {"title": ["héllo"], "tag": ["x", "y"]}
    assert [f["filename"] for f in result["files"]["docs"]] == list(blobs)
    assert [f["sha256"] for f in result["files"]["docs"]] == [hashlib.sha256(d).hexdigest() for d in blobs.values()]
    assert {f["content_type"] for f in result["files"]["docs"]} == {"application/x-test"}


def test_filename_star_and_missing_part_content_type(server: ServerThread) -> None:
    body = (
        b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"plain.txt\"; filename*=UTF-8''%E4%BD%A0%E5%A5%BD.txt\r\n\r\n"
        b"x\r\n--b--\r\n"
    )
    reply = raw(server, multipart_request("b", body))
    assert b" 200 " in reply.split(b"\r\n", 1)[0]
    assert "你好.txt".encode() in reply.replace(b"\\u4f60\\u597d", "你好".encode())
    assert b'"application/octet-stream"' in reply


@pytest.mark.parametrize(
    ("boundary", "body"),
    [
        ("abc", b"--abc\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\ntruncated"),
        ("abc", b"--wrong\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--wrong--\r\n"),
        ("abc", b"--abc\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n" + b"x" * 5000),
        ("abc", b"--abc\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\rX-Injected: 1\"\r\n\r\nx\r\n--abc--\r\n"),
        ("abc", b"--abc\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--abc--\r\n"),
    ],
    ids=["truncated", "wrong-boundary", "never-ends", "header-injection", "no-disposition"],
)
def test_malformed_multipart_is_400_and_the_handler_is_not_called(server: ServerThread, boundary: str, body: bytes) -> None:
    reply = raw(server, multipart_request(boundary, body))
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b"X-Injected" not in reply.split(b"\r\n\r\n", 1)[0]
    assert CALLS == []


def test_ten_thousand_tiny_parts_are_refused_over_the_part_limit(server: ServerThread) -> None:
    body = b"".join(b"--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n%d\r\n" % i for i in range(10_000)) + b"--b--\r\n"
    reply = raw(server, multipart_request("b", body))
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert CALLS == []


def test_a_body_that_stops_midway_times_out_without_calling_the_handler(server: ServerThread) -> None:
    head = b"POST /files HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + b"--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\npartial")
        assert sock.recv(100) == b""  # cut off by the body timeout
    assert CALLS == []
    server.run(_no_connections_left(server))


def _no_connections_left(server: ServerThread) -> Any:
    async def check() -> None:
        assert server.server is not None
        for _ in range(100):
            if server.server.stats.open == 0:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(server.server.stats)

    return check


def test_json_body(server: ServerThread) -> None:
    assert requests.post(server.url("/json"), json={"a": [1, "é"]}, timeout=10).json() == {"got": {"a": [1, "é"]}}
    bad = requests.post(server.url("/json"), data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert bad.status_code == 400
    wrong_type = requests.post(server.url("/json"), data=b"{}", headers={"Content-Type": "text/plain"}, timeout=10)
    assert wrong_type.status_code == 400


def test_urlencoded_non_utf8_argument_is_400(server: ServerThread) -> None:
    response = requests.post(server.url("/files"), data=b"title=%ff", headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert response.status_code == 400

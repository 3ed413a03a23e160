"""Tests for framework/web/arguments.py: what a handler reads of a request's arguments and body.

Bodies through a real server (forms, multipart into ``request.files``, JSON,
and hostile input), then the ``get_argument`` family: each source, missing
arguments as 400s naming them, and bytes that are not UTF-8. Each test
declares the handler it exercises beside it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from framework.testing import ServerThread, serve
from framework.web import (
    Application,
    HTTPError,
    MissingArgumentError,
    RequestHandler,
)
from framework.web.arguments import ArgumentReader
from tests.framework.harness import app_errors, fetch, raw_exchange, running

CALLS: list[str] = []


class FilesHandler(RequestHandler):
    def post(self) -> None:
        CALLS.append("post")
        files = {
            name: [
                {
                    "filename": f["filename"],
                    "content_type": f.content_type,
                    "sha256": hashlib.sha256(f["body"]).hexdigest(),
                    "size": len(f.body),
                }
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
    with serve(Application([(r"/files", FilesHandler), (r"/json", JSONHandler)]), body_timeout=0.3) as server_thread:
        yield server_thread


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
        b'--b\r\nContent-Disposition: form-data; name="f"; filename="plain.txt"; '
        b"filename*=UTF-8''%E4%BD%A0%E5%A5%BD.txt\r\n\r\n"
        b"x\r\n--b--\r\n"
    )
    reply = raw_exchange(server.port, multipart_request("b", body))
    assert b" 200 " in reply.split(b"\r\n", 1)[0]
    assert "你好.txt".encode() in reply.replace(b"\\u4f60\\u597d", "你好".encode())
    assert b'"application/octet-stream"' in reply


@pytest.mark.parametrize(
    ("boundary", "body"),
    [
        ("abc", b'--abc\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\ntruncated'),
        ("abc", b'--wrong\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n--wrong--\r\n'),
        ("abc", b'--abc\r\nContent-Disposition: form-data; name="f"\r\n\r\n' + b"x" * 5000),
        ("abc", b'--abc\r\nContent-Disposition: form-data; name="f"; filename="a\rX-Injected: 1"\r\n\r\nx\r\n--abc--\r\n'),
        ("abc", b"--abc\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--abc--\r\n"),
    ],
    ids=["truncated", "wrong-boundary", "never-ends", "header-injection", "no-disposition"],
)
def test_malformed_multipart_is_400_and_the_handler_is_not_called(server: ServerThread, boundary: str, body: bytes) -> None:
    reply = raw_exchange(server.port, multipart_request(boundary, body))
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b"X-Injected" not in reply.split(b"\r\n\r\n", 1)[0]
    assert CALLS == []


def test_ten_thousand_tiny_parts_are_refused_over_the_part_limit(server: ServerThread) -> None:
    body = b"".join(b'--b\r\nContent-Disposition: form-data; name="f"\r\n\r\n%d\r\n' % i for i in range(10_000)) + b"--b--\r\n"
    reply = raw_exchange(server.port, multipart_request("b", body))
    assert reply.startswith(b"HTTP/1.1 400 ")  # over ParseMultipartConfig.max_parts (100), Tornado's status
    assert CALLS == []


def test_a_body_that_stops_midway_times_out_without_calling_the_handler(server: ServerThread) -> None:
    head = b"POST /files HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + b'--b\r\nContent-Disposition: form-data; name="f"\r\n\r\npartial')
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
    response = requests.post(
        server.url("/files"), data=b"title=%ff", headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10
    )
    assert response.status_code == 400


# -- get_argument and friends ------------------------------------------------------------


def test_missing_argument_is_400_naming_it() -> None:
    class NeedsNameHandler(RequestHandler):
        def get(self) -> None:
            self.write(self.get_argument("name"))

    with running([("/", NeedsNameHandler)]) as server:
        response = fetch(server, "/")
    assert response.status_code == 400
    assert response.reason == "Missing argument name"
    assert "Missing argument name" in response.text
    error = MissingArgumentError("name")
    assert (error.status_code, error.arg_name) == (400, "name")
    assert isinstance(error, HTTPError)


def test_get_argument_family() -> None:
    class ArgsHandler(RequestHandler):
        def post(self) -> None:
            self.write(
                {
                    "a": self.get_argument("a"),
                    "all_a": self.get_arguments("a"),
                    "spaced": self.get_argument("spaced"),
                    "spaced_raw": self.get_argument("spaced", strip=False),
                    "default": self.get_argument("absent", "dflt"),
                    "none_default": self.get_argument("absent", None),
                    "no_values": self.get_arguments("absent"),
                    "query_a": self.get_query_arguments("a"),
                    "body_a": self.get_body_arguments("a"),
                    "query_only": self.get_query_argument("q"),
                    "body_only": self.get_body_argument("b"),
                    "body_missing_q": self.get_body_argument("q", "not in body"),
                    "control": self.get_argument("ctl"),
                    "blank": self.get_argument("blank"),
                }
            )

    with running([("/", ArgsHandler)]) as server:
        response = fetch(
            server,
            "/?a=1&a=2&q=query&spaced=%20x%20&ctl=a%01b&blank=",
            method="POST",
            data={"a": "3", "b": "body"},
        )
    assert response.json() == {
        "a": "3",
        "all_a": ["1", "2", "3"],
        "spaced": "x",
        "spaced_raw": " x ",
        "default": "dflt",
        "none_default": None,
        "no_values": [],
        "query_a": ["1", "2"],
        "body_a": ["3"],
        "query_only": "query",
        "body_only": "body",
        "body_missing_q": "not in body",
        "control": "a b",
        "blank": "",
    }


def test_a_handler_s_own_decode_argument_reads_every_argument() -> None:
    # Tornado's hook for another charset: the base's UTF-8 is taken inline
    # only where a handler keeps it.
    class Latin1Handler(RequestHandler):
        def decode_argument(self, value: bytes, name: str | None = None) -> str:
            return value.decode("latin-1").upper()

        def post(self) -> None:
            self.write({"q": self.get_query_argument("q"), "b": self.get_body_argument("b"), "all": self.get_arguments("b")})

    with running([("/", Latin1Handler)]) as server:
        response = fetch(
            server, "/?q=caf%E9", method="POST", data=b"b=na%EFve", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    assert response.json() == {"q": "CAF\u00c9", "b": "NA\u00cfVE", "all": ["NA\u00cfVE"]}


@pytest.mark.parametrize("getter", ["get_argument", "get_query_argument", "get_body_argument"])
def test_missing_argument_from_each_source_is_400(getter: str) -> None:
    class OneArgHandler(RequestHandler):
        def post(self) -> None:
            self.write(getattr(self, getter)("x"))

    with running([("/", OneArgHandler)]) as server:
        response = fetch(server, "/", method="POST", data={"other": "1"})
    assert response.status_code == 400
    assert response.reason == "Missing argument x"


def test_non_utf8_argument_bytes_answer_400(caplog: pytest.LogCaptureFixture) -> None:
    class ArgHandler(RequestHandler):
        def get(self) -> None:
            self.write(self.get_argument("a"))

        def post(self) -> None:
            self.write(self.get_body_argument("a"))

    with running([("/", ArgHandler)]) as server:
        query = fetch(server, "/?a=%ff")
        body = fetch(server, "/", method="POST", data=b"a=%ff", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert query.status_code == 400
    assert body.status_code == 400
    assert app_errors(caplog) == []


def multipart_body(disposition: str, payload: bytes) -> bytes:
    return b"--b\r\nContent-Disposition: " + disposition.encode("utf-8") + b"\r\n\r\n" + payload + b"\r\n--b--\r\n"


@pytest.mark.parametrize(
    ("disposition", "payload", "status"),
    [
        ('form-data; name="\u6587\u4ef6"', b"x" * (1024 * 1024 + 1), 413),  # a field over the 1 MiB limit
        ("\u4e2d", b"x", 400),  # a Content-Disposition that is not one
    ],
    ids=["field-too-large", "bad-disposition"],
)
def test_input_error_quoting_non_latin1_input_keeps_its_status(
    disposition: str, payload: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    # The error's reason quotes the input; it cannot go out as it is, but the
    # status must (it used to become a 500), before any XSRF check too.
    class Form(RequestHandler):
        def post(self) -> None:
            self.write("never")

    caplog.set_level(logging.WARNING)
    with running([("/", Form)], xsrf_cookies=True) as server:
        response = fetch(
            server,
            "/",
            "POST",
            data=multipart_body(disposition, payload),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
    assert response.status_code == status
    assert "?" in response.reason
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))), st.booleans())
def test_an_argument_is_cleaned_as_the_control_character_rule_says(text: str, strip: bool) -> None:
    # Control characters but TAB, LF and CR become spaces (Tornado's rule); the
    # printable fast path must agree with the regex everywhere.
    expected = re.sub(r"[\x00-\x08\x0e-\x1f]", " ", text)
    expected = expected.strip() if strip else expected
    assert ArgumentReader()._clean_argument(text.encode("utf-8"), "field", strip) == expected

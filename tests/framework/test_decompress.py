"""``HTTPServer(decompress_request=True)``: gzip request bodies inflated, the body limit on the inflated size."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
from typing import Any

import pytest
import requests

from framework.decompress import PIECE
from framework.httputil import HTTPConnection, HTTPHeaders, HTTPMessageDelegate, HTTPServerConnectionDelegate, RequestStartLine
from framework.testing import serve
from framework.web import Application, RequestHandler, stream_request_body


class FormHandler(RequestHandler):
    def post(self) -> None:
        self.write({
            "name": self.get_argument("name", None),
            "body_length": len(self.request.body),
            "content_length": self.request.headers.get("Content-Length"),
            "content_encoding": self.request.headers.get("Content-Encoding"),
            "consumed": self.request.headers.get("X-Consumed-Content-Encoding"),
        })  # fmt: skip


@stream_request_body
class StreamHandler(RequestHandler):
    def prepare(self) -> None:
        self.digest = hashlib.sha256()
        self.pieces = 0
        self.largest = 0

    async def data_received(self, chunk: bytes) -> None:
        await asyncio.sleep(0)  # an awaitable: the server waits for it between pieces
        self.digest.update(chunk)
        self.pieces += 1
        self.largest = max(self.largest, len(chunk))

    def put(self) -> None:
        self.write({"sha256": self.digest.hexdigest(), "pieces": self.pieces, "largest": self.largest})


def app() -> Application:
    return Application([("/form", FormHandler), ("/stream", StreamHandler)])


def post_gzip(url: str, body: bytes, method: str = "POST", **headers: str) -> requests.Response:
    headers = {"Content-Encoding": "gzip", **headers}
    return requests.request(method, url, data=body, headers=headers, timeout=10)


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_gzip_form_body_reaches_the_handler_inflated() -> None:
    with serve(app(), decompress_request=True) as server:
        seen = post_gzip(server.url("/form"), gzip.compress(b"name=caf%C3%A9&x=1"), **FORM).json()
    assert seen == {
        "name": "caf\u00e9",
        "body_length": len(b"name=caf%C3%A9&x=1"),
        "content_length": str(len(b"name=caf%C3%A9&x=1")),
        "content_encoding": None,
        "consumed": "gzip",
    }


def test_without_the_option_an_encoded_form_body_is_refused() -> None:
    # As Tornado: a form body that says it is encoded cannot be read as a form (400).
    with serve(app()) as server:
        response = post_gzip(server.url("/form"), gzip.compress(b"name=x"), **FORM)
    assert response.status_code == 400 and "Unsupported Content-Encoding: gzip" in response.text


def test_other_codings_are_not_touched() -> None:
    with serve(app(), decompress_request=True) as server:
        response = post_gzip(server.url("/form"), b"raw", **{**FORM, "Content-Encoding": "br"})
    assert response.status_code == 400 and "Unsupported Content-Encoding: br" in response.text  # (left as sent)


def test_a_streamed_body_is_inflated_in_bounded_pieces_with_flow_control() -> None:
    data = os.urandom(300_000) + bytes(2_000_000)
    with serve(app(), decompress_request=True, max_body_size=4_000_000) as server:
        seen = post_gzip(server.url("/stream"), gzip.compress(data), "PUT").json()
    assert seen["sha256"] == hashlib.sha256(data).hexdigest()
    assert seen["largest"] <= PIECE and seen["pieces"] >= len(data) // PIECE


def test_a_zip_bomb_is_a_413() -> None:
    bomb = gzip.compress(bytes(20_000_000))
    assert len(bomb) < 100_000
    with serve(app(), decompress_request=True, max_body_size=1_000_000) as server:
        response = post_gzip(server.url("/form"), bomb, **FORM)
        streamed = post_gzip(server.url("/stream"), bomb, "PUT")
        fine = post_gzip(server.url("/form"), gzip.compress(b"name=ok"), **FORM)
    assert response.status_code == 413 and streamed.status_code == 413
    assert fine.json()["name"] == "ok"


@pytest.mark.parametrize("body", [b"not gzip at all", gzip.compress(b"name=truncated")[:-6]], ids=["not-gzip", "truncated"])
def test_a_corrupt_or_truncated_body_is_a_400(body: bytes) -> None:
    with serve(app(), decompress_request=True) as server:
        response = post_gzip(server.url("/form"), body, **FORM)
    assert response.status_code == 400


def test_a_truncated_body_ends_the_inner_delegate_with_on_connection_close() -> None:
    """Tornado's rule for a message delegate: ``finish()`` or ``on_connection_close()``, exactly one."""
    calls: list[str] = []

    class Recorder(HTTPMessageDelegate):
        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
            calls.append("headers")

        def data_received(self, chunk: bytes) -> None:
            calls.append("data")

        def finish(self) -> None:
            calls.append("finish")

        def on_connection_close(self) -> None:
            calls.append("on_connection_close")

    class Recording(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return Recorder()

    with serve(Recording(), decompress_request=True) as server:
        response = post_gzip(server.url("/"), gzip.compress(b"x" * 100)[:-6])
    assert response.status_code == 400
    assert calls == ["headers", "data", "on_connection_close"]


def test_unknown_server_arguments_still_fail_loudly() -> None:
    from framework.httpserver import HTTPServer

    with pytest.raises(TypeError):
        HTTPServer(lambda request: None, decompress_requests=True)
    server: Any = HTTPServer(lambda request: None, decompress_request=True)
    assert server.state.config.decompress_request

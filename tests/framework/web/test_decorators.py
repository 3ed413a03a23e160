"""Tests of ``framework/web/decorators.py``: Tornado's handler decorators.

``@stream_request_body`` (the body to ``data_received`` as it arrives),
``@asynchronous`` (a callback-style method finishes when it says so, a
coroutine when it ends), ``@addslash``/``@removeslash`` (a 301 for GET and
HEAD, a 404 for other methods). Each test declares its handler beside it and
talks to a real server on an ephemeral port.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import framework.web
from framework import gen
from framework.ioloop import IOLoop
from framework.web import RequestHandler, asynchronous
from tests.framework.harness import fetch, running


def test_stream_request_body_delivers_chunks() -> None:
    @framework.web.stream_request_body
    class UploadHandler(RequestHandler):
        def prepare(self) -> None:
            self.received: list[bytes] = []

        def data_received(self, chunk: bytes) -> None:
            self.received.append(chunk)

        def put(self) -> None:
            body = b"".join(self.received)
            self.write({"size": len(body), "request_body": len(self.request.body), "ok": body == payload})

    payload = bytes(range(256)) * 4096  # 1 MiB

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    with running([("/upload", UploadHandler)]) as server:
        sized = fetch(server, "/upload", method="PUT", data=payload)
        chunked = fetch(server, "/upload", method="PUT", data=chunks())
    assert sized.json() == {"size": len(payload), "request_body": 0, "ok": True}
    assert chunked.json() == {"size": len(payload), "request_body": 0, "ok": True}
    with pytest.raises(TypeError):
        framework.web.stream_request_body(object)  # type: ignore[type-var]


# -- callback style ----------------------------------------------------------------


def test_asynchronous_decorator_waits_for_finish() -> None:
    events: list[str] = []

    class CallbackHandler(RequestHandler):
        @asynchronous
        def get(self) -> None:
            IOLoop.current().call_later(0.01, self.on_done)
            events.append("get returned")

        def on_done(self) -> None:
            events.append("on_done")
            self.write("done later")
            self.finish()

    with running([("/", CallbackHandler)]) as server:
        response = fetch(server, "/")
    assert response.text == "done later"
    assert events == ["get returned", "on_done"]


def test_asynchronous_on_a_coroutine_finishes_when_it_completes() -> None:
    """Tornado: with a coroutine, ``@asynchronous`` (placed first) is ignored."""

    class LegacyHandler(RequestHandler):
        @asynchronous
        @gen.coroutine
        def get(self) -> Any:
            yield gen.sleep(0.001)
            self.write("legacy pair")  # no finish(): the coroutine's end finishes

    with running([("/", LegacyHandler)]) as server:
        assert fetch(server, "/").text == "legacy pair"


def test_addslash_and_removeslash() -> None:
    class SlashHandler(RequestHandler):
        @framework.web.addslash
        def get(self) -> None:
            self.write("with slash")

        @framework.web.addslash
        def post(self) -> None:
            self.write("posted")

    class NoSlashHandler(RequestHandler):
        @framework.web.removeslash
        def get(self) -> None:
            self.write("without slash")

    with running([(r"/dir/?", SlashHandler), (r"/file/?", NoSlashHandler)]) as server:
        added = fetch(server, "/dir?x=1")
        removed = fetch(server, "/file/?x=1")
        assert fetch(server, "/dir/").text == "with slash"
        assert fetch(server, "/file").text == "without slash"
        assert fetch(server, "/dir", method="POST").status_code == 404
    assert (added.status_code, added.headers["Location"]) == (301, "/dir/?x=1")
    assert (removed.status_code, removed.headers["Location"]) == (301, "/file?x=1")

"""Tests for framework/http1connection/exchange.py: ``HTTP1Connection``, a request's side of its connection.

On the fake transport (``fake_transport.py``). Over real sockets, how an
exchange frames a response and checks its headers is tested in
``test_keep_alive.py``, a per-request body limit in ``test_request_bodies.py``
and ``detach`` in ``tests/framework/web/test_detach.py``.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest

from framework import http1
from framework.http1connection import HTTP1Connection
from framework.httputil import HTTPServerRequest
from framework.web import Application, RequestHandler
from tests.framework.harness import async_test, eventually, get, post
from tests.framework.http1connection.fake_transport import connect, count


class LatePrepare(RequestHandler):
    """Raises the body limit in an async prepare(), when its own body is long read."""

    opened: ClassVar[asyncio.Event]

    async def prepare(self) -> None:
        await LatePrepare.opened.wait()
        assert self.request.connection is not None
        self.request.connection.set_max_body_size(10**9)

    def get(self) -> None:
        self.write("late")


class BodyLength(RequestHandler):
    def post(self) -> None:
        self.write(f"got {len(self.request.body)}")


@async_test
async def test_a_body_limit_set_after_the_body_was_read_does_not_reach_the_next_request() -> None:
    LatePrepare.opened = asyncio.Event()
    app = Application([(r"/late", LatePrepare), (r"/length", BodyLength)])
    server, protocol, transport = connect(app, max_body_size=1000)
    protocol.data_received(get("/late"))
    await asyncio.sleep(0.01)
    protocol.data_received(post("/length", b"z" * 5000))  # pipelined while /late is answered, over the limit
    await asyncio.sleep(0.01)
    LatePrepare.opened.set()
    await eventually(lambda: count(transport) == 2)
    assert [r.code for r in await transport.responses()] == [200, 413]
    assert server.state.parsers.idle.max_body_size == 1000


@async_test
async def test_finish_prepared_sends_the_whole_response_and_finishes_it() -> None:
    answered: list[str] = []

    def answer(request: HTTPServerRequest) -> None:
        conn = request.connection
        assert isinstance(conn, HTTP1Connection)
        fields = http1.PreparedFields({"server": ["test"]})
        conn.finish_prepared(200, "", fields, [("x-path", request.path)], b"whole " + request.path.encode())
        with pytest.raises(RuntimeError):
            conn.write(b"more")  # finished: nothing more goes out
        conn.finish()  # and finishing again is a no-op
        answered.append(request.path)

    server, protocol, transport = connect(answer)
    # Two kept-alive requests (the second pipelined), then one of HTTP/1.0, which closes.
    protocol.data_received(get("/a") + get("/b") + get("/c", version="HTTP/1.0"))
    await eventually(lambda: transport.closed)
    responses = await transport.responses()
    assert [(r.code, r.body, r.headers.get("x-path")) for r in responses] == [
        (200, b"whole /a", "/a"),
        (200, b"whole /b", "/b"),
        (200, b"whole /c", "/c"),
    ]
    assert answered == ["/a", "/b", "/c"]
    assert b"HTTP/1.1 200 OK\r\nServer: test\r\n" in transport.written

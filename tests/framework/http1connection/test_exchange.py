"""Tests for framework/http1connection/exchange.py: ``HTTP1Connection``, a request's side of its connection.

On the fake transport (``fake_transport.py``). Over real sockets, how an
exchange frames a response and checks its headers is tested in
``test_keep_alive.py``, a per-request body limit in ``test_request_bodies.py``
and ``detach`` in ``tests/framework/web/test_detach.py``.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

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

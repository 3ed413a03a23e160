"""Tests for framework/web/lifecycle.py: the context each stage of a request runs in, and cancellations.

As in Tornado, where each request runs in a task of its own: what one
request's handler sets in a context variable is not seen by the next request
on the connection, pipelined or not; a streamed request's stages (prepare,
data_received, the method) share one context; and a handler's task cancelled
from outside (a test's teardown, the loop shutting down) ends quietly, while
an await that ends cancelled inside it is answered 500 (test_lifecycle.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import unittest
import warnings
from collections.abc import Awaitable

import pytest

from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    RequestStartLine,
)
from framework.testing import AsyncHTTPTestCase, gen_test
from framework.web import Application, RequestHandler, stream_request_body
from tests.framework.harness import async_test, connect, get, read_response, serving

tag: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_tag", default=None)


# -- a pipelined request: in the server's context, not in a copy of the previous request's --


class AsyncSetsTag(RequestHandler):
    async def get(self) -> None:
        seen = tag.get()
        tag.set(self.request.path)
        await asyncio.sleep(0)
        self.write(f"{seen}")


class AsyncPrepareSyncGet(RequestHandler):
    async def prepare(self) -> None:
        await asyncio.sleep(0)

    def get(self) -> None:
        seen = tag.get()
        tag.set(self.request.path)
        self.write(f"{seen}")


@pytest.mark.parametrize("handler", [AsyncSetsTag, AsyncPrepareSyncGet])
@async_test
async def test_a_pipelined_request_does_not_see_the_previous_requests_context_variables(handler: type) -> None:
    app = Application([(r"/.*", handler)])
    async with serving(app) as (_server, port), connect(port) as (reader, writer):
        writer.write(get("/first") + get("/second"))  # pipelined: the second waits in the buffer
        first = await read_response(reader)
        second = await read_response(reader)
    assert first.body == b"None"
    assert second.body == b"None", f"the second request saw {second.body!r}, set by the first"


# -- a streamed request: its stages in one context, an async data_received too -----------


@stream_request_body
class StreamedAsyncChunks(RequestHandler):
    def prepare(self) -> None:
        tag.set("prepare")
        self.seen: list[str | None] = []

    async def data_received(self, chunk: bytes) -> None:
        self.seen.append(tag.get())
        tag.set("data_received")

    def put(self) -> None:
        self.write(f"{self.seen} {tag.get()}")


@async_test
async def test_an_async_data_received_sees_what_prepare_set_and_the_method_sees_what_it_set() -> None:
    app = Application([("/", StreamedAsyncChunks)])
    async with serving(app) as (_server, port), connect(port) as (reader, writer):
        writer.write(b"PUT / HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\nbody")
        response = await read_response(reader)
    # The streamed request's stages all run in one context (lifecycle.stream_started).
    assert response.body == b"['prepare'] data_received"


# -- a handler task cancelled itself (a test's teardown) ends quietly ---------------------


@pytest.mark.parametrize("where", ["get", "prepare"])
def test_a_long_poll_left_waiting_at_a_tests_end_is_not_reported_as_an_uncaught_exception(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    started = asyncio.Event()

    class Poll(RequestHandler):
        async def get(self) -> None:
            started.set()
            await asyncio.Event().wait()  # a long poll: the test ends before anything wakes it

    class PollInPrepare(RequestHandler):
        async def prepare(self) -> None:
            started.set()
            await asyncio.Event().wait()

        def get(self) -> None:
            self.write("not reached")

    class Case(AsyncHTTPTestCase):
        def get_app(self) -> Application:
            return Application([("/poll", Poll if where == "get" else PollInPrepare)])

        @gen_test
        async def test_it(self) -> None:
            started.clear()
            reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
            writer.write(get("/poll"))
            await asyncio.wait_for(started.wait(), 5)
            writer.close()
            await writer.wait_closed()

    result = unittest.TestResult()
    with caplog.at_level(logging.ERROR):
        Case("test_it").run(result)
    assert result.wasSuccessful(), result.errors + result.failures
    # tearDown cancels the coroutines a test left running, as Tornado's does:
    # that is no error of the handler's.
    errors = [r.getMessage() + (r.exc_text or "") for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


# -- an async data_received runs though a wrapping delegate drops its awaitable -------------


@stream_request_body
class CountsChunks(RequestHandler):
    async def data_received(self, chunk: bytes) -> None:
        chunks_seen.append(chunk)

    def put(self) -> None:
        self.write("ok")


chunks_seen: list[bytes] = []


class LoggingMessage(HTTPMessageDelegate):
    """A middleware's message delegate that hands everything on and returns nothing (no flow control)."""

    def __init__(self, inner: HTTPMessageDelegate) -> None:
        self.inner = inner

    def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> Awaitable[None] | None:
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> None:
        self.inner.data_received(chunk)

    def finish(self) -> None:
        self.inner.finish()

    def on_connection_close(self) -> None:
        self.inner.on_connection_close()


class LoggingServer(HTTPServerConnectionDelegate):
    def __init__(self, app: Application) -> None:
        self.app = app

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        return LoggingMessage(self.app.start_request(server_conn, request_conn))

    def on_close(self, server_conn: object) -> None:
        self.app.on_close(server_conn)


def test_an_async_data_received_runs_when_a_wrapping_delegate_does_not_return_its_awaitable() -> None:
    async def main() -> str:
        app = Application([("/", CountsChunks)])
        async with serving(LoggingServer(app)) as (_server, port), connect(port) as (reader, writer):
            writer.write(b"PUT / HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\nbody")
            response = await read_response(reader)
        await asyncio.sleep(0.05)  # without flow control data_received may run after the response: let it
        return response.body.decode()

    chunks_seen.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = asyncio.run(main())
        gc.collect()
    never_awaited = [str(w.message) for w in caught if "never awaited" in str(w.message)]
    # No flow control through such a wrapper: the chunk may arrive late, but it must arrive.
    assert (body, chunks_seen, never_awaited) == ("ok", [b"body"], [])

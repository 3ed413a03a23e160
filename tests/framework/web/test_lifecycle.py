"""Tests of a ``RequestHandler``'s request lifecycle (``framework/web/lifecycle.py``).

The tutorial's order: a new handler per request, ``initialize`` with the
route's keyword arguments, ``prepare`` (which may finish, await, or raise),
the HTTP method (sync, ``async def`` or ``gen.coroutine``; a 405 with
``Allow`` when it is not supported), then ``on_finish`` once; and
``on_connection_close`` when the client leaves first.

Every test declares the handler it exercises right beside it and talks to a
real server on an ephemeral port (``tests/framework/harness.py``); handlers
run on the server's thread, so tests share state with them through lists and
``threading.Event``, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import logging
import socket
import threading
import time
import weakref
from typing import Any

import pytest
import requests

from framework import gen
from framework.iostream import StreamClosedError
from framework.web import (
    Finish,
    HTTPError,
    RequestHandler,
    lifecycle,
    stream_request_body,
)
from tests.framework.harness import WAIT, fetch, raw_exchange, running, wait_until


def current_task() -> asyncio.Task[Any]:
    """The task running the handler's async method (the tests below add their own done-callbacks to it)."""
    task = asyncio.current_task()
    assert task is not None
    return task


def test_a_new_handler_instance_per_request() -> None:
    seen: list[RequestHandler] = []

    class CountingHandler(RequestHandler):
        def get(self) -> None:
            seen.append(self)

    with running([("/", CountingHandler)]) as server:
        with requests.Session() as session:  # one keep-alive connection
            for _ in range(3):
                with session.get(server.url("/"), timeout=10) as response:
                    assert response.status_code == 200
    assert len(seen) == 3 and len({id(h) for h in seen}) == 3


def test_initialize_receives_route_kwargs() -> None:
    class InitHandler(RequestHandler):
        def initialize(self, greeting: str, punctuation: str = ".") -> None:
            self.greeting = greeting + punctuation

        def get(self) -> None:
            self.write(self.greeting)

    with running([("/", InitHandler, {"greeting": "hi", "punctuation": "!"})]) as server:
        assert fetch(server, "/").text == "hi!"


def test_prepare_may_finish_and_then_the_method_is_not_called() -> None:
    calls: list[str] = []

    class GuardHandler(RequestHandler):
        def prepare(self) -> None:
            calls.append("prepare")
            if self.get_argument("stop", None):
                self.finish("stopped in prepare")

        def get(self) -> None:
            calls.append("get")
            self.write("reached get")

    with running([("/", GuardHandler)]) as server:
        assert fetch(server, "/?stop=1").text == "stopped in prepare"
        assert calls == ["prepare"]
        assert fetch(server, "/").text == "reached get"
        assert calls == ["prepare", "prepare", "get"]


def test_async_prepare_runs_before_the_method() -> None:
    class AsyncPrepareHandler(RequestHandler):
        async def prepare(self) -> None:
            await asyncio.sleep(0.001)
            self.prepared = "yes"

        def get(self) -> None:
            self.write(self.prepared)

    with running([("/", AsyncPrepareHandler)]) as server:
        assert fetch(server, "/").text == "yes"


def test_prepare_raising_skips_the_method() -> None:
    calls: list[str] = []

    class SyncDeniedHandler(RequestHandler):
        def prepare(self) -> None:
            raise HTTPError(401)

        def get(self) -> None:
            calls.append("sync get")

    class AsyncDeniedHandler(RequestHandler):
        async def prepare(self) -> None:
            await asyncio.sleep(0)
            raise HTTPError(403)

        def get(self) -> None:
            calls.append("async get")

    with running([("/sync", SyncDeniedHandler), ("/async", AsyncDeniedHandler)]) as server:
        assert fetch(server, "/sync").status_code == 401
        assert fetch(server, "/async").status_code == 403
    assert calls == []


def test_an_async_method_failing_after_an_async_prepare_is_answered_once_and_leaves_no_task_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The method's own task answers its exception; the task that ran prepare
    # first and then started the method must not hold that exception too,
    # for asyncio to report as "never retrieved" when it goes.
    class LateFailureHandler(RequestHandler):
        async def prepare(self) -> None:
            await asyncio.sleep(0)

        async def get(self) -> None:
            await asyncio.sleep(0)
            raise ValueError("the method failed")

    with running([("/", LateFailureHandler)]) as server:
        assert fetch(server, "/").status_code == 500
        # A second exchange: the first one's callbacks have all run by its end.
        assert fetch(server, "/").status_code == 500
        gc.collect()
    assert "never retrieved" not in caplog.text
    assert [r.getMessage().split("\n")[0] for r in caplog.records if "the method failed" in str(r.exc_info)] == [
        "Uncaught exception GET / (127.0.0.1)"
    ] * 2


def test_sync_async_and_gen_coroutine_methods() -> None:
    class SyncHandler(RequestHandler):
        def get(self) -> None:
            self.write("sync")

    class AsyncHandler(RequestHandler):
        async def get(self) -> None:
            await asyncio.sleep(0.001)
            self.write("async")

    class GenHandler(RequestHandler):
        @gen.coroutine
        def get(self) -> Any:
            yield gen.sleep(0.001)
            self.write("gen")

    with running([("/sync", SyncHandler), ("/async", AsyncHandler), ("/gen", GenHandler)]) as server:
        assert fetch(server, "/sync").text == "sync"
        assert fetch(server, "/async").text == "async"
        assert fetch(server, "/gen").text == "gen"


def test_an_async_method_runs_in_a_task_named_after_it() -> None:
    class NamedHandler(RequestHandler):
        async def post(self) -> None:
            task = asyncio.current_task()
            assert task is not None
            self.write(task.get_name())

    with running([("/", NamedHandler)]) as server:
        assert fetch(server, "/", method="POST", data=b"").text.endswith("NamedHandler.post")


def test_requests_whose_methods_return_one_shared_future_all_finish() -> None:
    # A plain method may return any awaitable, the same one for many requests.
    class Gate:
        future: asyncio.Future[None] | None = None

    class WaitingHandler(RequestHandler):
        def get(self) -> asyncio.Future[None]:
            if Gate.future is None:
                Gate.future = asyncio.get_running_loop().create_future()
            self.write("opened")
            return Gate.future

    class OpenHandler(RequestHandler):
        def post(self) -> None:
            assert Gate.future is not None
            Gate.future.set_result(None)

    with running([("/wait", WaitingHandler), ("/open", OpenHandler)]) as server:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            waiting = [pool.submit(fetch, server, "/wait") for _ in range(2)]
            wait_until(lambda: Gate.future is not None)
            time.sleep(0.2)  # both requests are in and waiting on the one future
            assert fetch(server, "/open", method="POST").status_code == 200
            assert [f.result(timeout=WAIT).text for f in waiting] == ["opened", "opened"]


def test_on_finish_is_called_once_after_the_response() -> None:
    events: list[str] = []
    finished = threading.Event()

    class FinishHandler(RequestHandler):
        def get(self) -> None:
            events.append("get")
            self.write("body")

        def on_finish(self) -> None:
            events.append(f"on_finish {self.get_status()}")
            with pytest.raises(RuntimeError):
                self.write("too late")  # the response is complete
            finished.set()

    with running([("/", FinishHandler)]) as server:
        assert fetch(server, "/").text == "body"
        assert finished.wait(WAIT)
    assert events == ["get", "on_finish 200"]


def test_on_finish_of_an_async_method_sees_the_context_variables_it_set() -> None:
    # As in Tornado, where finish() runs inside the handler's own coroutine.
    request_tag: contextvars.ContextVar[str] = contextvars.ContextVar("request_tag", default="unset")
    seen: list[str] = []
    finished = threading.Event()

    class TaggingHandler(RequestHandler):
        async def get(self) -> None:
            request_tag.set(self.get_argument("tag"))
            await asyncio.sleep(0)
            self.write("tagged")

        def on_finish(self) -> None:
            seen.append(request_tag.get())
            finished.set()

    with running([("/", TaggingHandler)]) as server:
        assert fetch(server, "/?tag=first").text == "tagged"
        assert finished.wait(WAIT)
        finished.clear()
        assert fetch(server, "/?tag=second").text == "tagged"
        assert finished.wait(WAIT)
    assert seen == ["first", "second"]
    assert request_tag.get() == "unset"  # nothing leaked out of the requests


def test_a_context_variable_a_handler_sets_stays_its_requests_own() -> None:
    # Tornado runs each request in a task of its own: what a synchronous
    # prepare() or method sets does not reach the next request on the same
    # keep-alive connection, and what an async prepare() sets, the method sees.
    tag: contextvars.ContextVar[str | None] = contextvars.ContextVar("tag", default=None)

    class SetsInPrepare(RequestHandler):
        def prepare(self) -> None:
            self.seen = tag.get()
            tag.set("prepare")

        def get(self) -> None:
            self.write(f"{self.seen} {tag.get()}")

    class SetsInGet(RequestHandler):
        def get(self) -> None:
            self.write(f"{tag.get()}")
            tag.set("get")

    class AsyncPrepare(RequestHandler):
        async def prepare(self) -> None:
            await asyncio.sleep(0)
            tag.set("async prepare")

        async def get(self) -> None:
            self.write(f"{tag.get()}")

    @stream_request_body
    class Streamed(RequestHandler):
        def prepare(self) -> None:
            tag.set("streamed prepare")

        def data_received(self, chunk: bytes) -> None:
            self.chunks = f"{tag.get()} saw a chunk"

        def put(self) -> None:
            self.write(f"{self.chunks}, {tag.get()}")

    handlers = [("/prepare", SetsInPrepare), ("/get", SetsInGet), ("/async", AsyncPrepare), ("/streamed", Streamed)]
    with running(handlers) as server, requests.Session() as session:  # one keep-alive connection
        texts = [
            session.get(server.url(path), timeout=WAIT).text
            for path in ("/prepare", "/prepare", "/get", "/get", "/async", "/get")
        ]
        streamed = session.put(server.url("/streamed"), data=b"body", timeout=WAIT).text
        after = session.get(server.url("/get"), timeout=WAIT).text
    assert texts == ["None prepare", "None prepare", "None", "None", "async prepare", "None"]
    assert (streamed, after) == ("streamed prepare saw a chunk, streamed prepare", "None")


@pytest.mark.parametrize("where", ["prepare", "get"])
def test_an_await_that_ends_cancelled_is_answered_as_an_uncaught_exception(where: str, caplog: pytest.LogCaptureFixture) -> None:
    # Something else cancelled what the handler awaited: Tornado answers 500
    # and logs it; the client must not wait for ever.
    async def cancelled_wait() -> None:
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.cancel)
        await future

    class CancelledInPrepare(RequestHandler):
        async def prepare(self) -> None:
            await cancelled_wait()

        def get(self) -> None:
            self.write("not reached")

    class CancelledInGet(RequestHandler):
        async def get(self) -> None:
            await cancelled_wait()
            self.write("not reached")

    handler = CancelledInPrepare if where == "prepare" else CancelledInGet
    with running([("/", handler)]) as server:
        response = fetch(server, "/")
    assert response.status_code == 500
    assert "not reached" not in response.text
    assert any("CancelledError" in (r.exc_text or "") for r in caplog.records if r.levelno >= logging.ERROR)


def test_a_handler_that_finished_goes_as_soon_as_its_async_method_returns() -> None:
    # Not a loop iteration later with its task's done-callback: a fan-out of
    # thousands of long polls leaves no garbage behind it.
    seen: list[bool] = []
    checked = threading.Event()

    class EarlyHandler(RequestHandler):
        async def get(self) -> None:
            await asyncio.sleep(0)
            self.finish("done")
            handler = weakref.ref(self)

            def check() -> None:  # queued before the task's own done-callback
                seen.append(handler() is None)
                checked.set()

            asyncio.get_running_loop().call_soon(check)

    with running([("/", EarlyHandler)]) as server:
        assert fetch(server, "/").text == "done"
        assert checked.wait(WAIT)
    assert seen == [True]


def test_a_handler_finished_by_another_request_goes_as_soon_as_its_own_method_returns() -> None:
    # As a chat room's poster finishes its waiters: their tasks are not the one that calls finish().
    seen: list[bool] = []
    checked = threading.Event()
    waiting: list[tuple[RequestHandler, asyncio.Event]] = []
    parked = threading.Event()

    class Waiter(RequestHandler):
        async def get(self) -> None:
            wake = asyncio.Event()
            waiting.append((self, wake))
            parked.set()
            await wake.wait()
            handler = weakref.ref(self)

            def check() -> None:  # queued before the task's own done-callback
                seen.append(handler() is None)
                checked.set()

            asyncio.get_running_loop().call_soon(check)

    class Poster(RequestHandler):
        def post(self) -> None:
            waiter, wake = waiting.pop()
            waiter.finish("from the poster")
            wake.set()
            self.finish("posted")

    with running([("/wait", Waiter), ("/post", Poster)]) as server:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waited = pool.submit(fetch, server, "/wait")
            assert parked.wait(WAIT)
            assert fetch(server, "/post", method="POST", data=b"").text == "posted"
            assert waited.result(WAIT).text == "from the poster"
        assert checked.wait(WAIT)
    assert seen == [True]


def test_an_exception_after_finish_still_reaches_log_exception() -> None:
    logged: list[str] = []
    done = threading.Event()

    class LateFailureHandler(RequestHandler):
        async def get(self) -> None:
            self.finish("answered")
            await asyncio.sleep(0)
            raise ValueError("after the response")

        def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
            logged.append(f"{self.request.path}: {value}")
            done.set()

    with running([("/late", LateFailureHandler)]) as server:
        assert fetch(server, "/late").text == "answered"
        assert done.wait(WAIT)
    assert logged == ["/late: after the response"]


@pytest.mark.parametrize(
    ("raised", "level", "text"),
    [
        (ValueError("after the response, handler gone"), logging.ERROR, "after the response, handler gone"),
        (HTTPError(409), logging.WARNING, "409"),
        (Finish(), None, None),  # as with a handler: not an error
        (StreamClosedError(), logging.DEBUG, "client closed the connection"),
    ],
    ids=["error", "http-error", "finish", "client-gone"],
)
def test_an_exception_after_finish_with_no_handler_left_is_reported_as_with_one(
    caplog: pytest.LogCaptureFixture, raised: BaseException, level: int | None, text: str | None
) -> None:
    caplog.set_level(logging.DEBUG)
    reported = threading.Event()

    class ForgetfulHandler(RequestHandler):
        async def get(self) -> None:
            self.finish("answered")
            # finish() took the framework's done-callback off the task and puts
            # it back within the next iteration, after this one: the report
            # is waited for one iteration after this callback.
            loop = asyncio.get_running_loop()
            current_task().add_done_callback(lambda task: loop.call_soon(reported.set))
            del self  # nothing in the traceback will hold the handler
            await asyncio.sleep(0)
            raise raised

    with running([("/", ForgetfulHandler)]) as server:
        assert fetch(server, "/").text == "answered"
        assert reported.wait(WAIT)
    after = [
        r for r in caplog.records if "after its response finished" in r.getMessage() or "after the response of" in r.getMessage()
    ]
    if level is None:
        assert after == []
    else:
        assert [r.levelno for r in after] == [level]
        assert "ForgetfulHandler.get" in after[0].getMessage()
        assert text is not None and text in caplog.text


class ContextRecorder(logging.Handler):
    """Keeps a context variable's value as each record is emitted (a request-id filter would read it so)."""

    def __init__(self, variable: contextvars.ContextVar[str]) -> None:
        super().__init__(logging.ERROR)
        self.variable = variable
        self.seen: list[str] = []
        self.emitted = threading.Semaphore(0)

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(self.variable.get())
        self.emitted.release()


@pytest.mark.parametrize("when", ["in-the-finishing-step", "after-an-await"])
@pytest.mark.parametrize("handler_kept", [True, False], ids=["handler-kept", "handler-gone"])
@pytest.mark.parametrize("finisher", ["itself", "the-waker"])
def test_an_exception_after_finish_is_reported_in_its_methods_context(when: str, handler_kept: bool, finisher: str) -> None:
    # A method that finishes its own response has its task's done-callback
    # taken off and looked at, with the others finished in the same
    # iteration, one iteration later; one finished by another request keeps
    # it. Whichever way it ends, each report runs in its own method's
    # context, as in Tornado's coroutine. Two waiters woken at once finish in
    # one iteration.
    tag: contextvars.ContextVar[str] = contextvars.ContextVar("tag", default="unset")
    recorder = ContextRecorder(tag)
    seen: list[str] = []
    reported = threading.Semaphore(0)
    parked = threading.Semaphore(0)
    wake: list[asyncio.Event] = []
    waiters: list[RequestHandler] = []

    class LateFailureHandler(RequestHandler):
        async def get(self) -> None:
            tag.set(self.get_argument("tag"))
            if not wake:
                wake.append(asyncio.Event())
            if finisher == "the-waker":
                waiters.append(self)
            parked.release()
            await wake[0].wait()
            name = self.get_argument("tag")
            if finisher == "itself":
                self.finish("answered")
            if not handler_kept:
                del self  # the report comes from the module, with no handler left
            tag.set(f"{name} after finish")  # (the task's own context, not a copy taken at finish())
            if when == "after-an-await":
                await asyncio.sleep(0)
                tag.set(f"{name} after the await")
            raise ValueError("after the response")

        def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
            seen.append(tag.get())
            reported.release()

    class WakeHandler(RequestHandler):
        def post(self) -> None:
            while waiters:
                waiters.pop().finish("answered")
            wake[0].set()

    logger = logging.getLogger("framework.application")
    logger.addHandler(recorder)
    try:
        with running([("/wait", LateFailureHandler), ("/wake", WakeHandler)]) as server:
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                waits = [pool.submit(fetch, server, f"/wait?tag={name}") for name in ("first", "second")]
                assert parked.acquire(timeout=WAIT) and parked.acquire(timeout=WAIT)
                assert fetch(server, "/wake", method="POST", data=b"").status_code == 200
                assert [w.result(WAIT).text for w in waits] == ["answered", "answered"]
            for _ in range(2):
                assert (reported if handler_kept else recorder.emitted).acquire(timeout=WAIT)
    finally:
        logger.removeHandler(recorder)
    last = "after finish" if when == "in-the-finishing-step" else "after the await"
    assert sorted(seen if handler_kept else recorder.seen) == [f"first {last}", f"second {last}"]


def test_a_report_after_finish_comes_before_done_callbacks_added_since() -> None:
    # As in Tornado, where the handler's coroutine reports before its task ends.
    events: list[str] = []
    reported = threading.Event()

    class LateFailureHandler(RequestHandler):
        async def get(self) -> None:
            self.finish("answered")
            current_task().add_done_callback(lambda task: (events.append("done-callback"), reported.set()))
            raise ValueError("after the response")

        def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
            events.append("log_exception")

    with running([("/", LateFailureHandler)]) as server:
        assert fetch(server, "/").text == "answered"
        assert reported.wait(WAIT)
    assert events == ["log_exception", "done-callback"]


class Abort(BaseException):
    """Not an ``Exception``: it goes on to the loop (as ``KeyboardInterrupt`` would, without stopping it)."""


def test_a_base_exception_after_finish_keeps_no_other_handler_from_its_report(caplog: pytest.LogCaptureFixture) -> None:
    # Three waiters woken at once finish in one iteration: what two raise
    # reaches the loop, each on its own, and the third's error is still reported.
    reported = threading.Event()
    parked = threading.Semaphore(0)
    wake: list[asyncio.Event] = []

    class LateFailureHandler(RequestHandler):
        async def get(self) -> None:
            if not wake:
                wake.append(asyncio.Event())
            parked.release()
            await wake[0].wait()
            self.finish("answered")
            kind = self.get_argument("raise")
            if kind != "value":
                raise Abort(kind)
            raise ValueError("after the response")

        def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
            if isinstance(value, ValueError):
                reported.set()

    class WakeHandler(RequestHandler):
        def post(self) -> None:
            wake[0].set()

    def loop_errors() -> str:
        return "".join((r.exc_text or "") + r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)

    kinds = ("first-abort", "value", "second-abort")
    with running([("/wait", LateFailureHandler), ("/wake", WakeHandler)]) as server:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            waits = [pool.submit(fetch, server, f"/wait?raise={kind}") for kind in kinds]
            assert all(parked.acquire(timeout=WAIT) for _ in kinds)
            assert fetch(server, "/wake", method="POST", data=b"").status_code == 200
            assert [w.result(WAIT).text for w in waits] == ["answered"] * 3
        assert reported.wait(WAIT)
        wait_until(lambda: "first-abort" in loop_errors() and "second-abort" in loop_errors())


def test_a_handler_finished_by_another_reports_before_its_tasks_other_done_callbacks() -> None:
    # A chat room's poster finishes its waiters: a waiter's method that then
    # raises is reported before the done-callbacks on its task, as in
    # Tornado, where the report comes from within the coroutine.
    events: list[str] = []
    reported = threading.Event()
    parked = threading.Event()
    waiting: list[tuple[RequestHandler, asyncio.Event]] = []

    class Waiter(RequestHandler):
        async def get(self) -> None:
            current_task().add_done_callback(lambda task: (events.append("done-callback"), reported.set()))
            wake = asyncio.Event()
            waiting.append((self, wake))
            parked.set()
            await wake.wait()
            raise ValueError("after the response")

        def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
            events.append("log_exception")

    class Poster(RequestHandler):
        def post(self) -> None:
            waiter, wake = waiting.pop()
            waiter.finish("from the poster")
            wake.set()

    with running([("/wait", Waiter), ("/post", Poster)]) as server:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waited = pool.submit(fetch, server, "/wait")
            assert parked.wait(WAIT)
            assert fetch(server, "/post", method="POST", data=b"").status_code == 200
            assert waited.result(WAIT).text == "from the poster"
        assert reported.wait(WAIT)
    assert events == ["log_exception", "done-callback"]


@pytest.mark.parametrize("handler_kept", [True, False], ids=["handler-kept", "handler-gone"])
def test_a_cancellation_awaited_after_finish_is_reported_as_in_tornado(
    handler_kept: bool, caplog: pytest.LogCaptureFixture
) -> None:
    reported = threading.Event()
    seen: list[str] = []

    class LateCancelHandler(RequestHandler):
        async def get(self) -> None:
            self.finish("answered")
            if not handler_kept:
                del self
            future = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(future.cancel)  # (something else cancels what it awaits)
            await future

        def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
            seen.append(typ.__name__)
            reported.set()

    with running([("/", LateCancelHandler)]) as server:
        assert fetch(server, "/").text == "answered"
        if handler_kept:
            assert reported.wait(WAIT)
        else:
            wait_until(lambda: any("after its response finished" in r.getMessage() for r in caplog.records))
    if handler_kept:
        assert seen == ["CancelledError"]
    else:
        after = [r for r in caplog.records if "after its response finished" in r.getMessage()]
        assert [r.levelno for r in after] == [logging.ERROR]
        assert "CancelledError" in (after[0].exc_text or "")


def test_an_async_method_that_returns_without_finishing_leaves_its_handler_to_reference_counting() -> None:
    # The handler kept its task's context until the method ended: a handler
    # a context variable holds would otherwise be a cycle only the collector frees.
    holder: contextvars.ContextVar[RequestHandler] = contextvars.ContextVar("holder")
    refs: list[weakref.ReferenceType[RequestHandler]] = []
    alive: list[bool] = []
    checked = threading.Event()

    class AutoFinishHandler(RequestHandler):
        async def get(self) -> None:
            holder.set(self)
            refs.append(weakref.ref(self))
            self.write("written")  # (finished after it returns: Tornado's auto-finish)

        def on_finish(self) -> None:
            def check() -> None:
                alive.append(refs[0]() is not None)
                checked.set()

            loop = asyncio.get_running_loop()
            loop.call_soon(loop.call_soon, check, context=contextvars.Context())

    gc.disable()
    try:
        with running([("/", AutoFinishHandler)]) as server:
            assert fetch(server, "/").text == "written"
            assert checked.wait(WAIT)
    finally:
        gc.enable()
    assert alive == [False]


def test_a_finished_handlers_task_and_context_are_let_go_of_within_an_iteration() -> None:
    # Nothing the framework keeps between iterations holds a finished task,
    # its context's values or the handler (a server that goes quiet after a
    # fan-out must not keep the last one's).
    payload_var: contextvars.ContextVar[object] = contextvars.ContextVar("payload")
    refs: list[weakref.ReferenceType[Any]] = []
    alive: list[bool] = []
    checked = threading.Event()

    class Payload:
        pass

    class QuickHandler(RequestHandler):
        async def get(self) -> None:
            payload = Payload()
            payload_var.set(payload)
            refs.extend([weakref.ref(payload), weakref.ref(current_task()), weakref.ref(self)])
            self.finish("done")

            def check() -> None:  # two iterations on: the framework's look at the task is over
                gc.collect()
                alive.extend(ref() is not None for ref in refs)
                checked.set()

            loop = asyncio.get_running_loop()
            loop.call_soon(loop.call_soon, check, context=contextvars.Context())  # (a copy of this one would hold the payload)

    with running([("/", QuickHandler)]) as server:
        assert fetch(server, "/").text == "done"
        assert checked.wait(WAIT)
    assert alive == [False, False, False]


def test_a_client_gone_after_finish_does_not_run_on_finish_twice() -> None:
    calls: list[str] = []
    answered = threading.Event()

    class LateWriteHandler(RequestHandler):
        async def get(self) -> None:
            self.finish("answered")
            # Runs after the framework's own done-callback, added when the task was made.
            current_task().add_done_callback(lambda task: answered.set())
            await asyncio.sleep(0)
            raise StreamClosedError()

        def on_finish(self) -> None:
            calls.append("on_finish")

    with running([("/", LateWriteHandler)]) as server:
        assert fetch(server, "/").text == "answered"
        assert answered.wait(WAIT)
    assert calls == ["on_finish"]


def test_on_finish_is_called_once_after_an_error() -> None:
    events: list[str] = []
    finished = threading.Event()

    class FailingHandler(RequestHandler):
        def get(self) -> None:
            raise HTTPError(403)

        def on_finish(self) -> None:
            events.append(f"on_finish {self.get_status()}")
            finished.set()

    with running([("/", FailingHandler)]) as server:
        assert fetch(server, "/").status_code == 403
        assert finished.wait(WAIT)
    assert events == ["on_finish 403"]


def test_method_outside_supported_methods_is_405() -> None:
    class GetOnlyHandler(RequestHandler):
        SUPPORTED_METHODS = ("GET",)

        def get(self) -> None:
            self.write("got")

        def post(self) -> None:  # defined, but not supported
            self.write("posted")

    with running([("/", GetOnlyHandler)]) as server:
        assert fetch(server, "/").text == "got"
        response = fetch(server, "/", method="POST")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_custom_method_in_supported_methods() -> None:
    class PurgeHandler(RequestHandler):
        SUPPORTED_METHODS = RequestHandler.SUPPORTED_METHODS + ("PURGE",)

        def purge(self) -> None:
            self.write("purged")

    with running([("/", PurgeHandler)]) as server:
        assert fetch(server, "/", method="PURGE").text == "purged"


def test_method_not_defined_is_405_with_allow() -> None:
    class GetPostHandler(RequestHandler):
        def get(self) -> None:
            self.write("get")

        def post(self) -> None:
            self.write("post")

    with running([("/", GetPostHandler)]) as server:
        response = fetch(server, "/", method="DELETE")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert "405: Method Not Allowed" in response.text


def test_on_connection_close_when_the_client_leaves() -> None:
    closed = threading.Event()
    started = threading.Event()
    ended = threading.Event()

    class SlowHandler(RequestHandler):
        def initialize(self) -> None:
            self.gone = asyncio.Event()

        async def get(self) -> None:
            started.set()
            try:
                await asyncio.wait_for(self.gone.wait(), 10 * WAIT)
            finally:
                ended.set()

        def on_connection_close(self) -> None:
            closed.set()
            self.gone.set()

    with running([("/slow", SlowHandler)]) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            assert started.wait(WAIT)
        assert closed.wait(WAIT)
        assert ended.wait(WAIT)


def test_on_connection_close_not_called_for_a_finished_response() -> None:
    closes: list[str] = []
    finished = threading.Event()

    class QuickHandler(RequestHandler):
        def get(self) -> None:
            self.write("quick")

        def on_finish(self) -> None:
            finished.set()

        def on_connection_close(self) -> None:
            closes.append("closed")

    with running([("/", QuickHandler)]) as server:
        raw = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert finished.wait(WAIT)
    assert raw.endswith(b"quick")
    assert closes == []


def test_a_batch_stranded_by_a_closed_loop_is_let_go_of_at_the_threads_next_batch() -> None:
    # A loop stopped in the very iteration a handler finished, then closed,
    # never looks at that iteration's batch: nothing may keep its tasks.
    def finish_in_a_task(loop: asyncio.AbstractEventLoop, *, stop: bool) -> weakref.ReferenceType[Any]:
        refs: list[weakref.ReferenceType[Any]] = []

        async def method() -> None:
            task = current_task()
            refs.append(weakref.ref(task))
            lifecycle._running_tasks[task] = None  # (as _run_method registers a handler's task)
            lifecycle._task_ends_later(loop, task, contextvars.copy_context())  # (as finish() hands it over)
            if stop:
                loop.stop()

        loop.create_task(method())
        if stop:
            loop.run_forever()
        else:
            loop.run_until_complete(asyncio.sleep(0.01))
        return refs[0]

    stranded_loop = asyncio.new_event_loop()
    stranded = finish_in_a_task(stranded_loop, stop=True)
    stranded_loop.close()
    gc.collect()
    assert stranded() is not None  # (only its batch's look would have let go of it)
    next_loop = asyncio.new_event_loop()
    try:
        looked_at = finish_in_a_task(next_loop, stop=False)
    finally:
        next_loop.close()
    gc.collect()
    assert stranded() is None
    assert looked_at() is None

"""``framework/concurrent.py``: futures helpers and ``run_on_executor``; each test runs its own loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading
from typing import Any

import pytest

from framework.concurrent import (
    DummyExecutor,
    Future,
    chain_future,
    dummy_executor,
    future_add_done_callback,
    future_set_exc_info,
    future_set_exception_unless_cancelled,
    future_set_result_unless_cancelled,
    is_future,
    run_on_executor,
)


def test_future_is_asyncio_future_and_is_future_knows_both_kinds() -> None:
    assert Future is asyncio.Future
    assert is_future(concurrent.futures.Future())
    assert not is_future(42)

    async def check() -> None:
        assert is_future(asyncio.get_running_loop().create_future())

    asyncio.run(check())


def test_dummy_executor_runs_at_once_and_carries_errors() -> None:
    assert isinstance(dummy_executor, DummyExecutor)
    assert dummy_executor.submit(lambda x: x * 2, 21).result() == 42
    failed = dummy_executor.submit(lambda: 1 / 0)
    assert isinstance(failed.exception(), ZeroDivisionError)
    dummy_executor.shutdown()


class Worker:
    def __init__(self) -> None:
        self.executor = concurrent.futures.ThreadPoolExecutor(1)
        self._pool = concurrent.futures.ThreadPoolExecutor(1)

    @run_on_executor
    def where(self, add: int) -> tuple[str, int]:
        return threading.current_thread().name, add + 1

    @run_on_executor(executor="_pool")
    def fail(self) -> None:
        raise KeyError("boom")

    @run_on_executor(io_loop="io_loop")
    def accepted_io_loop_name(self) -> str:
        return "ran"


def test_run_on_executor_runs_off_the_loop_and_returns_an_awaitable_future() -> None:
    worker = Worker()

    async def check() -> None:
        future = worker.where(1)
        assert isinstance(future, asyncio.Future)
        name, value = await asyncio.wait_for(future, 10)
        assert value == 2 and name != threading.current_thread().name
        with pytest.raises(KeyError):
            await asyncio.wait_for(worker.fail(), 10)
        assert await asyncio.wait_for(worker.accepted_io_loop_name(), 10) == "ran"

    try:
        asyncio.run(check())
    finally:
        worker.executor.shutdown()
        worker._pool.shutdown()


def test_run_on_executor_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError):
        run_on_executor(lambda self: None, executor="x")
    with pytest.raises(ValueError):
        run_on_executor(lambda self: None, lambda self: None)
    with pytest.raises(ValueError):
        run_on_executor(callback="x")


def test_chain_future_copies_results_errors_and_cancellation() -> None:
    async def check() -> None:
        loop = asyncio.get_running_loop()
        a, b = loop.create_future(), loop.create_future()
        chain_future(a, b)
        a.set_result(1)
        assert await asyncio.wait_for(b, 5) == 1
        c, d = loop.create_future(), loop.create_future()
        chain_future(c, d)
        c.set_exception(ValueError("x"))
        with pytest.raises(ValueError):
            await asyncio.wait_for(d, 5)
        e, f = loop.create_future(), loop.create_future()
        chain_future(e, f)
        e.cancel()
        await asyncio.sleep(0)
        assert f.cancelled()
        g, h = loop.create_future(), loop.create_future()
        h.set_result("first")
        chain_future(g, h)
        g.set_result("ignored")
        await asyncio.sleep(0)
        assert h.result() == "first"

    asyncio.run(check())


def test_chain_future_from_a_thread_pool_settles_on_the_loop() -> None:
    async def check() -> None:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            target = asyncio.get_running_loop().create_future()
            chain_future(pool.submit(lambda: "done"), target)
            assert await asyncio.wait_for(target, 10) == "done"

    asyncio.run(check())


def test_setting_a_cancelled_future_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    async def check() -> None:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.cancel()
        future_set_result_unless_cancelled(future, 1)
        with caplog.at_level(logging.ERROR):
            future_set_exception_unless_cancelled(future, ValueError("late"))
        assert "Exception after Future was cancelled" in caplog.text
        live: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future_set_result_unless_cancelled(live, 2)
        assert live.result() == 2

    asyncio.run(check())


def test_future_set_exc_info_takes_a_sys_exc_info_triple() -> None:
    async def check() -> None:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            raise KeyError("k")
        except KeyError:
            future_set_exc_info(future, sys.exc_info())
        assert isinstance(future.exception(), KeyError)
        with pytest.raises(Exception, match="no exception"):
            future_set_exc_info(future, (None, None, None))

    asyncio.run(check())


def test_future_add_done_callback_runs_at_once_when_done() -> None:
    async def check() -> None:
        seen: list[Any] = []
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        done.set_result(1)
        future_add_done_callback(done, seen.append)
        assert seen == [done]
        later: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        future_add_done_callback(later, seen.append)
        later.set_result(2)
        assert seen == [done]
        await asyncio.sleep(0)
        assert seen == [done, later]

    asyncio.run(check())

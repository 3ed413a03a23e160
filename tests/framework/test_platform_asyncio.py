"""``framework.platform.asyncio``: Tornado's asyncio bridge names over loops that are asyncio already."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import warnings

import pytest

from framework import gen
from framework.ioloop import IOLoop
from framework.platform.asyncio import (
    AnyThreadEventLoopPolicy,
    AsyncIOLoop,
    AsyncIOMainLoop,
    BaseAsyncIOLoop,
    to_asyncio_future,
    to_tornado_future,
)


def test_asyncio_loop_is_an_ioloop_on_a_new_asyncio_loop() -> None:
    loop = AsyncIOLoop()
    try:
        assert isinstance(loop, IOLoop) and isinstance(loop, BaseAsyncIOLoop)
        assert loop.run_sync(lambda: asyncio.sleep(0, "done")) == "done"
    finally:
        loop.close()


def test_asyncio_main_loop_wraps_the_running_loop() -> None:
    async def main() -> tuple[IOLoop, IOLoop | None]:
        wrapped = AsyncIOMainLoop()
        return wrapped, IOLoop.current(instance=False)

    wrapped, current = asyncio.run(main())
    assert current is wrapped
    assert isinstance(wrapped, AsyncIOMainLoop)


def test_asyncio_main_loop_wraps_the_threads_loop_outside_a_running_loop() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        main = AsyncIOMainLoop()
        main.install()
        assert main.asyncio_loop is loop
        assert IOLoop.current() is main
        assert main.run_sync(lambda: asyncio.sleep(0, 7)) == 7
        with pytest.raises(RuntimeError):
            AsyncIOMainLoop()  # the loop already has its IOLoop
    finally:
        IOLoop.clear_current()
        main.close()


def test_configure_makes_ioloop_build_the_chosen_class() -> None:
    saved = IOLoop._save_configuration()
    try:
        IOLoop.configure(AsyncIOLoop)
        loop = IOLoop()
        assert type(loop) is AsyncIOLoop
        loop.close()
        IOLoop.configure("framework.platform.asyncio.AsyncIOLoop")
        loop = IOLoop()
        assert type(loop) is AsyncIOLoop
        loop.close()
    finally:
        IOLoop._restore_configuration(saved)


def test_future_conversions() -> None:
    async def main() -> None:
        future = asyncio.get_running_loop().create_future()
        assert to_tornado_future(future) is future
        assert to_asyncio_future(future) is future

        async def answer() -> int:
            return 42

        assert await to_asyncio_future(answer()) == 42
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            assert await to_asyncio_future(pool.submit(lambda: "threaded")) == "threaded"
        with pytest.raises(gen.BadYieldError):
            to_asyncio_future(object())

    asyncio.run(main())


def test_any_thread_event_loop_policy_creates_loops_in_other_threads() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = AnyThreadEventLoopPolicy()
    found: list[asyncio.AbstractEventLoop] = []

    def worker() -> None:
        loop = policy.get_event_loop()
        found.append(loop)
        assert policy.get_event_loop() is loop
        loop.close()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert len(found) == 1 and found[0].is_closed()

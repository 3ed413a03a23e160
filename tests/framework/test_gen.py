"""Tests for framework.gen (mirrors tornado.gen), run on plain asyncio."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import logging
from collections.abc import Generator
from typing import Any

import pytest

from framework import gen

# -- coroutine -----------------------------------------------------------------


@gen.coroutine
def add_later(a: int, b: int) -> Generator[Any, Any, int]:
    yield gen.sleep(0)
    return a + b


def run(func: Any, *args: Any) -> Any:
    """Call ``func`` inside a fresh loop (so its Future binds there) and await it."""

    async def main() -> Any:
        return await func(*args)

    return asyncio.run(main())


def test_return_value() -> None:
    assert run(add_later, 1, 2) == 3


def test_raise_return_sets_result() -> None:
    @gen.coroutine
    def compute() -> Generator[Any, Any, None]:
        yield None
        raise gen.Return("done")

    assert run(compute) == "done"


def test_result_is_an_asyncio_future_on_the_running_loop() -> None:
    async def main() -> None:
        future = add_later(2, 3)
        assert isinstance(future, asyncio.Future)
        assert future.get_loop() is asyncio.get_running_loop()
        assert await future == 5

    asyncio.run(main())


def test_yield_awaitables_of_every_kind() -> None:
    async def native() -> str:
        await asyncio.sleep(0)
        return "native"

    @gen.coroutine
    def body() -> Generator[Any, Any, list[Any]]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.call_soon(future.set_result, "asyncio")
        results = [(yield future), (yield native()), (yield add_later(1, 1))]
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            results.append((yield pool.submit(lambda: "thread")))
        results.append((yield asyncio.sleep(0, result="sleep")))
        return results

    assert run(body) == ["asyncio", "native", 2, "thread", "sleep"]


def test_yield_list_and_dict_run_concurrently() -> None:
    order: list[str] = []

    @gen.coroutine
    def child(name: str, delay: float) -> Generator[Any, Any, str]:
        yield gen.sleep(delay)
        order.append(name)
        return name

    @gen.coroutine
    def parent() -> Generator[Any, Any, tuple[Any, Any]]:
        as_list = yield [child("slow", 0.05), child("fast", 0.0)]
        as_dict = yield {"x": child("x", 0), "y": add_later(2, 2)}
        return as_list, as_dict

    as_list, as_dict = run(parent)
    assert as_list == ["slow", "fast"]  # results keep the input order
    assert order[:2] == ["fast", "slow"]  # but both ran at once
    assert as_dict == {"x": "x", "y": 4}


def test_bare_yield_and_moment_let_other_callbacks_run() -> None:
    ran: list[str] = []

    @gen.coroutine
    def body() -> Generator[Any, Any, list[str]]:
        loop = asyncio.get_running_loop()
        loop.call_soon(ran.append, "first")
        yield
        seen = list(ran)
        loop.call_soon(ran.append, "second")
        yield gen.moment
        return seen + ran

    assert run(body) == ["first", "first", "second"]


def test_moment_is_awaitable_from_native_code() -> None:
    async def main() -> None:
        await gen.moment

    asyncio.run(main())


def test_exception_thrown_back_at_the_yield() -> None:
    @gen.coroutine
    def failing() -> Generator[Any, Any, None]:
        yield gen.moment
        raise ValueError("boom")

    @gen.coroutine
    def catcher() -> Generator[Any, Any, str]:
        try:
            yield failing()
        except ValueError as error:
            return f"caught {error}"
        return "not reached"

    assert run(catcher) == "caught boom"


def test_uncaught_exception_fails_the_future() -> None:
    @gen.coroutine
    def failing() -> Generator[Any, Any, None]:
        yield gen.moment
        raise KeyError("k")

    with pytest.raises(KeyError):
        run(failing)


def test_bad_yield_is_thrown_into_generator() -> None:
    @gen.coroutine
    def body() -> Generator[Any, Any, str]:
        try:
            yield 42
        except gen.BadYieldError as error:
            return str(error)
        return "not reached"

    assert run(body) == "yielded unknown object 42"


def test_body_runs_eagerly_until_first_yield() -> None:
    steps: list[str] = []

    @gen.coroutine
    def body() -> Generator[Any, Any, None]:
        steps.append("before")
        yield gen.moment
        steps.append("after")

    async def main() -> None:
        future = body()
        assert steps == ["before"]
        await future
        assert steps == ["before", "after"]

    asyncio.run(main())


def test_plain_function_is_wrapped() -> None:
    @gen.coroutine
    def plain(x: int) -> int:
        return x * 2

    @gen.coroutine
    def plain_error() -> None:
        raise RuntimeError("sync failure")

    async def main() -> None:
        future = plain(21)
        assert future.done()
        assert await future == 42
        failed = plain_error()  # the call itself must not raise
        with pytest.raises(RuntimeError, match="sync failure"):
            await failed

    asyncio.run(main())


def test_wrapped_native_coroutine_is_run() -> None:
    @gen.coroutine
    async def native() -> int:
        return 7

    assert run(native) == 7


def test_cancellation_reaches_generator_finally() -> None:
    cleaned: list[bool] = []

    @gen.coroutine
    def forever() -> Generator[Any, Any, None]:
        try:
            yield gen.sleep(60)
        finally:
            cleaned.append(True)

    async def main() -> None:
        future = forever()
        await asyncio.sleep(0)
        future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future

    asyncio.run(main())
    assert cleaned == [True]


def test_coroutine_as_handler_method() -> None:
    class Handler:
        def __init__(self) -> None:
            self.written: list[str] = []

        @gen.coroutine
        def get(self, name: str) -> Generator[Any, Any, None]:
            greeting = yield add_later(1, 1)
            self.written.append(f"{name}:{greeting}")

    handler = Handler()

    async def main() -> None:
        outcome = handler.get("b")
        assert handler.written == []  # not finished until awaited
        assert hasattr(outcome, "__await__")
        assert await outcome is None

    asyncio.run(main())
    assert handler.written == ["b:2"]


def test_call_outside_running_loop_uses_thread_loop() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        future = add_later(3, 4)
        assert future.get_loop() is loop
        assert loop.run_until_complete(future) == 7
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_is_coroutine_function() -> None:
    async def native() -> None:
        pass

    def plain() -> None:
        pass

    assert gen.is_coroutine_function(add_later)
    assert gen.is_coroutine_function(native)
    assert not gen.is_coroutine_function(plain)
    assert add_later.__name__ == "add_later"


# -- convert_yielded / maybe_future -----------------------------------------------


def test_convert_yielded() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        assert gen.convert_yielded(future) is future
        assert await gen.convert_yielded(None) is None
        assert await gen.convert_yielded(gen.moment) is None
        assert await gen.convert_yielded([add_later(1, 0)]) == [1]
        with pytest.raises(gen.BadYieldError):
            gen.convert_yielded("text")
        future.cancel()

    asyncio.run(main())


def test_maybe_future() -> None:
    async def main() -> None:
        future = asyncio.get_running_loop().create_future()
        assert gen.maybe_future(future) is future
        wrapped = gen.maybe_future(5)
        assert wrapped.done() and wrapped.result() == 5
        future.cancel()

    asyncio.run(main())


# -- multi ---------------------------------------------------------------------


def test_multi_empty() -> None:
    async def main() -> None:
        assert await gen.multi([]) == []
        assert await gen.multi({}) == {}

    asyncio.run(main())


def test_multi_future_alias() -> None:
    assert gen.multi_future is gen.multi


def test_multi_waits_for_all_and_raises_first_error_logging_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    finished: list[str] = []

    async def fail(name: str, exc_type: type[Exception]) -> None:
        await asyncio.sleep(0)
        raise exc_type(name)

    async def slow() -> str:
        await asyncio.sleep(0.02)
        finished.append("slow")
        return "slow"

    async def main() -> None:
        with pytest.raises(ValueError, match="first"):
            await gen.multi([fail("first", ValueError), slow(), fail("second", KeyError)])

    with caplog.at_level(logging.ERROR, logger="framework.application"):
        asyncio.run(main())
    assert finished == ["slow"]
    assert "Multiple exceptions" in caplog.text


def test_multi_quiet_exceptions_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def fail() -> None:
        raise KeyError("quiet")

    async def main() -> None:
        with pytest.raises(KeyError):
            await gen.multi([fail(), fail()], quiet_exceptions=KeyError)

    with caplog.at_level(logging.ERROR, logger="framework.application"):
        asyncio.run(main())
    assert caplog.text == ""


# -- sleep and with_timeout ------------------------------------------------------


def test_sleep_waits() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        future = gen.sleep(0.05)
        await future
        assert future.result() is None
        return loop.time() - start

    assert asyncio.run(main()) >= 0.04


def test_with_timeout_timedelta_expires_without_cancelling() -> None:
    async def main() -> None:
        slow = gen.sleep(0.2)
        with pytest.raises(gen.TimeoutError):
            await gen.with_timeout(datetime.timedelta(seconds=0.01), slow)
        assert not slow.cancelled()
        await slow

    asyncio.run(main())


def test_with_timeout_absolute_deadline_and_success() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        assert await gen.with_timeout(loop.time() + 5, add_later(1, 2)) == 3
        with pytest.raises(TimeoutError):
            await gen.with_timeout(loop.time() + 0.01, gen.sleep(0.5))

    asyncio.run(main())


def test_with_timeout_message_is_a_text_or_made_only_when_the_time_runs_out() -> None:
    made: list[str] = []

    def describe() -> str:
        made.append("called")
        return "fetching /slow took too long"

    async def main() -> None:
        with pytest.raises(TimeoutError, match="^waited for the lock$"):
            await gen.with_timeout(datetime.timedelta(seconds=0.01), gen.sleep(0.5), message="waited for the lock")
        assert await gen.with_timeout(datetime.timedelta(seconds=5), add_later(1, 2), message=describe) == 3
        assert made == []  # in time: never formatted
        with pytest.raises(TimeoutError, match="^fetching /slow took too long$"):
            await gen.with_timeout(datetime.timedelta(seconds=0.01), gen.sleep(0.5), message=describe)
        assert made == ["called"]
        with pytest.raises(TimeoutError, match="^Timeout$"):
            await gen.with_timeout(datetime.timedelta(seconds=0.01), gen.sleep(0.5))

    asyncio.run(main())


def test_with_timeout_passes_errors_through() -> None:
    async def fail() -> None:
        raise ValueError("inner")

    async def main() -> None:
        with pytest.raises(ValueError, match="inner"):
            await gen.with_timeout(datetime.timedelta(seconds=5), fail())

    asyncio.run(main())


def test_with_timeout_logs_late_failure_unless_quiet(caplog: pytest.LogCaptureFixture) -> None:
    async def late(exc_type: type[Exception]) -> None:
        await asyncio.sleep(0.03)
        raise exc_type("late")

    async def main() -> None:
        loud = asyncio.ensure_future(late(ValueError))
        quiet = asyncio.ensure_future(late(KeyError))
        for inner in (loud, quiet):
            with pytest.raises(gen.TimeoutError):
                await gen.with_timeout(datetime.timedelta(seconds=0.001), inner, quiet_exceptions=(KeyError,))
        await asyncio.wait([loud, quiet])

    with caplog.at_level(logging.ERROR, logger="framework.application"):
        asyncio.run(main())
    assert caplog.text.count("after timeout") == 1
    assert "ValueError" in caplog.text


def test_timeout_error_is_the_builtin() -> None:
    assert gen.TimeoutError is TimeoutError
    assert issubclass(asyncio.TimeoutError, gen.TimeoutError)


def test_return_carries_value() -> None:
    assert gen.Return(5).value == 5
    assert gen.Return().value is None


# -- WaitIterator ----------------------------------------------------------------


def test_wait_iterator_yields_in_finishing_order_with_indexes() -> None:
    from framework.gen import WaitIterator

    async def check() -> list[tuple[Any, Any]]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(3)]
        waiter = WaitIterator(*futures)
        seen: list[tuple[Any, Any]] = []
        futures[2].set_result("c")
        futures[0].set_exception(KeyError("a"))
        loop.call_soon(futures[1].set_result, "b")
        while not waiter.done():
            try:
                result = await waiter.next()
            except KeyError:
                result = "failed"
            seen.append((waiter.current_index, result))
            assert waiter.current_future is futures[waiter.current_index]
        assert waiter.current_index is None
        return seen

    assert asyncio.run(asyncio.wait_for(check(), 10)) == [(2, "c"), (0, "failed"), (1, "b")]


def test_wait_iterator_with_keywords_and_async_for() -> None:
    from framework.gen import WaitIterator

    async def check() -> list[tuple[Any, Any]]:
        async def after(delay_turns: int, value: str) -> str:
            for _ in range(delay_turns):
                await asyncio.sleep(0)
            return value

        waiter = WaitIterator(slow=after(5, "s"), fast=after(0, "f"))
        return [(waiter.current_index, result) async for result in waiter]

    assert asyncio.run(asyncio.wait_for(check(), 10)) == [("fast", "f"), ("slow", "s")]


def test_wait_iterator_from_a_generator_coroutine_and_empty() -> None:
    from framework.gen import WaitIterator

    @gen.coroutine
    def collect() -> Any:
        waiter = WaitIterator(gen.sleep(0), gen.maybe_future(1))
        results = []
        while not waiter.done():
            results.append((yield waiter.next()))
        return results

    async def main() -> Any:
        return await asyncio.wait_for(collect(), 10)

    assert sorted(asyncio.run(main()), key=repr) == [1, None]

    async def empty() -> bool:
        return WaitIterator().done()

    assert asyncio.run(empty())
    with pytest.raises(ValueError):
        WaitIterator(1, a=2)

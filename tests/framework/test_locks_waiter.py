"""The waiters' future (``framework.locks.Waiter``) and the batched wake of ``WaiterQueue.wake_all``.

A ``Waiter`` keeps its latest done-callback aside so that ``wake_all`` can run
thousands of them from one loop callback; to everything else it must behave
as an ``asyncio.Future``: callbacks in the order added, each in its context,
removable until it is done, scheduled when it completes in any way.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from framework.locks import Condition, Waiter, WaiterQueue, _run_kept_callbacks, _wakes_a_task

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await test()

    asyncio.run(main())


async def settle() -> None:
    """Let every callback scheduled so far run (and those they schedule, a few rounds deep)."""
    for _ in range(5):
        await asyncio.sleep(0)


def recorder(calls: list[Any], name: str) -> Callable[[asyncio.Future[Any]], None]:
    return lambda future: calls.append((name, future.result() if not future.cancelled() else "cancelled"))


def never_woken(future: asyncio.Future[Any]) -> None:
    raise AssertionError("a removed callback ran")


@pytest.mark.parametrize("complete", ["set_result", "wake_next", "wake_all"])
def test_callbacks_run_in_the_order_added_however_the_waiter_completes(complete: str) -> None:
    async def test() -> None:
        queue: WaiterQueue[str] = WaiterQueue()
        waiter = queue.add(None, lambda w: None)
        calls: list[Any] = []
        for name in ("first", "second", "third"):  # the third is the kept one, the others in asyncio's list
            waiter.add_done_callback(recorder(calls, name))
        if complete == "set_result":
            waiter.set_result("done")
        elif complete == "wake_next":
            assert queue.wake_next("done")
        else:
            queue.wake_all("done")
        assert calls == []  # (never synchronously: as asyncio)
        await settle()
        assert calls == [("first", "done"), ("second", "done"), ("third", "done")]

    run(test)


def test_a_callback_added_once_done_is_scheduled_at_once() -> None:
    async def test() -> None:
        waiter: Waiter[int] = Waiter(loop=asyncio.get_running_loop())
        waiter.set_result(7)
        calls: list[Any] = []
        waiter.add_done_callback(recorder(calls, "late"))
        await settle()
        assert calls == [("late", 7)]

    run(test)


def test_remove_done_callback_counts_the_kept_and_the_listed_ones() -> None:
    async def test() -> None:
        waiter: Waiter[int] = Waiter(loop=asyncio.get_running_loop())
        calls: list[Any] = []
        waiter.add_done_callback(never_woken)
        waiter.add_done_callback(recorder(calls, "kept"))
        waiter.add_done_callback(never_woken)  # now the kept one; the other two are listed
        assert waiter.remove_done_callback(never_woken) == 2
        waiter.set_result(1)
        assert waiter.remove_done_callback(never_woken) == 0
        await settle()
        assert calls == [("kept", 1)]

    run(test)


def test_a_removed_kept_callback_leaves_the_next_one_kept() -> None:
    async def test() -> None:
        queue: WaiterQueue[int] = WaiterQueue()
        waiter = queue.add(None, lambda w: None)
        calls: list[Any] = []
        waiter.add_done_callback(never_woken)
        assert waiter.remove_done_callback(never_woken) == 1
        waiter.add_done_callback(recorder(calls, "after"))
        queue.wake_all(3)
        await settle()
        assert calls == [("after", 3)]

    run(test)


@pytest.mark.parametrize("complete", ["cancel", "set_exception"])
def test_cancel_and_set_exception_run_the_kept_callback(complete: str) -> None:
    async def test() -> None:
        waiter: Waiter[int] = Waiter(loop=asyncio.get_running_loop())
        seen: list[asyncio.Future[int]] = []
        waiter.add_done_callback(seen.append)
        if complete == "cancel":
            assert waiter.cancel()
            assert not waiter.cancel()  # (already done: nothing scheduled twice)
        else:
            waiter.set_exception(ValueError("no"))
            with pytest.raises(asyncio.InvalidStateError):
                waiter.set_result(1)
        await settle()
        assert seen == [waiter]
        assert waiter.cancelled() if complete == "cancel" else isinstance(waiter.exception(), ValueError)

    run(test)


def test_the_kept_callback_runs_in_the_context_it_was_added_with() -> None:
    async def test() -> None:
        queue: WaiterQueue[int] = WaiterQueue()
        seen: list[str] = []
        for value in ("one", "two"):
            context = contextvars.copy_context()
            context.run(marker.set, value)
            queue.add(None, lambda w: None).add_done_callback(lambda future: seen.append(marker.get()), context=context)
        implicit = queue.add(None, lambda w: None)
        marker.set("copied when added")
        implicit.add_done_callback(lambda future: seen.append(marker.get()))
        marker.set("changed later")
        queue.wake_all(0)
        await settle()
        assert seen == ["one", "two", "copied when added"]

    run(test)


def test_wake_all_runs_the_woken_tasks_from_one_loop_callback() -> None:
    async def test() -> None:
        loop: Any = asyncio.get_running_loop()
        condition = Condition()
        woken: list[int] = []

        async def wait(index: int) -> None:
            await condition.wait()
            woken.append(index)

        tasks = [asyncio.ensure_future(wait(index)) for index in range(1000)]
        await settle()
        before = len(loop._ready)  # asyncio's queue of callbacks (private; read only here)
        condition.notify_all()
        assert len(loop._ready) == before + 1  # one for the thousand, where asyncio would queue a thousand
        await asyncio.gather(*tasks)
        assert woken == list(range(1000))

    run(test)


def test_a_task_awaiting_a_waiter_is_told_apart_from_other_callbacks() -> None:
    # The batch hands a task's own wakeup a plain settled future (the C
    # wakeup reads that faster); everything else must get its waiter.
    async def test() -> None:
        loop = asyncio.get_running_loop()
        waiter: Waiter[str] = Waiter(loop=loop)
        task = asyncio.ensure_future(_await(waiter))  # (a task awaiting it: the C task's wakeup is kept)
        await settle()
        # (From CPython 3.14 the wakeup needs its own waiter: see _wakes_a_task.)
        assert _wakes_a_task(waiter._kept) is (sys.version_info < (3, 14))  # type: ignore[arg-type]
        waiter.remove_done_callback(waiter._kept)  # type: ignore[arg-type]
        task.cancel()
        seen: list[Any] = []
        assert not _wakes_a_task(seen.append)  # a builtin method, but no task's wakeup
        assert not _wakes_a_task(recorder(seen, "x"))

    run(test)


@pytest.mark.parametrize("task_class", ["C", "Python"])
def test_wake_all_resumes_each_task_with_its_own_waiters_result_and_gives_other_callbacks_their_waiter(
    task_class: str,
) -> None:
    async def test() -> None:
        loop = asyncio.get_running_loop()
        queue: WaiterQueue[str] = WaiterQueue()
        make_task = asyncio.Task if task_class == "C" else asyncio.tasks._PyTask  # type: ignore[attr-defined]
        waiters = [queue.add(None, never_woken) for _ in range(3)]
        tasks = [make_task(_await(waiter), loop=loop) for waiter in waiters]
        seen: list[Any] = []
        waiters[1].add_done_callback(seen.append)  # (now the kept one: a builtin callback that is no wakeup)
        await settle()
        queue.wake_all("woken")
        assert await asyncio.gather(tasks[0], tasks[2]) == ["woken", "woken"]
        assert seen == [waiters[1]]
        assert await tasks[1] == "woken"

    run(test)


async def _await(future: Awaitable[str]) -> str:
    return await future


def test_an_exception_in_one_kept_callback_is_reported_and_the_rest_still_run() -> None:
    async def test() -> None:
        loop = asyncio.get_running_loop()
        reported: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda loop, context: reported.append(context))
        queue: WaiterQueue[int] = WaiterQueue()
        calls: list[Any] = []
        queue.add(None, lambda w: None).add_done_callback(recorder(calls, "before"))
        failing = queue.add(None, lambda w: None)
        failing.add_done_callback(never_woken)
        queue.add(None, lambda w: None).add_done_callback(recorder(calls, "after"))
        queue.wake_all(5)
        await settle()
        assert calls == [("before", 5), ("after", 5)]
        assert len(reported) == 1
        assert isinstance(reported[0]["exception"], AssertionError)
        assert reported[0]["future"] is failing

    run(test)


def test_a_callback_unequal_to_itself_is_still_removed_while_kept() -> None:
    class Unequal:
        def __eq__(self, other: object) -> bool:
            return False

        __hash__ = object.__hash__

        def __call__(self, future: asyncio.Future[Any]) -> None:
            raise AssertionError("a removed callback ran")

    async def test() -> None:
        waiter: Waiter[int] = Waiter(loop=asyncio.get_running_loop())
        callback = Unequal()
        waiter.add_done_callback(callback)
        assert waiter.remove_done_callback(callback) == 1  # (asyncio tests identity first too)
        waiter.set_result(1)
        await settle()

    run(test)


def test_waiters_of_two_loops_each_wake_on_their_own() -> None:
    condition = Condition()
    other = asyncio.new_event_loop()  # not running when the notify comes, not closed
    try:
        calls: list[Any] = []

        async def park() -> None:
            condition.wait().add_done_callback(recorder(calls, "other loop"))

        other.run_until_complete(park())

        async def test() -> None:
            task = asyncio.ensure_future(waiting(condition.wait()))
            await settle()
            condition.notify_all()
            assert await asyncio.wait_for(task, 10) is True
            assert calls == []  # (its callback waits for its own loop)

        run(test)
        other.run_until_complete(settle())
        assert calls == [("other loop", True)]
    finally:
        other.close()


async def waiting(future: Awaitable[bool]) -> bool:
    return await future


def interrupt(future: asyncio.Future[Any]) -> None:
    raise KeyboardInterrupt


def interrupt_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("raised_by", ["callback", "exception handler"])
def test_a_keyboard_interrupt_in_a_batch_leaves_the_rest_scheduled(raised_by: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        calls: list[Any] = []
        if raised_by == "exception handler":
            loop.set_exception_handler(interrupt_handler)
        waiters: list[Waiter[Any]] = []
        for callback in (
            recorder(calls, "first"),
            interrupt if raised_by == "callback" else never_woken,
            recorder(calls, "third"),
        ):
            waiter: Waiter[Any] = Waiter(loop=loop)
            waiter.add_done_callback(callback)
            asyncio.Future.set_result(waiter, "x")  # as wake_all settles them: the kept callbacks stay
            waiters.append(waiter)
        with pytest.raises(KeyboardInterrupt):
            _run_kept_callbacks(loop, waiters)
        assert calls == [("first", "x")]
        loop.run_until_complete(settle())
        assert calls == [("first", "x"), ("third", "x")]
    finally:
        loop.close()


def test_notify_all_keeps_asyncios_order_when_a_waiter_has_a_callback_of_its_own() -> None:
    # asyncio (and Tornado) run each waiter's callbacks in turn: the first
    # waiter's task resumes before the second's own callback runs. The
    # batched wake must not let that callback overtake the first wakeup.
    order: list[str] = []

    async def test() -> None:
        condition = Condition()

        async def plain() -> None:
            await condition.wait()
            order.append("first resumed")

        async def with_callback() -> None:
            waiter = condition.wait()
            waiter.add_done_callback(lambda _: order.append("second's callback"))
            await waiter
            order.append("second resumed")

        tasks = [asyncio.ensure_future(plain()), asyncio.ensure_future(with_callback()), asyncio.ensure_future(plain())]
        await asyncio.sleep(0)
        condition.notify_all()
        await asyncio.gather(*tasks)

    asyncio.run(asyncio.wait_for(test(), 10))
    assert order == ["first resumed", "second's callback", "second resumed", "first resumed"]

"""Coroutine locks (``framework/locks.py``): each test runs its own loop with ``asyncio.run``.

No timing assertions: timeouts use deadlines that are already due (``timedelta(0)``)
or far away, and order is checked through futures, never the clock.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from framework.locks import BoundedSemaphore, Condition, Event, Lock, Semaphore

T = TypeVar("T")
NOW = datetime.timedelta(0)
NEVER = datetime.timedelta(days=1)


def run(test: Callable[[], Awaitable[None]]) -> None:
    """``test()`` in a fresh event loop, with no bound of its own.

    Not ``harness.run``: that one wraps the test in ``asyncio.wait_for``, whose
    timer sits on the loop while the test runs, and these tests assert that the
    primitives leave no timer behind (``live_timers``). pytest-timeout bounds them.
    """

    async def main() -> None:
        await test()

    asyncio.run(main())


def pending(primitive: Condition | Event | Semaphore | Lock) -> int:
    """How many waiters a primitive still holds (private state, read in one place)."""
    if isinstance(primitive, Lock):
        return len(primitive._block._waiters)
    return len(primitive._waiters)


def live_timers() -> list[asyncio.TimerHandle]:
    """Timers still armed on the running loop (asyncio's private heap; test-only)."""
    loop: Any = asyncio.get_running_loop()
    return [handle for handle in loop._scheduled if not handle.cancelled()]


async def waiting_on(awaitable: Awaitable[T]) -> T:
    """A coroutine around a future, so a task can own the wait (as a handler's would)."""
    return await awaitable


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- Condition --------------------------------------------------------------------


def test_notify_wakes_one_waiter_in_fifo_order() -> None:
    async def test() -> None:
        cond = Condition()
        waits = [cond.wait() for _ in range(3)]
        cond.notify()
        assert [w.done() for w in waits] == [True, False, False]
        cond.notify(2)
        assert [w.result() for w in waits] == [True, True, True]
        assert pending(cond) == 0

    run(test)


def test_notified_tasks_resume_in_the_order_they_waited() -> None:
    async def test() -> None:
        cond = Condition()
        woken: list[int] = []

        async def waiter(i: int) -> None:
            await cond.wait()
            woken.append(i)

        tasks = [asyncio.create_task(waiter(i)) for i in range(5)]
        await asyncio.sleep(0)
        cond.notify(2)
        await asyncio.gather(*tasks[:2])
        assert woken == [0, 1] and not any(t.done() for t in tasks[2:])
        cond.notify_all()
        await asyncio.gather(*tasks)
        assert woken == [0, 1, 2, 3, 4]

    run(test)


def test_notify_with_nobody_waiting_is_not_remembered() -> None:
    async def test() -> None:
        cond = Condition()
        cond.notify()
        cond.notify_all()
        assert not cond.wait().done()

    run(test)


def test_notify_all_wakes_all() -> None:
    async def test() -> None:
        cond = Condition()
        waits = [cond.wait() for _ in range(5)]
        cond.notify_all()
        assert [w.result() for w in waits] == [True] * 5
        assert pending(cond) == 0

    run(test)


@pytest.mark.parametrize("absolute", [True, False])
def test_wait_timeout_returns_false_and_leaves_nothing_behind(absolute: bool) -> None:
    async def test() -> None:
        cond = Condition()
        timeout = asyncio.get_running_loop().time() if absolute else NOW
        assert await cond.wait(timeout=timeout) is False
        assert pending(cond) == 0
        assert live_timers() == []

    run(test)


def test_a_notified_wait_cancels_its_timer() -> None:
    async def test() -> None:
        cond = Condition()
        wait = cond.wait(timeout=NEVER)
        assert len(live_timers()) == 1
        cond.notify()
        assert await wait is True
        assert live_timers() == []

    run(test)


def test_cancelling_the_waiting_task_removes_the_waiter_and_its_timer() -> None:
    async def test() -> None:
        cond = Condition()
        task = asyncio.create_task(waiting_on(cond.wait(timeout=NEVER)))
        await asyncio.sleep(0)
        assert pending(cond) == 1
        await cancel_and_wait(task)
        assert pending(cond) == 0
        assert live_timers() == []

    run(test)


def test_many_abandoned_waits_leave_nothing_behind() -> None:
    async def test() -> None:
        cond = Condition()

        async def long_poll() -> bool:
            return await cond.wait()

        tasks = [asyncio.create_task(long_poll()) for _ in range(1000)]
        await asyncio.sleep(0)
        assert pending(cond) == 1000
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert pending(cond) == 0
        # Untimed waiters get no done-callback: the abandoned ones are swept
        # once the deque has doubled, so it stays under twice the live waiters.
        live = [cond.wait() for _ in range(100)]
        assert len(cond._waiters._waiting) == 100  # the deque itself, not just the live count
        cond.notify_all()
        assert all(wait.result() for wait in live) and len(cond._waiters._waiting) == 0

    run(test)


def test_abandoned_waits_are_swept_against_the_live_count_after_a_burst_drained() -> None:
    async def test() -> None:
        cond = Condition()
        burst = [cond.wait() for _ in range(1000)]
        cond.notify(1000)  # one at a time: the deque shrinks to nothing
        assert all(wait.result() for wait in burst)
        kept = cond.wait()
        for _ in range(500):
            cond.wait().cancel()
        assert len(cond._waiters._waiting) <= 2 * 1 + 64  # not up to twice the burst's 1,000
        cond.notify(1)
        assert kept.result() is True

    run(test)


def test_timed_waiters_that_time_out_leave_the_deque_without_a_later_wait() -> None:
    async def test() -> None:
        cond = Condition()
        waits = [cond.wait(timeout=NOW) for _ in range(1000)]
        assert await asyncio.gather(*waits) == [False] * 1000
        await asyncio.sleep(0)  # their done-callbacks have run
        assert len(cond._waiters._waiting) < 64  # swept once half the deque had withdrawn
        assert live_timers() == []

    run(test)


def test_waiters_abandoned_without_a_later_wait_go_at_the_next_notify() -> None:
    async def test() -> None:
        cond = Condition()
        abandoned = [cond.wait() for _ in range(10)]
        for wait in abandoned:
            wait.cancel()
        assert pending(cond) == 0 and len(cond._waiters._waiting) == 10  # not swept yet: no callback
        cond.notify(1)  # a cancelled waiter swallows nothing
        kept = cond.wait()
        cond.notify(1)
        assert kept.result() is True and len(cond._waiters._waiting) == 0

    run(test)


def test_notify_one_skips_a_cancelled_waiter() -> None:
    async def test() -> None:
        cond = Condition()
        first = asyncio.create_task(waiting_on(cond.wait()))
        second = asyncio.create_task(waiting_on(cond.wait()))
        await asyncio.sleep(0)
        first.cancel()  # still queued: its done-callback has not run yet
        cond.notify(1)
        assert await second is True
        with pytest.raises(asyncio.CancelledError):
            await first

    run(test)


def test_notify_one_skips_a_timed_out_waiter() -> None:
    async def test() -> None:
        cond = Condition()
        timed_out = cond.wait(timeout=NOW)
        waiting = cond.wait()
        assert await timed_out is False
        cond.notify(1)
        assert await waiting is True

    run(test)


def test_ten_thousand_waiters_are_woken_by_one_notify_all() -> None:
    async def test() -> None:
        cond = Condition()

        async def long_poll() -> bool:
            return await cond.wait(timeout=NEVER)

        tasks = [asyncio.create_task(long_poll()) for _ in range(10_000)]
        await asyncio.sleep(0)
        assert pending(cond) == 10_000
        cond.notify_all()
        assert pending(cond) == 0
        assert all(await asyncio.gather(*tasks))
        assert pending(cond) == 0
        assert live_timers() == []

    run(test)


def test_wait_needs_a_running_loop_and_a_valid_timeout() -> None:
    cond = Condition()
    with pytest.raises(RuntimeError):
        cond.wait()

    async def test() -> None:
        with pytest.raises(TypeError, match="timeout"):
            cond.wait(timeout="soon")  # type: ignore[arg-type]
        assert pending(cond) == 0

    run(test)


def test_condition_repr_counts_waiters() -> None:
    async def test() -> None:
        cond = Condition()
        cond.wait()
        assert repr(cond) == "<Condition waiters[1]>"

    run(test)


# -- Event ------------------------------------------------------------------------


def test_event_set_clear_wait() -> None:
    async def test() -> None:
        event = Event()
        assert not event.is_set()
        waits = [event.wait() for _ in range(3)]
        assert not any(w.done() for w in waits)
        event.set()
        assert event.is_set()
        await asyncio.gather(*waits)
        assert pending(event) == 0
        await event.wait()  # already set: done at once
        event.set()  # idempotent
        event.clear()
        assert not event.is_set()
        assert not event.wait().done()

    run(test)


def test_event_wait_timeout_raises_and_leaves_nothing_behind() -> None:
    async def test() -> None:
        event = Event()
        with pytest.raises(TimeoutError):
            await event.wait(timeout=NOW)
        assert pending(event) == 0
        assert live_timers() == []
        waiting = event.wait(timeout=NEVER)
        event.set()
        await waiting
        assert live_timers() == []

    run(test)


# -- Semaphore, BoundedSemaphore --------------------------------------------------


def test_semaphore_counts_and_serves_waiters_first_come_first_served() -> None:
    async def test() -> None:
        sem = Semaphore(2)
        assert sem.acquire().done() and sem.acquire().done()
        third, fourth = sem.acquire(), sem.acquire()
        assert not third.done() and not fourth.done()
        sem.release()
        assert third.done() and not fourth.done()
        newcomer = sem.acquire()  # queued behind ``fourth``, not ahead of it
        sem.release()
        assert fourth.done() and not newcomer.done()
        sem.release()
        assert newcomer.done()

    run(test)


def test_semaphore_release_without_waiters_raises_the_count() -> None:
    async def test() -> None:
        sem = Semaphore(0)
        abandoned = sem.acquire(timeout=NEVER)
        assert not abandoned.done()
        abandoned.cancel()
        sem.release()
        sem.release()
        assert sem.acquire().done() and sem.acquire().done()
        assert repr(sem) == "<Semaphore [locked] waiters[0]>"

    run(test)


def test_semaphore_timeout_does_not_consume_a_release() -> None:
    async def test() -> None:
        sem = Semaphore(0)
        with pytest.raises(TimeoutError):
            await sem.acquire(timeout=NOW)
        assert pending(sem) == 0 and live_timers() == []
        waiting = sem.acquire()
        sem.release()
        assert waiting.done()

    run(test)


def test_semaphore_async_with_releases_on_exit_and_on_error() -> None:
    async def test() -> None:
        sem = Semaphore(1)
        async with sem:
            probe = sem.acquire()
            assert not probe.done()
            probe.cancel()
        with pytest.raises(ZeroDivisionError):
            async with sem:
                1 / 0
        async with sem:
            pass
        with await sem.acquire():  # Tornado's ``with (yield sem.acquire()):``
            pass
        assert sem.acquire().done()

    run(test)


def test_cancelled_after_being_granted_gives_the_unit_back() -> None:
    async def test() -> None:
        sem = Semaphore(1)
        await sem.acquire()

        async def user() -> None:
            async with sem:
                pass

        task = asyncio.create_task(user())
        await asyncio.sleep(0)
        sem.release()  # hands the unit to ``task``...
        await cancel_and_wait(task)  # ...which is cancelled before it runs
        assert sem.acquire().done()

    run(test)


def test_semaphore_refuses_plain_with_and_negative_values() -> None:
    with pytest.raises(ValueError):
        Semaphore(-1)
    with pytest.raises(RuntimeError, match="async with"):
        with Semaphore():
            pass


def test_bounded_semaphore_over_release() -> None:
    async def test() -> None:
        sem = BoundedSemaphore(2)
        with pytest.raises(ValueError, match="too many"):
            sem.release()
        await sem.acquire()
        sem.release()
        with pytest.raises(ValueError, match="too many"):
            sem.release()

    run(test)


# -- Lock -------------------------------------------------------------------------


def test_lock_mutual_exclusion_with_async_with() -> None:
    async def test() -> None:
        lock = Lock()
        inside: list[int] = []
        entered: list[int] = []

        async def worker(i: int) -> None:
            async with lock:
                inside.append(i)
                assert len(inside) == 1
                entered.append(i)
                await asyncio.sleep(0)
                inside.remove(i)

        await asyncio.gather(*(worker(i) for i in range(20)))
        assert entered == list(range(20))
        assert pending(lock) == 0

    run(test)


def test_lock_acquire_timeout_and_release_errors() -> None:
    async def test() -> None:
        lock = Lock()
        with pytest.raises(RuntimeError, match="release unlocked lock"):
            lock.release()
        await lock.acquire()
        with pytest.raises(TimeoutError):
            await lock.acquire(timeout=NOW)
        assert pending(lock) == 0
        lock.release()
        assert lock.acquire().done()

    run(test)


def test_lock_refuses_plain_with() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        with Lock():
            pass

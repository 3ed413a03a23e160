"""Coroutine synchronisation: ``Condition``, ``Event``, ``Semaphore``, ``BoundedSemaphore``, ``Lock``.

Mirrors ``tornado.locks`` on asyncio. As there, these coordinate coroutines on one
event loop and are not thread-safe. Waiting methods return futures created on the
running loop at call time (so ``fut = cond.wait(); cond.notify()`` wakes ``fut``),
and a ``timeout`` is, as in Tornado, either an absolute deadline on the loop's clock
(``IOLoop.current().time() + 5``, which is ``asyncio.get_running_loop().time()``) or
a relative ``datetime.timedelta``. Timeouts raise the builtin ``TimeoutError``, which
is what ``framework.gen.TimeoutError`` names (Tornado: ``tornado.util.TimeoutError``).

Strategy: the long-polling chat parks thousands of requests on one ``Condition``,
and clients vanish while they wait. Every primitive therefore keeps its waiters in a
:class:`WaiterQueue`: a deque of futures in arrival order (8 bytes a waiter, where an
ordered map took 85: loadtest/longpoll_memory.py), and beside it a map from each
waiter that has a timeout to its timer. Waking takes waiters from the front and
skips those already done (cancelled, timed out), so such a waiter never swallows a
``notify(1)`` or a ``release()``; waking one also cancels its timer. A waiter with a
timer gets a done-callback that cancels the timer when it is withdrawn first. A
waiter without one (a long poll's) gets none: a callback would cost each parked
request about 180 bytes (the callback, and the list its task's own callback then
needs) and each wake a call. A done waiter stays in the deque until a wake reaches
it or a sweep drops it. A sweep runs when the deque has doubled since the last sweep
or wake, so it holds at most twice the waiters that were live then (plus a small
floor), and also once the timed waiters withdrawn since the last sweep (counted by
their done-callbacks) are half the deque, so a burst of timeouts leaves nothing
behind; either way at O(1) amortised cost per wait.

Waking thousands at once: each waiter is a :class:`Waiter`, an ``asyncio.Future``
that keeps its most recent done-callback (the awaiting task's wakeup) aside instead
of in asyncio's list. ``wake_all`` settles every waiter and then runs those kept
callbacks from one ``call_soon``, where asyncio would make a ``call_soon`` and a
handle per waiter (about 6,600 instructions each on CPython 3.11's own loop:
loadtest/longpoll_fanout.py). A waiter completed any other way (a timeout,
``cancel()``, a caller's ``set_result``) schedules its kept callback as asyncio
would. Each waiter's callbacks still run in the order they were added, and the
waiters' in the order they were woken, as asyncio runs them: a waiter whose first
callbacks are in asyncio's list ends the batch before it (the wakeups of the
waiters woken earlier are scheduled then, its own callbacks after them). A kept
callback that is a task's own wakeup is handed one plain, already settled
``asyncio.Future`` of the batch's instead of its waiter (see :func:`_wakes_a_task`).
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import sys
from collections import deque
from collections.abc import Callable
from types import BuiltinMethodType, TracebackType
from typing import Any, Generic, TypeVar

__all__ = ["BoundedSemaphore", "Condition", "Event", "Lock", "Semaphore"]
# Also public, for the other waiting primitives of this package (``queues``) and
# kept out of ``__all__`` (Tornado's ``locks`` has no such names):
# ``WaiterQueue``, ``loop_deadline``, ``expire_with_error`` and ``Timeout``.

_T = TypeVar("_T")

#: An absolute deadline on the loop's clock, or a delay from now.
Timeout = float | datetime.timedelta

# The smallest deque a WaiterQueue sweeps (see the module's docstring).
_SWEEP_FLOOR = 64


class Waiter(asyncio.Future[_T]):
    """The future a ``WaiterQueue`` hands out: its latest done-callback is kept aside, for a batched wake.

    Behaves as an ``asyncio.Future`` to everything outside this module: the
    callbacks run once it is done, each in its context, in the order they
    were added. The one added last (an awaiting task's wakeup) is kept aside;
    adding another first moves it to asyncio's list, so the order holds.
    ``WaiterQueue`` reads the kept one to run it in a batch
    (``_run_kept_callbacks``). Differences: ``repr`` and asyncio's private
    ``_callbacks`` do not show the kept callback.
    """

    __slots__ = ("_kept", "_kept_context", "_kept_wakes_task", "_listed")

    def __init__(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(loop=loop)
        self._kept: Callable[[Waiter[_T]], object] | None = None
        self._kept_context: contextvars.Context | None = None
        self._kept_wakes_task = False  # (the kept callback is a task's wakeup: _wakes_a_task)
        # Whether a callback went to asyncio's list (one added before the
        # kept one): settling this waiter schedules it at once, so a batched
        # wake must first schedule the waiters woken before it (wake_all).
        self._listed = False

    def add_done_callback(self, fn: Callable[[Waiter[_T]], object], *, context: contextvars.Context | None = None) -> None:
        """As ``asyncio.Future.add_done_callback``."""
        if self.done():
            super().add_done_callback(fn, context=context)  # (scheduled at once)
            return
        kept = self._kept
        if kept is not None:  # asyncio's list takes it first: the order holds
            super().add_done_callback(kept, context=self._kept_context)
            self._listed = True
        self._kept = fn
        self._kept_context = contextvars.copy_context() if context is None else context
        self._kept_wakes_task = _wakes_a_task(fn)

    def remove_done_callback(self, fn: Callable[[Waiter[_T]], object]) -> int:
        """As ``asyncio.Future.remove_done_callback``: how many were removed (none once it is done)."""
        removed = 0
        kept = self._kept
        if kept is not None and not self.done() and (kept is fn or kept == fn):  # (asyncio's test)
            self._kept = self._kept_context = None
            removed = 1
        return removed + super().remove_done_callback(fn)

    def set_result(self, result: _T) -> None:
        """As ``asyncio.Future.set_result``."""
        super().set_result(result)
        self._schedule_kept()

    def set_exception(self, exception: type | BaseException) -> None:
        """As ``asyncio.Future.set_exception``."""
        super().set_exception(exception)
        self._schedule_kept()

    def cancel(self, msg: Any | None = None) -> bool:
        """As ``asyncio.Future.cancel``."""
        if not super().cancel(msg):
            return False
        self._schedule_kept()
        return True

    def _schedule_kept(self) -> None:
        """Done: the kept callback goes after asyncio's, as its own ``call_soon``."""
        kept = self._kept
        if kept is not None:
            context, self._kept, self._kept_context = self._kept_context, None, None
            self.get_loop().call_soon(kept, self, context=context)


# Whether a task's wakeup needs nothing of the future it is given but its
# outcome (see _wakes_a_task): CPython 3.11 to 3.13.
_WAKEUP_READS_ONLY_THE_OUTCOME = sys.version_info < (3, 14)


def _wakes_a_task(callback: Callable[..., object]) -> bool:
    """Whether ``callback`` is an asyncio task's own wakeup: CPython's C ``task_wakeup``, bound to the task.

    On CPython 3.11 to 3.13 that wakeup reads nothing of the future it is
    given but its outcome, in C when the future is exactly an
    ``asyncio.Future`` and by calling its ``result()`` by name otherwise (a
    ``Waiter``): about 1.5k of a long poll's instructions in a fan-out
    (loadtest/longpoll_fanout.py). The coroutine it resumes reads the value
    from the future it awaits, the waiter. So a batch of waiters that all
    succeeded hands such a wakeup one plain settled future instead
    (``_run_kept_callbacks``). Anything else, the pure-Python task's wakeup
    included, is given its waiter. From 3.14 the wakeup also takes its task
    off the given future's ``awaited_by`` (the call graph), which must be
    the waiter: there it is always given its waiter.
    """
    return (
        _WAKEUP_READS_ONLY_THE_OUTCOME
        and type(callback) is BuiltinMethodType
        and callback.__name__ == "task_wakeup"
        and isinstance(callback.__self__, asyncio.Task)
    )


# The base class's own methods, for WaiterQueue: a waiter woken in a batch is
# settled without Waiter's overrides, which would schedule its kept callback.
_settle = asyncio.Future.set_result
_add_listed_callback = asyncio.Future.add_done_callback
_remove_listed_callback = asyncio.Future.remove_done_callback


def _run_kept_callbacks(loop: asyncio.AbstractEventLoop, waiters: list[Waiter[Any]]) -> None:
    """Run the kept callback of each woken waiter, in order, where asyncio would queue a handle each.

    An exception goes to the loop's exception handler and the rest still
    run. Whatever escapes (a ``KeyboardInterrupt``, or what the exception
    handler raised) goes on once the callbacks not yet run are scheduled
    again, at the end of the loop's queue. Every waiter in ``waiters`` has a
    result (``wake_all`` settled them): a task's wakeup is given ``resumed``,
    a settled plain future, in place of its waiter (``_wakes_a_task``).
    """
    resumed: asyncio.Future[None] = asyncio.Future(loop=loop)
    resumed.set_result(None)
    started = 0
    try:
        for waiter in waiters:
            started += 1
            callback, context = waiter._kept, waiter._kept_context
            waiter._kept = waiter._kept_context = None
            try:
                context.run(callback, resumed if waiter._kept_wakes_task else waiter)  # type: ignore[union-attr,arg-type]  # (both set when batched)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                loop.call_exception_handler(
                    {"message": f"Exception in callback {callback!r}", "exception": exc, "future": waiter}
                )
    except BaseException:
        if started < len(waiters):
            loop.call_soon(_run_kept_callbacks, loop, waiters[started:])
        raise


class WaiterQueue(Generic[_T]):
    """Pending futures in arrival order, and the timers that would expire those that have one."""

    __slots__ = ("_waiting", "_timers", "_quiet", "_sweep_at", "_withdrawn")

    def __init__(self) -> None:
        self._waiting: deque[Waiter[_T]] = deque()
        self._timers: dict[Waiter[_T], asyncio.TimerHandle] = {}
        # The context every waiter's done-callback runs in, made once per
        # queue: _forget reads no context variable, and asyncio would
        # otherwise copy the caller's context for every waiter (64 bytes per
        # parked long poll, loadtest/longpoll_fanout.py). The callback runs
        # from the loop, never nested, and these primitives are not
        # thread-safe (one loop each), so the context is never entered twice
        # at once. (The bound method stays per waiter: kept on the queue it
        # would make every primitive a reference cycle.)
        self._quiet = contextvars.Context()
        self._sweep_at = _SWEEP_FLOOR
        self._withdrawn = 0  # timed waiters withdrawn since the last sweep

    def __len__(self) -> int:
        """Waiters still pending (a withdrawn one not yet swept is not counted): O(n), for ``repr``."""
        return sum(1 for waiter in self._waiting if not waiter.done())

    def add(self, timeout: Timeout | None, on_timeout: Callable[[asyncio.Future[_T]], None]) -> Waiter[_T]:
        """Park a new future on the running loop; ``on_timeout`` settles it at the deadline.

        Raises:
            RuntimeError: no event loop is running.
            TypeError: ``timeout`` is neither a number nor a ``timedelta``.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop_deadline(loop, timeout)
        waiter: Waiter[_T] = Waiter(loop=loop)
        waiting = self._waiting
        waiting.append(waiter)
        if deadline is not None:
            self._timers[waiter] = loop.call_at(deadline, on_timeout, waiter)
            # In asyncio's list: the awaiting task's wakeup, added next, is the kept one.
            _add_listed_callback(waiter, self._forget, context=self._quiet)
        if len(waiting) >= self._sweep_at:
            self._sweep()
        return waiter

    # Waking detaches ``_forget`` first: the timer is cancelled here, and each
    # done-callback costs asyncio a ``call_soon``. (Measured when the waiters
    # were an ordered map, with 10,000 tasks parked on one Condition, min of 7
    # runs, CPython 3.11: notify_all 14.6 -> 7.3 ms, until every task has
    # resumed 43 -> 31 ms, 10,000 x notify(1) 10.9 -> 4.3 ms.)

    def wake_next(self, result: _T) -> bool:
        """Give ``result`` to the oldest waiter still pending; say whether there was one."""
        waiting = self._waiting
        while waiting:
            waiter = waiting.popleft()
            if waiter.done():
                continue
            if self._timers:
                self._disarm(waiter)
            _settle(waiter, result)
            waiter._schedule_kept()
            # The next sweep comes when the deque doubles from here, not
            # from its peak: twice the live waiters, not twice the most.
            if 2 * len(waiting) < self._sweep_at:
                self._sweep_at = max(_SWEEP_FLOOR, 2 * len(waiting))
            return True
        self._sweep_at = _SWEEP_FLOOR
        return False

    def wake_all(self, result: _T) -> None:
        """Give ``result`` to every pending waiter, in arrival order, in one pass."""
        waiting, self._waiting = self._waiting, deque()
        self._sweep_at = _SWEEP_FLOOR
        self._withdrawn = 0
        timed = bool(self._timers)
        batch: list[Waiter[_T]] = []
        loop: asyncio.AbstractEventLoop | None = None
        for waiter in waiting:
            if not waiter.done():
                if timed:
                    self._disarm(waiter)
                if waiter._listed and batch and loop is not None:  # its listed callbacks must not overtake earlier wakeups
                    loop.call_soon(_run_kept_callbacks, loop, batch)
                    batch = []
                _settle(waiter, result)  # (schedules only the callbacks in asyncio's list)
                if waiter._kept is not None:
                    owner = waiter.get_loop()
                    if loop is None:
                        loop = owner
                    if owner is loop:
                        batch.append(waiter)
                    else:  # (a primitive shared across loops: each waiter wakes on its own)
                        waiter._schedule_kept()
        if batch and loop is not None:
            loop.call_soon(_run_kept_callbacks, loop, batch)

    def _disarm(self, waiter: Waiter[_T]) -> None:
        """A waiter being woken: cancel its timer, if it has one, and the done-callback that would."""
        if self._cancel_timer(waiter):
            _remove_listed_callback(waiter, self._forget)

    def _cancel_timer(self, waiter: Waiter[_T]) -> bool:
        """Cancel ``waiter``'s timer; say whether it had one."""
        handle = self._timers.pop(waiter, None)
        if handle is None:
            return False
        handle.cancel()
        return True

    def _sweep(self) -> None:
        """Drop the waiters withdrawn since the last sweep; the next comes when the deque doubles."""
        self._waiting = deque(waiter for waiter in self._waiting if not waiter.done())
        self._sweep_at = max(_SWEEP_FLOOR, 2 * len(self._waiting))
        self._withdrawn = 0

    def _forget(self, waiter: Waiter[_T]) -> None:
        """Done-callback of a timed waiter that timed out or was cancelled: its timer goes now, it at a sweep."""
        self._cancel_timer(waiter)
        self._withdrawn += 1
        if 2 * self._withdrawn > len(self._waiting) >= _SWEEP_FLOOR:
            self._sweep()


def loop_deadline(loop: asyncio.AbstractEventLoop, timeout: Timeout) -> float:
    """Turn Tornado's two timeout forms into an absolute time on ``loop``'s clock."""
    if isinstance(timeout, datetime.timedelta):
        return loop.time() + timeout.total_seconds()
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        return float(timeout)
    raise TypeError(f"timeout must be a loop time or a datetime.timedelta, not {timeout!r}")


def _expire_with_false(waiter: asyncio.Future[bool]) -> None:
    """Timer callback for ``Condition.wait``: a timeout is an answer, not an error."""
    if not waiter.done():
        waiter.set_result(False)


def expire_with_error(waiter: asyncio.Future[Any]) -> None:
    """Timer callback for ``Event.wait`` and ``acquire``: the awaiting code gets ``TimeoutError``."""
    if not waiter.done():
        waiter.set_exception(TimeoutError("Timeout"))


class Condition:
    """Lets coroutines wait until another one notifies them.

    Mirrors ``tornado.locks.Condition``: like ``threading.Condition`` but with no
    underlying lock, since coroutines on one loop never run at the same time.

    A notification handed to a waiter whose task is cancelled before it resumes is
    lost with that task (the future has already succeeded, so there is nothing left to
    detect); long-polling code that uses ``notify_all()`` is unaffected.
    """

    def __init__(self) -> None:
        self._waiters: WaiterQueue[bool] = WaiterQueue()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} waiters[{len(self._waiters)}]>"

    def wait(self, timeout: Timeout | None = None) -> asyncio.Future[bool]:
        """Wait for :meth:`notify`; mirrors ``tornado.locks.Condition.wait``.

        Args:
            timeout: Absolute loop time or ``timedelta``; ``None`` waits forever.

        Returns:
            A future: ``True`` once notified, ``False`` if the timeout passed first.
            Cancelling it (or the task awaiting it) withdraws the wait at once:
            no notification goes to it.

        Raises:
            RuntimeError: called with no running event loop.
        """
        return self._waiters.add(timeout, _expire_with_false)

    def notify(self, n: int = 1) -> None:
        """Wake the ``n`` longest-waiting coroutines (fewer if fewer are waiting)."""
        for _ in range(n):
            if not self._waiters.wake_next(True):
                return

    def notify_all(self) -> None:
        """Wake every waiting coroutine, in the order they started waiting."""
        self._waiters.wake_all(True)


class Event:
    """A flag that coroutines can wait on until it is set.

    Mirrors ``tornado.locks.Event``; ``wait`` raises the builtin ``TimeoutError``.
    """

    def __init__(self) -> None:
        self._value = False
        self._waiters: WaiterQueue[None] = WaiterQueue()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {'set' if self._value else 'clear'}>"

    def is_set(self) -> bool:
        """Return whether the flag is set."""
        return self._value

    def set(self) -> None:
        """Set the flag and wake every waiter; later waits return at once."""
        if not self._value:
            self._value = True
            self._waiters.wake_all(None)

    def clear(self) -> None:
        """Reset the flag, so later waits block until :meth:`set` is called again."""
        self._value = False

    def wait(self, timeout: Timeout | None = None) -> asyncio.Future[None]:
        """Wait until the flag is set; mirrors ``tornado.locks.Event.wait``.

        Args:
            timeout: Absolute loop time or ``timedelta``; ``None`` waits forever.

        Returns:
            A future that succeeds when the flag is set (already done if it is).
            It fails with ``TimeoutError`` if the timeout passes first.

        Raises:
            RuntimeError: called with no running event loop.
        """
        if self._value:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        return self._waiters.add(timeout, expire_with_error)


class _ReleasingContextManager:
    """What ``acquire()`` resolves to: releases on exit of a plain ``with`` block.

    Mirrors Tornado's helper of the same name, which makes the generator style
    ``with (yield sem.acquire()):`` work.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: Semaphore | Lock) -> None:
        self._owner = owner

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._owner.release()


class Semaphore:
    """A counter that coroutines decrement by acquiring, waiting while it is zero.

    Mirrors ``tornado.locks.Semaphore``: waiters are served first come, first served,
    and ``release()`` hands its unit straight to the oldest pending waiter, so a
    newcomer cannot overtake the queue.
    """

    def __init__(self, value: int = 1) -> None:
        """Start with ``value`` free units.

        Raises:
            ValueError: ``value`` is negative.
        """
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._value = value
        self._waiters: WaiterQueue[_ReleasingContextManager] = WaiterQueue()

    def __repr__(self) -> str:
        state = "locked" if self._value == 0 else f"unlocked,value:{self._value}"
        return f"<{type(self).__name__} [{state}] waiters[{len(self._waiters)}]>"

    def acquire(self, timeout: Timeout | None = None) -> asyncio.Future[_ReleasingContextManager]:
        """Take one unit, waiting for a :meth:`release` if none is free.

        Mirrors ``tornado.locks.Semaphore.acquire``. Prefer ``async with sem:``:
        if the task awaiting this future is cancelled just after the unit was handed
        to it, only ``async with`` notices and gives the unit back.

        Args:
            timeout: Absolute loop time or ``timedelta``; ``None`` waits forever.

        Returns:
            A future resolving to a context manager that releases on exit; it fails
            with ``TimeoutError`` if the timeout passes first.

        Raises:
            RuntimeError: called with no running event loop.
        """
        if self._value > 0:
            self._value -= 1
            granted: asyncio.Future[_ReleasingContextManager] = asyncio.get_running_loop().create_future()
            granted.set_result(_ReleasingContextManager(self))
            return granted
        return self._waiters.add(timeout, expire_with_error)

    def release(self) -> None:
        """Return one unit, waking the oldest waiter if there is one."""
        self._value += 1
        if self._waiters.wake_next(_ReleasingContextManager(self)):
            self._value -= 1

    async def __aenter__(self) -> None:
        await _acquire_or_give_back(self.acquire(), self.release)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def __enter__(self) -> None:
        raise RuntimeError("use 'async with' instead of 'with' for Semaphore")

    def __exit__(self, *args: object) -> None:
        raise RuntimeError("use 'async with' instead of 'with' for Semaphore")  # pragma: no cover


class BoundedSemaphore(Semaphore):
    """A semaphore that refuses to be released above its initial value.

    Mirrors ``tornado.locks.BoundedSemaphore``: over-release is usually a bug
    (releasing in two code paths), and this turns it into an error where it happens.
    """

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._initial_value = value

    def release(self) -> None:
        """Return one unit.

        Raises:
            ValueError: every unit is already free.
        """
        if self._value >= self._initial_value:
            raise ValueError("Semaphore released too many times")
        super().release()


class Lock:
    """A mutual-exclusion lock for coroutines.

    Mirrors ``tornado.locks.Lock``: not reentrant, released by whoever holds it,
    acquired in arrival order. Built on a ``BoundedSemaphore(1)``, as Tornado's is.
    """

    def __init__(self) -> None:
        self._block = BoundedSemaphore(1)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} _block={self._block!r}>"

    def acquire(self, timeout: Timeout | None = None) -> asyncio.Future[_ReleasingContextManager]:
        """Take the lock, waiting until it is free; see :meth:`Semaphore.acquire`.

        Returns:
            A future resolving to a context manager that releases on exit; it fails
            with ``TimeoutError`` if the timeout passes first.
        """
        return self._block.acquire(timeout)

    def release(self) -> None:
        """Unlock, handing the lock to the oldest waiter if there is one.

        Raises:
            RuntimeError: the lock is not held.
        """
        try:
            self._block.release()
        except ValueError:
            raise RuntimeError("release unlocked lock") from None

    async def __aenter__(self) -> None:
        await _acquire_or_give_back(self.acquire(), self.release)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def __enter__(self) -> None:
        raise RuntimeError("use 'async with' instead of 'with' for Lock")

    def __exit__(self, *args: object) -> None:
        raise RuntimeError("use 'async with' instead of 'with' for Lock")  # pragma: no cover


async def _acquire_or_give_back(granted: asyncio.Future[_ReleasingContextManager], release: Callable[[], None]) -> None:
    """Await an acquisition; if cancelled after it succeeded, release what was granted.

    ``release()`` settles the waiter's future before its task runs again; a
    cancellation in between would otherwise keep the unit forever.
    """
    try:
        await granted
    except asyncio.CancelledError:
        if granted.done() and not granted.cancelled() and granted.exception() is None:
            release()
        raise

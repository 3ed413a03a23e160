"""Queues for coordinating producer and consumer coroutines, as in ``tornado.queues``.

Not thread-safe: like ``framework.locks``, every queue belongs to one event
loop. Timeouts are Tornado's two forms, an absolute deadline on the loop's
clock (``IOLoop.current().time() + 5``) or a ``datetime.timedelta``, and raise
the builtin ``TimeoutError`` (``framework.util.TimeoutError``).

Strategy: consumers waiting in :meth:`Queue.get` sit in the same waiter queue
the locks use (``framework.locks``: a waiter that times out or is cancelled
has its timer cancelled at once and leaves at O(1) amortised cost), and an item put while one waits is
handed to the oldest waiter directly. Producers waiting in :meth:`Queue.put`
carry their item, so they sit in a map of their own, from future to item and
timer; the first one still pending enters the queue the moment a ``get``
makes room, so a waiting producer is never overtaken by a later ``put_nowait``.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeVar

from framework.locks import (
    Event,
    Timeout,
    WaiterQueue,
    expire_with_error,
    loop_deadline,
)

__all__ = ["LifoQueue", "PriorityQueue", "Queue", "QueueEmpty", "QueueFull"]

_T = TypeVar("_T")


class QueueEmpty(Exception):
    """Raised by :meth:`Queue.get_nowait` when the queue has no items."""


class QueueFull(Exception):
    """Raised by :meth:`Queue.put_nowait` when the queue is at its ``maxsize``."""


class _Putters(Generic[_T]):
    """Producers waiting for room, oldest first, each with its item and its timer."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: OrderedDict[asyncio.Future[None], tuple[_T, asyncio.TimerHandle | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, item: _T, timeout: Timeout | None) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        handle = None if timeout is None else loop.call_at(loop_deadline(loop, timeout), expire_with_error, waiter)
        self._pending[waiter] = (item, handle)
        waiter.add_done_callback(self._forget)
        return waiter

    def pop_next(self) -> tuple[_T, asyncio.Future[None]] | None:
        """Take the oldest producer still waiting, with its item; None if there is none."""
        while self._pending:
            waiter, (item, handle) = self._pending.popitem(last=False)
            if handle is not None:
                handle.cancel()
            if not waiter.done():
                waiter.remove_done_callback(self._forget)
                return item, waiter
        return None

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        entry = self._pending.pop(waiter, None)
        if entry is not None and entry[1] is not None:
            entry[1].cancel()


class Queue(Generic[_T]):
    """A first-in, first-out queue for coroutines.

    Mirrors ``tornado.queues.Queue``: ``maxsize`` 0 means unbounded; ``put``
    waits for room and ``get`` for an item, both with optional timeouts;
    ``join`` waits until every item put has been marked with ``task_done``;
    ``async for item in queue`` gets items forever. Subclasses change the order
    by overriding ``_init``, ``_put`` and ``_get``, as in Tornado.

    Raises:
        TypeError: ``maxsize`` is None.
        ValueError: ``maxsize`` is negative.
    """

    _queue: Any

    def __init__(self, maxsize: int = 0) -> None:
        if maxsize is None:
            raise TypeError("maxsize can't be None")
        if maxsize < 0:
            raise ValueError("maxsize can't be negative")
        self._maxsize = maxsize
        self._init()
        self._getters: WaiterQueue[_T] = WaiterQueue()
        self._putters: _Putters[_T] = _Putters()
        self._unfinished_tasks = 0
        self._finished = Event()
        self._finished.set()

    @property
    def maxsize(self) -> int:
        """Number of items allowed in the queue; 0 for no limit."""
        return self._maxsize

    def qsize(self) -> int:
        """Number of items in the queue."""
        return len(self._queue)

    def empty(self) -> bool:
        return not self._queue

    def full(self) -> bool:
        return self._maxsize > 0 and self.qsize() >= self._maxsize

    def put(self, item: _T, timeout: Timeout | None = None) -> asyncio.Future[None]:
        """Put ``item`` in the queue, waiting for room if it is full.

        Returns:
            A future that succeeds once the item is in the queue, or fails with
            ``TimeoutError`` if the timeout passes first (the item is then not put).

        Raises:
            RuntimeError: called with no running event loop.
        """
        try:
            self.put_nowait(item)
        except QueueFull:
            return self._putters.add(item, timeout)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def put_nowait(self, item: _T) -> None:
        """Put ``item`` in the queue without waiting.

        Raises:
            QueueFull: the queue is at ``maxsize``.
        """
        if self.full():
            raise QueueFull
        self._count_new_task()
        if not self._getters.wake_next(item):
            self._put(item)

    def get(self, timeout: Timeout | None = None) -> asyncio.Future[_T]:
        """Remove and return an item, waiting until there is one.

        Returns:
            A future resolving to the item, or failing with ``TimeoutError``
            if the timeout passes first.

        Raises:
            RuntimeError: called with no running event loop.
        """
        try:
            item = self.get_nowait()
        except QueueEmpty:
            return self._getters.add(timeout, expire_with_error)
        done: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        done.set_result(item)
        return done

    def get_nowait(self) -> _T:
        """Remove and return an item without waiting.

        Raises:
            QueueEmpty: there is no item.
        """
        if not self._queue:
            raise QueueEmpty
        item = self._get()
        waiting = self._putters.pop_next()
        if waiting is not None:
            waiting_item, putter = waiting
            self._count_new_task()
            self._put(waiting_item)
            putter.set_result(None)
        return item

    def task_done(self) -> None:
        """Mark one item taken from the queue as processed, for :meth:`join`.

        Raises:
            ValueError: called more times than items were put.
        """
        if self._unfinished_tasks <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished_tasks -= 1
        if self._unfinished_tasks == 0:
            self._finished.set()

    def join(self, timeout: Timeout | None = None) -> asyncio.Future[None]:
        """Wait until every item put has been processed (see :meth:`task_done`).

        Returns:
            A future that succeeds then, or fails with ``TimeoutError``.
        """
        return self._finished.wait(timeout)

    def __aiter__(self) -> AsyncIterator[_T]:
        return _QueueIterator(self)

    def _count_new_task(self) -> None:
        self._unfinished_tasks += 1
        self._finished.clear()

    # Storage hooks, overridden by PriorityQueue and LifoQueue (Tornado's names).

    def _init(self) -> None:
        self._queue = collections.deque()

    def _get(self) -> _T:
        item: _T = self._queue.popleft()
        return item

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} maxsize={self._maxsize!r} {self._format()}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__} {self._format()}>"

    def _format(self) -> str:
        parts = [f"queue={self._queue!r}"] if self._queue else []
        if self._getters:
            parts.append(f"getters[{len(self._getters)}]")
        if self._putters:
            parts.append(f"putters[{len(self._putters)}]")
        if self._unfinished_tasks:
            parts.append(f"tasks={self._unfinished_tasks}")
        return " ".join(parts)


class _QueueIterator(Generic[_T]):
    """``async for`` over a queue: each step is a ``get()``; it never stops by itself."""

    __slots__ = ("_queue",)

    def __init__(self, queue: Queue[_T]) -> None:
        self._queue = queue

    def __aiter__(self) -> _QueueIterator[_T]:
        return self

    def __anext__(self) -> asyncio.Future[_T]:
        return self._queue.get()


class PriorityQueue(Queue[_T]):
    """A queue that hands out its smallest item first (usually ``(priority, item)`` tuples).

    Mirrors ``tornado.queues.PriorityQueue``.
    """

    def _init(self) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        heapq.heappush(self._queue, item)

    def _get(self) -> _T:
        item: _T = heapq.heappop(self._queue)
        return item


class LifoQueue(Queue[_T]):
    """A queue that hands out the item put most recently first.

    Mirrors ``tornado.queues.LifoQueue``.
    """

    def _init(self) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    def _get(self) -> _T:
        item: _T = self._queue.pop()
        return item

"""``framework/queues.py``: each test runs its own loop with ``asyncio.run``.

No timing assertions: timeouts use deadlines already due (``timedelta(0)``, or a
loop time in the past) or far away; order is checked through futures, never the clock.
"""

from __future__ import annotations

import asyncio
import datetime

import pytest

from framework.queues import LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull
from tests.framework.harness import run

NOW = datetime.timedelta(0)


def test_items_come_out_in_order_per_queue_kind() -> None:
    async def test() -> None:
        for queue, expected in ((Queue(), [3, 1, 2]), (PriorityQueue(), [1, 2, 3]), (LifoQueue(), [2, 1, 3])):
            for item in (3, 1, 2):
                queue.put_nowait(item)
            assert [queue.get_nowait() for _ in range(3)] == expected

    run(test)


def test_size_empty_full_and_maxsize() -> None:
    async def test() -> None:
        queue: Queue[int] = Queue(maxsize=2)
        assert (queue.maxsize, queue.qsize(), queue.empty(), queue.full()) == (2, 0, True, False)
        await queue.put(1)
        queue.put_nowait(2)
        assert (queue.qsize(), queue.empty(), queue.full()) == (2, False, True)
        with pytest.raises(QueueFull):
            queue.put_nowait(3)
        assert not Queue().full()

    run(test)


def test_maxsize_is_checked() -> None:
    with pytest.raises(TypeError):
        Queue(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Queue(-1)


def test_get_nowait_on_empty_raises() -> None:
    async def test() -> None:
        with pytest.raises(QueueEmpty):
            Queue().get_nowait()

    run(test)


def test_get_waits_for_a_put_and_getters_are_served_in_order() -> None:
    async def test() -> None:
        queue: Queue[str] = Queue()
        first, second = queue.get(), queue.get()
        queue.put_nowait("a")
        queue.put_nowait("b")
        assert (await first, await second) == ("a", "b")
        assert queue.empty()

    run(test)


def test_get_times_out_with_a_timedelta_or_an_absolute_deadline() -> None:
    async def test() -> None:
        queue: Queue[int] = Queue()
        with pytest.raises(TimeoutError):
            await queue.get(timeout=NOW)
        with pytest.raises(TimeoutError):
            await queue.get(timeout=asyncio.get_running_loop().time() - 1)
        await asyncio.sleep(0)
        queue.put_nowait(1)  # nobody is waiting any more: the item stays
        assert queue.qsize() == 1
        assert len(queue._getters) == 0

    run(test)


def test_a_cancelled_getter_does_not_swallow_an_item() -> None:
    async def test() -> None:
        queue: Queue[int] = Queue()
        abandoned = queue.get()
        abandoned.cancel()
        kept = queue.get()
        queue.put_nowait(7)
        assert await kept == 7

    run(test)


def test_put_waits_for_room_and_keeps_its_place() -> None:
    async def test() -> None:
        queue: Queue[int] = Queue(maxsize=1)
        queue.put_nowait(1)
        waiting = queue.put(2)
        assert not waiting.done()
        assert queue.get_nowait() == 1
        assert waiting.done() and queue.qsize() == 1  # the waiting item entered at once
        with pytest.raises(QueueFull):
            queue.put_nowait(3)  # ... so a later put cannot overtake it
        assert queue.get_nowait() == 2

    run(test)


def test_put_times_out_and_its_item_is_not_put() -> None:
    async def test() -> None:
        queue: Queue[int] = Queue(maxsize=1)
        queue.put_nowait(1)
        with pytest.raises(TimeoutError):
            await queue.put(2, timeout=NOW)
        assert queue.get_nowait() == 1
        assert queue.empty() and len(queue._putters) == 0

    run(test)


def test_join_waits_for_task_done() -> None:
    async def test() -> None:
        queue: Queue[int] = Queue()
        await queue.join()  # nothing put: done at once
        queue.put_nowait(1)
        queue.put_nowait(2)
        joined = asyncio.ensure_future(queue.join())
        for _ in range(2):
            queue.get_nowait()
            await asyncio.sleep(0)
            assert not joined.done()
            queue.task_done()
        await joined
        with pytest.raises(ValueError):
            queue.task_done()
        queue.put_nowait(3)
        with pytest.raises(TimeoutError):
            await queue.join(timeout=NOW)

    run(test)


def test_items_handed_to_a_waiting_getter_count_as_tasks() -> None:
    async def test() -> None:
        queue: Queue[int] = Queue()
        getter = queue.get()
        queue.put_nowait(1)
        await getter
        with pytest.raises(TimeoutError):
            await queue.join(timeout=NOW)
        queue.task_done()
        await queue.join()

    run(test)


def test_async_for_consumes_items_as_in_tornados_producer_consumer_example() -> None:
    async def test() -> None:
        queue: Queue[int] = Queue(maxsize=2)
        seen: list[int] = []

        async def consumer() -> None:
            async for item in queue:
                try:
                    seen.append(item)
                finally:
                    queue.task_done()

        async def producer() -> None:
            for item in range(5):
                await queue.put(item)

        worker = asyncio.ensure_future(consumer())
        await producer()
        await queue.join()
        worker.cancel()
        assert seen == [0, 1, 2, 3, 4]

    run(test)


def test_repr_names_the_state() -> None:
    async def test() -> None:
        queue: Queue[int] = Queue(maxsize=3)
        queue.put_nowait(1)
        text, short = repr(queue), str(queue)
        assert "maxsize=3" in text and "tasks=1" in text and "queue=" in short

    run(test)

"""The chat's room store on its own: only a message creates a room, idle rooms are reclaimed, polls wait and leave."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from services.chat import rooms as rooms_module
from services.chat.rooms import IDLE_SECONDS, MAX_ROOMS, MemoryRooms, RoomsFull, RoomStore

_T = TypeVar("_T")


def run(make: Callable[[], Awaitable[_T]]) -> _T:
    async def main() -> _T:
        return await make()

    return asyncio.run(main())


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memory_rooms_is_a_room_store() -> None:
    store: RoomStore = MemoryRooms()
    assert isinstance(store, MemoryRooms)


def test_reading_an_unknown_room_creates_nothing() -> None:
    rooms = MemoryRooms()

    async def reads() -> None:
        for i in range(MAX_ROOMS * 2):
            assert await rooms.history(f"r{i}") == []
            assert await rooms.updates(f"r{i}", 0, timeout=0) == []
        assert await rooms.names() == []

    run(reads)
    assert len(rooms) == 0


def test_a_message_creates_the_room() -> None:
    rooms = MemoryRooms()

    async def talk() -> list[str]:
        first = await rooms.post("lobby", "ana", "hello")
        await rooms.post("lobby", "bo", "hi")
        assert [m.body for m in await rooms.history("lobby")] == ["hello", "hi"]
        assert [m.body for m in await rooms.updates("lobby", first.id, timeout=0)] == ["hi"]
        return await rooms.names()

    assert run(talk) == ["lobby"]


def test_the_cap_holds_only_while_rooms_are_in_use() -> None:
    clock = FakeClock()
    rooms = MemoryRooms(clock=clock)

    async def fill_then_wait() -> None:
        for i in range(MAX_ROOMS):
            await rooms.post(f"r{i}", "x", "m")
        with pytest.raises(RoomsFull):
            await rooms.post("one-more", "x", "m")
        clock.now += IDLE_SECONDS - 1
        await rooms.post("r0", "x", "still talking")  # r0 stays active
        clock.now += 1
        await rooms.post("one-more", "x", "m")  # the idle ones were reclaimed

    run(fill_then_wait)
    assert len(rooms) == 2
    assert run(rooms.names) in (["r0", "one-more"], ["one-more", "r0"])


def test_a_room_with_a_waiting_poll_is_not_reclaimed() -> None:
    clock = FakeClock()
    rooms = MemoryRooms(clock=clock)

    async def scenario() -> list[str]:
        await rooms.post("kept", "x", "m")
        for i in range(1, MAX_ROOMS):
            await rooms.post(f"r{i}", "x", "m")
        poll = asyncio.ensure_future(rooms.updates("kept", 10**12, timeout=30))
        await asyncio.sleep(0)
        assert rooms.waiting("kept") == 1
        clock.now += IDLE_SECONDS
        await rooms.post("new", "x", "m")
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
        assert rooms.waiting("kept") == 0
        return await rooms.names()

    assert sorted(run(scenario)) == ["kept", "new"]


def test_a_poll_on_an_unknown_room_is_answered_when_the_room_is_created() -> None:
    rooms = MemoryRooms()

    async def scenario() -> list[str]:
        poll = asyncio.ensure_future(rooms.updates("later", 0, timeout=10))
        await asyncio.sleep(0.01)
        assert len(rooms) == 0 and not poll.done()
        await rooms.post("elsewhere", "x", "not for the poll")
        await asyncio.sleep(0.01)
        assert not poll.done()  # woken, looked again, waits on
        await rooms.post("later", "x", "now")
        return [m.body for m in await asyncio.wait_for(poll, 5)]

    assert run(scenario) == ["now"]


def test_a_poll_times_out_empty() -> None:
    rooms = MemoryRooms()

    async def scenario() -> list[object]:
        await rooms.post("quiet", "x", "m")
        return list(await rooms.updates("quiet", 10**12, timeout=0.05)) + list(
            await rooms.updates("unknown", 0, timeout=0.05)
        )

    assert run(scenario) == []


def test_wake_all_answers_every_poll_and_stops_waiting() -> None:
    rooms = MemoryRooms()

    async def scenario() -> list[list[object]]:
        await rooms.post("here", "x", "m")
        polls = [
            asyncio.ensure_future(rooms.updates("here", 10**12, timeout=10)),
            asyncio.ensure_future(rooms.updates("nowhere", 0, timeout=10)),
        ]
        await asyncio.sleep(0.01)
        rooms.wake_all()
        answers = [list(a) for a in await asyncio.wait_for(asyncio.gather(*polls), 5)]
        answers.append(list(await asyncio.wait_for(rooms.updates("here", 10**12, timeout=10), 5)))
        return answers

    assert run(scenario) == [[], [], []]


def test_history_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rooms_module, "HISTORY", 3)
    rooms = MemoryRooms()

    async def scenario() -> list[str]:
        for i in range(5):
            await rooms.post("r", "x", str(i))
        return [m.body for m in await rooms.history("r")]

    assert run(scenario) == ["2", "3", "4"]

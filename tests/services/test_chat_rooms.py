"""The chat's room stores on their own, each test against both (in memory, and a real Redis).

Only a message creates a room, idle rooms are reclaimed, polls wait and leave,
cursors are the store's own.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import subprocess
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import pytest

from services.chat import redis_rooms
from services.chat import rooms as rooms_module
from services.chat.redis_rooms import RedisRooms, parse_stream_id
from services.chat.rooms import (
    IDLE_SECONDS,
    MAX_ROOMS,
    BadCursor,
    MemoryRooms,
    RoomsFull,
    RoomStore,
    StoreUnavailable,
)

_T = TypeVar("_T")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class RedisServer(Protocol):
    """The ``durable_redis`` fixture (tests/services/conftest.py)."""

    process: subprocess.Popen[bytes] | None

    @property
    def url(self) -> str: ...


class StoreFactory(Protocol):
    def __call__(self, *, clock: FakeClock | None = None) -> RoomStore: ...


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    """Makes the store under test; the Redis one on the session's emptied ``redis-server``."""
    if request.param == "memory":

        def memory(*, clock: FakeClock | None = None) -> RoomStore:
            return MemoryRooms(clock=clock) if clock is not None else MemoryRooms()

        return memory
    url: str = request.getfixturevalue("redis_url")

    def in_redis(*, clock: FakeClock | None = None) -> RoomStore:
        return RedisRooms(url, clock=clock) if clock is not None else RedisRooms(url)

    return in_redis


def play(store: Callable[[], RoomStore], scenario: Callable[[RoomStore], Awaitable[_T]]) -> _T:
    """Run ``scenario`` with a store made and closed on one event loop."""

    async def main() -> _T:
        rooms = store()
        try:
            return await scenario(rooms)
        finally:
            await rooms.close()

    return asyncio.run(main())


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def test_both_stores_offer_every_verb_of_room_store(redis_url: str) -> None:
    # RoomStore is a Protocol, so nothing checks the stores against it at run
    # time (mypy covers services/, not tests/): compare each verb's shape.
    verbs = [name for name, member in vars(RoomStore).items() if callable(member) and not name.startswith("_")]
    assert {"post", "history", "updates", "names", "waiting", "wake_all", "close"} <= set(verbs)
    for store in (MemoryRooms(), RedisRooms(redis_url)):
        for name in verbs:
            wanted, given = getattr(RoomStore, name), getattr(type(store), name)
            assert inspect.iscoroutinefunction(given) == inspect.iscoroutinefunction(wanted), (type(store), name)
            assert list(inspect.signature(given).parameters) == list(inspect.signature(wanted).parameters), (type(store), name)


def test_reading_an_unknown_room_creates_nothing(make_store: StoreFactory) -> None:
    async def reads(rooms: RoomStore) -> None:
        for i in range(MAX_ROOMS * 2):
            assert await rooms.history(f"r{i}") == []
            assert await rooms.updates(f"r{i}", "0", timeout=0) == []
        assert await rooms.names() == []

    play(make_store, reads)


def test_a_message_creates_the_room(make_store: StoreFactory) -> None:
    async def talk(rooms: RoomStore) -> list[str]:
        first = await rooms.post("lobby", "ana", "hello")
        await rooms.post("lobby", "bo", "hi")
        assert [m.body for m in await rooms.history("lobby")] == ["hello", "hi"]
        assert [m.body for m in await rooms.updates("lobby", first.id, timeout=0)] == ["hi"]
        assert [m.body for m in await rooms.updates("lobby", "0", timeout=0)] == ["hello", "hi"]
        return await rooms.names()

    assert play(make_store, talk) == ["lobby"]


def test_ids_are_opaque_strings_in_order(make_store: StoreFactory) -> None:
    async def talk(rooms: RoomStore) -> list[str]:
        ids = [(await rooms.post("r", "x", str(i))).id for i in range(5)]
        assert all(isinstance(i, str) for i in ids) and len(set(ids)) == 5
        assert [m.id for m in await rooms.history("r")] == ids
        return [m.body for m in await rooms.updates("r", ids[2], timeout=0)]

    assert play(make_store, talk) == ["3", "4"]


@pytest.mark.parametrize("cursor", ["-1", "x", "1-2-3", "9" * 21, "9" * 3000, "99999999999999999999-0", " 1"])
def test_bad_cursors_are_refused(make_store: StoreFactory, cursor: str) -> None:
    async def poll(rooms: RoomStore) -> None:
        with pytest.raises(BadCursor):
            await rooms.updates("r", cursor, timeout=0)

    play(make_store, poll)


def test_stream_ids_order_as_redis_orders_them() -> None:
    assert parse_stream_id("0") == (0, 0)
    assert parse_stream_id("1700000000000-12") == (1700000000000, 12)
    assert parse_stream_id("9-10") > parse_stream_id("9-9") > parse_stream_id("8-99")


def test_the_cap_holds_only_while_rooms_are_in_use(make_store: StoreFactory) -> None:
    clock = FakeClock()

    async def fill_then_wait(rooms: RoomStore) -> list[str]:
        for i in range(MAX_ROOMS):
            await rooms.post(f"r{i}", "x", "m")
        with pytest.raises(RoomsFull):
            await rooms.post("one-more", "x", "m")
        clock.now += IDLE_SECONDS - 1
        await rooms.post("r0", "x", "still talking")  # r0 stays active
        clock.now += 1
        await rooms.post("one-more", "x", "m")  # the idle ones were reclaimed
        assert await rooms.history("r1") == []
        return await rooms.names()

    assert sorted(play(lambda: make_store(clock=clock), fill_then_wait)) == ["one-more", "r0"]


def test_a_room_with_a_waiting_poll_is_not_reclaimed(make_store: StoreFactory) -> None:
    clock = FakeClock()

    async def scenario(rooms: RoomStore) -> list[str]:
        await rooms.post("kept", "x", "m")
        for i in range(1, MAX_ROOMS):
            await rooms.post(f"r{i}", "x", "m")
        newest = (await rooms.history("kept"))[-1].id
        poll = asyncio.ensure_future(rooms.updates("kept", newest, timeout=30))
        await eventually(lambda: rooms.waiting("kept") == 1)
        clock.now += IDLE_SECONDS
        await rooms.post("new", "x", "m")
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
        assert rooms.waiting("kept") == 0
        return await rooms.names()

    assert sorted(play(lambda: make_store(clock=clock), scenario)) == ["kept", "new"]


def test_a_poll_is_woken_by_a_message(make_store: StoreFactory) -> None:
    async def scenario(rooms: RoomStore) -> list[list[str]]:
        first = await rooms.post("r", "x", "one")
        polls = [asyncio.ensure_future(rooms.updates("r", first.id, timeout=10)) for _ in range(3)]
        await eventually(lambda: rooms.waiting("r") == 3)
        await rooms.post("r", "x", "two")
        answers = [[m.body for m in answer] for answer in await asyncio.wait_for(asyncio.gather(*polls), 5)]
        assert rooms.waiting("r") == 0
        return answers

    assert play(make_store, scenario) == [["two"]] * 3


def test_a_poll_on_an_unknown_room_is_answered_when_the_room_is_created(make_store: StoreFactory) -> None:
    async def scenario(rooms: RoomStore) -> list[str]:
        poll = asyncio.ensure_future(rooms.updates("later", "0", timeout=10))
        await asyncio.sleep(0.05)
        assert await rooms.names() == [] and not poll.done()
        await rooms.post("elsewhere", "x", "not for the poll")
        await asyncio.sleep(0.05)
        assert not poll.done()  # woken, looked again, waits on
        await rooms.post("later", "x", "now")
        return [m.body for m in await asyncio.wait_for(poll, 5)]

    assert play(make_store, scenario) == ["now"]


def test_a_poll_times_out_empty(make_store: StoreFactory) -> None:
    async def scenario(rooms: RoomStore) -> list[object]:
        newest = (await rooms.post("quiet", "x", "m")).id
        return list(await rooms.updates("quiet", newest, timeout=0.05)) + list(await rooms.updates("unknown", "0", timeout=0.05))

    assert play(make_store, scenario) == []


def test_wake_all_answers_every_poll_and_stops_waiting(make_store: StoreFactory) -> None:
    async def scenario(rooms: RoomStore) -> list[list[object]]:
        newest = (await rooms.post("here", "x", "m")).id
        polls = [
            asyncio.ensure_future(rooms.updates("here", newest, timeout=10)),
            asyncio.ensure_future(rooms.updates("nowhere", "0", timeout=10)),
        ]
        await asyncio.sleep(0.05)
        rooms.wake_all()
        answers = [list(a) for a in await asyncio.wait_for(asyncio.gather(*polls), 5)]
        answers.append(list(await asyncio.wait_for(rooms.updates("here", newest, timeout=10), 5)))
        return answers

    assert play(make_store, scenario) == [[], [], []]


def test_history_is_bounded(monkeypatch: pytest.MonkeyPatch, make_store: StoreFactory) -> None:
    monkeypatch.setattr(rooms_module, "HISTORY", 3)

    async def scenario(rooms: RoomStore) -> list[str]:
        for i in range(5):
            await rooms.post("r", "x", str(i))
        return [m.body for m in await rooms.history("r")]

    assert play(make_store, scenario) == ["2", "3", "4"]


def test_a_redis_that_hangs_is_unavailable_not_a_hang(monkeypatch: pytest.MonkeyPatch, durable_redis: RedisServer) -> None:
    monkeypatch.setattr(redis_rooms, "COMMAND_SECONDS", 0.3)
    monkeypatch.setattr(redis_rooms, "BLOCK_SECONDS", 0.5)

    async def scenario(rooms: RoomStore) -> None:
        newest = (await rooms.post("r", "x", "m")).id
        poll = asyncio.ensure_future(rooms.updates("r", newest, timeout=10))
        await eventually(lambda: rooms.waiting("r") == 1)
        assert durable_redis.process is not None
        durable_redis.process.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(StoreUnavailable):
                await asyncio.wait_for(rooms.post("r", "x", "lost in a hung Redis"), 5)
            with pytest.raises(StoreUnavailable):  # the reader's next doorbell read timed out
                await asyncio.wait_for(poll, redis_rooms.BLOCK_SECONDS + 5)
        finally:
            durable_redis.process.send_signal(signal.SIGCONT)

    play(lambda: RedisRooms(durable_redis.url), scenario)


def test_the_room_list_is_kept_briefly_and_forgotten_on_news(redis_url: str) -> None:
    async def scenario() -> None:
        ours, theirs = RedisRooms(redis_url), RedisRooms(redis_url)  # two replicas
        try:
            await ours.post("first", "a", "hi")
            assert await ours.names() == ["first"]
            calls = 0
            real = ours._redis.zrevrange

            async def counted(*args: object, **kwargs: object) -> object:
                nonlocal calls
                calls += 1
                return await real(*args, **kwargs)  # type: ignore[arg-type]

            ours._redis.zrevrange = counted  # type: ignore[method-assign]
            assert await ours.names() == ["first"] and calls == 0  # from memory
            await ours.post("second", "a", "hi")  # our own post forgets the list
            assert await ours.names() == ["second", "first"] and calls == 1
            poll = asyncio.ensure_future(ours.updates("second", "0-0", timeout=5))  # starts our doorbell reader
            await asyncio.sleep(0.2)
            await theirs.post("third", "b", "hi")  # another replica's post rings the doorbell
            await eventually(lambda: ours._names is None)
            assert set(await ours.names()) == {"third", "second", "first"}  # a waiting poll ranks its room first
            poll.cancel()
        finally:
            await ours.close()
            await theirs.close()

    asyncio.run(scenario())

"""Chat rooms: which rooms exist, their recent messages, and the long polls waiting on them.

Strategy: a room comes into being only when a message is posted to it, so
reading (a room page, a poll) can never use up the room cap: a lookup of an
unknown name answers "no messages" and keeps nothing for that name. Each
room keeps its last ``HISTORY`` messages and one ``locks.Condition``; a
poll with a cursor (the id of the newest message the client has) answers at
once when newer messages exist, otherwise waits. A poll on a room that does
not exist yet waits on one store-wide condition that is notified whenever a
room is created, then looks again: one shared waiter list instead of an
entry per unknown name (a creation wakes every such poll, which is cheap:
they re-check and wait again). A room with no message for ``IDLE_SECONDS``
and no poll waiting is forgotten the next time a room is created, so the
``MAX_ROOMS`` cap can only be held by rooms in use.

``RoomStore`` is the seam the chat's handlers use; ``MemoryRooms`` keeps
everything in this process, ``redis_rooms.RedisRooms`` keeps it in Redis for
several processes and replicas. Cursors are opaque strings to everyone but
the store that issued them: here a decimal counter, there a stream id.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from framework import locks

__all__ = [
    "HISTORY",
    "IDLE_SECONDS",
    "MAX_ROOMS",
    "POLL_SECONDS",
    "BadCursor",
    "MemoryRooms",
    "Message",
    "RoomStore",
    "RoomsFull",
    "StoreUnavailable",
]

HISTORY = 200
MAX_ROOMS = 100
POLL_SECONDS = 25.0
IDLE_SECONDS = 15 * 60.0

_ids = itertools.count(1)


# The memory store's cursors: a decimal counter that fits a signed 64-bit integer.
_MEMORY_CURSOR = re.compile(r"[0-9]{1,18}")


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One chat message; its ``id`` is the cursor that asks for the messages after it.

    Ids are opaque strings: a client passes back the last one it has and
    never compares or computes with them.
    """

    id: str
    nick: str
    body: str
    at: float

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "nick": self.nick, "body": self.body, "at": self.at}


class RoomsFull(Exception):
    """A message would create a room while ``MAX_ROOMS`` rooms are in use (answered 503)."""


class BadCursor(ValueError):
    """A cursor this store never issued and cannot read (answered 400)."""


class StoreUnavailable(Exception):
    """The engine behind the store cannot be reached: try again shortly (answered 503, or a reconnect hint)."""


class RoomStore(Protocol):
    """What the chat needs from wherever rooms are kept.

    No verb but ``post`` creates a room: every read of an unknown room
    behaves as a read of an empty one.
    """

    async def post(self, name: str, nick: str, body: str) -> Message:
        """Add a message, creating the room if needed; wakes the room's polls.

        Returns only once the message is stored (for an external engine: acknowledged by it).

        Raises:
            RoomsFull: the room is new and there is no space for it.
            StoreUnavailable: the message could not be stored.
        """
        ...

    async def history(self, name: str) -> list[Message]:
        """The room's recent messages, oldest first ([] for an unknown room)."""
        ...

    async def updates(self, name: str, cursor: str, *, timeout: float = POLL_SECONDS) -> list[Message]:
        """Messages after ``cursor`` ("0": from the start), waiting up to ``timeout`` seconds for one if there are none.

        Returns [] on timeout and at once while the store is closing.
        Cancelling the call withdraws the wait and leaves nothing behind.

        Raises:
            BadCursor: ``cursor`` is not one of this store's cursors.
            StoreUnavailable: the engine went away before or during the wait.
        """
        ...

    async def names(self) -> list[str]:
        """Rooms with messages, the most active first."""
        ...

    def waiting(self, name: str) -> int:
        """Polls of this process waiting in room ``name`` (0 for an unknown room): for tests and metrics."""
        ...

    def wake_all(self) -> None:
        """Answer every poll now and stop waiting from here on (the server is draining)."""
        ...

    async def close(self) -> None:
        """``wake_all``, then release what the store holds (connections, tasks)."""
        ...


class _Room:
    """One room's messages, its condition, and what decides whether it is idle."""

    __slots__ = ("condition", "last_message", "messages", "waiting")

    def __init__(self, now: float) -> None:
        self.messages: deque[Message] = deque(maxlen=HISTORY)
        self.condition = locks.Condition()
        self.waiting = 0
        self.last_message = now

    def idle(self, now: float) -> bool:
        return self.waiting == 0 and now - self.last_message >= IDLE_SECONDS


class MemoryRooms:
    """``RoomStore`` in this process's memory (the default: one chat process).

    Args:
        clock: monotonic seconds, for the idle rule (tests pass a fake one).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rooms: dict[str, _Room] = {}
        self._created = locks.Condition()  # polls on rooms that do not exist yet
        self._clock = clock
        self._closing = False

    async def post(self, name: str, nick: str, body: str) -> Message:
        room = self._rooms.get(name) or self._create(name)
        message = Message(str(next(_ids)), nick, body, time.time())
        room.messages.append(message)
        room.last_message = self._clock()
        room.condition.notify_all()
        return message

    async def history(self, name: str) -> list[Message]:
        room = self._rooms.get(name)
        return list(room.messages) if room is not None else []

    async def updates(self, name: str, cursor: str, *, timeout: float = POLL_SECONDS) -> list[Message]:
        if not _MEMORY_CURSOR.fullmatch(cursor):
            raise BadCursor(f"not a message id: {cursor[:40]!r}")
        after = int(cursor)
        deadline = time.monotonic() + timeout
        while True:
            found = self._since(name, after)
            remaining = deadline - time.monotonic()
            if found or self._closing or remaining <= 0:
                return found
            await self._wait(name, remaining)

    async def names(self) -> list[str]:
        active = [(len(room.messages), name) for name, room in self._rooms.items() if room.messages]
        return [name for _, name in sorted(active, key=lambda pair: -pair[0])]

    def wake_all(self) -> None:
        self._closing = True
        self._created.notify_all()
        for room in self._rooms.values():
            room.condition.notify_all()

    async def close(self) -> None:
        self.wake_all()

    def waiting(self, name: str) -> int:
        room = self._rooms.get(name)
        return room.waiting if room is not None else 0

    def __len__(self) -> int:
        return len(self._rooms)

    def _since(self, name: str, after: int) -> list[Message]:
        room = self._rooms.get(name)
        return [m for m in room.messages if int(m.id) > after] if room is not None else []

    async def _wait(self, name: str, seconds: float) -> None:
        """One wait: on the room's condition, or on room creation while it does not exist."""
        room = self._rooms.get(name)
        if room is None:
            await self._created.wait(timeout=datetime.timedelta(seconds=seconds))
            return
        room.waiting += 1
        try:
            await room.condition.wait(timeout=datetime.timedelta(seconds=seconds))
        finally:
            room.waiting -= 1

    def _create(self, name: str) -> _Room:
        """A new room, after forgetting idle ones.

        Raises:
            RoomsFull: every one of the ``MAX_ROOMS`` rooms is in use.
        """
        now = self._clock()
        for idle in [n for n, room in self._rooms.items() if room.idle(now)]:
            del self._rooms[idle]
        if len(self._rooms) >= MAX_ROOMS:
            raise RoomsFull(f"{MAX_ROOMS} rooms are in use")
        room = self._rooms[name] = _Room(now)
        self._created.notify_all()
        return room

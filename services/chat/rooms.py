"""Chat rooms: a bounded message history per room and the long-poll waiters on it.

Strategy: each room keeps its last ``HISTORY`` messages and one
``locks.Condition``. A poll with a cursor (the id of the last message the
client has) answers at once when newer messages exist, otherwise waits on the
condition; a new message wakes every waiter with one ``notify_all()``. A
waiter that goes away cancels its wait (``on_connection_close``), so nothing
is kept per abandoned poll. Rooms are created on first use, up to ``MAX_ROOMS``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import itertools
import time
from collections import deque

from framework import locks

__all__ = ["Message", "Room", "Rooms"]

HISTORY = 200
MAX_ROOMS = 100
POLL_SECONDS = 25.0

_ids = itertools.count(1)


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One chat message; ``id`` grows monotonically across rooms."""

    id: int
    nick: str
    body: str
    at: float

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "nick": self.nick, "body": self.body, "at": self.at}


class Room:
    """A room's recent messages and the condition its pollers wait on."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: deque[Message] = deque(maxlen=HISTORY)
        self.condition = locks.Condition()
        self.closing = False

    def add(self, nick: str, body: str) -> Message:
        """Store a message and wake everyone waiting in this room."""
        message = Message(next(_ids), nick, body, time.time())
        self.messages.append(message)
        self.condition.notify_all()
        return message

    def since(self, cursor: int) -> list[Message]:
        """Messages newer than ``cursor`` (0 for the whole history)."""
        return [m for m in self.messages if m.id > cursor]

    def wait(self) -> asyncio.Future[bool]:
        """Wait for the next message (or the poll timeout, or a drain)."""
        return self.condition.wait(timeout=datetime.timedelta(seconds=POLL_SECONDS))

    def wake_all(self) -> None:
        """Answer every waiter now (the server is draining: clients will reconnect)."""
        self.closing = True
        self.condition.notify_all()


class Rooms:
    """Every room, by name."""

    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}

    def get(self, name: str) -> Room | None:
        """The room called ``name``, created if there is space for it."""
        room = self._rooms.get(name)
        if room is None and len(self._rooms) < MAX_ROOMS:
            room = self._rooms[name] = Room(name)
        return room

    def names(self) -> list[str]:
        """Rooms with at least one message, busiest first."""
        active = [r for r in self._rooms.values() if r.messages]
        return [r.name for r in sorted(active, key=lambda r: -len(r.messages))]

    def wake_all(self) -> None:
        """Answer every waiter in every room (on drain)."""
        for room in self._rooms.values():
            room.wake_all()


"""Chat rooms kept in Redis: the ``RoomStore`` that several chat processes and replicas share.

Strategy: Redis holds everything shared, in three kinds of key under a prefix (``chat:``):

* ``chat:room:<name>``: a stream per room, the room's ordered message log. A message is
  one XADD, trimmed to about ``HISTORY`` entries (``MAXLEN ~``); its stream id is its id
  and the cursor that asks for what follows it.
* ``chat:rooms``: a sorted set of room names scored by last activity (a post: its time; a
  poll: the time it will end). Only a post adds to it, so reading never creates a room.
  A post that would create a room first reclaims rooms idle for ``IDLE_SECONDS`` and is
  refused beyond ``MAX_ROOMS``: the rules of ``MemoryRooms``, in one Lua script, so that
  replicas creating rooms at the same moment cannot overshoot the cap together.
* ``chat:posted``: a short stream that says "room X has news" after every post (the
  doorbell; the same script appends to it, so a message and its ring are one step).

Each process runs one reader task on one connection: a blocking XREAD of the doorbell.
A poll registers itself with this process, then reads its room after its cursor (XRANGE,
exclusive start); only if that finds nothing does it wait. When the doorbell names rooms
with waiting polls, the reader reads each such room once, after the oldest of their
cursors, and hands every poll what is newer than its own cursor: a message costs one
read per room and process, however many polls wait. Registering before the first read
closes the race with a post in between: a post that read missed rings the doorbell after
it, and the reader was already reading the doorbell from an earlier position.

Redis going away: a post fails with ``StoreUnavailable`` (a 503; the handler answers 200
only after Redis acknowledged the script, so an acknowledged message is stored). The
reader fails every waiting poll with ``StoreUnavailable`` (its client is told to come
back later) and reconnects with backoff; polls arriving meanwhile are told the same at
once. Every call is bounded (``COMMAND_SECONDS``), so a Redis that hangs rather than
closes is found too. Commands are never retried by the client library: a post retried
after a lost reply could be stored twice (a post that timed out after Redis ran it is a
503 whose message is stored nonetheless; the client's retry may then store it twice,
which is a duplicate, never a loss).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from services.chat import rooms as rules
from services.chat.rooms import (
    POLL_SECONDS,
    BadCursor,
    Message,
    RoomsFull,
    StoreUnavailable,
)
from services.common import metrics

__all__ = ["BLOCK_SECONDS", "RedisRooms", "parse_stream_id"]

log = logging.getLogger("services.chat")

# A stream id: "<milliseconds>-<sequence>", each part below 2**64 (a bare number means "<number>-0").
_STREAM_ID = re.compile(r"([0-9]{1,20})(?:-([0-9]{1,20}))?")
_ID_PART_LIMIT = 2**64

BLOCK_SECONDS = 5.0
"""The longest one XREAD of the doorbell waits; the reader then asks again (a silent dead link shows within ~2x)."""
CONNECT_SECONDS = 2.0
COMMAND_SECONDS = 5.0
POOL_SIZE = 64
"""Connections for posts and reads per process; more concurrent commands queue for one."""
DOORBELL_LENGTH = 1000
"""Rings kept (approximately): enough for a reader that fell behind by a few hundred posts."""
DOORBELL_BATCH = 500
NAMES_SECONDS = 1.0
"""How long the room list may be served from memory (``names``)."""
BACKOFF_SECONDS = (0.1, 2.0)
"""The reader's first and longest pause between attempts while Redis is unreachable.

Short: until the reader is back, polls are told to reconnect, even when posts already succeed.
"""

# KEYS: the rooms' sorted set, the room's stream, the doorbell.
# ARGV: room name, now, idle seconds, max rooms, history, nick, body, sent at, room key prefix, doorbell length.
# Reclaimed rooms' streams are keys built inside the script: fine on one Redis, not on a cluster.
_POST_SCRIPT = """
local rooms, room, doorbell = KEYS[1], KEYS[2], KEYS[3]
local name, now = ARGV[1], tonumber(ARGV[2])
if not redis.call('ZSCORE', rooms, name) then
  for _, idle in ipairs(redis.call('ZRANGEBYSCORE', rooms, '-inf', now - tonumber(ARGV[3]))) do
    redis.call('DEL', ARGV[9] .. idle)
    redis.call('ZREM', rooms, idle)
  end
  if redis.call('ZCARD', rooms) >= tonumber(ARGV[4]) then
    return false
  end
end
redis.call('ZADD', rooms, 'GT', now, name)
local id = redis.call('XADD', room, 'MAXLEN', '~', ARGV[5], '*', 'nick', ARGV[6], 'body', ARGV[7], 'at', ARGV[8])
redis.call('XADD', doorbell, 'MAXLEN', '~', ARGV[10], '*', 'room', name)
return id
"""


def parse_stream_id(cursor: str) -> tuple[int, int]:
    """``cursor`` as a stream id's (milliseconds, sequence), the order Redis keeps them in.

    Raises:
        BadCursor: not a stream id.
    """
    match = _STREAM_ID.fullmatch(cursor)
    if match is None:
        raise BadCursor(f"not a message id: {cursor[:40]!r}")
    ms, seq = int(match.group(1)), int(match.group(2) or 0)
    if ms >= _ID_PART_LIMIT or seq >= _ID_PART_LIMIT:
        raise BadCursor(f"not a message id: {cursor[:40]!r}")
    return ms, seq


@contextlib.asynccontextmanager
async def _bounded(what: str, *, extra: float = 0.0) -> AsyncIterator[None]:
    """Bounds Redis calls by ``COMMAND_SECONDS`` (plus ``extra``); any failure becomes ``StoreUnavailable``.

    Raises:
        StoreUnavailable: Redis refused, dropped the connection, or did not answer in time.
    """
    try:
        async with asyncio.timeout(COMMAND_SECONDS + extra):
            yield
    except (RedisError, TimeoutError) as exc:
        raise StoreUnavailable(f"{what}: {exc or 'no answer in time'}") from exc


def _after(position: tuple[int, int]) -> str:
    """XRANGE's exclusive start just after ``position``."""
    return f"({position[0]}-{position[1]}"


def _message(entry_id: str, fields: dict[str, str]) -> Message:
    return Message(entry_id, fields.get("nick", ""), fields.get("body", ""), float(fields.get("at", 0.0)))


class _Waiter:
    """One poll waiting in this process: its cursor, and the future the reader answers."""

    __slots__ = ("after", "answer", "ready")

    def __init__(self, after: tuple[int, int], answer: asyncio.Future[list[Message] | None]) -> None:
        self.after = after
        self.answer = answer  # messages, or None: Redis went away
        self.ready = False  # its first read found nothing: it waits for the doorbell

    def give(self, messages: list[Message] | None) -> None:
        if not self.answer.done():
            self.answer.set_result(messages)


class RedisRooms:
    """``RoomStore`` in Redis, shared by every chat process given the same URL.

    Args:
        url: a redis-py URL, e.g. ``redis://redis:6379/0``.
        prefix: put before every key, so several chats (or tests) can share a database.
        clock: wall-clock seconds for the activity scores (the same clock on every replica;
            tests pass a fake one).
    """

    def __init__(self, url: str, *, prefix: str = "chat:", clock: Callable[[], float] = time.time) -> None:
        # No socket_timeout: redis-py bounds socket writes with asyncio.wait_for, which on
        # Python 3.11 can swallow a cancellation (a poll whose client left would wait on).
        # Every call here is bounded by asyncio.timeout instead (_bounded).
        no_retries = Retry(NoBackoff(), 0)
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=COMMAND_SECONDS, decode_responses=True,
            socket_connect_timeout=CONNECT_SECONDS, retry=no_retries,
        )  # fmt: skip
        self._redis = aioredis.Redis.from_pool(pool)
        # The doorbell's reader: one connection, whose reads last up to BLOCK_SECONDS.
        self._reader_redis = aioredis.Redis.from_url(
            url, decode_responses=True, single_connection_client=True, retry=no_retries,
            socket_connect_timeout=CONNECT_SECONDS,
        )  # fmt: skip
        self._post = self._redis.register_script(_POST_SCRIPT)
        self._rooms_key = prefix + "rooms"
        self._room_prefix = prefix + "room:"
        self._doorbell = prefix + "posted"
        self._clock = clock
        self._names: tuple[float, list[str]] | None = None  # (when read, the room list)
        self._waiters: dict[str, set[_Waiter]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()  # the reader has a doorbell position and reads from it
        self._listened = 0  # how many times the reader started listening (from a new position)
        self._unreachable = False
        self._closing = False

    async def post(self, name: str, nick: str, body: str) -> Message:
        at = time.time()
        args: list[str | int | float] = [
            name, repr(self._clock()), rules.IDLE_SECONDS, rules.MAX_ROOMS, rules.HISTORY,
            nick, body, repr(at), self._room_prefix, DOORBELL_LENGTH,
        ]  # fmt: skip
        async with _bounded("storing a message"):
            stored = await self._post(keys=[self._rooms_key, self._room_prefix + name, self._doorbell], args=args)
        self._names = None  # a new room, or one reclaimed: list them afresh
        if stored is None:
            raise RoomsFull(f"{rules.MAX_ROOMS} rooms are in use")
        return Message(str(stored), nick, body, at)

    async def history(self, name: str) -> list[Message]:
        async with _bounded("reading a room"):
            entries = await self._redis.xrevrange(self._room_prefix + name, count=rules.HISTORY)
        return [_message(entry_id, fields) for entry_id, fields in reversed(entries)]

    async def updates(self, name: str, cursor: str, *, timeout: float = POLL_SECONDS) -> list[Message]:
        after = parse_stream_id(cursor)
        if self._closing:
            return []
        if timeout <= 0:
            return await self._read(name, after)
        await self._listen()
        listening_since = self._listened
        waiter = _Waiter(after, asyncio.get_running_loop().create_future())
        waiters = self._waiters.setdefault(name, set())
        waiters.add(waiter)
        try:
            found = await self._read(name, after, busy_until=self._clock() + timeout)
            if found or self._closing:
                return found
            if self._listened != listening_since or not self._listening.is_set():
                # The reader reconnected meanwhile, from a doorbell position later than
                # this poll's read: a post in between would ring unheard.
                raise StoreUnavailable("Redis came back during the poll")
            waiter.ready = True
            done, _ = await asyncio.wait((waiter.answer,), timeout=timeout)
            answer = waiter.answer.result() if done else []
            if answer is None:
                raise StoreUnavailable("lost Redis while waiting")
            return answer
        finally:
            waiter.answer.cancel()
            waiters.discard(waiter)
            if not waiters and self._waiters.get(name) is waiters:
                del self._waiters[name]

    async def names(self) -> list[str]:
        """Rooms with messages, the most recently active first.

        Kept for up to ``NAMES_SECONDS``: every view of the index page asks, and a
        Redis round trip costs more than the page. A post through this process
        and every ring of the doorbell (a post through any replica) forget it,
        so the list is stale only for replicas this process has not heard yet.
        """
        cached = self._names
        now = time.monotonic()
        if cached is not None and now - cached[0] < NAMES_SECONDS:
            return list(cached[1])
        async with _bounded("listing rooms"):
            names: list[str] = await self._redis.zrevrange(self._rooms_key, 0, rules.MAX_ROOMS - 1)
        self._names = (now, names)
        return list(names)

    def waiting(self, name: str) -> int:
        return sum(1 for waiter in self._waiters.get(name, ()) if waiter.ready and not waiter.answer.done())

    def wake_all(self) -> None:
        self._closing = True
        self._answer_all([])
        if self._reader is not None:
            self._reader.cancel()

    async def close(self) -> None:
        self.wake_all()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._reader_redis.aclose()
        await self._redis.aclose()

    async def _read(self, name: str, after: tuple[int, int], *, busy_until: float | None = None) -> list[Message]:
        """The room's messages after ``after``; with ``busy_until``, also marks the room in use until then.

        A waiting poll keeps its room from being reclaimed as idle, as in ``MemoryRooms``:
        its room's score moves up to the poll's end (XX: an unknown room stays unknown).
        """
        async with _bounded("reading a room"), self._redis.pipeline(transaction=False) as pipe:
            if busy_until is not None:
                pipe.zadd(self._rooms_key, {name: busy_until}, xx=True, gt=True)
            pipe.xrange(self._room_prefix + name, min=_after(after), count=rules.HISTORY)
            replies: list[Any] = await pipe.execute()
        return [_message(entry_id, fields) for entry_id, fields in replies[-1]]

    async def _listen(self) -> None:
        """Make sure the doorbell's reader runs and listens.

        Raises:
            StoreUnavailable: Redis is unreachable (the reader keeps trying on its own).
        """
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read_doorbell())
        if self._listening.is_set():
            return
        if not self._unreachable:  # starting: give it the time a connection may take
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), CONNECT_SECONDS + 1.0)
        if not self._listening.is_set():
            raise StoreUnavailable("Redis is unreachable; reconnecting")

    async def _read_doorbell(self) -> None:
        """The reader: one blocking XREAD at a time; the rooms it names go to ``_deliver``."""
        delay = BACKOFF_SECONDS[0]
        position: str | None = None
        while not self._closing:
            try:
                if position is None:
                    position = await self._doorbell_end()
                    self._reachable()
                    delay = BACKOFF_SECONDS[0]
                async with _bounded("reading the doorbell", extra=BLOCK_SECONDS):
                    replies = await self._reader_redis.xread(
                        {self._doorbell: position}, count=DOORBELL_BATCH, block=int(BLOCK_SECONDS * 1000)
                    )
                rooms: set[str] = set()
                now = time.time()
                if replies:
                    self._names = None  # someone posted: the room list may have changed
                for _, entries in replies or ():
                    for entry_id, fields in entries:
                        position = entry_id
                        rooms.add(fields.get("room", ""))
                        # Stream ids start with Redis's clock in ms: how long the ring took to reach us.
                        metrics.bus_lag.observe(max(0.0, now - parse_stream_id(entry_id)[0] / 1000))
                await self._deliver(rooms)
            except StoreUnavailable as exc:
                # Every waiting poll is told to come back; the position is found afresh
                # once Redis answers again (a restarted Redis may hold a new doorbell).
                position = None
                self._lost(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_SECONDS[1])

    async def _doorbell_end(self) -> str:
        """The id of the doorbell's last ring ("0-0" before the first)."""
        async with _bounded("finding the doorbell's end"):
            last = await self._reader_redis.xrevrange(self._doorbell, count=1)
        return str(last[0][0]) if last else "0-0"

    async def _deliver(self, rooms: Iterable[str]) -> None:
        """Read each room with waiting polls once and answer the polls its news is for."""
        wanted = [(room, [w for w in self._waiters.get(room, ()) if not w.answer.done()]) for room in rooms]
        wanted = [(room, waiters) for room, waiters in wanted if waiters]
        if not wanted:
            return
        async with _bounded("reading rooms with news"), self._redis.pipeline(transaction=False) as pipe:
            for room, waiters in wanted:
                oldest = min(waiter.after for waiter in waiters)
                pipe.xrange(self._room_prefix + room, min=_after(oldest), count=rules.HISTORY)
            replies: list[Any] = await pipe.execute()
        for (_, waiters), entries in zip(wanted, replies, strict=True):
            news = [(parse_stream_id(entry_id), _message(entry_id, fields)) for entry_id, fields in entries]
            for waiter in waiters:
                newer = [message for key, message in news if key > waiter.after]
                if newer:
                    waiter.give(newer)

    def _reachable(self) -> None:
        if self._unreachable:
            log.warning("chat: Redis is reachable again; polls are served")
        self._unreachable = False
        self._listened += 1
        self._listening.set()

    def _lost(self, exc: StoreUnavailable) -> None:
        if not self._unreachable:
            log.warning("chat: lost Redis (%s); polls are told to reconnect while the reader retries", exc)
        self._unreachable = True
        self._listening.clear()
        self._answer_all(None)

    def _answer_all(self, answer: list[Message] | None) -> None:
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.give(answer)

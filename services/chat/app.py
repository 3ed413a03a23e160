"""The chat demo service: ``make_app(**settings)``.

The protocol is Tornado's chat demo's: ``POST a/message/new`` adds a message,
``POST a/message/updates`` with a ``cursor`` long-polls for newer ones.

Cursors are opaque strings (a message's ``id``; "0" for the start): the answer
to a poll carries the ``cursor`` to send next. An answer with ``reconnect``
true asks the client to poll again after ``retry_after`` seconds: the process
is draining, or the room store (Redis) is unreachable. Rooms live in this
process (the default) or, with ``--redis_url``, in Redis, shared by every
process and replica given the same URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from typing import Any

from framework.lifecycle import Lifecycle
from framework.options import OptionParser
from framework.routing import URLSpec
from framework.web import Application, HTTPError
from services.chat.redis_rooms import RedisRooms
from services.chat.rooms import (
    POLL_SECONDS,
    BadCursor,
    MemoryRooms,
    Message,
    RoomsFull,
    RoomStore,
    StoreUnavailable,
)
from services.common import metrics
from services.common.app import make_service_app
from services.common.handlers import BaseHandler
from services.common.run import APP_OPTIONS

__all__ = ["define_options", "make_app"]

ROOM_NAME = r"[a-z0-9][a-z0-9-]{0,31}"
MAX_NICK = 32
MAX_BODY = 2000
RETRY_AFTER = 2
"""Seconds a client waits before trying again while the room store is unreachable."""
DRAIN_RETRY_AFTER = 1
"""Seconds a poll answered by a draining process waits before polling again (elsewhere)."""


class StoreDown(HTTPError):
    """A 503 because the room store is unreachable: sent with ``Retry-After``."""

    def __init__(self, exc: StoreUnavailable) -> None:
        super().__init__(503, "room store: %s", exc, reason="the chat is briefly unavailable; try again shortly")


@contextlib.contextmanager
def store_down_is_503() -> Iterator[None]:
    """Turns ``StoreUnavailable`` inside the block into ``StoreDown``."""
    try:
        yield
    except StoreUnavailable as exc:
        raise StoreDown(exc) from None


class ChatHandler(BaseHandler):
    """Shared by the chat's handlers: the room store and the room-name rule."""

    @property
    def rooms(self) -> RoomStore:
        rooms: RoomStore = self.settings["rooms"]
        return rooms

    def room_name(self, name: str) -> str:
        """``name`` when it is a valid room name (it need not exist: reading creates nothing).

        Raises:
            HTTPError: 400 for anything else.
        """
        if not re.fullmatch(ROOM_NAME, name):
            raise HTTPError(400, reason="room names are 1-32 lower-case letters, digits and dashes")
        return name

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        if exc_info is not None and isinstance(exc_info[1], StoreDown):
            self.set_header("Retry-After", str(RETRY_AFTER))
        super().write_error(status_code, **kwargs)


class IndexHandler(ChatHandler):
    """Pick a nickname and a room."""

    async def get(self) -> None:
        room = self.get_query_argument("room", "")
        if room:
            self.redirect(self.reverse_url("room", self.room_name(room.strip().lower())))
            return
        with store_down_is_503():
            rooms = await self.rooms.names()
        self.render("index.html", rooms=rooms)


class RoomHandler(ChatHandler):
    """A room's page: its recent messages (none for a room nobody has written in), and the polling script."""

    async def get(self, name: str) -> None:
        with store_down_is_503():
            messages = await self.rooms.history(self.room_name(name))
        cursor = messages[-1].id if messages else "0"
        self.render("room.html", room=name, messages=messages, cursor=cursor)


class NewMessageHandler(ChatHandler):
    """``POST a/message/new``: add a message (JSON back for scripts); the only way a room is created."""

    # 2,000 characters of up to 4 UTF-8 bytes, percent-encoded, with room to spare for the other fields.
    max_body_size = 32 * 1024

    async def post(self) -> None:
        name = self.room_name(self.get_body_argument("room"))
        nick = self.get_body_argument("nick").strip()[:MAX_NICK] or "anonymous"
        body = self.get_body_argument("body").strip()
        if not body:
            raise HTTPError(400, reason="empty message")
        if len(body) > MAX_BODY:
            raise HTTPError(400, reason=f"messages are at most {MAX_BODY} characters")
        try:
            with store_down_is_503():
                message = await self.rooms.post(name, nick, body)
        except RoomsFull:
            raise HTTPError(503, reason="too many rooms in use; join an existing one") from None
        if self.get_body_argument("next", None):
            self.redirect(self.reverse_url("room", name))
            return
        self.write(message.as_json())


class UpdatesHandler(ChatHandler):
    """``POST a/message/updates``: messages after ``cursor``, waiting for one if there are none.

    Answers ``{"messages": [...], "cursor": next cursor, "reconnect": bool}``, with
    ``"retry_after"`` (seconds) when ``reconnect`` is true.
    """

    max_body_size = 4 * 1024  # a room name, a cursor and the XSRF token

    wait_task: asyncio.Future[list[Message]] | None = None
    client_gone = False

    async def post(self) -> None:
        name = self.room_name(self.get_body_argument("room"))
        cursor = self.get_body_argument("cursor", "0") or "0"
        lifecycle: Lifecycle = self.settings["lifecycle"]
        timeout = 0.0 if lifecycle.draining or self.client_gone else POLL_SECONDS
        self.wait_task = asyncio.ensure_future(self.rooms.updates(name, cursor, timeout=timeout))
        messages: list[Message] | None
        metrics.longpoll_waiters.inc()
        try:
            messages = await self.wait_task
        except StoreUnavailable:
            messages = None  # the answer is a reconnect hint
        except asyncio.CancelledError:
            return  # on_connection_close cancelled it: the client is gone
        except BadCursor:
            raise HTTPError(400, reason="cursor must be a message id") from None
        finally:
            metrics.longpoll_waiters.dec()
        if self.client_gone:
            return  # nobody to answer (the wait may have ended just as the client left)
        retry_after = DRAIN_RETRY_AFTER if lifecycle.draining else 0
        if messages is None:
            messages, retry_after = [], RETRY_AFTER
        answer: dict[str, object] = {
            "messages": [m.as_json() for m in messages],
            "cursor": messages[-1].id if messages else cursor,
            "reconnect": bool(retry_after),
        }
        if retry_after:
            answer["retry_after"] = retry_after
        self.write(answer)

    def on_connection_close(self) -> None:
        # The client left mid-poll (or before it began): stop waiting, so nothing stays behind for it.
        self.client_gone = True
        if self.wait_task is not None and not self.wait_task.done():
            self.wait_task.cancel()


def define_options(parser: OptionParser) -> None:
    """The chat's own options (passed to ``make_app`` as settings of the same name)."""
    parser.define(
        "redis_url", default="", type=str, group=APP_OPTIONS,
        help="keep rooms in Redis (redis://host:6379/0), shared by every chat process given it; in memory if empty",
    )  # fmt: skip


def make_app(**settings: Any) -> Application:
    """The chat demo's application.

    ``prefix``, ``debug``, ``lifecycle`` pass through; ``rooms`` is the store to
    use, else ``redis_url`` names a Redis to keep rooms in, else they stay in memory.
    """
    redis_url = settings.pop("redis_url", "")
    rooms: RoomStore | None = settings.pop("rooms", None)
    if rooms is None:
        rooms = RedisRooms(redis_url) if redis_url else MemoryRooms()
    lifecycle = settings.setdefault("lifecycle", Lifecycle())
    lifecycle.on_drain(rooms.wake_all)
    routes: list[Any] = [
        URLSpec(r"/", IndexHandler, name="index"),
        URLSpec(rf"/room/({ROOM_NAME})", RoomHandler, name="room"),
        URLSpec(r"/a/message/new", NewMessageHandler, name="new"),
        URLSpec(r"/a/message/updates", UpdatesHandler, name="updates"),
    ]
    return make_service_app(__name__, routes, rooms=rooms, **settings)

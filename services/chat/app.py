"""The chat demo service: ``make_app(**settings)`` and ``main()``.

The protocol is Tornado's chat demo's: ``POST a/message/new`` adds a message,
``POST a/message/updates`` with a ``cursor`` long-polls for newer ones.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

from framework.lifecycle import Lifecycle
from framework.routing import URLSpec
from framework.web import Application, HTTPError

from services.chat.rooms import POLL_SECONDS, MemoryRooms, Message, RoomsFull, RoomStore
from services.common.app import make_service_app
from services.common.handlers import BaseHandler
from services.common.run import run

__all__ = ["make_app", "main"]

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
ROOM_NAME = r"[a-z0-9][a-z0-9-]{0,31}"
MAX_NICK = 32
MAX_BODY = 2000


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


class IndexHandler(ChatHandler):
    """Pick a nickname and a room."""

    async def get(self) -> None:
        room = self.get_query_argument("room", "")
        if room:
            self.redirect(self.reverse_url("room", self.room_name(room.strip().lower())))
            return
        self.render("index.html", rooms=await self.rooms.names())


class RoomHandler(ChatHandler):
    """A room's page: its recent messages (none for a room nobody has written in), and the polling script."""

    async def get(self, name: str) -> None:
        messages = await self.rooms.history(self.room_name(name))
        self.render("room.html", room=name, messages=messages)


class NewMessageHandler(ChatHandler):
    """``POST a/message/new``: add a message (JSON back for scripts); the only way a room is created."""

    # 2,000 characters of up to 4 UTF-8 bytes, percent-encoded, with room to spare for the other fields.
    max_body_bytes = 32 * 1024

    async def post(self) -> None:
        name = self.room_name(self.get_body_argument("room"))
        nick = self.get_body_argument("nick").strip()[:MAX_NICK] or "anonymous"
        body = self.get_body_argument("body").strip()
        if not body:
            raise HTTPError(400, reason="empty message")
        if len(body) > MAX_BODY:
            raise HTTPError(400, reason=f"messages are at most {MAX_BODY} characters")
        try:
            message = await self.rooms.post(name, nick, body)
        except RoomsFull:
            raise HTTPError(503, reason="too many rooms in use; join an existing one") from None
        if self.get_body_argument("next", None):
            self.redirect(self.reverse_url("room", name))
            return
        self.write(message.as_json())


class UpdatesHandler(ChatHandler):
    """``POST a/message/updates``: messages after ``cursor``, waiting for one if there are none."""

    max_body_bytes = 4 * 1024  # a room name, a cursor and the XSRF token

    wait_task: asyncio.Future[list[Message]] | None = None

    async def post(self) -> None:
        name = self.room_name(self.get_body_argument("room"))
        cursor = self.get_body_argument("cursor", "0") or "0"
        if not re.fullmatch(r"[0-9]{1,18}", cursor):
            raise HTTPError(400, reason="cursor must be a message id")
        lifecycle: Lifecycle = self.settings["lifecycle"]
        timeout = 0.0 if lifecycle.draining else POLL_SECONDS
        self.wait_task = asyncio.ensure_future(self.rooms.updates(name, int(cursor), timeout=timeout))
        try:
            messages = await self.wait_task
        except asyncio.CancelledError:
            return  # on_connection_close cancelled it: the client is gone
        if self._finished:
            return
        self.write({"messages": [m.as_json() for m in messages], "reconnect": lifecycle.draining})

    def on_connection_close(self) -> None:
        # The client left mid-poll: stop waiting, so nothing stays behind for it.
        if self.wait_task is not None and not self.wait_task.done():
            self.wait_task.cancel()


def make_app(**settings: Any) -> Application:
    """The chat demo's application (``prefix``, ``debug``, ``lifecycle`` pass through; ``rooms`` picks the store)."""
    rooms = settings.pop("rooms", None) or MemoryRooms()
    lifecycle = settings.setdefault("lifecycle", Lifecycle())
    lifecycle.on_drain(rooms.wake_all)
    routes: list[Any] = [
        URLSpec(r"/", IndexHandler, name="index"),
        URLSpec(rf"/room/({ROOM_NAME})", RoomHandler, name="room"),
        URLSpec(r"/a/message/new", NewMessageHandler, name="new"),
        URLSpec(r"/a/message/updates", UpdatesHandler, name="updates"),
    ]
    settings.setdefault("xsrf_cookies", True)
    return make_service_app(routes, template_dir=TEMPLATES, rooms=rooms, **settings)


def main() -> int:
    """``python -m services.chat --port=8004``."""
    return run(make_app, default_port=8004, default_prefix="/chat/")

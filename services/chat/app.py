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

from services.chat.rooms import Room, Rooms
from services.common.app import make_service_app
from services.common.handlers import BaseHandler
from services.common.run import run

__all__ = ["make_app", "main"]

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
ROOM_NAME = r"[a-z0-9][a-z0-9-]{0,31}"
MAX_NICK = 32
MAX_BODY = 2000


class ChatHandler(BaseHandler):
    """Shared by the chat's handlers: the rooms and the message limits."""

    @property
    def rooms(self) -> Rooms:
        rooms: Rooms = self.settings["rooms"]
        return rooms

    def room_named(self, name: str) -> Room:
        if not re.fullmatch(ROOM_NAME, name):
            raise HTTPError(400, reason="room names are 1-32 lower-case letters, digits and dashes")
        room = self.rooms.get(name)
        if room is None:
            raise HTTPError(503, reason="too many rooms; join an existing one")
        return room


class IndexHandler(ChatHandler):
    """Pick a nickname and a room."""

    def get(self) -> None:
        room = self.get_query_argument("room", "")
        if room:
            self.redirect(self.reverse_url("room", self.room_named(room.strip().lower()).name))
            return
        self.render("index.html", rooms=self.rooms.names())


class RoomHandler(ChatHandler):
    """A room's page: its recent messages, and the script that polls for more."""

    def get(self, name: str) -> None:
        room = self.room_named(name)
        self.render("room.html", room=room, messages=list(room.messages))


class NewMessageHandler(ChatHandler):
    """``POST a/message/new``: add a message (JSON back for scripts)."""

    def post(self) -> None:
        room = self.room_named(self.get_body_argument("room"))
        nick = self.get_body_argument("nick").strip()[:MAX_NICK] or "anonymous"
        body = self.get_body_argument("body").strip()
        if not body:
            raise HTTPError(400, reason="empty message")
        if len(body) > MAX_BODY:
            raise HTTPError(400, reason=f"messages are at most {MAX_BODY} characters")
        message = room.add(nick, body)
        if self.get_body_argument("next", None):
            self.redirect(self.reverse_url("room", room.name))
            return
        self.write(message.as_json())


class UpdatesHandler(ChatHandler):
    """``POST a/message/updates``: messages after ``cursor``, waiting for one if there are none."""

    async def post(self) -> None:
        room = self.room_named(self.get_body_argument("room"))
        try:
            cursor = int(self.get_body_argument("cursor", "0") or 0)
        except ValueError:
            raise HTTPError(400, reason="cursor must be a message id") from None
        messages = room.since(cursor)
        lifecycle: Lifecycle = self.settings["lifecycle"]
        if not messages and not lifecycle.draining:
            self.wait_future = room.wait()
            try:
                await self.wait_future
            except asyncio.CancelledError:
                return  # on_connection_close cancelled it: the client is gone
            if self._finished:
                return
            messages = room.since(cursor)
        self.write({"messages": [m.as_json() for m in messages], "reconnect": lifecycle.draining})

    def on_connection_close(self) -> None:
        # The client left mid-poll: stop waiting, so nothing stays behind for it.
        wait = getattr(self, "wait_future", None)
        if wait is not None and not wait.done():
            wait.cancel()


def make_app(**settings: Any) -> Application:
    """The chat demo's application (``prefix``, ``debug``, ``lifecycle`` pass through)."""
    rooms = Rooms()
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

"""Chat: long-polling readers in a few rooms, a few writers, and the delivery latency.

Every message a scenario writes carries its send time (``sent=<epoch
seconds>``) at the start of its body. A ``ChatPoller`` holds one long poll
open (``POST a/message/updates`` with its cursor); for each message that
arrives it reports ``now - sent`` as a locust request of type ``CHAT`` named
``delivery latency``: the time from a post leaving its writer to the message
reaching this reader, poll turnaround included. Writers and readers run on
one host (or in containers on it), so they share the clock.

The poll itself is not a request in locust's statistics: its duration is the
wait for somebody to write, and counted with the pages it would swamp their
percentiles. Only a poll that fails is reported, as a failure of type
``LONGPOLL``; each answered poll shows up as the deliveries it brought.

A room exists once a message has been posted to it, so both kinds of user
post first: a reader announces itself, which also gives it its first cursor.
"""

from __future__ import annotations

import random
import re
import secrets
import time
from typing import Any

import gevent
from locust import constant, tag, task
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook

from .visitor import Visitor, expect

__all__ = ["ROOMS", "ChatPoller", "ChatPoster"]

ROOMS = ("locust-1", "locust-2", "locust-3")
SENT = re.compile(r"^sent=([0-9]+\.[0-9]+) ")
POLL_TIMEOUT = 60.0  # the server answers an idle poll after 25 s; nginx allows it longer


def stamped(text: str) -> str:
    """``text`` with the send time in front, for the readers' delivery latency."""
    return f"sent={time.time():.6f} {text}"


class FailedPollsOnly:
    """Stands in for the request event of the polling session: passes failures on, drops the rest."""

    def __init__(self, request: EventHook) -> None:
        self.request = request

    def fire(self, **meta: Any) -> None:
        if meta.get("exception") is not None:
            self.request.fire(**dict(meta, request_type="LONGPOLL"))


class ChatUser(Visitor):
    """Posting to a room, with the XSRF token as a form field (as the page's script sends it)."""

    abstract = True

    def post_message(self, room: str, text: str) -> dict[str, Any] | None:
        """POST ``a/message/new``; the message as the server stored it (None, marked a failure, if not)."""
        token = self.xsrf_token(f"/chat/room/{room}", name="/chat/room/[name]")
        fields = {"_xsrf": token, "room": room, "nick": self.nick, "body": stamped(text)}
        with self.client.post("/chat/a/message/new", data=fields, name="/chat/a/message/new", catch_response=True) as response:
            if not expect(response, 200):
                return None
            try:
                message: dict[str, Any] = response.json()
                if not message["id"]:
                    raise ValueError("empty id")
            except (ValueError, KeyError, TypeError):
                response.failure("no message id in the answer")
                return None
            return message


class ChatPoster(ChatUser):
    """Writes a message to a room now and then, and sometimes reads the room's page."""

    weight = 3

    def on_start(self) -> None:
        self.nick = f"poster-{secrets.token_hex(3)}"

    @tag("chat")
    @task(5)
    def post(self) -> None:
        self.post_message(random.choice(ROOMS), "hello from locust")

    @tag("chat")
    @task(1)
    def room_page(self) -> None:
        room = random.choice(ROOMS)
        if self.post_message(room, "looking at the room") is None:
            return
        with self.client.get(f"/chat/room/{room}", name="/chat/room/[name]", catch_response=True) as response:
            expect(response, 200, contains=(f"#{room}", 'id="messages"'))


class ChatPoller(ChatUser):
    """Keeps one long poll open in one room and reports each message's delivery latency."""

    weight = 12
    wait_time = constant(0)  # like the page's script: poll again as soon as an answer is in

    def on_start(self) -> None:
        self.nick = f"reader-{secrets.token_hex(3)}"
        self.room = random.choice(ROOMS)
        self.cursor = ""  # message ids are opaque to clients (a number in memory, a stream id in Redis)
        # The long poll has a connection of its own, as a browser's fetch() next to the page's.
        self.poll_client = FastHttpSession(
            base_url=self.host,
            request_event=FailedPollsOnly(self.environment.events.request),
            user=self,
            concurrency=1,
            network_timeout=POLL_TIMEOUT,
            connection_timeout=self.connection_timeout,
            max_retries=0,
            insecure=True,
            headers=self.default_headers,
        )
        self.join()

    def join(self) -> None:
        """Announce this reader in its room (creating the room if need be); the answer is the first cursor."""
        joined = self.post_message(self.room, f"{self.nick} is reading")
        if joined is not None:
            self.cursor = str(joined["id"])

    @tag("chat", "longpoll")
    @task
    def poll(self) -> None:
        if not self.cursor:  # the announcement failed (and was reported): try again later
            gevent.sleep(1.0)
            self.join()
            return
        token = self.xsrf_token(f"/chat/room/{self.room}", name="/chat/room/[name]")
        fields = {"_xsrf": token, "room": self.room, "cursor": self.cursor}
        # The polling session has no cookie jar of its own: the cookie the token matches goes along by hand.
        with self.poll_client.post(
            "/chat/a/message/updates",
            data=fields,
            name="/chat/a/message/updates",
            headers={"Cookie": f"_xsrf={token}"},
            catch_response=True,
        ) as response:
            if not expect(response, 200):
                gevent.sleep(1.0)
                return
            try:
                answer = response.json()
                messages = answer["messages"]
            except (ValueError, KeyError, TypeError):
                response.failure(f"not a JSON list of messages: {(response.text or '')[:80]!r}")
                return
        self._deliver(messages)
        # The answer names the cursor to send next (older services: the last message's id).
        self.cursor = str(answer.get("cursor") or (messages[-1]["id"] if messages else self.cursor))
        if answer.get("reconnect"):
            gevent.sleep(1.0)  # the server is draining: come back as the page's script does

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        now = time.time()
        for message in messages:
            sent = SENT.match(str(message.get("body", "")))
            if sent is None:
                continue  # written by a person, not by this scenario
            self.environment.events.request.fire(
                request_type="CHAT",
                name="delivery latency",
                response_time=(now - float(sent.group(1))) * 1000,
                response_length=len(str(message.get("body", ""))),
                exception=None,
                context={},
            )

"""Browsing: the portal, every demo's pages and the stylesheet they link.

A ``BrowsingUser`` reads pages the way a person clicking through the suite
does, mostly the portal and the demos' front pages, one request at a time
on its one keep-alive connection. The stylesheet's address (``static_url``,
versioned) is taken from the page itself, as a browser would.
"""

from __future__ import annotations

import random
import re

from locust import tag, task

from .visitor import Visitor, expect

__all__ = ["BrowsingUser"]

STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
ROOM_LINK = re.compile(r'href="(/chat/room/[a-z0-9-]+)"')
# Each demo's front page and a text only that page shows.
PAGES = {
    "/forms/": "<h1>Forms</h1>",
    "/uploads/": "<h1>Uploads</h1>",
    "/chat/": "<h1>Chat</h1>",
    "/redirects/": "<h1>Redirects</h1>",
}


class BrowsingUser(Visitor):
    """Reads the portal and the demos' pages; fetches the CSS the pages link."""

    weight = 60

    def on_start(self) -> None:
        self.stylesheets: list[str] = []

    @tag("browse")
    @task(6)
    def portal(self) -> None:
        # "portal /": a bare "/" reads as nothing in locust's tables.
        with self.client.get("/", name="portal /", catch_response=True) as response:
            if expect(response, 200, contains=('href="/forms/"', 'href="/chat/"')):
                self._remember_stylesheet(response.text or "")

    @tag("browse")
    @task(8)
    def demo_page(self) -> None:
        path, marker = random.choice(list(PAGES.items()))
        with self.client.get(path, name=path, catch_response=True) as response:
            if expect(response, 200, contains=(marker,)):
                self._remember_stylesheet(response.text or "")

    @tag("browse")
    @task(2)
    def forms_recent(self) -> None:
        with self.client.get("/forms/recent", catch_response=True) as response:
            expect(response, 200, contains=("<h1>Recent sign-ups</h1>",))

    @tag("browse")
    @task(2)
    def chat_room(self) -> None:
        """The chat's front page, then one of the active rooms it lists (if any)."""
        with self.client.get("/chat/", name="/chat/", catch_response=True) as response:
            if not expect(response, 200, contains=("<h1>Chat</h1>",)):
                return
            rooms = ROOM_LINK.findall(response.text or "")
        if rooms:
            with self.client.get(random.choice(rooms), name="/chat/room/[name]", catch_response=True) as response:
                expect(response, 200, contains=('id="messages"',))

    @tag("browse")
    @task(3)
    def stylesheet(self) -> None:
        """A stylesheet a page linked (each service serves the suite's CSS under its prefix)."""
        if not self.stylesheets:
            return
        href = random.choice(self.stylesheets)
        with self.client.get(href, name=href.split("?", 1)[0], catch_response=True) as response:
            expect(response, 200, contains=(":root",))

    @tag("browse")
    @task(1)
    def healthz(self) -> None:
        with self.client.get("/healthz", name="/healthz", catch_response=True) as response:
            expect(response, 200, contains=("ok",))

    def _remember_stylesheet(self, page: str) -> None:
        found = STYLESHEET.search(page)
        if found and found.group(1) not in self.stylesheets:
            self.stylesheets.append(found.group(1))

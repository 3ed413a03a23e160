"""The forms demo service: ``make_app(**settings)``.

A sign-up form that shows every mistake next to its field and keeps what
was typed; a valid submission is stored and answered with a redirect
(post/redirect/get), so reloading the result page never submits twice.
Every POST carries an XSRF token.
"""

from __future__ import annotations

import itertools
import secrets
from collections import OrderedDict
from typing import Any

from framework.routing import URLSpec
from framework.web import Application, HTTPError
from services.common.app import make_service_app
from services.common.handlers import BaseHandler
from services.forms.validation import TOPICS, Signup, validate_signup

__all__ = ["make_app"]

KEEP = 50
FIELDS = ("name", "email", "age", "topic", "message", "agree")


class Submissions:
    """The last ``KEEP`` valid submissions, by an id that cannot be guessed."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[int, Signup]] = OrderedDict()
        self._numbers = itertools.count(1)

    def add(self, signup: Signup) -> str:
        key = secrets.token_urlsafe(9)
        self._items[key] = (next(self._numbers), signup)
        while len(self._items) > KEEP:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> tuple[int, Signup] | None:
        return self._items.get(key)

    def recent(self) -> list[tuple[int, Signup]]:
        return list(reversed(self._items.values()))


class FormHandler(BaseHandler):
    """``/``: the form (GET) and its submission (POST)."""

    # A 1,000-character message and an 80-character name, percent-encoded UTF-8, and the rest.
    max_body_size = 32 * 1024

    @property
    def submissions(self) -> Submissions:
        store: Submissions = self.settings["submissions"]
        return store

    def get(self) -> None:
        self.render("form.html", values={"topic": "framework"}, errors={}, topics=TOPICS, count=len(self.submissions.recent()))

    def post(self) -> None:
        values = {name: self.get_body_argument(name, "") for name in FIELDS}
        signup, errors = validate_signup(values)
        if signup is None:
            self.set_status(400)
            self.render("form.html", values=values, errors=errors, topics=TOPICS, count=len(self.submissions.recent()))
            return
        key = self.submissions.add(signup)
        self.redirect(self.reverse_url("done", key), status=303)


class DoneHandler(BaseHandler):
    """``/done/<id>``: the result of a submission; reloading it is harmless."""

    def get(self, key: str) -> None:
        store: Submissions = self.settings["submissions"]
        found = store.get(key)
        if found is None:
            raise HTTPError(404)
        number, signup = found
        self.render("done.html", number=number, signup=signup, topics=TOPICS)


class RecentHandler(BaseHandler):
    """``/recent``: the latest submissions (names and topics only)."""

    def get(self) -> None:
        store: Submissions = self.settings["submissions"]
        self.render("recent.html", recent=store.recent(), topics=TOPICS)


class SearchHandler(BaseHandler):
    """``/search?q=...``: a GET form; the query stays in the URL, so results can be linked."""

    def get(self) -> None:
        query = self.get_query_argument("q", "").strip()
        store: Submissions = self.settings["submissions"]
        found = [(n, s) for n, s in store.recent() if query and query.lower() in s.name.lower()]
        self.render("search.html", query=query, found=found, topics=TOPICS)


def make_app(**settings: Any) -> Application:
    """The forms demo's application (``prefix``, ``debug`` pass through)."""
    routes: list[Any] = [
        URLSpec(r"/", FormHandler, name="form"),
        URLSpec(r"/done/([A-Za-z0-9_-]{12})", DoneHandler, name="done"),
        URLSpec(r"/recent", RecentHandler, name="recent"),
        URLSpec(r"/search", SearchHandler, name="search"),
    ]
    return make_service_app(__name__, routes, submissions=Submissions(), **settings)

"""The portal service: ``make_app(**settings)``."""

from __future__ import annotations

import asyncio
import platform
import time
from typing import Any

from framework.web import Application, HTTPError
from services.catalog import DEMOS
from services.common.app import make_service_app
from services.common.handlers import BaseHandler

__all__ = ["make_app"]


class IndexHandler(BaseHandler):
    """The landing page: one card per demo of the catalog."""

    def get(self) -> None:
        self.render(
            "index.html",
            demos=DEMOS,
            python_version=platform.python_version(),
        )

    head = get


class SleepHandler(BaseHandler):
    """``/sleep?ms=N``: answers after N ms without blocking anyone else.

    Open it in several tabs at once: they all finish after N ms, not one
    after another, because the wait is an ``await`` on the event loop. It is
    also what the stack tests use to have requests in flight during a drain.
    """

    MAX_MS = 10_000

    async def get(self) -> None:
        try:
            ms = int(self.get_argument("ms", "1000"))
        except ValueError:
            raise HTTPError(400, reason="ms must be a whole number of milliseconds") from None
        if not 0 <= ms <= self.MAX_MS:
            raise HTTPError(400, reason=f"ms must be between 0 and {self.MAX_MS}")
        started = time.monotonic()
        await asyncio.sleep(ms / 1000)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(
            f"slept {ms} ms; the event loop served other requests meanwhile "
            f"({(time.monotonic() - started) * 1000:.0f} ms elapsed)\n"
        )


def make_app(**settings: Any) -> Application:
    """The portal's application (``prefix``, ``debug`` and other settings pass through)."""
    routes = [(r"/", IndexHandler), (r"/sleep", SleepHandler)]
    # No forms here: without XSRF protection a POST gets its 405, not a 403 for a missing token.
    settings.setdefault("xsrf_cookies", False)
    return make_service_app(__name__, routes, **settings)

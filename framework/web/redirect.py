"""Handlers configured in the routing table: ``RedirectHandler``, ``ErrorHandler``, ``FallbackHandler``."""

from __future__ import annotations

import re
from collections.abc import Callable

from framework.httputil import HTTPServerRequest
from framework.web.errors import HTTPError
from framework.web.handler import RequestHandler

__all__ = ["ErrorHandler", "FallbackHandler", "RedirectHandler"]

# ``\1``-style group references in a RedirectHandler target.
_BACKREFERENCE = re.compile(r"\\(\d+)")


class RedirectHandler(RequestHandler):
    """Redirect every request for a route to ``url`` (Tornado's ``RedirectHandler``).

    Permanent (301) by default, since the routing table is static. ``url``
    may refer to the route's groups as ``\\1`` or ``{0}``; the request's query
    string is appended, merged with any query ``url`` already has.
    """

    def initialize(self, url: str, permanent: bool = True) -> None:
        self._url = url
        self._permanent = permanent

    def get(self, *args: str, **kwargs: str) -> None:
        # ``\1`` becomes ``{0}`` and the template is formatted once, so text
        # taken from the request path is inserted, never read as a template
        # (a path holding ``{0.__class__}`` must not be evaluated).
        template = _BACKREFERENCE.sub(lambda m: _field(args, int(m.group(1))), self._url)
        target = template.format(*args, **kwargs) if "{" in template else template
        query = self.request.query
        if query:
            target += ("&" if "?" in target else "?") + query
        self.redirect(target, permanent=self._permanent)

    head = get


def _field(args: tuple[str, ...], number: int) -> str:
    if not 1 <= number <= len(args):
        raise HTTPError(500, "redirect refers to group %d; the route has %d", number, len(args))
    return f"{{{number - 1}}}"


class ErrorHandler(RequestHandler):
    """Answer every request with ``status_code`` (the default 404 page)."""

    def initialize(self, status_code: int) -> None:
        self.set_status(status_code)

    def prepare(self) -> None:
        raise HTTPError(self._status_code)

    def check_xsrf_cookie(self) -> None:
        """An error page has nothing to protect: no XSRF check before the error."""


class FallbackHandler(RequestHandler):
    """Hand the request to another server callable (Tornado's ``FallbackHandler``).

    ``fallback`` takes the ``HTTPServerRequest`` and answers through
    ``request.connection``, as an ``HTTPServer`` request callback does.
    """

    def initialize(self, fallback: Callable[[HTTPServerRequest], object]) -> None:
        self._fallback = fallback

    def prepare(self) -> None:
        self._fallback(self.request)
        self._finished = True
        self.on_finish()

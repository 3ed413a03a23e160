"""The redirects demo service: ``make_app(**settings)``.

Every redirect here is a real one: follow the links and watch the address
bar (or the network panel) to see 301, 302, 303 and 307 at work.
"""

from __future__ import annotations

from typing import Any

from framework.routing import URLSpec
from framework.web import Application, HTTPError, RedirectHandler
from services.common.app import make_service_app, normalize_prefix
from services.common.handlers import BaseHandler
from services.redirects.guard import refusal_reason
from services.redirects.targets import as_path, as_target, with_query

__all__ = ["make_app"]

MAX_HOPS = 20
STATUSES = {"temporary": 302, "permanent": 301, "see-other": 303, "temporary-307": 307, "permanent-308": 308}


class IndexHandler(BaseHandler):
    """The demo's page: one way to be redirected per row."""

    def get(self) -> None:
        self.render("index.html", statuses=STATUSES, max_hops=MAX_HOPS)


class RedirectToHandler(BaseHandler):
    """``/to/<kind>``: ``self.redirect()`` with the status the kind names, for GET and POST."""

    max_body_size = 16 * 1024  # the demo form's one message field

    def get(self, kind: str) -> None:
        self._redirect(kind)

    def post(self, kind: str) -> None:
        self._redirect(kind)

    def _redirect(self, kind: str) -> None:
        status = STATUSES.get(kind)
        if status is None:
            raise HTTPError(404)
        self.redirect(with_query(self.reverse_url("landed"), [("via", kind), ("status", str(status))]), status=status)


class LandedHandler(BaseHandler):
    """Where the redirects arrive: shows the method and what the request carried."""

    max_body_size = 16 * 1024  # what a 307 brings along: the demo form

    def get(self) -> None:
        self._show()

    def post(self) -> None:
        self._show()

    def _show(self) -> None:
        self.render(
            "landed.html",
            method=self.request.method,
            via=self.get_query_argument("via", ""),
            status=self.get_query_argument("status", ""),
            hops=self.get_query_argument("hops", ""),
            message=self.get_body_argument("message", ""),
        )


class ChainHandler(BaseHandler):
    """``/chain/<n>``: redirects to ``/chain/<n-1>`` until 0, then lands.

    ``total`` (the length of the whole chain, shown on landing) is a count
    like ``n``: anything else is refused rather than carried along.
    """

    def get(self, remaining: str) -> None:
        hops = _hop_count(remaining)
        total = self.get_query_argument("total", remaining)
        _hop_count(total)
        if hops == 0:
            self.redirect(with_query(self.reverse_url("landed"), [("via", "chain"), ("hops", total)]))
        else:
            self.redirect(with_query(self.reverse_url("chain", hops - 1), [("total", total)]))


def _hop_count(text: str) -> int:
    """A number of hops from the request, 0 to ``MAX_HOPS``.

    The length is checked before ``int()``: a number thousands of digits
    long is refused, not converted (Python refuses over 4,300 digits).

    Raises:
        HTTPError: 400 for anything else.
    """
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_HOPS))) or int(text) > MAX_HOPS:
        raise HTTPError(400, reason=f"hops are a whole number from 0 to {MAX_HOPS}")
    return int(text)


class NewLocationHandler(BaseHandler):
    """``/new/<path>``: the target of the RedirectHandler rules."""

    def get(self, path: str) -> None:
        self.render("new.html", path=path)


class GoHandler(BaseHandler):
    """``/go?next=...``: follows ``next`` only when the guard calls it safe."""

    def get(self) -> None:
        target = self.get_query_argument("next", "")
        reason = refusal_reason(target)
        if reason is None:
            self.redirect(as_target(target))
            return
        self.set_status(400)
        self.render("refused.html", target=target, reason=reason)


class RewriteHandler(BaseHandler, RedirectHandler):
    """``RedirectHandler`` whose route groups are checked and encoded before they go into the target.

    The groups come from the request path, decoded: ``/old/a%0d%0ab`` would
    put CR and LF into ``Location``. Controls are a 400 here; the rest is
    percent-encoded again (the query string is appended as it arrived,
    still encoded, by ``RedirectHandler``).
    """

    def get(self, *args: str, **kwargs: str) -> None:
        super().get(*(as_path(a) for a in args), **{k: as_path(v) for k, v in kwargs.items()})

    head = get


def make_app(**settings: Any) -> Application:
    """The redirects demo's application (``prefix`` and ``debug`` pass through)."""
    prefix = normalize_prefix(settings.get("prefix", "/"))
    base = prefix.rstrip("/")
    routes: list[Any] = [
        URLSpec(r"/", IndexHandler, name="index"),
        URLSpec(r"/to/([a-z0-9-]+)", RedirectToHandler, name="to"),
        URLSpec(r"/landed", LandedHandler, name="landed"),
        URLSpec(r"/chain/([0-9]+)", ChainHandler, name="chain"),
        URLSpec(r"/new/(.*)", NewLocationHandler, name="new"),
        URLSpec(r"/go", GoHandler, name="go"),
        # RedirectHandler in the routing table (groups checked and encoded): \1 and {0} substitute them.
        URLSpec(r"/old/(.*)", RewriteHandler, {"url": base + r"/new/\1"}, name="old"),
        URLSpec(r"/moved/([a-z0-9-]+)", RewriteHandler, {"url": base + "/new/moved-{0}", "permanent": False}, name="moved"),
    ]
    return make_service_app(__name__, routes, **settings)

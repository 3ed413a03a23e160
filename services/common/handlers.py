"""The base handler of every service (suite-styled error pages) and ``/healthz``."""

from __future__ import annotations

import traceback
from typing import Any

from framework.lifecycle import Lifecycle
from framework.web import HTTPError, RequestHandler

from services.common.demos import DEMOS

__all__ = ["BaseHandler", "HealthHandler", "NotFoundHandler"]

_EXPLANATIONS = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is no page at this address.",
    405: "This page does not accept that kind of request.",
    413: "That upload is larger than this demo accepts.",
    500: "Something went wrong on our side; it has been logged.",
}


class BaseHandler(RequestHandler):
    """Adds the suite's template names and renders errors in the suite's look."""

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(
            portal_url=self.settings.get("portal_url", "/"),
            prefix=self.settings.get("prefix", "/"),
            nav_demos=DEMOS,
            request_id=getattr(self.request, "request_id", None),
        )
        return namespace

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        shown = None
        if exc_info and self.settings.get("serve_traceback"):
            shown = "".join(traceback.format_exception(*exc_info))
        self.render(
            "error.html",
            status_code=status_code,
            reason=self._reason,
            explanation=_EXPLANATIONS.get(status_code, ""),
            traceback=shown,
        )


class NotFoundHandler(BaseHandler):
    """The default handler: a 404 page in the suite's look, for any method."""

    def prepare(self) -> None:
        raise HTTPError(404)


class HealthHandler(RequestHandler):
    """``/healthz``: 200 while serving, 503 once draining so proxies stop sending."""

    def initialize(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        if self.lifecycle.draining:
            self.set_status(503)
            self.finish("draining\n")
            return
        self.finish("ok\n")

    head = get

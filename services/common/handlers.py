"""The base handler of every service and ``/healthz``.

Strategy: every service handler inherits three decisions from ``BaseHandler``.

* The look: suite-styled error pages and the template names the base
  template uses.
* The security headers: a ``Content-Security-Policy`` the demos meet (scripts
  and styles from this origin only, nothing inline: a page's script is a
  static file reading the page's data- attributes) and a ``Referrer-Policy``,
  defined here and given to the framework's ``security_headers`` setting by
  ``make_service_app``, so every response of a service carries them.
* A body limit per endpoint: the framework's ``max_body_size`` class
  attribute, applied as soon as a request's head is routed, so a 5 MB body
  to a 2,000-character form is a 413 before it is read. Pages take no body
  and forms a little (``DEFAULT_MAX_BODY_BYTES``); endpoints that take more
  say so, and streaming uploads set theirs.
"""

from __future__ import annotations

import os
import traceback
from typing import Any, ClassVar

from framework.httputil import responses
from framework.lifecycle import Lifecycle
from framework.web import HTTPError, RequestHandler, StaticFileHandler
from services.catalog import DEMOS

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DEFAULT_MAX_BODY_BYTES",
    "REFERRER_POLICY",
    "SHARED_STATIC_DIR",
    "BaseHandler",
    "HealthHandler",
    "NotFoundHandler",
]

SHARED_STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
"""The suite's shared files (the stylesheet), served by every service under ``<prefix>shared/``."""

# Pages take no body; a form a little. Endpoints that take more say so.
DEFAULT_MAX_BODY_BYTES = 8 * 1024
REFERRER_POLICY = "same-origin"

_EXPLANATIONS = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is no page at this address.",
    405: "This page does not accept that kind of request.",
    413: "That upload is larger than this demo accepts.",
    500: "Something went wrong on our side; it has been logged.",
}


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The policy every demo page meets: nothing but this origin and nothing inline.

No inline script or style anywhere (the suite's CSS and chat's script are
static files), no plugins, no ``<base>``, forms post only here, no framing.
One constant for every response: no per-response nonce to generate.
"""


class BaseHandler(RequestHandler):
    """The suite's look, security headers and a body limit (see the module's strategy)."""

    max_body_size: ClassVar[int | None] = DEFAULT_MAX_BODY_BYTES

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(
            portal_url=self.settings.get("portal_url", "/"),
            prefix=self.settings.get("prefix", "/"),
            nav_demos=DEMOS,
            request_id=getattr(self.request, "request_id", None),
            shared_url=self.shared_url,
        )
        return namespace

    def shared_url(self, path: str) -> str:
        """The versioned URL of one of the suite's shared files (``common/static/``), as ``static_url`` makes.

        ``make_service_app`` serves them under ``<prefix>shared/``; the version
        is hashed once per file, so a page links it without touching the disk.
        """
        where = {
            "static_path": SHARED_STATIC_DIR,
            "static_url_prefix": self.settings.get("prefix", "/") + "shared/",
            "static_hash_cache": self.settings.get("static_hash_cache", True),
        }
        return StaticFileHandler.make_static_url(where, path)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        shown = None
        if exc_info and self.settings.get("serve_traceback"):
            shown = "".join(traceback.format_exception(*exc_info))
        self.render(
            "error.html",
            status_code=status_code,
            reason=_phrase(status_code, kwargs),
            explanation=_EXPLANATIONS.get(status_code, ""),
            traceback=shown,
        )


def _phrase(status_code: int, error: dict[str, Any]) -> str:
    """The reason phrase ``send_error`` gave the status: the ``HTTPError``'s own, else the standard one."""
    exc_info = error.get("exc_info")
    if exc_info is not None and isinstance(exc_info[1], HTTPError) and exc_info[1].reason:
        return str(exc_info[1].reason)
    return str(error.get("reason") or responses.get(status_code, "Error"))


class NotFoundHandler(BaseHandler):
    """The default handler: a 404 page in the suite's look, for any method."""

    def check_xsrf_cookie(self) -> None:
        """Nothing here acts on a request: a POST to no page is a 404, not a 403 for its token."""

    def prepare(self) -> None:
        raise HTTPError(404)


class HealthHandler(BaseHandler):
    """``/healthz``: 200 while serving, 503 once draining so proxies stop sending."""

    max_body_size = 0

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

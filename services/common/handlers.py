"""The base handler of every service and ``/healthz``.

Strategy: every service handler inherits three decisions from ``BaseHandler``.

* The look: suite-styled error pages and the template names the base
  template uses.
* The security headers: a ``Content-Security-Policy`` the demos meet (scripts
  and styles from this origin only; an inline script needs the response's
  nonce, ``csp_nonce`` in templates) and a ``Referrer-Policy``.
* A body limit per endpoint (``max_body_bytes``), enforced before the body is
  read. The framework reads a buffered handler's whole body (up to the
  server's limit) before the handler exists, so a 5 MB body to a
  2,000-character form would be read whole before its 400. Only a
  ``@stream_request_body`` handler runs before its body, so ``BaseHandler``
  is one: it sets the limit as it is made (an oversized body is a 413 while
  it arrives), buffers what comes, and parses it as the framework would just
  before the HTTP method runs. The framework checks XSRF before a streamed
  body has arrived, while a form's ``_xsrf`` field is in the body, so that
  check is deferred to the same moment. The framework has no hook between
  the end of the body and the method, hence ``__init_subclass__`` wraps the
  methods that take a body (``post``, ``put``, ``patch``, ``delete``).
  Handlers that consume their body as it streams (uploads) override
  ``data_received`` and ``check_xsrf_cookie`` and set their own limit.
"""

from __future__ import annotations

import functools
import secrets
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from framework.httputil import HTTPServerRequest, parse_body_arguments
from framework.lifecycle import Lifecycle
from framework.web import Application, HTTPError, RequestHandler, stream_request_body

from services.common.demos import DEMOS

__all__ = ["DEFAULT_MAX_BODY_BYTES", "REFERRER_POLICY", "BaseHandler", "HealthHandler", "NotFoundHandler", "content_security_policy"]

# Pages take no body; a form a little. Endpoints that take more say so.
DEFAULT_MAX_BODY_BYTES = 8 * 1024
REFERRER_POLICY = "same-origin"
_BODY_METHODS = ("post", "put", "patch", "delete")

_EXPLANATIONS = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is no page at this address.",
    405: "This page does not accept that kind of request.",
    413: "That upload is larger than this demo accepts.",
    500: "Something went wrong on our side; it has been logged.",
}


def content_security_policy(nonce: str) -> str:
    """The policy every demo page meets: nothing but this origin, and inline scripts carrying ``nonce``.

    No inline style anywhere (the suite's CSS is one static file), no
    plugins, no ``<base>``, forms post only here, no framing.
    """
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _after_body(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, run once the buffered body has been parsed and the XSRF token checked."""

    @functools.wraps(method)
    def run_after_body(self: BaseHandler, *args: Any, **kwargs: Any) -> Any:
        self.take_body()
        return method(self, *args, **kwargs)

    run_after_body.takes_body = True  # type: ignore[attr-defined]
    return run_after_body


@stream_request_body
class BaseHandler(RequestHandler):
    """The suite's look, security headers and a body limit (see the module's strategy).

    Attributes:
        max_body_bytes: the largest body this endpoint accepts; 413 beyond,
            before the rest is read.
    """

    max_body_bytes: ClassVar[int] = DEFAULT_MAX_BODY_BYTES

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _BODY_METHODS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "takes_body", False):
                setattr(cls, name, _after_body(method))

    def __init__(self, application: Application, request: HTTPServerRequest, **kwargs: Any) -> None:
        self._body_chunks: list[bytes] = []
        self._body_taken = False
        self._xsrf_deferred = False
        super().__init__(application, request, **kwargs)
        # Made when the head is in: the limit applies to the body still to come.
        set_max_body_size = getattr(request.connection, "set_max_body_size", None)
        if set_max_body_size is not None:
            set_max_body_size(self.max_body_bytes)

    @functools.cached_property
    def csp_nonce(self) -> str:
        """This response's script nonce (templates: ``<script nonce="{{ csp_nonce }}">``)."""
        return secrets.token_urlsafe(16)

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", content_security_policy(self.csp_nonce))
        self.set_header("Referrer-Policy", REFERRER_POLICY)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self._body_chunks.append(chunk)
        return None

    def check_xsrf_cookie(self) -> None:
        """Deferred until the body is in (``take_body``): a form's token is a body field."""
        self._xsrf_deferred = True

    def check_xsrf_now(self) -> None:
        """The framework's XSRF check itself, at once (for handlers that find the token as they stream)."""
        RequestHandler.check_xsrf_cookie(self)

    def take_body(self) -> None:
        """Parse the buffered body into the request, as the framework does, then run the deferred XSRF check.

        Raises:
            HTTPInputError: the body is not valid for its content type.
            HTTPError: 403 when the XSRF token is missing or wrong.
        """
        if self._body_taken:
            return
        self._body_taken = True
        if self._body_chunks:
            request = self.request
            request.body, self._body_chunks = b"".join(self._body_chunks), []
            content_type = request.headers.get("Content-Type", "")
            parse_body_arguments(content_type, request.body, request.body_arguments, request.files, request.headers)
            for name, values in request.body_arguments.items():
                request.arguments.setdefault(name, []).extend(values)
        if self._xsrf_deferred:
            self.check_xsrf_now()

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(
            portal_url=self.settings.get("portal_url", "/"),
            prefix=self.settings.get("prefix", "/"),
            nav_demos=DEMOS,
            request_id=getattr(self.request, "request_id", None),
            csp_nonce=self.csp_nonce,
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


class HealthHandler(BaseHandler):
    """``/healthz``: 200 while serving, 503 once draining so proxies stop sending."""

    max_body_bytes = 0

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

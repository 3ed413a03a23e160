"""Building a service's ``Application``: routes under a prefix, shared look, health check.

Every service is mounted under its public prefix (``/forms/``...): nginx
passes the full path through, the routes include the prefix, and so every
URL the service generates (``reverse_url``, ``static_url``, redirects) is
right both behind the proxy and when the service runs alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from framework.lifecycle import Lifecycle
from framework.routing import URLSpec
from framework.web import Application
from services.common.handlers import (
    CONTENT_SECURITY_POLICY,
    REFERRER_POLICY,
    HealthHandler,
    NotFoundHandler,
)

__all__ = ["COMMON_DIR", "make_service_app", "normalize_prefix", "prefixed"]

COMMON_DIR = os.path.dirname(os.path.abspath(__file__))


def normalize_prefix(prefix: str) -> str:
    """``"forms"`` / ``"/forms"`` / ``"/forms/"`` -> ``"/forms/"``; ``""`` -> ``"/"``."""
    stripped = prefix.strip("/")
    return f"/{stripped}/" if stripped else "/"


def prefixed(prefix: str, routes: Iterable[Any]) -> list[Any]:
    """Put ``prefix`` in front of every route pattern (tuples and ``url()`` specs)."""
    base = normalize_prefix(prefix).rstrip("/")
    result: list[Any] = []
    for route in routes:
        if isinstance(route, URLSpec):
            pattern = route.regex.pattern.removesuffix("$")
            result.append(URLSpec(base + pattern, route.handler_class, route.kwargs, route.name))
        else:
            pattern, *rest = route
            result.append((base + pattern, *rest))
    return result


def make_service_app(
    routes: Iterable[Any],
    *,
    template_dir: str,
    prefix: str = "/",
    lifecycle: Lifecycle | None = None,
    **settings: Any,
) -> Application:
    """An ``Application`` for a service: its routes under ``prefix``, plus ``healthz``.

    Templates are looked up in the service's ``template_dir`` first, then in
    the shared one (``base.html``, ``error.html``); the shared stylesheet is
    served under ``<prefix>static/``.
    """
    prefix = normalize_prefix(prefix)
    lifecycle = lifecycle or Lifecycle()
    health = [(r"/healthz", HealthHandler, {"lifecycle": lifecycle})]
    settings.setdefault("portal_url", "/")
    settings.setdefault(
        "security_headers", {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": REFERRER_POLICY}
    )
    return Application(
        prefixed(prefix, health) + prefixed(prefix, routes),
        template_path=(template_dir, os.path.join(COMMON_DIR, "templates")),
        static_path=os.path.join(COMMON_DIR, "static"),
        static_url_prefix=prefix + "static/",
        default_handler_class=NotFoundHandler,
        prefix=prefix,
        lifecycle=lifecycle,
        request_id_header="X-Request-Id",
        **settings,
    )

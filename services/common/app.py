"""Building a service's ``Application``: routes under a prefix, shared look, health check.

Every service is mounted under its public prefix (``/forms/``...): nginx
passes the full path through, the routes include the prefix, and so every
URL the service generates (``reverse_url``, ``static_url``, redirects) is
right both behind the proxy and when the service runs alone.

A service's package holds its ``templates/`` and, if it has any, its own
``static/`` files (served under ``<prefix>static/``, linked with
``static_url()``); the suite's shared files (``common/static/``: the
stylesheet) are served under ``<prefix>shared/`` and linked with
``shared_url()``, which the base template uses.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from framework.lifecycle import Lifecycle
from framework.routing import URLSpec
from framework.web import Application, StaticFileHandler
from services.common.handlers import (
    CONTENT_SECURITY_POLICY,
    REFERRER_POLICY,
    SHARED_STATIC_DIR,
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
    module: str,
    routes: Iterable[Any],
    *,
    prefix: str = "/",
    lifecycle: Lifecycle | None = None,
    **settings: Any,
) -> Application:
    """An ``Application`` for a service: its routes under ``prefix``, plus ``healthz`` and the shared files.

    Args:
        module: the calling module's ``__name__`` (``services.forms.app``):
            its package holds ``templates/`` and maybe ``static/``.
        routes: the service's routes, written as if it were mounted at ``/``.
        prefix: the public path prefix (``run_service`` passes the catalog's).
        lifecycle: tells ``/healthz`` when the process is draining.
        **settings: ``Application`` settings and the service's own. XSRF
            protection is on unless ``xsrf_cookies=False``.

    Templates are looked up in the service's ``templates/`` first, then in the
    shared ones (``base.html``, ``error.html``).
    """
    package_dir = os.path.dirname(os.path.abspath(_module_file(module)))
    prefix = normalize_prefix(prefix)
    lifecycle = lifecycle or Lifecycle()
    shared = [
        (r"/healthz", HealthHandler, {"lifecycle": lifecycle}),
        (r"/shared/(.*)", StaticFileHandler, {"path": SHARED_STATIC_DIR}),
    ]
    settings.setdefault("xsrf_cookies", True)
    settings.setdefault("portal_url", "/")
    settings.setdefault(
        "security_headers", {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": REFERRER_POLICY}
    )
    own_static = os.path.join(package_dir, "static")
    if os.path.isdir(own_static):  # once, at start-up
        settings.setdefault("static_path", own_static)
        settings.setdefault("static_url_prefix", prefix + "static/")
    return Application(
        prefixed(prefix, shared) + prefixed(prefix, routes),
        template_path=(os.path.join(package_dir, "templates"), os.path.join(COMMON_DIR, "templates")),
        default_handler_class=NotFoundHandler,
        prefix=prefix,
        lifecycle=lifecycle,
        request_id_header="X-Request-Id",
        **settings,
    )


def _module_file(module: str) -> str:
    """The file of the (imported) module ``module``.

    Raises:
        ValueError: it is not imported, or has no file.
    """
    found = sys.modules.get(module)
    path = getattr(found, "__file__", None)
    if not path:
        raise ValueError(f"make_service_app: pass the calling module's __name__, not {module!r}")
    return str(path)

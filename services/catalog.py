"""The suite's services, each declared once: name, port, prefix, description, proxy needs.

A new service is its package (``services/<name>/app.py`` with ``make_app``,
``templates/``, optionally ``static/``) plus one entry in ``SERVICES`` below.
Everything else is derived from that entry:

* ``python -m services.<name>`` runs it (``services/__init__.py``), listening on
  ``port`` with its routes under ``prefix`` unless ``--port``/``--prefix`` say otherwise;
* the portal's cards and every page's navigation (``DEMOS``: all but the portal);
* nginx's ``upstream`` and ``location`` blocks: ``scripts/render-nginx-conf``
  writes them into ``nginx/nginx.conf``, and ``tests/services/test_catalog.py``
  fails while the committed file differs from what this catalog gives;
* the in-process and stack tests that visit every service.

The compose file keeps one explicit block per service (its command, health
check and what only that service has: volumes, Redis); the same test checks
those blocks against this catalog. Why explicit: see the comment at the top of
``docker-compose.yml``.

This module imports nothing from ``framework``: the nginx renderer and the
portal read it without loading a web application.
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["DEMOS", "SERVICES", "Proxy", "Service", "service_named"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")  # a Python package, a compose service and an nginx upstream
_PREFIX = re.compile(r"/(?:[a-z0-9][a-z0-9-]*/)?")


@dataclasses.dataclass(frozen=True, slots=True)
class Proxy:
    """What nginx must know about a service's requests (the defaults suit pages and forms).

    Attributes:
        keepalive: idle connections to the service each nginx worker keeps open.
        max_body: the largest request body nginx lets through (nginx's size syntax).
        stream_bodies: request bodies reach the service as they arrive, not
            after nginx has stored them (uploads written to disk as they come).
        timeout_s: how long nginx waits for the service to read or to answer.
        long_poll: requests are held open (answers are not buffered by nginx).
        retry_on_503: a 503 sends an idempotent request to another replica; off
            where a 503 means something every replica shares (the chat's Redis).
    """

    keepalive: int = 128
    max_body: str = "1m"
    stream_bodies: bool = False
    timeout_s: int = 60
    long_poll: bool = False
    retry_on_503: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class Service:
    """One service of the suite.

    Attributes:
        name: its package (``services.<name>``), compose service and nginx upstream.
        port: where it listens, alone and in its container; ``/metrics`` is on port + 1000.
        prefix: the public path it is mounted under (``/forms/``; the portal ``/``).
        title: its name on the portal and in the navigation.
        summary: one sentence on the portal's card.
        features: the framework features it shows, listed on its card.
        proxy: what nginx must know about its requests.
    """

    name: str
    port: int
    prefix: str
    title: str
    summary: str
    features: tuple[str, ...] = ()
    proxy: Proxy = Proxy()

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"service name {self.name!r}: lower-case letters, digits and underscores")
        if not _PREFIX.fullmatch(self.prefix):
            raise ValueError(f"{self.name}: prefix {self.prefix!r} must look like /name/ (or / for the portal)")
        if not 1024 < self.port <= 64535:
            raise ValueError(f"{self.name}: port {self.port} must be above 1024 and leave room for port + 1000")


SERVICES: tuple[Service, ...] = (
    Service(
        "portal",
        8001,
        "/",
        "Portal",
        "Every demo and what it shows; /sleep?ms=N answers after N ms without holding anyone up.",
    ),
    Service(
        "forms",
        8002,
        "/forms/",
        "Forms",
        "GET and POST forms with validation errors shown inline, post/redirect/get.",
        ("get_body_argument", "XSRF protection", "render() with Jinja2", "redirect()"),
    ),
    Service(
        "uploads",
        8003,
        "/uploads/",
        "Uploads",
        "Upload one or many files, or stream a large one; list, verify and download them.",
        ("multipart/form-data", "@stream_request_body", "size limits", "SHA-256 check"),
        # The service's own limit is 1 GiB (services/uploads/app.py), plus the multipart framing.
        Proxy(max_body="1100m", stream_bodies=True, timeout_s=600),
    ),
    Service(
        "chat",
        8004,
        "/chat/",
        "Chat",
        "A long-polling chat room: open it in two tabs and talk to yourself.",
        ("long polling", "locks.Condition", "on_connection_close", "JSON"),
        # A poll is answered within 25 s; its 503 means Redis is away, for every replica alike.
        Proxy(keepalive=256, timeout_s=3600, long_poll=True, retry_on_503=False),
    ),
    Service(
        "redirects",
        8005,
        "/redirects/",
        "Redirects",
        "Temporary and permanent redirects, regex rewriting, chains and an open-redirect guard.",
        ("redirect()", "RedirectHandler", "reverse_url", "301/302/307"),
    ),
)

DEMOS: tuple[Service, ...] = tuple(service for service in SERVICES if service.prefix != "/")
"""The portal's cards: every service but the one at ``/`` (the portal itself)."""

_BY_NAME = {service.name: service for service in SERVICES}


def service_named(name: str) -> Service | None:
    """The catalog's entry for ``services.<name>``, if there is one."""
    return _BY_NAME.get(name)

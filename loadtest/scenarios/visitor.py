"""What every simulated visitor shares: one keep-alive connection, think time, checks.

Strategy: a ``Visitor`` is a ``FastHttpUser`` whose pool holds a single
connection (``concurrency = 1``), as one browser tab keeps one connection to
a site; between tasks it pauses for a think time read once from the
environment. Every request goes through ``catch_response`` and ``expect()``,
so a wrong status, a missing piece of page or a bad redirect is a failure
with a message that says which, never a silent success.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from locust import FastHttpUser, between
from locust.contrib.fasthttp import ResponseContextManager

__all__ = ["THINK_MAX", "THINK_MIN", "Visitor", "expect", "redirect_target"]

THINK_MIN = float(os.environ.get("LOCUST_THINK_MIN", "1.0"))
THINK_MAX = float(os.environ.get("LOCUST_THINK_MAX", "3.0"))
XSRF_COOKIE = "_xsrf"


def expect(
    response: ResponseContextManager,
    status: int,
    *,
    contains: tuple[str, ...] = (),
    location: str | None = None,
) -> bool:
    """Mark ``response`` a failure unless it has ``status``, every text in ``contains``
    and, for a redirect, the ``location`` given (a path with its query).

    Returns:
        True when every check passed (the response is then marked a success).
    """
    if response.status_code != status:
        error = getattr(response, "error", None)
        detail = f" ({error})" if response.status_code == 0 and error else ""
        response.failure(f"status {response.status_code}, expected {status}{detail}")
        return False
    if location is not None and redirect_target(response) != location:
        response.failure(f"Location {response.headers.get('Location')!r}, expected {location!r}")
        return False
    text = (response.text or "") if contains else ""
    for needle in contains:
        if needle not in text:
            response.failure(f"{needle!r} missing from the page")
            return False
    response.success()
    return True


def redirect_target(response: ResponseContextManager) -> str | None:
    """The path and query a redirect points to (absolute ``Location`` values reduced to them)."""
    location = response.headers.get("Location")
    if location is None:
        return None
    if "://" in location:
        location = "/" + location.split("://", 1)[1].partition("/")[2]
    return location


class Visitor(FastHttpUser):
    """A browser-like client: one persistent connection, a pause between tasks."""

    abstract = True
    wait_time = between(THINK_MIN, THINK_MAX)
    # One connection per user: every request of a user reuses the same socket.
    concurrency = 1
    connection_timeout = 10.0
    network_timeout = 30.0
    # Redirects are followed by hand where they are the thing under test.
    max_redirects = 5
    default_headers: ClassVar[dict[str, str]] = {"User-Agent": "locust-visitor"}

    def xsrf_token(self, page: str, *, name: str | None = None) -> str:
        """The ``_xsrf`` cookie's value, loading ``page`` (a page with a form) first when it is not set yet.

        Tornado's check compares the token sent (form field or ``X-XSRFToken``
        header) with the cookie; the cookie's own value is a valid token.
        """
        token = self._cookie(XSRF_COOKIE)
        if token is None:
            with self.client.get(page, name=name or page, catch_response=True) as response:
                expect(response, 200)
            token = self._cookie(XSRF_COOKIE)
        return token or ""

    def _cookie(self, name: str) -> str | None:
        cookie: Any
        for cookie in self.client.cookiejar:
            if cookie.name == name:
                return str(cookie.value)
        return None

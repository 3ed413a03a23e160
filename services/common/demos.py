"""The demos of the suite: where each lives and what it shows.

A demo is available when its package is installed beside this one (all
services share one image); the portal shows the others as "not yet
available" instead of linking to a page that does not exist.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util

__all__ = ["DEMOS", "Demo"]


@dataclasses.dataclass(frozen=True, slots=True)
class Demo:
    """One demo service: its package, public path prefix and description."""

    name: str
    title: str
    path: str
    summary: str
    features: tuple[str, ...]

    @property
    def available(self) -> bool:
        """True when ``services.<name>`` exists (and so is served under ``path``)."""
        return _installed(self.name)


@functools.cache
def _installed(name: str) -> bool:
    """Whether ``services.<name>`` is importable, looked up once per process.

    Every page's navigation asks this. ``find_spec`` stats its way along the
    import path (about 40 calls per demo), and in the containers each stat is a
    round trip to the FUSE storage driver on the event loop: what is installed
    does not change while the process runs, so the answer is kept.
    """
    return importlib.util.find_spec(f"services.{name}") is not None


DEMOS: tuple[Demo, ...] = (
    Demo(
        "forms",
        "Forms",
        "/forms/",
        "GET and POST forms with validation errors shown inline, post/redirect/get.",
        ("get_body_argument", "XSRF protection", "render() with Jinja2", "redirect()"),
    ),
    Demo(
        "uploads",
        "Uploads",
        "/uploads/",
        "Upload one or many files, or stream a large one; list, verify and download them.",
        ("multipart/form-data", "@stream_request_body", "size limits", "SHA-256 check"),
    ),
    Demo(
        "chat",
        "Chat",
        "/chat/",
        "A long-polling chat room: open it in two tabs and talk to yourself.",
        ("long polling", "locks.Condition", "on_connection_close", "JSON"),
    ),
    Demo(
        "redirects",
        "Redirects",
        "/redirects/",
        "Temporary and permanent redirects, regex rewriting, chains and an open-redirect guard.",
        ("redirect()", "RedirectHandler", "reverse_url", "301/302/307"),
    ),
)

"""The open-redirect guard: which ``next=`` targets a site may send a browser to.

A login or form page that redirects to ``?next=...`` must not become a
springboard to another site (phishing that starts on a trusted domain).
Only paths on this site pass: they start with one ``/``, carry no scheme or
host, and hold no backslash or control character (browsers read ``/\\host``
and ``/%09/host`` as ``//host``).
"""

from __future__ import annotations

import urllib.parse

__all__ = ["refusal_reason"]


def refusal_reason(target: str) -> str | None:
    """Why ``target`` is not a safe local redirect, or None when it is."""
    if not target:
        return "the target is empty"
    if any(ord(c) < 0x20 or c == "\x7f" for c in target):
        return "the target holds control characters (browsers drop them, which can turn it into another host)"
    if "\\" in target:
        return "the target holds a backslash (browsers treat it as a slash, so /\\evil.example is //evil.example)"
    if not target.startswith("/"):
        return "the target is not a path on this site (it does not start with /)"
    if target.startswith("//"):
        return "the target starts with // which browsers read as another host"
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc:
        return "the target names a scheme or host"
    return None

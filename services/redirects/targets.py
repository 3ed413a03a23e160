"""Redirect targets built from request input: what is refused, and how the rest is encoded.

Strategy: a ``Location`` header may hold no control character (RFC 9110
5.5), and text from the request (a path group, a query value) must not
change the target's shape (``5&via=evil`` adding a parameter, ``%0d%0a``
starting a new header). So input with a control character is refused with a
400 before any URL is built, and what passes is percent-encoded for the
part of the URL it goes into: a path keeps its slashes, a query value keeps
nothing but unreserved characters (``urllib.parse.urlencode``).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

from framework.web import HTTPError

__all__ = ["as_path", "as_target", "has_control", "refuse_controls", "with_query"]

# RFC 3986 pchar minus "%" (re-encoded: it arrives decoded), plus "/" between segments.
_PATH_SAFE = "/-._~!$&'()*+,;=:@"
# Everything RFC 3986 allows in a URI, "%" included: an already-encoded target keeps its escapes.
_URI_SAFE = _PATH_SAFE + "?#[]%"


def has_control(text: str) -> bool:
    """True when ``text`` holds a C0 control character or DEL (RFC 5234 CTL) or a C1 control."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)


def refuse_controls(text: str, what: str) -> str:
    """``text`` unchanged when it holds no control character.

    Raises:
        HTTPError: 400, naming ``what`` (the text itself never goes into the reason).
    """
    if has_control(text):
        raise HTTPError(400, reason=f"the {what} holds a control character")
    return text


def as_path(text: str) -> str:
    """A decoded path (group) as it may appear in a target: controls refused, the rest percent-encoded.

    Raises:
        HTTPError: 400 when ``text`` holds a control character.
    """
    return urllib.parse.quote(refuse_controls(text, "path"), safe=_PATH_SAFE)


def as_target(text: str) -> str:
    """A whole local target (already vetted by the guard) with anything beyond ASCII percent-encoded.

    Raises:
        HTTPError: 400 when ``text`` holds a control character.
    """
    return urllib.parse.quote(refuse_controls(text, "target"), safe=_URI_SAFE)


def with_query(path: str, params: Iterable[tuple[str, str]]) -> str:
    """``path?k=v&...`` with every value encoded, so no value can add a parameter.

    Raises:
        HTTPError: 400 when a value holds a control character.
    """
    pairs = [(name, refuse_controls(value, f"{name} parameter")) for name, value in params]
    return path + "?" + urllib.parse.urlencode(pairs) if pairs else path

"""Escaping and unescaping for HTML, JSON and URLs, and str/bytes conversion.

Mirrors ``tornado.escape``. Every function here is pure and stdlib-only, so
any layer (``httputil`` included) may import this module without pulling in
the rest of the framework.

Strategy for ``linkify``: find URLs in the *raw* text first, then escape the
plain stretches and the URL pieces separately. Escaping first and matching
afterwards (the obvious order) forces the URL pattern to reason about
``&amp;`` and friends; splitting first keeps the pattern simple and makes it
impossible for a match to produce unescaped markup.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, overload

__all__ = [
    "json_decode",
    "json_encode",
    "linkify",
    "native_str",
    "recursive_unicode",
    "squeeze",
    "to_basestring",
    "to_unicode",
    "url_escape",
    "url_unescape",
    "utf8",
    "xhtml_escape",
    "xhtml_unescape",
]


# -- str / bytes ---------------------------------------------------------------


@overload
def utf8(value: None) -> None: ...
@overload
def utf8(value: str | bytes) -> bytes: ...
def utf8(value: str | bytes | None) -> bytes | None:
    """Return ``value`` as UTF-8 bytes; bytes and ``None`` pass through.

    Mirrors ``tornado.escape.utf8``. Handlers accept either type from users
    and the wire needs bytes, so this is the one place that conversion lives.

    Raises:
        TypeError: ``value`` is neither ``str``, ``bytes`` nor ``None``; a
            silent ``str(value)`` would hide bugs such as writing an int.
    """
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"Expected str, bytes or None; got {type(value)!r}")


@overload
def to_unicode(value: None) -> None: ...
@overload
def to_unicode(value: str | bytes) -> str: ...
def to_unicode(value: str | bytes | None) -> str | None:
    """Return ``value`` as ``str``, decoding bytes as UTF-8; ``None`` passes.

    Mirrors ``tornado.escape.to_unicode``.

    Raises:
        TypeError: ``value`` is neither ``str``, ``bytes`` nor ``None``.
        UnicodeDecodeError: ``value`` is bytes that are not valid UTF-8.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise TypeError(f"Expected str, bytes or None; got {type(value)!r}")


# On Python 3 the "native" string is str; Tornado keeps both names for old code.
native_str = to_unicode
to_basestring = to_unicode


def recursive_unicode(obj: Any) -> Any:
    """Decode every bytes value inside nested dicts, lists and tuples.

    Mirrors ``tornado.escape.recursive_unicode``. Useful before JSON-encoding
    structures such as ``request.arguments`` whose leaves are bytes.
    """
    if isinstance(obj, dict):
        return {recursive_unicode(k): recursive_unicode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [recursive_unicode(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(recursive_unicode(item) for item in obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    return obj


# -- HTML ----------------------------------------------------------------------


def xhtml_escape(value: str | bytes) -> str:
    """Escape ``& < > " '`` so ``value`` is safe in HTML text and attributes.

    Mirrors ``tornado.escape.xhtml_escape`` (single quotes become ``&#x27;``,
    as in Tornado 6.4+). Always returns ``str``, even for bytes input.
    """
    return html.escape(to_unicode(value), quote=True)


def xhtml_unescape(value: str | bytes) -> str:
    """Replace named (``&amp;``) and numeric (``&#39;``, ``&#x27;``) entities.

    Mirrors ``tornado.escape.xhtml_unescape``; always returns ``str``.
    """
    return html.unescape(to_unicode(value))


# -- JSON ----------------------------------------------------------------------


def json_encode(value: Any) -> str:
    """Serialise ``value`` to JSON that is safe to embed in a ``<script>``.

    Mirrors ``tornado.escape.json_encode``: ``</`` becomes ``<\\/`` so a string
    containing ``</script>`` cannot end the surrounding script element. The
    result is still valid JSON, since ``\\/`` is a legal escape for ``/``.
    """
    return json.dumps(value).replace("</", "<\\/")


def json_decode(value: str | bytes) -> Any:
    """Parse a JSON document given as ``str`` or UTF-8 ``bytes``.

    Mirrors ``tornado.escape.json_decode``.

    Raises:
        json.JSONDecodeError: ``value`` is not valid JSON (a ``ValueError``).
    """
    return json.loads(value)


# -- URLs ----------------------------------------------------------------------


def url_escape(value: str | bytes, plus: bool = True) -> str:
    """Percent-encode ``value`` for use in a URL.

    Mirrors ``tornado.escape.url_escape``. With ``plus`` (the default, unlike
    ``urllib``) spaces become ``+`` and ``/`` is escaped, which suits query
    strings; pass ``plus=False`` for path segments (spaces become ``%20`` and
    ``/`` is kept).
    """
    if plus:
        return urllib.parse.quote_plus(utf8(value))
    return urllib.parse.quote(utf8(value))


@overload
def url_unescape(value: str | bytes, encoding: None, plus: bool = True) -> bytes: ...
@overload
def url_unescape(value: str | bytes, encoding: str = "utf-8", plus: bool = True) -> str: ...
def url_unescape(value: str | bytes, encoding: str | None = "utf-8", plus: bool = True) -> str | bytes:
    """Decode a percent-encoded ``value``.

    Mirrors ``tornado.escape.url_unescape``. With ``plus`` (the default) a
    ``+`` means a space, as in form-encoded data; a literal plus must then be
    ``%2B``. With ``encoding=None`` the raw bytes are returned undecoded.
    """
    raw = utf8(value)
    if plus:
        raw = raw.replace(b"+", b" ")
    unquoted = urllib.parse.unquote_to_bytes(raw)
    if encoding is None:
        return unquoted
    return unquoted.decode(encoding)


# -- text ----------------------------------------------------------------------

_WHITESPACE_RUN = re.compile(r"[\x00-\x20]+")


def squeeze(value: str) -> str:
    """Collapse runs of whitespace and control characters into one space.

    Mirrors ``tornado.escape.squeeze``; the result is also stripped.
    """
    return _WHITESPACE_RUN.sub(" ", value).strip()


# A candidate URL: "scheme:" (optionally "//"), "www." or "host.tld/",
# followed by anything that is not whitespace, a quote or an angle bracket.
# Trailing punctuation is trimmed afterwards by _trim_url, because a regex
# that tries to exclude it is much harder to read.
_URL_CANDIDATE = re.compile(
    r"""\b(?:
        (?P<scheme>[a-z][a-z0-9+.\-]*):(?P<slashes>/{0,3})(?=[^\s<>"'])
      | www\d{0,3}\.
      | [a-z0-9.\-]+\.[a-z]{2,}/
    )[^\s<>"'`]*""",
    re.IGNORECASE | re.VERBOSE,
)
_TRAILING_PUNCTUATION = ".,;:!?"
_SHORTEN_OVER = 30


def _trim_url(url: str) -> str:
    """Drop punctuation that ends a sentence rather than the URL.

    A closing bracket stays only while it balances an opening one, so
    ``(see http://x/y)`` loses the ``)`` but ``http://x/Foo_(bar)`` keeps it.
    """
    pairs = {")": "(", "]": "[", "}": "{"}
    while url:
        last = url[-1]
        if last in _TRAILING_PUNCTUATION:
            url = url[:-1]
        elif last in pairs and url.count(last) > url.count(pairs[last]):
            url = url[:-1]
        else:
            break
    return url


def _shorten_for_display(url: str, scheme_len: int) -> str:
    """Return a short label for a long ``url``: host, a hint of path, "...".

    The label drops the scheme, keeps the host and at most eight characters
    of the first path segment, and always ends with an ellipsis.
    """
    rest = url[scheme_len:]
    host, _, path = rest.partition("/")
    label = host
    if path:
        label += "/" + re.split(r"[?#.]", path, maxsplit=1)[0][:8]
    if len(label) > _SHORTEN_OVER:
        label = label[:_SHORTEN_OVER]
    return label + "..."


def _link_html(url: str, scheme: str | None, slashes: str, shorten: bool, params: str) -> str:
    """Build the ``<a>`` element for one matched, already-trimmed URL."""
    href = url if scheme else "http://" + url
    display = url
    title = ""
    if shorten and len(url) > _SHORTEN_OVER:
        scheme_len = len(scheme) + 1 + len(slashes) if scheme else 0
        display = _shorten_for_display(url, scheme_len)
        title = f' title="{xhtml_escape(href)}"'
    attrs = f" {params.strip()}" if params.strip() else ""
    return f'<a href="{xhtml_escape(href)}"{attrs}{title}>{xhtml_escape(display)}</a>'


def linkify(
    text: str | bytes,
    shorten: bool = False,
    extra_params: str | Callable[[str], str] = "",
    require_protocol: bool = False,
    permitted_protocols: Iterable[str] = ("http", "https"),
) -> str:
    """Turn plain text into HTML, with URLs made into links.

    Mirrors ``tornado.escape.linkify``: the whole text is HTML-escaped, so it
    is safe to insert into a page unescaped.

    Args:
        text: Plain text (not HTML).
        shorten: Show long URLs as a short label, with the full URL in the
            ``title`` attribute.
        extra_params: Extra attributes for each ``<a>`` tag, such as
            ``'rel="nofollow"'``, or a callable that receives the href and
            returns them. Inserted verbatim, so it must be trusted text.
        require_protocol: Only link URLs with an explicit scheme; otherwise
            ``www.example.com`` is linked as ``http://www.example.com``.
        permitted_protocols: Schemes that may become links. Never add
            ``javascript``: a link is a script then.

    Returns:
        Escaped HTML. Differences from Tornado: the default for
        ``permitted_protocols`` is a tuple (no shared mutable default), and
        the shortened label is computed by a simpler rule.
    """
    source = to_unicode(text)
    allowed = {p.lower() for p in permitted_protocols}
    pieces: list[str] = []
    position = 0
    for match in _URL_CANDIDATE.finditer(source):
        scheme = match.group("scheme")
        url = _trim_url(match.group(0))
        if (scheme and scheme.lower() not in allowed) or (not scheme and require_protocol) or not url:
            continue
        href = url if scheme else "http://" + url
        params = extra_params(href) if callable(extra_params) else extra_params
        pieces.append(xhtml_escape(source[position : match.start()]))
        pieces.append(_link_html(url, scheme, match.group("slashes") or "", shorten, params))
        position = match.start() + len(url)
    pieces.append(xhtml_escape(source[position:]))
    return "".join(pieces)

"""Handlers configured in the routing table: ``RedirectHandler``, ``ErrorHandler``, ``FallbackHandler``."""

from __future__ import annotations

import re
import string
import urllib.parse
from collections.abc import Callable

from framework.httputil import HTTPServerRequest, qs_to_qsl
from framework.web.errors import HTTPError
from framework.web.handler import RequestHandler

__all__ = ["ErrorHandler", "FallbackHandler", "RedirectHandler"]

# ``\1``-style group references in a RedirectHandler target.
_BACKREFERENCE = re.compile(r"\\(\d+)")
# What a browser strips from both ends of a URL (C0 controls and space, per
# the WHATWG URL standard) and what it deletes anywhere inside one.
_URL_EDGE_JUNK = "".join(map(chr, range(0x21)))
_URL_INNER_JUNK = re.compile(r"[\t\n\r]")
_LEADING_SLASHES = re.compile(r"^//+")  # any run of them: the "//" before a host, to a browser


class RedirectHandler(RequestHandler):
    """Redirect every GET for a route to ``url`` (Tornado's ``RedirectHandler``).

    Permanent (301) by default, since the routing table is static. ``url``
    may refer to the route's groups as ``{0}`` (``str.format``) or, beyond
    Tornado, as ``\\1``; the request's query arguments are appended, merged
    with any query ``url`` already has and re-encoded as Tornado does.

    As in Tornado 6.6, text taken from the request can never choose where
    the redirect goes: the scheme and host (with user info and port) of the
    target must be those written in ``url`` before its first substitution,
    so ``"/{0}/b"`` answers a request for ``/r//evil.com`` with 400 rather
    than a redirect to ``//evil.com/b``. Only ``get`` is defined, so HEAD
    and the other methods get 405, as in Tornado.
    """

    def initialize(self, url: str, permanent: bool = True) -> None:
        self._url = url
        self._permanent = permanent

    def get(self, *args: str, **kwargs: str) -> None:
        """Send the redirect.

        Raises:
            HTTPError: 400 when the substituted text would change the scheme
                or host of the target, or holds a control character; 500 when
                ``url`` refers to a group the route does not have.
        """
        # ``\1`` becomes ``{0}`` and the template is formatted once, so text
        # taken from the request path is inserted, never read as a template
        # (a path holding ``{0.__class__}`` must not be evaluated).
        template = _BACKREFERENCE.sub(lambda m: _field(args, int(m.group(1))), self._url)
        target = template.format(*args, **kwargs)
        if self.request.query_arguments:
            # Before the check, as in Tornado: re-encoding the URL may change it.
            target = _with_query(target, self.request.query_arguments)
        if not _keeps_scheme_and_host(template, target):
            raise HTTPError(400, "redirect target %r would change the scheme or host of %r", target[:200], self._url)
        self.redirect(target, permanent=self._permanent)


def _field(args: tuple[str, ...], number: int) -> str:
    if not 1 <= number <= len(args):
        raise HTTPError(500, "redirect refers to group %d; the route has %d", number, len(args))
    return f"{{{number - 1}}}"


def _with_query(url: str, arguments: dict[str, list[bytes]]) -> str:
    """``url`` with the request's query arguments appended (Tornado's ``url_concat`` of them).

    Not ``httputil.url_concat``, which takes text: the arguments are raw
    bytes, and ``%FF`` must come out as ``%FF``.
    """
    parts = urllib.parse.urlparse(url)
    pairs: list[tuple[str, str | bytes]] = [*urllib.parse.parse_qsl(parts.query, keep_blank_values=True)]
    for name, value in qs_to_qsl(arguments):
        pairs.append((name, value))
    return urllib.parse.urlunparse(parts._replace(query=urllib.parse.urlencode(pairs)))


def _keeps_scheme_and_host(template: str, target: str) -> bool:
    """Whether ``target`` goes to the scheme and host fixed by ``template`` (Tornado 6.6's rule).

    They are read from the literal text before the first substitution:
    formatting the whole template with some placeholder would not do, as any
    placeholder can itself move the host (``"/"`` does in ``"/{0}/b"``). A
    template whose http(s) host would come wholly from a substitution
    (``"https://{0}/"``) fixes none, so every target is refused.
    """
    prefix, substituted = _literal_prefix(template)
    try:
        fixed = _scheme_and_host(prefix)
        if substituted and fixed[0] in ("http", "https") and not fixed[1]:
            return False
        return _scheme_and_host(target) == fixed
    except ValueError:  # urlsplit on a malformed host, such as an unclosed "["
        return False


def _literal_prefix(template: str) -> tuple[str, bool]:
    """The text of ``template`` before its first substitution, and whether it has one."""
    prefix = ""
    for literal, field, _, _ in string.Formatter().parse(template):
        prefix += literal
        if field is not None:
            return prefix, True
    return prefix, False


def _scheme_and_host(url: str) -> tuple[str, str]:
    """The scheme and netloc (user info, host, port) a browser would find in ``url``, lowercased.

    Both are empty for a relative URL. The URL is first cleaned up as a
    browser does (WHATWG URL standard): junk stripped from the ends, tabs and
    newlines dropped, ``\\`` read as ``/``, and any run of leading slashes
    read as the ``//`` before a host (RFC 3986 sees no host in ``///h``; a
    browser does).

    Raises:
        ValueError: ``urlsplit`` refuses the URL.
    """
    cleaned = _URL_INNER_JUNK.sub("", url.strip(_URL_EDGE_JUNK)).replace("\\", "/")
    cleaned = _LEADING_SLASHES.sub("//", cleaned)
    parts = urllib.parse.urlsplit(cleaned)
    return parts.scheme.lower(), parts.netloc.lower()


class ErrorHandler(RequestHandler):
    """Answer every request with ``status_code`` (the default 404 page)."""

    def initialize(self, status_code: int) -> None:
        self.set_status(status_code)

    def prepare(self) -> None:
        raise HTTPError(self._status_code)

    def check_xsrf_cookie(self) -> None:
        """An error page has nothing to protect: no XSRF check before the error."""

    def check_trusted_origin(self, origin: str) -> bool:
        """Any origin: a POST to a URL with no route gets its 404, not a 403 (``cross_origin_protection``)."""
        return True


class FallbackHandler(RequestHandler):
    """Hand the request to another server callable (Tornado's ``FallbackHandler``).

    ``fallback`` takes the ``HTTPServerRequest`` and answers through
    ``request.connection``, as an ``HTTPServer`` request callback does.
    """

    def initialize(self, fallback: Callable[[HTTPServerRequest], object]) -> None:
        self._fallback = fallback

    def prepare(self) -> None:
        self._fallback(self.request)
        self._finished = True
        self.on_finish()

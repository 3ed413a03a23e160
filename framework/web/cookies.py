"""Cookies, signed cookies, XSRF protection and the login redirect, for ``RequestHandler``.

A mixin of ``RequestHandler`` (users subclass one class, as in Tornado);
the cryptography is the pure functions of ``security``. Response cookies
are collected by name (setting one twice keeps the last) and become
``Set-Cookie`` headers when the response head is written, so they survive
``clear()`` and an error page, as Tornado's do.
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import http.cookies
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from framework import escape, template
from framework.httputil import url_concat
from framework.web import security
from framework.web.contracts import HandlerApplication
from framework.web.errors import HTTPError

if TYPE_CHECKING:
    from framework.httputil import HTTPServerRequest

__all__ = ["CookieMixin", "authenticated"]

_F = TypeVar("_F", bound=Callable[..., Any])
# The checks Tornado's set_cookie makes, in its order. A value may not hold
# controls or spaces (it is quoted, not refused, for anything else); the name
# and the domain, path and samesite attributes may not hold controls, spaces
# or the ";" that would start a forged attribute (CookieError, as Tornado).
_VALUE_FORBIDDEN = re.compile(r"[\x00-\x20]")
_ATTRIBUTE_FORBIDDEN = re.compile(r"[\x00-\x20;\x7f]")
# A name is what http.cookies accepts as a key: an RFC 6265 token, plus ":",
# and not one of the attribute names it reserves (Python 3.11's list).
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~:0-9A-Za-z]+")
_RESERVED_NAMES = frozenset({"expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version", "samesite"})
_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


class CookieMixin:
    """Tornado's cookie and XSRF methods (``get_cookie``, ``set_signed_cookie``, ``xsrf_token``...)."""

    request: HTTPServerRequest
    application: HandlerApplication
    # Made by the first set_cookie(); None from RequestHandler.__init__ until then.
    _new_cookies: dict[tuple[str, str, str | None], str] | None

    if TYPE_CHECKING:  # supplied by RequestHandler

        @property
        def current_user(self) -> Any: ...

        def get_argument(self, name: str, default: Any = ..., strip: bool = True) -> Any: ...

        def require_setting(self, name: str, feature: str = "this feature") -> None: ...

    # -- plain cookies --------------------------------------------------------

    def get_cookie(self, name: str, default: str | None = None) -> str | None:
        """The value of the cookie ``name`` the client sent, or ``default``."""
        morsel = self.request.cookies.get(name)
        return morsel.value if morsel is not None else default

    def set_cookie(
        self,
        name: str,
        value: str | bytes,
        domain: str | None = None,
        expires: float | datetime.datetime | None = None,
        path: str = "/",
        expires_days: float | None = None,
        *,
        max_age: int | None = None,
        httponly: bool = False,
        secure: bool = False,
        samesite: str | None = None,
    ) -> None:
        """Set a cookie on the response (Tornado's ``set_cookie``, attributes keyword-only past ``expires_days``).

        A value holding characters a bare cookie value cannot (``;``, ``"``,
        ``=``, ``\\``, DEL, non-ASCII...) is sent quoted, with ``;``, DEL and
        non-ASCII as octal escapes (``a;b`` goes out as ``"a\\073b"``), as
        Tornado does through ``http.cookies``. Unlike Tornado, ``samesite`` is
        checked (and its case normalized) and attributes come in a fixed order.

        Raises:
            ValueError: the value holds a control character or a space, or a
                character beyond latin-1 (bytes are decoded as UTF-8), or
                ``samesite`` is not Strict, Lax or None.
            http.cookies.CookieError: the name, ``domain``, ``path`` or
                ``samesite`` holds a control character, a space or ``;``, or
                the name is not a token (``:`` allowed) or is an attribute name
                (``path``).
        """
        text = value.decode("utf-8") if isinstance(value, bytes) else value
        if _VALUE_FORBIDDEN.search(text):
            raise ValueError(f"Invalid cookie {name!r}: {text!r}")
        _check_attributes(name, domain=domain, path=path, samesite=samesite)
        _check_name(name)
        parts = [f"{name}={_quote_value(name, text)}", f"Path={path}"]
        if domain:
            parts.append(f"Domain={domain}")
        if expires_days is not None and expires is None:
            expires = time.time() + expires_days * 86400
        if expires is not None:
            timestamp = expires.timestamp() if isinstance(expires, datetime.datetime) else float(expires)
            parts.append("Expires=" + email.utils.formatdate(timestamp, usegmt=True))
        if max_age is not None:
            parts.append(f"Max-Age={int(max_age)}")
        if httponly:
            parts.append("HttpOnly")
        if secure:
            parts.append("Secure")
        if samesite is not None:
            if samesite.lower() not in _SAMESITE:
                raise ValueError(f"samesite must be Strict, Lax or None, not {samesite!r}")
            parts.append("SameSite=" + _SAMESITE[samesite.lower()])
        if self._new_cookies is None:
            self._new_cookies = {}
        self._new_cookies[(name, path, domain)] = "; ".join(parts)

    def clear_cookie(self, name: str, path: str = "/", domain: str | None = None, **kwargs: Any) -> None:
        """Tell the browser to delete the cookie (an expired, empty one with the same path and domain)."""
        expires = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=365)
        self.set_cookie(name, "", path=path, domain=domain, expires=expires, max_age=0, **kwargs)

    def clear_all_cookies(self, path: str = "/", domain: str | None = None) -> None:
        """Delete every cookie the client sent (for this path and domain)."""
        for name in self.request.cookies:
            self.clear_cookie(name, path=path, domain=domain)

    def _cookie_headers(self) -> list[str]:
        """The ``Set-Cookie`` values to send (called when the response head is written)."""
        cookies = self._new_cookies
        return list(cookies.values()) if cookies else []

    # -- signed cookies -----------------------------------------------------------

    def create_signed_value(self, name: str, value: str | bytes, version: int | None = None) -> bytes:
        """Sign ``value`` for cookie ``name`` with the ``cookie_secret`` setting (and ``key_version``)."""
        self.require_setting("cookie_secret", "signed cookies")
        config = self.application.config
        secret = cast("security.Secret", config.cookie_secret)  # require_setting: not None
        return security.create_signed_value(secret, name, value, version=version, key_version=config.key_version)

    def set_signed_cookie(
        self, name: str, value: str | bytes, expires_days: float | None = 30, version: int | None = None, **kwargs: Any
    ) -> None:
        """Set a cookie the client can read but not forge (HMAC-SHA256, timestamped).

        Defaults to ``httponly``; pass ``httponly=False`` to let scripts read it.
        """
        kwargs.setdefault("httponly", True)
        signed = self.create_signed_value(name, value, version=version)
        self.set_cookie(name, signed, expires_days=expires_days, **kwargs)

    def get_signed_cookie(
        self, name: str, value: str | None = None, max_age_days: float = 31, min_version: int | None = None
    ) -> bytes | None:
        """The verified value of a signed cookie, or None if it is missing, forged or too old."""
        self.require_setting("cookie_secret", "signed cookies")
        if value is None:
            value = self.get_cookie(name)
        secret = cast("security.Secret", self.application.config.cookie_secret)  # require_setting: not None
        return security.decode_signed_value(secret, name, value, max_age_days=max_age_days, min_version=min_version)

    def get_signed_cookie_key_version(self, name: str, value: str | None = None) -> int | None:
        """The key version a signed cookie was signed with (unverified), or None."""
        if value is None:
            value = self.get_cookie(name)
        return None if value is None else security.get_signature_key_version(value)

    # Tornado's older names for the same methods.
    set_secure_cookie = set_signed_cookie
    get_secure_cookie = get_signed_cookie
    get_secure_cookie_key_version = get_signed_cookie_key_version

    # -- XSRF ---------------------------------------------------------------------

    @property
    def xsrf_token(self) -> bytes:
        """This request's XSRF token (masked anew for each request); sets the XSRF cookie if absent.

        Put it in every form (``xsrf_form_html()``) or send it as an
        ``X-XSRFToken`` header; the cookie (``_xsrf``, or the setting
        ``xsrf_cookie_name``) carries the same secret. As in Tornado, a cookie
        set for a signed-in user lasts 30 days unless ``xsrf_cookie_kwargs``
        says otherwise.
        """
        token: bytes | None = getattr(self, "_xsrf_token", None)
        if token is None:
            secret, timestamp = self._xsrf_cookie_secret()
            token = security.encode_xsrf_token(secret, timestamp)
            if getattr(self, "_xsrf_cookie_missing", False):
                config = self.application.config
                kwargs = dict(config.xsrf_cookie_kwargs or {})
                kwargs.setdefault("samesite", "Lax")
                if "expires_days" not in kwargs and self.current_user:
                    kwargs["expires_days"] = 30
                self.set_cookie(config.xsrf_cookie_name, token, **kwargs)
            self._xsrf_token = token
        return token

    def _xsrf_cookie_secret(self) -> tuple[bytes, float]:
        decoded = security.decode_xsrf_token(self.get_cookie(self.application.config.xsrf_cookie_name) or "")
        if decoded is not None:
            self._xsrf_cookie_missing = False
            return decoded
        self._xsrf_cookie_missing = True
        return security.new_xsrf_secret(), float(int(time.time()))

    def check_xsrf_cookie(self) -> None:
        """Refuse (403) a request whose ``_xsrf`` argument or header does not match its cookie.

        Called for POST, PUT, PATCH and DELETE when the ``xsrf_cookies``
        setting is on; override to exempt a handler (an API with its own auth).

        Raises:
            HTTPError: 403 when the token is missing or does not match.
        """
        token = (
            self.get_argument("_xsrf", None) or self.request.headers.get("X-Xsrftoken") or self.request.headers.get("X-Csrftoken")
        )
        if not token:
            raise HTTPError(403, "'_xsrf' argument missing from %s", self.request.method, reason="XSRF token missing")
        sent = security.decode_xsrf_token(token)
        cookie = security.decode_xsrf_token(self.get_cookie(self.application.config.xsrf_cookie_name) or "")
        if sent is None or cookie is None or not security.xsrf_tokens_match(sent[0], cookie[0]):
            raise HTTPError(
                403, "XSRF cookie does not match the %s argument", self.request.method, reason="XSRF token does not match"
            )

    def xsrf_form_html(self) -> str:
        """``<input type="hidden" name="_xsrf" value="...">`` for a form (sets the cookie too)."""
        token: bytes | str = self.xsrf_token  # a subclass may override the property with a str
        value = escape.xhtml_escape(token.decode("latin-1") if isinstance(token, bytes) else token)
        # Escaped here, so marked safe: ``{{ xsrf_form_html() }}`` must not escape it again.
        return template.safe(f'<input type="hidden" name="_xsrf" value="{value}"/>')

    # -- login ----------------------------------------------------------------------

    def get_login_url(self) -> str:
        """The ``login_url`` setting; override for a per-handler login page."""
        self.require_setting("login_url", "@authenticated")
        return str(self.application.config.login_url)


def _check_attributes(name: str, **attributes: str | None) -> None:
    """Refuse a name or attribute that would break out of its place in ``Set-Cookie`` (Tornado 6.6's check).

    ``domain="a; Secure"`` would otherwise add an attribute of the caller's
    choosing; the same goes for controls and spaces.

    Raises:
        http.cookies.CookieError: Tornado's exception and message.
    """
    for attribute, text in {"name": name, **attributes}.items():
        if text is not None and _ATTRIBUTE_FORBIDDEN.search(text):
            raise http.cookies.CookieError(f"Invalid cookie attribute {attribute}={text!r} for cookie {name!r}")


def _check_name(name: str) -> None:
    """Refuse a name ``http.cookies`` would (Tornado raises its ``CookieError``, with its messages)."""
    if name.lower() in _RESERVED_NAMES:
        raise http.cookies.CookieError(f"Attempt to set a reserved key {name!r}")
    if not _COOKIE_NAME.fullmatch(name):
        raise http.cookies.CookieError(f"Illegal key {name!r}")


def _quote_value(name: str, text: str) -> str:
    """``text`` as it goes in ``Set-Cookie``: bare if it is a token, else quoted and escaped.

    ``http.cookies`` does the quoting because Tornado's output is whatever it
    produces; byte for byte the same is the point. Its result holds no ``;``,
    no control and no unescaped ``"``, so it cannot end the value early.

    Raises:
        ValueError: ``text`` holds a character beyond latin-1, which the
            quoting leaves as it is and a header cannot carry (Tornado fails
            later, when the header is written).
    """
    _, quoted = http.cookies.SimpleCookie().value_encode(text)
    if not quoted.isascii():
        raise ValueError(f"Invalid cookie {name!r}: {text!r} (a character beyond latin-1)")
    return str(quoted)


def authenticated(method: _F) -> _F:
    """Require ``current_user``: redirect GET/HEAD to the login page with ``next=``, 403 otherwise.

    Mirrors Tornado's decorator: ``next`` is the request's URI when the login
    URL is on this site, the full URL when the login URL names a host.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.current_user:
            return method(self, *args, **kwargs)
        if self.request.method not in ("GET", "HEAD"):
            raise HTTPError(403)
        url = self.get_login_url()
        if "?" not in url:
            parts = urllib.parse.urlsplit(url)
            next_url = self.request.full_url() if parts.scheme else self.request.uri
            url = url_concat(url, {"next": next_url})
        self.redirect(url)
        return None

    return wrapper  # type: ignore[return-value]

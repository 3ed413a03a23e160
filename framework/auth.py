"""Third-party sign-in: Tornado's ``tornado.auth`` mixins for ``RequestHandler`` (OAuth 2, OAuth 1.0a, OpenID 2.0).

Strategy: each mixin is a plain class a handler inherits beside
``RequestHandler``; it knows its provider's endpoints as class attributes
(``_OAUTH_AUTHORIZE_URL``, ``_OAUTH_ACCESS_TOKEN_URL``...), which is also how a
test points it at a fake provider. The flow is the authorization-code grant
(RFC 6749 4.1): ``authorize_redirect`` sends the browser to the provider,
which sends it back with ``?code=``; ``get_authenticated_user`` exchanges the
code for an access token with a server-to-server request
(``framework.httpclient.AsyncHTTPClient``, replaceable through
``get_auth_http_client``); ``oauth2_request`` then calls the provider's API
with that token.

OAuth 1.0a (RFC 5849: ``OAuthMixin``, ``TwitterMixin``) signs every request
with HMAC-SHA1 over the consumer's and the token's secrets; the request token
travels between the two legs of the flow in the ``_oauth_request_token``
cookie, as in Tornado. OpenID 2.0 (``OpenIdMixin``) sends the browser to the
provider's endpoint and has the provider confirm the signed answer
(``check_authentication``); OpenID 2.0 is retired by every large provider.

Differences from Tornado: ``oauth2_request`` sends its extra ``**args`` even without an
access token (Tornado drops them then); a provider's answer that is not a
JSON object, or a token response without ``access_token``, raises
``AuthError`` (Tornado fails with whatever the JSON decoding raises).
Errors from the provider (a 4xx on the token exchange) propagate as
``framework.httpclient.HTTPClientError``, as in Tornado.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from framework.httpclient import AsyncHTTPClient, HTTPResponse
from framework.httputil import url_concat

if TYPE_CHECKING:
    from framework.web import RequestHandler

__all__ = [
    "AuthError",
    "FacebookGraphMixin",
    "GoogleOAuth2Mixin",
    "OAuth2Mixin",
    "OAuthMixin",
    "OpenIdMixin",
    "TwitterMixin",
]


class AuthError(Exception):
    """The provider's answer could not be used (not JSON, no access token)."""


def _json_object(response: HTTPResponse) -> dict[str, Any]:
    try:
        value = json.loads(response.body)
    except ValueError as exc:
        raise AuthError(f"provider answered {response.effective_url} with invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise AuthError(f"provider answered {response.effective_url} with JSON that is not an object")
    return value


async def _fetch_json(client: AsyncHTTPClient, url: str, post_args: dict[str, Any] | None) -> Any:
    """GET ``url`` (or POST ``post_args`` to it, urlencoded) and parse the answer as JSON.

    Raises:
        framework.httpclient.HTTPClientError: the provider answered with an error status.
        AuthError: the answer is not JSON.
    """
    if post_args is not None:
        response = await client.fetch(url, method="POST", body=urllib.parse.urlencode(post_args))
    else:
        response = await client.fetch(url)
    try:
        return json.loads(response.body)
    except ValueError as exc:
        raise AuthError(f"provider answered {url} with invalid JSON: {exc}") from None


class OAuth2Mixin:
    """The OAuth 2 authorization-code flow (Tornado's ``OAuth2Mixin``).

    Subclasses set ``_OAUTH_AUTHORIZE_URL`` and ``_OAUTH_ACCESS_TOKEN_URL``.
    """

    _OAUTH_AUTHORIZE_URL = ""
    _OAUTH_ACCESS_TOKEN_URL = ""

    def authorize_redirect(
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: dict[str, Any] | None = None,
        scope: list[str] | None = None,
        response_type: str = "code",
    ) -> None:
        """Redirect the browser to the provider's authorization page.

        ``client_secret`` is accepted for Tornado's signature and never sent
        (the browser must not see it). A ``state`` for CSRF protection goes
        in ``extra_params``.
        """
        handler = cast("RequestHandler", self)
        args: dict[str, Any] = {"response_type": response_type}
        if redirect_uri is not None:
            args["redirect_uri"] = redirect_uri
        if client_id is not None:
            args["client_id"] = client_id
        if extra_params:
            args.update(extra_params)
        if scope:
            args["scope"] = " ".join(scope)
        handler.redirect(url_concat(self._OAUTH_AUTHORIZE_URL, args))

    def _oauth_request_token_url(
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        code: str | None = None,
        extra_params: dict[str, Any] | None = None,
    ) -> str:
        """The token endpoint with the exchange's arguments in its query (Facebook's style)."""
        given = {"redirect_uri": redirect_uri, "code": code, "client_id": client_id, "client_secret": client_secret}
        args: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
        args.update(extra_params or {})
        return url_concat(self._OAUTH_ACCESS_TOKEN_URL, args)

    async def oauth2_request(
        self, url: str, access_token: str | None = None, post_args: dict[str, Any] | None = None, **args: Any
    ) -> Any:
        """Call a provider API with the access token; the decoded JSON answer.

        ``post_args`` makes it a form POST; ``args`` go in the query.

        Raises:
            framework.httpclient.HTTPClientError: the provider answered with an error status.
            AuthError: the answer is not JSON.
        """
        query = dict(args)
        if access_token:
            query["access_token"] = access_token
        if query:
            url = url_concat(url, query)
        return await _fetch_json(self.get_auth_http_client(), url, post_args)

    def get_auth_http_client(self) -> AsyncHTTPClient:
        """The client for requests to the provider; override to use another."""
        return AsyncHTTPClient()


class GoogleOAuth2Mixin(OAuth2Mixin):
    """Sign in with Google (Tornado's ``GoogleOAuth2Mixin``).

    Register the application with Google, then put its credentials in the
    ``google_oauth`` setting: ``{"key": CLIENT_ID, "secret": CLIENT_SECRET}``.
    ``get_authenticated_user`` returns the token response; fetch the profile
    with ``oauth2_request(self._OAUTH_USERINFO_URL, access_token=...)``.
    """

    _OAUTH_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
    _OAUTH_ACCESS_TOKEN_URL = "https://www.googleapis.com/oauth2/v4/token"
    _OAUTH_USERINFO_URL = "https://www.googleapis.com/oauth2/v1/userinfo"
    _OAUTH_NO_CALLBACKS = False
    _OAUTH_SETTINGS_KEY = "google_oauth"

    def get_google_oauth_settings(self) -> dict[str, str]:
        """The ``google_oauth`` setting; override to read the credentials elsewhere."""
        handler = cast("RequestHandler", self)
        settings: dict[str, str] = handler.settings[self._OAUTH_SETTINGS_KEY]
        return settings

    async def get_authenticated_user(
        self, redirect_uri: str, code: str, client_id: str | None = None, client_secret: str | None = None
    ) -> dict[str, Any]:
        """Exchange the ``code`` Google sent back for tokens (a form POST to the token endpoint).

        Returns:
            Google's token response: ``access_token``, ``expires_in``,
            ``id_token``, ...

        Raises:
            framework.httpclient.HTTPClientError: Google refused the code.
            AuthError: the answer holds no access token.
        """
        if client_id is None or client_secret is None:
            settings = self.get_google_oauth_settings()
            client_id = settings["key"] if client_id is None else client_id
            client_secret = settings["secret"] if client_secret is None else client_secret
        body = urllib.parse.urlencode({
            "redirect_uri": redirect_uri,
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "authorization_code",
        })  # fmt: skip
        response = await self.get_auth_http_client().fetch(
            self._OAUTH_ACCESS_TOKEN_URL,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=body,
        )
        tokens = _json_object(response)
        if not tokens.get("access_token"):
            raise AuthError("Google's token response has no access_token")
        return tokens


class FacebookGraphMixin(OAuth2Mixin):
    """Sign in with Facebook and call its Graph API (Tornado's ``FacebookGraphMixin``)."""

    _OAUTH_ACCESS_TOKEN_URL = "https://graph.facebook.com/oauth/access_token?"
    _OAUTH_AUTHORIZE_URL = "https://www.facebook.com/dialog/oauth?"
    _OAUTH_NO_CALLBACKS = False
    _FACEBOOK_BASE_URL = "https://graph.facebook.com"

    async def get_authenticated_user(
        self,
        redirect_uri: str,
        client_id: str,
        client_secret: str,
        code: str,
        extra_fields: dict[str, Any] | list[str] | None = None,
    ) -> dict[str, Any] | None:
        """Exchange ``code`` for a token, then read the user's profile from ``/me``.

        Returns:
            The profile fields asked for (``id``, ``name``, ``first_name``,
            ``last_name``, ``locale``, ``picture``, ``link`` and
            ``extra_fields``), plus ``access_token`` and ``session_expires``;
            None if Facebook returned no profile.

        Raises:
            framework.httpclient.HTTPClientError: Facebook refused the code.
            AuthError: the answer holds no access token.
        """
        token_url = self._oauth_request_token_url(
            redirect_uri=redirect_uri, client_id=client_id, client_secret=client_secret, code=code
        )
        session = _json_object(await self.get_auth_http_client().fetch(token_url))
        access_token = session.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise AuthError("Facebook's token response has no access_token")
        fields = {"id", "name", "first_name", "last_name", "locale", "picture", "link", *(extra_fields or ())}
        # appsecret_proof: Graph API calls signed with the app secret (Facebook's recommendation).
        proof = hmac.new(client_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
        user = await self.facebook_request(
            "/me", access_token=access_token, appsecret_proof=proof, fields=",".join(sorted(fields))
        )
        if user is None:
            return None
        profile: dict[str, Any] = {name: user.get(name) for name in fields}
        profile.update(access_token=access_token, session_expires=str(session.get("expires_in")))
        return profile

    async def facebook_request(
        self, path: str, access_token: str | None = None, post_args: dict[str, Any] | None = None, **args: Any
    ) -> Any:
        """Call the Graph API at ``path`` (``"/me/feed"``); the decoded JSON answer.

        Raises:
            framework.httpclient.HTTPClientError: the Graph API answered with an error status.
        """
        url = self._FACEBOOK_BASE_URL + path
        return await self.oauth2_request(url, access_token=access_token, post_args=post_args, **args)


# -- OAuth 1.0a (RFC 5849) -----------------------------------------------------------------


def _percent(value: str) -> str:
    """RFC 5849 3.6: UTF-8, then every byte but ALPHA / DIGIT / "-" / "." / "_" / "~" as %XX."""
    return urllib.parse.quote(value, safe="~")


def _oauth_signature(
    consumer_token: Mapping[str, object],
    method: str,
    url: str,
    parameters: Mapping[str, object],
    token: Mapping[str, object] | None = None,
    *,
    version: str = "1.0a",
) -> str:
    """The HMAC-SHA1 signature of a request (RFC 5849 3.4), base64-encoded.

    The base string is the method, the base URL (scheme and host lower-cased,
    a default port dropped, no query) and every parameter, the URL's query
    included, percent-encoded and sorted. The key is the consumer's and the
    token's secrets, percent-encoded for 1.0a and as they are for 1.0.
    """
    parts = urllib.parse.urlsplit(url)
    scheme, netloc = parts.scheme.lower(), parts.netloc.lower()
    if (scheme, netloc.rpartition(":")[2]) in {("http", "80"), ("https", "443")}:
        netloc = netloc.rpartition(":")[0]
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    pairs += [(name, str(value)) for name, value in parameters.items()]
    normalized = "&".join(f"{name}={value}" for name, value in sorted((_percent(n), _percent(v)) for n, v in pairs))
    base_string = "&".join((method.upper(), _percent(f"{scheme}://{netloc}{parts.path or '/'}"), _percent(normalized)))
    key_parts = [str(consumer_token["secret"]), str(token["secret"]) if token else ""]
    key = "&".join(_percent(part) for part in key_parts) if version == "1.0a" else "&".join(key_parts)
    return base64.b64encode(hmac.new(key.encode(), base_string.encode(), hashlib.sha1).digest()).decode()


def _oauth_parse_response(body: bytes) -> dict[str, str]:
    """A token response (``oauth_token=...&oauth_token_secret=...``) as ``{"key", "secret", ...}``.

    Raises:
        AuthError: the token or its secret is missing.
    """
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    if "oauth_token" not in fields or "oauth_token_secret" not in fields:
        raise AuthError("the provider's token response has no oauth_token and oauth_token_secret")
    token: dict[str, str] = {"key": fields["oauth_token"][0], "secret": fields["oauth_token_secret"][0]}
    token.update((name, values[0]) for name, values in fields.items() if name not in {"oauth_token", "oauth_token_secret"})
    return token


class OAuthMixin:
    """The OAuth 1.0a flow, or 1.0 with ``_OAUTH_VERSION = "1.0"`` (Tornado's ``OAuthMixin``).

    Subclasses set ``_OAUTH_REQUEST_TOKEN_URL``, ``_OAUTH_AUTHORIZE_URL`` and
    ``_OAUTH_ACCESS_TOKEN_URL`` and override :meth:`_oauth_consumer_token` and
    :meth:`_oauth_get_user_future`, as ``TwitterMixin`` does. Differences: the
    request-token cookie is ``HttpOnly``; a token response without a token
    raises ``AuthError`` (Tornado: ``KeyError``); a callback on a service with
    ``_OAUTH_NO_CALLBACKS`` raises ``ValueError`` (Tornado: ``Exception``).
    """

    _OAUTH_REQUEST_TOKEN_URL = ""
    _OAUTH_AUTHORIZE_URL = ""
    _OAUTH_ACCESS_TOKEN_URL = ""
    _OAUTH_VERSION = "1.0a"
    _OAUTH_NO_CALLBACKS = False

    async def authorize_redirect(
        self,
        callback_uri: str | None = None,
        extra_params: dict[str, Any] | None = None,
        http_client: AsyncHTTPClient | None = None,
    ) -> None:
        """Get a request token, then send the browser to the provider to authorize it.

        Mirrors ``OAuthMixin.authorize_redirect`` (a coroutine, unlike the
        other ``*_redirect`` methods): ``callback_uri`` (relative to this
        request, or ``"oob"`` to show the authorize URL as the page instead)
        is where the provider sends the browser back. The request token
        waits in the ``_oauth_request_token`` cookie.

        Raises:
            ValueError: a ``callback_uri`` for a service that takes none.
            framework.httpclient.HTTPClientError: the provider refused.
            AuthError: its answer holds no request token.
        """
        if callback_uri and self._OAUTH_NO_CALLBACKS:
            raise ValueError("This service does not support oauth_callback")
        client = http_client or self.get_auth_http_client()
        if self._OAUTH_VERSION == "1.0a":
            url = self._oauth_request_token_url(callback_uri=callback_uri, extra_params=extra_params)
        else:
            url = self._oauth_request_token_url()
        response = await client.fetch(url)
        self._on_request_token(self._OAUTH_AUTHORIZE_URL, callback_uri, response)

    async def get_authenticated_user(self, http_client: AsyncHTTPClient | None = None) -> dict[str, Any]:
        """Trade the authorized request token for an access token and the user's data.

        Mirrors ``OAuthMixin.get_authenticated_user``; call it in the handler
        the provider sends the browser back to (``?oauth_token=&oauth_verifier=``).

        Returns:
            What :meth:`_oauth_get_user_future` returned, plus ``access_token``
            (a dict with ``key`` and ``secret``, for :meth:`_oauth_request_parameters`).

        Raises:
            AuthError: no request-token cookie, a token that does not match it,
                no access token in the answer, or no user.
            framework.web.MissingArgumentError: no ``oauth_token`` argument (a 400).
        """
        handler = cast("RequestHandler", self)
        request_key = handler.get_argument("oauth_token")
        verifier = handler.get_argument("oauth_verifier", None)
        cookie = handler.get_cookie("_oauth_request_token")
        if not cookie:
            raise AuthError("Missing OAuth request token cookie")
        handler.clear_cookie("_oauth_request_token")
        try:
            key, secret = (base64.b64decode(part).decode() for part in cookie.split("|"))
        except (ValueError, binascii.Error):
            raise AuthError("Malformed OAuth request token cookie") from None
        if key != request_key:
            raise AuthError("Request token does not match cookie")
        token: dict[str, str] = {"key": key, "secret": secret}
        if verifier:
            token["verifier"] = verifier
        client = http_client or self.get_auth_http_client()
        response = await client.fetch(self._oauth_access_token_url(token))
        access_token = _oauth_parse_response(response.body)
        user = await self._oauth_get_user_future(access_token)
        if not user:
            raise AuthError("Error getting user")
        user["access_token"] = access_token
        return user

    def _oauth_request_token_url(self, callback_uri: str | None = None, extra_params: dict[str, Any] | None = None) -> str:
        consumer = self._oauth_consumer_token()
        args = self._oauth_base_args(consumer)
        if self._OAUTH_VERSION == "1.0a":
            if callback_uri == "oob":
                args["oauth_callback"] = "oob"
            elif callback_uri:
                args["oauth_callback"] = self._absolute(callback_uri)
            args.update(extra_params or {})
        url = self._OAUTH_REQUEST_TOKEN_URL
        args["oauth_signature"] = _oauth_signature(consumer, "GET", url, args, version=self._OAUTH_VERSION)
        return url_concat(url, args)

    def _on_request_token(self, authorize_url: str, callback_uri: str | None, response: HTTPResponse) -> None:
        handler = cast("RequestHandler", self)
        request_token = _oauth_parse_response(response.body)
        stored = "|".join(base64.b64encode(request_token[part].encode()).decode() for part in ("key", "secret"))
        handler.set_cookie("_oauth_request_token", stored, httponly=True)
        args = {"oauth_token": request_token["key"]}
        if callback_uri == "oob":
            handler.finish(url_concat(authorize_url, args))
            return
        if callback_uri:
            args["oauth_callback"] = self._absolute(callback_uri)
        handler.redirect(url_concat(authorize_url, args))

    def _oauth_access_token_url(self, request_token: dict[str, str]) -> str:
        consumer = self._oauth_consumer_token()
        args = self._oauth_base_args(consumer)
        args["oauth_token"] = request_token["key"]
        if "verifier" in request_token:
            args["oauth_verifier"] = request_token["verifier"]
        url = self._OAUTH_ACCESS_TOKEN_URL
        args["oauth_signature"] = _oauth_signature(consumer, "GET", url, args, request_token, version=self._OAUTH_VERSION)
        return url_concat(url, args)

    def _oauth_consumer_token(self) -> dict[str, Any]:
        """The application's consumer credentials, ``{"key": ..., "secret": ...}``; subclasses say where from."""
        raise NotImplementedError()

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any] | None:
        """The user's data, read from the provider with ``access_token``; subclasses implement it."""
        raise NotImplementedError()

    def _oauth_request_parameters(
        self, url: str, access_token: dict[str, Any], parameters: dict[str, Any] | None = None, method: str = "GET"
    ) -> dict[str, Any]:
        """The ``oauth_*`` arguments, signature included, that authorize one API request (Tornado's).

        ``parameters`` are every query and form argument the request sends.
        """
        consumer = self._oauth_consumer_token()
        base = self._oauth_base_args(consumer)
        base["oauth_token"] = access_token["key"]
        signed = {**base, **(parameters or {})}
        base["oauth_signature"] = _oauth_signature(consumer, method, url, signed, access_token, version=self._OAUTH_VERSION)
        return base

    def _oauth_base_args(self, consumer: dict[str, Any]) -> dict[str, Any]:
        return {
            "oauth_consumer_key": consumer["key"],
            "oauth_signature_method": "HMAC-SHA1",
            "oauth_timestamp": str(int(time.time())),
            "oauth_nonce": secrets.token_hex(16),
            "oauth_version": "1.0",
        }

    def _absolute(self, uri: str) -> str:
        return urllib.parse.urljoin(cast("RequestHandler", self).request.full_url(), uri)

    def get_auth_http_client(self) -> AsyncHTTPClient:
        """The client for requests to the provider; override to use another."""
        return AsyncHTTPClient()


class TwitterMixin(OAuthMixin):
    """Sign in with Twitter and call its API (Tornado's ``TwitterMixin``, deprecated there since 6.4).

    Put the application's credentials in the ``twitter_consumer_key`` and
    ``twitter_consumer_secret`` settings. The user returned by
    ``get_authenticated_user`` is ``account/verify_credentials`` with
    ``username`` (the screen name) and ``access_token`` added.
    """

    _OAUTH_REQUEST_TOKEN_URL = "https://api.twitter.com/oauth/request_token"
    _OAUTH_ACCESS_TOKEN_URL = "https://api.twitter.com/oauth/access_token"
    _OAUTH_AUTHORIZE_URL = "https://api.twitter.com/oauth/authorize"
    _OAUTH_AUTHENTICATE_URL = "https://api.twitter.com/oauth/authenticate"
    _OAUTH_NO_CALLBACKS = False
    _TWITTER_BASE_URL = "https://api.twitter.com/1.1"

    async def authenticate_redirect(self, callback_uri: str | None = None) -> None:
        """Like ``authorize_redirect``, through Twitter's authenticate page: a user who already
        authorized the application comes straight back (sign-in rather than authorization)."""
        client = self.get_auth_http_client()
        response = await client.fetch(self._oauth_request_token_url(callback_uri=callback_uri))
        self._on_request_token(self._OAUTH_AUTHENTICATE_URL, callback_uri, response)

    async def twitter_request(
        self, path: str, access_token: dict[str, Any], post_args: dict[str, Any] | None = None, **args: Any
    ) -> Any:
        """Call the API at ``path`` (``"/statuses/user_timeline/btaylor"``); the decoded JSON answer.

        Mirrors ``TwitterMixin.twitter_request``: the path gets the API base
        and ``.json``, unless it is a whole ``http(s)://`` URL. ``post_args``
        make it a form POST; ``args`` go in the query; both are signed.

        Raises:
            framework.httpclient.HTTPClientError: the API answered with an error status.
            AuthError: the answer is not JSON.
        """
        url = path if path.startswith(("http:", "https:")) else self._TWITTER_BASE_URL + path + ".json"
        if access_token:
            method = "POST" if post_args is not None else "GET"
            args.update(self._oauth_request_parameters(url, access_token, {**args, **(post_args or {})}, method=method))
        if args:
            url = url_concat(url, args)
        return await _fetch_json(self.get_auth_http_client(), url, post_args)

    def _oauth_consumer_token(self) -> dict[str, Any]:
        handler = cast("RequestHandler", self)
        handler.require_setting("twitter_consumer_key", "Twitter OAuth")
        handler.require_setting("twitter_consumer_secret", "Twitter OAuth")
        return {"key": handler.settings["twitter_consumer_key"], "secret": handler.settings["twitter_consumer_secret"]}

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any] | None:
        user = await self.twitter_request("/account/verify_credentials", access_token=access_token)
        if user:
            user["username"] = user["screen_name"]
        return cast("dict[str, Any] | None", user)


# -- OpenID 2.0 ------------------------------------------------------------------------------

_AX = "http://openid.net/srv/ax/1.0"
_AX_TYPES = {
    "firstname": "http://axschema.org/namePerson/first",
    "fullname": "http://axschema.org/namePerson",
    "lastname": "http://axschema.org/namePerson/last",
    "email": "http://axschema.org/contact/email",
    "language": "http://axschema.org/pref/language",
    "username": "http://axschema.org/namePerson/friendly",
}
"""Attribute Exchange type URIs by the names ``authenticate_redirect``'s ``ax_attrs`` use."""


class OpenIdMixin:
    """Sign-in with an OpenID 2.0 provider, asking for Attribute Exchange data (Tornado's ``OpenIdMixin``).

    Subclasses set ``_OPENID_ENDPOINT``. Difference: ``_openid_args`` takes
    no ``oauth_scope`` (the OpenID+OAuth hybrid is not provided).
    """

    _OPENID_ENDPOINT = ""

    def authenticate_redirect(
        self, callback_uri: str | None = None, ax_attrs: list[str] | tuple[str, ...] = ("name", "email", "language", "username")
    ) -> None:
        """Send the browser to the provider, which sends it back to ``callback_uri`` with ``openid.mode``.

        Mirrors ``OpenIdMixin.authenticate_redirect`` (a plain method, as in
        Tornado 6). ``ax_attrs`` are the user's data asked for: ``name``
        (first, last and full), ``email``, ``language``, ``username``.

        Raises:
            KeyError: an attribute outside that list.
        """
        handler = cast("RequestHandler", self)
        args = self._openid_args(callback_uri or handler.request.uri, ax_attrs=ax_attrs)
        handler.redirect(url_concat(self._OPENID_ENDPOINT, args))

    async def get_authenticated_user(self, http_client: AsyncHTTPClient | None = None) -> dict[str, Any]:
        """Have the provider confirm the answer the browser brought back; the user's data.

        Mirrors ``OpenIdMixin.get_authenticated_user``: the ``openid.*``
        arguments go back to the endpoint as ``check_authentication``.

        Returns:
            ``name``, ``first_name``, ``last_name``, ``email``, ``locale``,
            ``username`` and ``claimed_id``, those the provider gave.

        Raises:
            AuthError: the provider did not confirm the answer.
            framework.httpclient.HTTPClientError: the provider answered with an error status.
        """
        handler = cast("RequestHandler", self)
        args = {name: values[-1] for name, values in handler.request.arguments.items()}
        args["openid.mode"] = b"check_authentication"
        client = http_client or self.get_auth_http_client()
        response = await client.fetch(self._OPENID_ENDPOINT, method="POST", body=urllib.parse.urlencode(args))
        if b"is_valid:true" not in response.body.splitlines():
            raise AuthError(f"Invalid OpenID response: {response.body!r}")
        return self._openid_user()

    def _openid_args(self, callback_uri: str, ax_attrs: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
        handler = cast("RequestHandler", self)
        return_to = urllib.parse.urljoin(handler.request.full_url(), callback_uri)
        identifier_select = "http://specs.openid.net/auth/2.0/identifier_select"
        args = {
            "openid.ns": "http://specs.openid.net/auth/2.0",
            "openid.claimed_id": identifier_select,
            "openid.identity": identifier_select,
            "openid.return_to": return_to,
            "openid.realm": urllib.parse.urljoin(return_to, "/"),
            "openid.mode": "checkid_setup",
        }
        wanted = [part for name in ax_attrs for part in (("firstname", "fullname", "lastname") if name == "name" else (name,))]
        if wanted:
            args.update({"openid.ns.ax": _AX, "openid.ax.mode": "fetch_request", "openid.ax.required": ",".join(wanted)})
            args.update({f"openid.ax.type.{name}": _AX_TYPES[name] for name in wanted})
        return args

    def _openid_user(self) -> dict[str, str]:
        """The user's data from the Attribute Exchange fields of the (confirmed) answer."""
        handler = cast("RequestHandler", self)
        values: dict[str, str] = {name: handler.get_argument(name) for name in handler.request.arguments}
        alias = next(
            (name[len("openid.ns.") :] for name, uri in values.items() if name.startswith("openid.ns.") and uri == _AX), None
        )

        def ax(type_uri: str) -> str:
            prefix = f"openid.{alias}.type."
            for name, uri in values.items():
                if alias and name.startswith(prefix) and uri == type_uri:
                    return values.get(f"openid.{alias}.value.{name[len(prefix) :]}", "")
            return ""

        first, last, full, email = (ax(_AX_TYPES[key]) for key in ("firstname", "lastname", "fullname", "email"))
        user: dict[str, str] = {}
        if first:
            user["first_name"] = first
        if last:
            user["last_name"] = last
        name = full or " ".join(part for part in (first, last) if part) or email.split("@")[0]
        found = {"name": name, "email": email, "locale": ax(_AX_TYPES["language"]).lower(), "username": ax(_AX_TYPES["username"])}
        user.update({key: value for key, value in found.items() if value})
        claimed_id = values.get("openid.claimed_id")
        if claimed_id:
            user["claimed_id"] = claimed_id
        return user

    def get_auth_http_client(self) -> AsyncHTTPClient:
        """The client for requests to the provider; override to use another."""
        return AsyncHTTPClient()

"""Third-party sign-in with OAuth 2: Tornado's ``tornado.auth`` mixins for ``RequestHandler``.

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

Differences from Tornado: OAuth 1.0a (``OAuthMixin``, ``TwitterMixin``) and
OpenID 2.0 (``OpenIdMixin``) are not provided (OpenID 2.0 is retired by every
large provider); ``oauth2_request`` sends its extra ``**args`` even without an
access token (Tornado drops them then); a provider's answer that is not a
JSON object, or a token response without ``access_token``, raises
``AuthError`` (Tornado fails with whatever the JSON decoding raises).
Errors from the provider (a 4xx on the token exchange) propagate as
``framework.httpclient.HTTPClientError``, as in Tornado.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from typing import TYPE_CHECKING, Any, cast

from framework.httpclient import AsyncHTTPClient, HTTPResponse
from framework.httputil import url_concat

if TYPE_CHECKING:
    from framework.web import RequestHandler

__all__ = ["AuthError", "FacebookGraphMixin", "GoogleOAuth2Mixin", "OAuth2Mixin"]


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
        http = self.get_auth_http_client()
        if post_args is not None:
            response = await http.fetch(url, method="POST", body=urllib.parse.urlencode(post_args))
        else:
            response = await http.fetch(url)
        try:
            return json.loads(response.body)
        except ValueError as exc:
            raise AuthError(f"provider answered {url} with invalid JSON: {exc}") from None

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

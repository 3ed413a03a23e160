"""``framework.auth``'s OAuth 2 mixins, against a fake provider served by the framework on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from framework.auth import AuthError, FacebookGraphMixin, GoogleOAuth2Mixin
from framework.httpclient import HTTPClientError
from framework.testing import ServerThread, serve
from framework.web import Application, HTTPError, RequestHandler

CLIENT_ID, CLIENT_SECRET, CODE, TOKEN = "the-client", "the-secret", "one-time-code", "the-token"


# -- the fake provider ---------------------------------------------------------------


class Authorize(RequestHandler):
    """The provider's consent page: the user says yes at once and is sent back with a code."""

    def get(self) -> None:
        self.application.settings["seen"]["authorize"] = {k: self.get_argument(k) for k in self.request.arguments}
        back = {"code": CODE, "state": self.get_argument("state", "")}
        self.redirect(self.get_argument("redirect_uri") + "?" + urllib.parse.urlencode(back))


class Token(RequestHandler):
    """The token endpoint: Google's is a form POST, Facebook's a GET with a query."""

    def check_xsrf_cookie(self) -> None:
        """A server-to-server endpoint."""

    def post(self) -> None:
        self.exchange()

    def get(self) -> None:
        self.exchange()

    def exchange(self) -> None:
        args = {k: self.get_argument(k) for k in self.request.arguments}
        self.application.settings["seen"]["token"] = {"method": self.request.method, **args}
        if args.get("code") != CODE or args.get("client_secret") != CLIENT_SECRET:
            raise HTTPError(400)
        if self.application.settings.get("no_token"):
            self.write({"error": "nothing"})
            return
        self.write({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})


class UserInfo(RequestHandler):
    def get(self) -> None:
        if self.get_argument("access_token") != TOKEN:
            raise HTTPError(401)
        self.application.settings["seen"]["me"] = {k: self.get_argument(k) for k in self.request.arguments}
        self.write({"id": "42", "name": "Ada", "email": "ada@example.org", "locale": "en"})

    def post(self) -> None:
        self.write({"posted": self.get_argument("message"), "token": self.get_argument("access_token")})

    def check_xsrf_cookie(self) -> None:
        """A server-to-server endpoint."""


class HtmlPage(RequestHandler):
    def get(self) -> None:
        self.write("<html>not JSON</html>")


@pytest.fixture
def provider() -> Iterator[ServerThread]:
    seen: dict[str, Any] = {}
    app = Application([("/authorize", Authorize), ("/token", Token), ("/me", UserInfo), ("/html", HtmlPage)], seen=seen)
    with serve(app) as server:
        yield server


def seen(provider: ServerThread) -> dict[str, Any]:
    app: Any = provider.app
    result: dict[str, Any] = app.settings["seen"]
    return result


# -- Google ------------------------------------------------------------------------------


def google_login(provider: ServerThread) -> type[RequestHandler]:
    class GoogleLogin(RequestHandler, GoogleOAuth2Mixin):
        _OAUTH_AUTHORIZE_URL = provider.url("/authorize")
        _OAUTH_ACCESS_TOKEN_URL = provider.url("/token")
        _OAUTH_USERINFO_URL = provider.url("/me")

        async def get(self) -> None:
            redirect_uri = self.request.protocol + "://" + self.request.host + "/login"
            if self.get_argument("code", None):
                tokens = await self.get_authenticated_user(redirect_uri=redirect_uri, code=self.get_argument("code"))
                user = await self.oauth2_request(self._OAUTH_USERINFO_URL, access_token=tokens["access_token"])
                self.write({"tokens": tokens, "user": user, "state": self.get_argument("state")})
                return
            self.authorize_redirect(
                redirect_uri=redirect_uri,
                client_id=self.settings["google_oauth"]["key"],
                scope=["profile", "email"],
                response_type="code",
                extra_params={"approval_prompt": "auto", "state": "xyz"},
            )

    return GoogleLogin


def test_google_sign_in_round_trip(provider: ServerThread) -> None:
    app = Application([("/login", google_login(provider))], google_oauth={"key": CLIENT_ID, "secret": CLIENT_SECRET})
    with serve(app) as server:
        first = requests.get(server.url("/login"), allow_redirects=False, timeout=10)
        signed_in = requests.get(server.url("/login"), timeout=10)  # follows both redirects
    assert first.status_code == 302 and first.headers["Location"].startswith(provider.url("/authorize?"))
    assert signed_in.status_code == 200, signed_in.text
    result = signed_in.json()
    assert result["user"] == {"id": "42", "name": "Ada", "email": "ada@example.org", "locale": "en"}
    assert result["tokens"]["access_token"] == TOKEN and result["state"] == "xyz"
    authorize, token = seen(provider)["authorize"], seen(provider)["token"]
    assert authorize == {
        "response_type": "code",
        "redirect_uri": server.url("/login"),
        "client_id": CLIENT_ID,
        "approval_prompt": "auto",
        "state": "xyz",
        "scope": "profile email",
    }
    assert token == {
        "method": "POST",
        "redirect_uri": server.url("/login"),
        "code": CODE,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "authorization_code",
    }


def test_google_refused_code_and_missing_token(provider: ServerThread) -> None:
    errors: list[BaseException] = []

    class Exchange(RequestHandler, GoogleOAuth2Mixin):
        _OAUTH_ACCESS_TOKEN_URL = provider.url("/token")

        async def get(self) -> None:
            try:
                await self.get_authenticated_user("http://x/", self.get_argument("code"), CLIENT_ID, CLIENT_SECRET)
            except (HTTPClientError, AuthError) as exc:
                errors.append(exc)
            self.write("done")

    with serve(Application([("/", Exchange)])) as server:
        requests.get(server.url("/?code=wrong"), timeout=10)
        seen_app: Any = provider.app
        seen_app.settings["no_token"] = True
        requests.get(server.url("/?code=" + CODE), timeout=10)
    assert isinstance(errors[0], HTTPClientError) and errors[0].code == 400
    assert isinstance(errors[1], AuthError)


# -- Facebook ------------------------------------------------------------------------------


def test_facebook_sign_in_and_graph_requests(provider: ServerThread) -> None:
    class FacebookLogin(RequestHandler, FacebookGraphMixin):
        _OAUTH_AUTHORIZE_URL = provider.url("/authorize?")
        _OAUTH_ACCESS_TOKEN_URL = provider.url("/token?")
        _FACEBOOK_BASE_URL = provider.url("")

        async def get(self) -> None:
            redirect_uri = self.request.protocol + "://" + self.request.host + "/login"
            if not self.get_argument("code", None):
                self.authorize_redirect(redirect_uri=redirect_uri, client_id=CLIENT_ID,
                                        extra_params={"scope": "email"})  # fmt: skip
                return
            user = await self.get_authenticated_user(
                redirect_uri=redirect_uri, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                code=self.get_argument("code"), extra_fields=["email"],
            )  # fmt: skip
            assert user is not None
            posted = await self.facebook_request("/me", access_token=user["access_token"],
                                                 post_args={"message": "hello"})  # fmt: skip
            self.write({"user": user, "posted": posted})

    with serve(Application([("/login", FacebookLogin)])) as server:
        response = requests.get(server.url("/login"), timeout=10)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["user"]["name"] == "Ada" and result["user"]["email"] == "ada@example.org"
    assert result["user"]["access_token"] == TOKEN and result["user"]["session_expires"] == "3600"
    assert result["user"]["picture"] is None  # asked for, not given
    assert result["posted"] == {"posted": "hello", "token": TOKEN}
    token, me = seen(provider)["token"], seen(provider)["me"]
    assert token["method"] == "GET" and token["code"] == CODE and token["client_id"] == CLIENT_ID
    proof = hmac.new(CLIENT_SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
    assert me["appsecret_proof"] == proof
    assert set(me["fields"].split(",")) == {"id", "name", "first_name", "last_name", "locale", "picture", "link", "email"}
    assert seen(provider)["authorize"]["scope"] == "email"


def test_oauth2_request_with_invalid_json_is_an_auth_error(provider: ServerThread) -> None:
    outcome: list[Any] = []

    class Caller(RequestHandler, GoogleOAuth2Mixin):
        async def get(self) -> None:
            try:
                await self.oauth2_request(provider.url("/html"), access_token=TOKEN, extra="1")
            except AuthError as exc:
                outcome.append(exc)
            self.write(json.dumps(len(outcome)))

    with serve(Application([("/", Caller)])) as server:
        requests.get(server.url("/"), timeout=10)
    assert len(outcome) == 1

"""``framework.auth``'s mixins (OAuth 2, OAuth 1.0a, OpenID 2.0), against fake providers served by the framework."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from framework.auth import (
    AuthError,
    FacebookGraphMixin,
    GoogleOAuth2Mixin,
    OAuthMixin,
    OpenIdMixin,
    TwitterMixin,
    _oauth_signature,
)
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


# -- OAuth 1.0a: the signature -------------------------------------------------------------


def test_oauth1_signatures_match_rfc_5849_and_twitters_published_examples() -> None:
    rfc = _oauth_signature(
        {"secret": "kd94hf93k423kf44"}, "GET", "http://photos.example.net/photos?file=vacation.jpg&size=original",
        {"oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk",
         "oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131202", "oauth_nonce": "chapoH"},
        {"secret": "pfkkdhi9sl3r4s00"},
    )  # fmt: skip
    assert rfc == "MdpQcU8iPSUjWoN/UDMsK2sui9I="
    twitter = _oauth_signature(
        {"secret": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"}, "post",
        "https://API.twitter.com:443/1.1/statuses/update.json?include_entities=true",
        {"status": "Hello Ladies + Gentlemen, a signed OAuth request!", "oauth_consumer_key": "xvz1evFS4wEEPTGEFPHBog",
         "oauth_nonce": "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", "oauth_signature_method": "HMAC-SHA1",
         "oauth_timestamp": "1318622958", "oauth_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
         "oauth_version": "1.0"},
        {"secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"},
    )  # fmt: skip
    assert twitter == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


# -- OAuth 1.0a: a fake Twitter ------------------------------------------------------------

CONSUMER_KEY, CONSUMER_SECRET = "the-consumer", "consumer secret/+"
REQUEST_TOKEN, REQUEST_SECRET, VERIFIER = "request-token", "request secret", "the-verifier"
ACCESS_TOKEN, ACCESS_SECRET = "access-token", "access&secret"


class OAuth1Endpoint(RequestHandler):
    """Every endpoint of the fake provider checks the request's signature against what it received."""

    def check_xsrf_cookie(self) -> None:
        """A server-to-server endpoint."""

    def signed_arguments(self, token_secret: str | None) -> dict[str, str]:
        args = {name: self.get_argument(name) for name in self.request.arguments}
        signature = args.pop("oauth_signature", "")
        url = f"{self.request.protocol}://{self.request.host}{self.request.path}"
        token = {"secret": token_secret} if token_secret is not None else None
        if args.get("oauth_consumer_key") != CONSUMER_KEY or not args.get("oauth_nonce"):
            raise HTTPError(401)
        if signature != _oauth_signature({"secret": CONSUMER_SECRET}, self.request.method or "", url, args, token):
            raise HTTPError(401, "bad signature")
        self.application.settings["seen"][self.request.path] = args
        return args


class RequestTokenEndpoint(OAuth1Endpoint):
    def get(self) -> None:
        args = self.signed_arguments(None)
        self.application.settings["seen"]["callback"] = args.get("oauth_callback")
        self.write(urllib.parse.urlencode({"oauth_token": REQUEST_TOKEN, "oauth_token_secret": REQUEST_SECRET,
                                           "oauth_callback_confirmed": "true"}))  # fmt: skip


class AuthorizeEndpoint(RequestHandler):
    """The user approves at once; the browser goes back to the callback registered with the request token."""

    def get(self) -> None:
        if self.get_argument("oauth_token") != REQUEST_TOKEN:
            raise HTTPError(400)
        back = self.application.settings["seen"]["callback"]
        self.redirect(back + "?" + urllib.parse.urlencode({"oauth_token": REQUEST_TOKEN, "oauth_verifier": VERIFIER}))


class AccessTokenEndpoint(OAuth1Endpoint):
    def get(self) -> None:
        args = self.signed_arguments(REQUEST_SECRET)
        if args.get("oauth_token") != REQUEST_TOKEN or args.get("oauth_verifier") != VERIFIER:
            raise HTTPError(401)
        self.write(urllib.parse.urlencode({"oauth_token": ACCESS_TOKEN, "oauth_token_secret": ACCESS_SECRET,
                                           "user_id": "7", "screen_name": "ada"}))  # fmt: skip


class ApiEndpoint(OAuth1Endpoint):
    def get(self, method: str) -> None:
        args = self.signed_arguments(ACCESS_SECRET)
        if args["oauth_token"] != ACCESS_TOKEN:
            raise HTTPError(401)
        self.write({"screen_name": "ada", "name": "Ada"})

    def post(self, method: str) -> None:
        args = self.signed_arguments(ACCESS_SECRET)
        self.write({"text": args["status"], "trim_user": args.get("trim_user")})


@pytest.fixture
def twitter() -> Iterator[ServerThread]:
    app = Application([
        ("/oauth/request_token", RequestTokenEndpoint), ("/oauth/authorize", AuthorizeEndpoint),
        ("/oauth/authenticate", AuthorizeEndpoint), ("/oauth/access_token", AccessTokenEndpoint),
        (r"/1\.1/(.+)\.json", ApiEndpoint),
    ], seen={})  # fmt: skip
    with serve(app) as server:
        yield server


def twitter_app(twitter: ServerThread, how: str = "authorize") -> Application:
    class TwitterLogin(RequestHandler, TwitterMixin):
        _OAUTH_REQUEST_TOKEN_URL = twitter.url("/oauth/request_token")
        _OAUTH_AUTHORIZE_URL = twitter.url("/oauth/authorize")
        _OAUTH_AUTHENTICATE_URL = twitter.url("/oauth/authenticate")
        _OAUTH_ACCESS_TOKEN_URL = twitter.url("/oauth/access_token")
        _TWITTER_BASE_URL = twitter.url("/1.1")

        async def get(self) -> None:
            if not self.get_argument("oauth_token", None):
                if how == "authenticate":
                    await self.authenticate_redirect(callback_uri="/login")
                else:
                    await self.authorize_redirect(callback_uri="oob" if how == "oob" else "/login")
                return
            try:
                user = await self.get_authenticated_user()
            except AuthError as exc:
                self.write({"refused": str(exc)})
                return
            posted = await self.twitter_request("/statuses/update", access_token=user["access_token"],
                                                post_args={"status": "Hello Ladies + Gentlemen"}, trim_user="1")  # fmt: skip
            self.write({"user": user, "posted": posted})

    return Application([("/login", TwitterLogin)], twitter_consumer_key=CONSUMER_KEY,
                       twitter_consumer_secret=CONSUMER_SECRET)  # fmt: skip


@pytest.mark.parametrize("how", ["authorize", "authenticate"])
def test_twitter_sign_in_round_trip_with_signed_requests(twitter: ServerThread, how: str) -> None:
    with serve(twitter_app(twitter, how)) as server, requests.Session() as browser:
        first = browser.get(server.url("/login"), allow_redirects=False, timeout=10)
        signed_in = browser.get(server.url("/login"), timeout=10)  # follows provider and back
    assert first.status_code == 302
    assert first.headers["Location"].startswith(twitter.url(f"/oauth/{how}?oauth_token={REQUEST_TOKEN}"))
    assert "_oauth_request_token" in first.headers["Set-Cookie"] and "HttpOnly" in first.headers["Set-Cookie"]
    assert signed_in.status_code == 200, signed_in.text
    result = signed_in.json()
    assert result["user"]["username"] == "ada" and result["user"]["name"] == "Ada"
    assert result["user"]["access_token"] == {"key": ACCESS_TOKEN, "secret": ACCESS_SECRET, "user_id": "7", "screen_name": "ada"}
    assert result["posted"] == {"text": "Hello Ladies + Gentlemen", "trim_user": "1"}
    seen: dict[str, Any] = twitter.app.settings["seen"]  # type: ignore[union-attr]
    assert seen["callback"] == server.url("/login")
    assert seen["/oauth/access_token"]["oauth_verifier"] == VERIFIER


def test_oob_shows_the_authorize_url_instead_of_redirecting(twitter: ServerThread) -> None:
    with serve(twitter_app(twitter, "oob")) as server:
        page = requests.get(server.url("/login"), allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert page.text == twitter.url(f"/oauth/authorize?oauth_token={REQUEST_TOKEN}")
    seen: dict[str, Any] = twitter.app.settings["seen"]  # type: ignore[union-attr]
    assert seen["callback"] == "oob"


def test_a_request_token_without_its_cookie_or_another_one_is_refused(twitter: ServerThread) -> None:
    with serve(twitter_app(twitter)) as server, requests.Session() as browser:
        no_cookie = browser.get(server.url(f"/login?oauth_token={REQUEST_TOKEN}"), timeout=10).json()
        browser.get(server.url("/login"), allow_redirects=False, timeout=10)  # sets the cookie
        swapped = browser.get(server.url("/login?oauth_token=someone-elses"), timeout=10).json()
    assert no_cookie == {"refused": "Missing OAuth request token cookie"}
    assert swapped == {"refused": "Request token does not match cookie"}


def test_a_callback_for_a_service_without_callbacks_is_an_error() -> None:
    errors: list[BaseException] = []

    class NoCallbacks(RequestHandler, OAuthMixin):
        _OAUTH_NO_CALLBACKS = True

        async def get(self) -> None:
            try:
                await self.authorize_redirect(callback_uri="/back")
            except ValueError as exc:
                errors.append(exc)
            self.write("done")

    with serve(Application([("/", NoCallbacks)])) as server:
        requests.get(server.url("/"), timeout=10)
    assert len(errors) == 1


# -- OpenID 2.0: a fake provider -----------------------------------------------------------

AX = "http://openid.net/srv/ax/1.0"


class OpenIdEndpoint(RequestHandler):
    """checkid_setup: the user is signed in at once; check_authentication: only its own signature is valid."""

    def check_xsrf_cookie(self) -> None:
        """A server-to-server endpoint."""

    def get(self) -> None:
        asked = {name: self.get_argument(name) for name in self.request.arguments}
        self.application.settings["seen"]["asked"] = asked
        answer = {
            "openid.ns": "http://specs.openid.net/auth/2.0", "openid.mode": "id_res",
            "openid.claimed_id": "https://provider.example/id/ada", "openid.identity": "https://provider.example/id/ada",
            "openid.sig": "provider-signature",
            # The provider names the AX extension "ext1": the mixin must find the alias, not assume "ax".
            "openid.ns.ext1": AX,
            "openid.ext1.type.mail": "http://axschema.org/contact/email", "openid.ext1.value.mail": "ada@example.org",
            "openid.ext1.type.first": "http://axschema.org/namePerson/first", "openid.ext1.value.first": "Ada",
            "openid.ext1.type.last": "http://axschema.org/namePerson/last", "openid.ext1.value.last": "Lovelace",
            "openid.ext1.type.lang": "http://axschema.org/pref/language", "openid.ext1.value.lang": "en-GB",
            "openid.ext1.type.nick": "http://axschema.org/namePerson/friendly", "openid.ext1.value.nick": "ada",
        }  # fmt: skip
        self.redirect(asked["openid.return_to"] + "?" + urllib.parse.urlencode(answer))

    def post(self) -> None:
        checked = {name: self.get_argument(name) for name in self.request.arguments}
        self.application.settings["seen"]["checked"] = checked
        valid = checked.get("openid.mode") == "check_authentication" and checked.get("openid.sig") == "provider-signature"
        self.write(f"ns:http://specs.openid.net/auth/2.0\nis_valid:{'true' if valid else 'false'}\n")


def test_openid_sign_in_asks_for_attributes_and_has_the_answer_confirmed() -> None:
    seen: dict[str, Any] = {}

    with serve(Application([("/openid", OpenIdEndpoint)], seen=seen)) as provider:

        class OpenIdLogin(RequestHandler, OpenIdMixin):
            _OPENID_ENDPOINT = provider.url("/openid")

            async def get(self) -> None:
                if not self.get_argument("openid.mode", None):
                    self.authenticate_redirect()
                    return
                try:
                    self.write(await self.get_authenticated_user())
                except AuthError:
                    self.write({"refused": True})

        with serve(Application([("/login", OpenIdLogin)])) as server:
            user = requests.get(server.url("/login"), timeout=10).json()
            forged = requests.get(server.url("/login?openid.mode=id_res&openid.sig=forged"), timeout=10).json()
    assert user == {
        "first_name": "Ada", "last_name": "Lovelace", "name": "Ada Lovelace", "email": "ada@example.org",
        "locale": "en-gb", "username": "ada", "claimed_id": "https://provider.example/id/ada",
    }  # fmt: skip
    assert forged == {"refused": True}
    asked = seen["asked"]
    assert asked["openid.mode"] == "checkid_setup" and asked["openid.return_to"] == server.url("/login")
    assert asked["openid.realm"] == server.url("/") and asked["openid.ns.ax"] == AX
    assert set(asked["openid.ax.required"].split(",")) == {"firstname", "fullname", "lastname", "email", "language", "username"}
    assert asked["openid.ax.type.email"] == "http://axschema.org/contact/email"
    assert seen["checked"]["openid.mode"] == "check_authentication"

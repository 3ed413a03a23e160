"""Cookies, signed cookies, XSRF and @authenticated through a real server, as a browser would meet them."""

from __future__ import annotations

import http.cookies
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import framework.web
from framework.testing import ServerThread, serve
from framework.web import (
    Application,
    RequestHandler,
    authenticated,
    security,
)
from tests.framework.harness import raw_exchange

SECRET = "a-test-secret-that-is-long-enough"


class CookieHandler(RequestHandler):
    def get(self) -> None:
        action = self.get_argument("do", "")
        if action == "set":
            self.set_cookie("plain", "v1", httponly=True, samesite="Lax", max_age=60)
            self.set_cookie("plain", "v2")  # the same cookie twice: the last one wins
        elif action == "clear":
            self.clear_cookie("plain")
        elif action == "clear-all":
            self.clear_all_cookies()
        elif action == "sign":
            self.set_signed_cookie("user", self.get_argument("who"))
        elif action == "bad":
            self.set_cookie("x", "a b")
        self.write({"plain": self.get_cookie("plain"), "user": (self.get_signed_cookie("user") or b"").decode()})


class ErrorAfterCookieHandler(RequestHandler):
    def get(self) -> None:
        self.set_cookie("kept", "yes")
        raise ValueError("boom")


class FormHandler(RequestHandler):
    def get(self) -> None:
        self.write(self.xsrf_form_html())

    def post(self) -> None:
        self.write("accepted " + self.get_body_argument("x", ""))

    def put(self) -> None:
        self.write("put accepted")


class ExemptHandler(RequestHandler):
    def check_xsrf_cookie(self) -> None:
        pass

    def post(self) -> None:
        self.write("no token needed")


class LoginHandler(RequestHandler):
    def get(self) -> None:
        self.write("login page, next=" + self.get_argument("next", ""))


class PrivateHandler(RequestHandler):
    def get_current_user(self) -> Any:
        return self.get_signed_cookie("user")

    @authenticated
    def get(self) -> None:
        self.write("hello " + self.current_user.decode())

    @authenticated
    def post(self) -> None:
        self.write("posted")


def make_app(**settings: Any) -> Application:
    return Application(
        [
            (r"/cookies", CookieHandler),
            (r"/error", ErrorAfterCookieHandler),
            (r"/form", FormHandler),
            (r"/exempt", ExemptHandler),
            (r"/login", LoginHandler),
            (r"/private", PrivateHandler),
        ],
        cookie_secret=SECRET,
        xsrf_cookies=True,
        login_url="/login",
        **settings,
    )


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with serve(make_app()) as running:
        yield running


def test_set_cookie_attributes_and_last_one_wins(server: ServerThread) -> None:
    response = requests.get(server.url("/cookies?do=set"), timeout=10)
    set_cookies = response.raw.headers.getlist("Set-Cookie")
    assert set_cookies == ["plain=v2; Path=/"]
    with requests.Session() as session:
        session.get(server.url("/cookies?do=set"), timeout=10)
        assert session.get(server.url("/cookies"), timeout=10).json()["plain"] == "v2"
        cleared = session.get(server.url("/cookies?do=clear"), timeout=10)
        assert "Max-Age=0" in cleared.headers["Set-Cookie"]
        assert session.get(server.url("/cookies"), timeout=10).json()["plain"] is None


def test_cookie_attributes_are_written() -> None:
    class Attrs(RequestHandler):
        def get(self) -> None:
            self.set_cookie(
                "c",
                "1",
                domain="example.org",
                path="/x",
                max_age=60,
                httponly=True,
                secure=True,
                samesite="strict",
                expires_days=1,
            )

    with serve(Application([(r"/", Attrs)])) as running:
        header = requests.get(running.url("/"), timeout=10).headers["Set-Cookie"]
    assert header.startswith("c=1; Path=/x; Domain=example.org; Expires=")
    assert header.endswith("; Max-Age=60; HttpOnly; Secure; SameSite=Strict")


def test_unsafe_cookie_value_is_refused(server: ServerThread) -> None:
    response = requests.get(server.url("/cookies?do=bad"), timeout=10)
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers


# -- what set_cookie quotes and what it refuses (Tornado 6.6) ----------------------


def _set_cookie_headers(**set_cookie_kwargs: Any) -> tuple[str, list[str], str]:
    """(status line, raw Set-Cookie values, body) for a handler calling ``set_cookie(**kwargs)``.

    The handler reports a refused cookie in its body, so the exception type
    and message can be checked; the raw bytes show exactly what was sent.
    """

    class Setting(RequestHandler):
        def get(self) -> None:
            try:
                self.set_cookie(**set_cookie_kwargs)
            except (ValueError, http.cookies.CookieError) as error:
                self.write(f"{type(error).__name__}: {error}")

    with serve(Application([(r"/", Setting)])) as running:
        raw = raw_exchange(running.port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    cookies = [line.partition(": ")[2] for line in lines if line.lower().startswith("set-cookie:")]
    return status, cookies, body.decode("utf-8")


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("plain", "c=plain"),
        ("a:b", "c=a:b"),
        ("a;b", 'c="a\\073b"'),  # the ";" can never end the value
        ('q"x', 'c="q\\"x"'),
        ("a\\b", 'c="a\\\\b"'),
        ("a,b", 'c="a\\054b"'),
        ("a\x7fb", 'c="a\\177b"'),
        ("\u00e9", 'c="\\351"'),
        (b"\xc3\xa9", 'c="\\351"'),  # bytes are UTF-8, as in Tornado
        ("a=b", 'c="a=b"'),
        ("x|y/z?", 'c="x|y/z?"'),
    ],
)
def test_cookie_value_is_quoted_as_tornado_quotes_it(value: str | bytes, sent: str) -> None:
    status, cookies, _ = _set_cookie_headers(name="c", value=value)
    assert (status, cookies) == ("HTTP/1.1 200 OK", [sent + "; Path=/"])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a b", "ValueError: Invalid cookie 'c': 'a b'"),
        ("a\tb", "ValueError: Invalid cookie 'c': 'a\\tb'"),
        ("a\r\nSet-Cookie: x=y", "ValueError: Invalid cookie 'c': 'a\\r\\nSet-Cookie: x=y'"),
        ("\u6587", "ValueError: Invalid cookie 'c': '\u6587' (a character beyond latin-1)"),
    ],
)
def test_cookie_value_with_a_space_or_control_is_refused(value: str, message: str) -> None:
    _, cookies, body = _set_cookie_headers(name="c", value=value)
    assert (cookies, body) == ([], message)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"domain": "a;b"}, "Invalid cookie attribute domain='a;b' for cookie 'c'"),
        ({"domain": "example.com; Secure"}, "Invalid cookie attribute domain='example.com; Secure' for cookie 'c'"),
        ({"domain": "ex\x00.com"}, "Invalid cookie attribute domain='ex\\x00.com' for cookie 'c'"),
        ({"path": "/a;b"}, "Invalid cookie attribute path='/a;b' for cookie 'c'"),
        ({"path": "/\x7f"}, "Invalid cookie attribute path='/\\x7f' for cookie 'c'"),
        ({"samesite": "Lax;x"}, "Invalid cookie attribute samesite='Lax;x' for cookie 'c'"),
        ({"name": "a;b"}, "Invalid cookie attribute name='a;b' for cookie 'a;b'"),
        ({"name": "bad name"}, "Invalid cookie attribute name='bad name' for cookie 'bad name'"),
        ({"name": "a=b"}, "Illegal key 'a=b'"),
        ({"name": ""}, "Illegal key ''"),
        ({"name": "Path"}, "Attempt to set a reserved key 'Path'"),
    ],
)
def test_cookie_name_or_attribute_that_could_inject_an_attribute_is_refused(kwargs: dict[str, str], message: str) -> None:
    _, cookies, body = _set_cookie_headers(**{"name": "c", "value": "v", **kwargs})
    assert (cookies, body) == ([], "CookieError: " + message)


def test_cookie_name_may_hold_a_colon_as_in_tornado() -> None:
    assert _set_cookie_headers(name="a:b", value="v")[1] == ["a:b=v; Path=/"]


def test_cookies_survive_an_error_page(server: ServerThread) -> None:
    response = requests.get(server.url("/error"), timeout=10)
    assert response.status_code == 500
    assert response.headers["Set-Cookie"] == "kept=yes; Path=/"


def test_signed_cookie_round_trip_and_forgery(server: ServerThread) -> None:
    with requests.Session() as session:
        session.get(server.url("/cookies?do=sign&who=alice"), timeout=10)
        raw = session.cookies["user"]
        assert "alice" not in raw  # the value is encoded, and signed
        assert session.get(server.url("/cookies"), timeout=10).json()["user"] == "alice"
        forged = raw[:-1] + ("0" if raw[-1] != "0" else "1")
        session.cookies.set("user", forged)
        assert session.get(server.url("/cookies"), timeout=10).json()["user"] == ""


def test_signed_cookie_under_another_name_is_refused(server: ServerThread) -> None:
    value = security.create_signed_value(SECRET, "other", "alice").decode()
    response = requests.get(server.url("/cookies"), cookies={"user": value}, timeout=10)
    assert response.json()["user"] == ""


def test_old_signed_cookie_expires() -> None:
    old = security.create_signed_value(SECRET, "user", "alice", clock=lambda: time.time() - 40 * 86400).decode()
    with serve(make_app()) as running:
        assert requests.get(running.url("/cookies"), cookies={"user": old}, timeout=10).json()["user"] == ""


def test_key_rotation() -> None:
    v1 = security.create_signed_value({1: "old-secret-xxxxxxxx"}, "user", "alice", key_version=1).decode()
    rotated = {1: "old-secret-xxxxxxxx", 2: "new-secret-yyyyyyyy"}
    with serve(make_app_with_secret(rotated, key_version=2)) as running, requests.Session() as session:
        assert session.get(running.url("/cookies"), cookies={"user": v1}, timeout=10).json()["user"] == "alice"
        session.get(running.url("/cookies?do=sign&who=bob"), timeout=10)
        assert security.get_signature_key_version(session.cookies["user"]) == 2


def make_app_with_secret(secret: Any, **settings: Any) -> Application:
    return Application([(r"/cookies", CookieHandler)], cookie_secret=secret, **settings)


def token_from(html: str) -> str:
    match = re.search(r'name="_xsrf" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1).replace("&#124;", "|")


def test_xsrf_form_field_and_header(server: ServerThread) -> None:
    with requests.Session() as session:
        page = session.get(server.url("/form"), timeout=10)
        assert "_xsrf" in session.cookies
        token = token_from(page.text)
        assert session.post(server.url("/form"), data={"x": "1", "_xsrf": token}, timeout=10).text == "accepted 1"
        assert session.put(server.url("/form"), headers={"X-XSRFToken": token}, timeout=10).status_code == 200
        assert session.put(server.url("/form"), headers={"X-CSRFToken": token}, timeout=10).status_code == 200


def test_xsrf_tokens_are_masked_differently_each_time(server: ServerThread) -> None:
    with requests.Session() as session:
        first = token_from(session.get(server.url("/form"), timeout=10).text)
        second = token_from(session.get(server.url("/form"), timeout=10).text)
        assert first != second
        assert session.post(server.url("/form"), data={"_xsrf": first}, timeout=10).status_code == 200
        assert session.post(server.url("/form"), data={"_xsrf": second}, timeout=10).status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_xsrf_missing_token_is_403(server: ServerThread, method: str) -> None:
    with requests.Session() as session:
        session.get(server.url("/form"), timeout=10)
        response = session.request(method, server.url("/form"), data={"x": "1"}, timeout=10)
    assert response.status_code == 403


def test_xsrf_token_from_another_session_is_403(server: ServerThread) -> None:
    with requests.Session() as attacker, requests.Session() as victim:
        token = token_from(attacker.get(server.url("/form"), timeout=10).text)
        victim.get(server.url("/form"), timeout=10)
        assert victim.post(server.url("/form"), data={"_xsrf": token}, timeout=10).status_code == 403


def test_xsrf_garbage_token_and_missing_cookie_are_403(server: ServerThread) -> None:
    assert (
        requests.post(server.url("/form"), data={"_xsrf": "garbage"}, cookies={"_xsrf": "garbage"}, timeout=10).status_code == 403
    )
    with requests.Session() as session:
        token = token_from(session.get(server.url("/form"), timeout=10).text)
    assert requests.post(server.url("/form"), data={"_xsrf": token}, timeout=10).status_code == 403


def test_check_xsrf_cookie_can_be_overridden(server: ServerThread) -> None:
    assert requests.post(server.url("/exempt"), timeout=10).text == "no token needed"


def test_authenticated_redirects_get_and_refuses_post(server: ServerThread) -> None:
    response = requests.get(server.url("/private?a=1"), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fprivate%3Fa%3D1"
    with requests.Session() as session:
        token = token_from(session.get(server.url("/form"), timeout=10).text)
        assert session.post(server.url("/private"), data={"_xsrf": token}, timeout=10).status_code == 403
        session.get(server.url("/cookies?do=sign&who=carol"), timeout=10)
        assert session.get(server.url("/private"), timeout=10).text == "hello carol"
        assert session.post(server.url("/private"), data={"_xsrf": token}, timeout=10).text == "posted"


def test_signed_cookies_need_a_secret() -> None:
    with serve(Application([(r"/cookies", CookieHandler)])) as running:
        assert requests.get(running.url("/cookies?do=sign&who=x"), timeout=10).status_code == 500


# -- cookies a browser may send ----------------------------------------------------------


class CookieReader(framework.web.RequestHandler):
    def get(self) -> None:
        self.write(self.get_cookie("good") or "missing")


def test_cookie_names_simplecookie_refuses_are_skipped() -> None:
    with serve(framework.web.Application([(r"/", CookieReader)])) as server:
        response = requests.get(server.url("/"), headers={"Cookie": "a[b]=1; good=yes; c d=2"})
        assert (response.status_code, response.text) == (200, "yes")


def test_the_xsrf_cookie_name_is_a_setting() -> None:
    with serve(make_app(xsrf_cookie_name="mycsrf")) as running, requests.Session() as session:
        token = token_from(session.get(running.url("/form"), timeout=10).text)
        assert "mycsrf" in session.cookies and "_xsrf" not in session.cookies
        assert session.post(running.url("/form"), data={"x": "1", "_xsrf": token}, timeout=10).text == "accepted 1"
        session.cookies.clear()
        assert session.post(running.url("/form"), data={"_xsrf": token}, cookies={"_xsrf": token}, timeout=10).status_code == 403


class SignedInForm(FormHandler):
    def get_current_user(self) -> Any:
        return self.get_argument("user", None)


@pytest.mark.parametrize(
    ("query", "kwargs", "lasts"),
    [("?user=ann", {}, True), ("", {}, False), ("?user=ann", {"expires_days": None}, False)],
    ids=["signed-in", "anonymous", "kwargs-say-session"],
)
def test_the_xsrf_cookie_of_a_signed_in_user_lasts_30_days(query: str, kwargs: dict[str, Any], lasts: bool) -> None:
    app = Application([(r"/form", SignedInForm)], cookie_secret=SECRET, xsrf_cookies=True, xsrf_cookie_kwargs=kwargs)
    with serve(app) as running:
        header = requests.get(running.url("/form" + query), timeout=10).headers["Set-Cookie"]
    assert header.startswith("_xsrf=")
    assert ("Expires=" in header) == lasts

"""Cross-origin protection through a real server (``CrossOriginMixin`` in ``framework/web/security.py``).

Tornado 6.6's settings ``cross_origin_protection`` and ``trusted_origins``: an
unsafe-method request that comes from another origin (by ``Sec-Fetch-Site``,
else by ``Origin`` against ``Host``) gets 403 before ``prepare()``, unless
``check_trusted_origin`` accepts its origin. The rule itself is tested without
a server in ``test_security.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from framework.testing import ServerThread, serve
from framework.web import Application, RequestHandler
from tests.framework.harness import fetch, running

TRUSTED = "https://trusted.example"


class Recorder(RequestHandler):
    """Answers every method with what ran; ``prepare`` notes itself in ``seen``."""

    SUPPORTED_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")

    def initialize(self, seen: list[str]) -> None:
        self.seen = seen

    def prepare(self) -> None:
        self.seen.append(self.request.method)

    def get(self) -> None:
        self.write("ok")

    head = options = post = put = patch = delete = get


@pytest.fixture(scope="module")
def protected() -> Iterator[tuple[ServerThread, list[str]]]:
    seen: list[str] = []
    with running([("/", Recorder, {"seen": seen})], cross_origin_protection=True, trusted_origins=[TRUSTED]) as server:
        yield server, seen


def host_of(server: ServerThread) -> str:
    return server.url("/").split("/")[2]


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        pytest.param("POST", {"Origin": "https://evil.example"}, 403, id="foreign-origin"),
        pytest.param("PUT", {"Origin": "https://evil.example"}, 403, id="put"),
        pytest.param("PATCH", {"Origin": "https://evil.example"}, 403, id="patch"),
        pytest.param("DELETE", {"Origin": "https://evil.example"}, 403, id="delete"),
        pytest.param("POST", {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403, id="cross-site"),
        pytest.param("POST", {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.example"}, 403, id="same-site"),
        pytest.param("POST", {"Sec-Fetch-Site": "cross-site"}, 403, id="cross-site-without-origin"),
        pytest.param("POST", {"Sec-Fetch-Site": "cross-site", "Origin": TRUSTED}, 200, id="trusted"),
        pytest.param("POST", {"Origin": TRUSTED}, 200, id="trusted-without-sec-fetch-site"),
        pytest.param("POST", {"Sec-Fetch-Site": "same-origin", "Origin": "https://cdn.example"}, 200, id="same-origin"),
        pytest.param("POST", {"Sec-Fetch-Site": "none", "Origin": "https://evil.example"}, 200, id="navigation"),
        pytest.param("POST", {}, 200, id="no-origin-not-a-browser"),
        pytest.param("GET", {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 200, id="get"),
        pytest.param("HEAD", {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 200, id="head"),
        pytest.param("OPTIONS", {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 200, id="options"),
    ],
)
def test_unsafe_methods_from_another_origin_are_refused(
    protected: tuple[ServerThread, list[str]], method: str, headers: dict[str, str], status: int
) -> None:
    server, seen = protected
    seen.clear()
    assert fetch(server, "/", method, headers=headers).status_code == status
    assert seen == ([method] if status == 200 else [])  # refused before prepare()


def test_origin_equal_to_host_is_same_origin(protected: tuple[ServerThread, list[str]]) -> None:
    server, _ = protected
    host = host_of(server)
    # Without Sec-Fetch-Site the Origin's host and port are compared with Host; the scheme is not.
    assert fetch(server, "/", "POST", headers={"Origin": f"https://{host.upper()}"}).status_code == 200
    assert fetch(server, "/", "POST", headers={"Origin": "http://127.0.0.1:1"}).status_code == 403
    # With Sec-Fetch-Site the browser's word counts, not the Host comparison.
    cross = {"Sec-Fetch-Site": "cross-site", "Origin": f"http://{host}"}
    assert fetch(server, "/", "POST", headers=cross).status_code == 403


def test_off_by_default_as_in_tornado() -> None:
    seen: list[str] = []
    with running([("/", Recorder, {"seen": seen})]) as server:
        response = fetch(server, "/", "POST", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
    assert response.status_code == 200


class OpenEndpoint(Recorder):
    def check_trusted_origin(self, origin: str) -> bool:
        self.seen.append(f"asked {origin}")
        return origin.endswith(".partner.example")


def test_check_trusted_origin_is_the_hook() -> None:
    seen: list[str] = []
    with running([("/", OpenEndpoint, {"seen": seen})], cross_origin_protection=True) as server:
        ok = fetch(server, "/", "POST", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://a.partner.example"})
        refused = fetch(server, "/", "POST", headers={"Origin": "https://evil.example"})
        same = fetch(server, "/", "POST", headers={"Sec-Fetch-Site": "same-origin", "Origin": "https://x"})
    assert (ok.status_code, refused.status_code, same.status_code) == (200, 403, 200)
    # Asked only about requests that look cross-origin, and before prepare().
    assert seen == ["asked https://a.partner.example", "POST", "asked https://evil.example", "POST"]


class Form(Recorder):
    def get(self) -> None:
        self.write(self.xsrf_form_html())


def test_xsrf_check_comes_first_then_the_origin() -> None:
    seen: list[str] = []
    settings: dict[str, Any] = {"cross_origin_protection": True, "xsrf_cookies": True, "cookie_secret": "s" * 32}
    with running([("/", Form, {"seen": seen})], **settings) as server:
        no_token = fetch(server, "/", "POST", headers={"Sec-Fetch-Site": "same-origin"})
        page = fetch(server, "/")
        token, cookie = page.cookies["_xsrf"], {"Cookie": f"_xsrf={page.cookies['_xsrf']}"}
        same = fetch(server, "/", "POST", headers={**cookie, "X-Xsrftoken": token, "Sec-Fetch-Site": "same-origin"})
        cross = fetch(server, "/", "POST", headers={**cookie, "X-Xsrftoken": token, "Origin": "https://evil.example"})
    assert no_token.status_code == 403 and "XSRF" in no_token.reason
    assert (same.status_code, cross.status_code) == (200, 403)


def test_turning_it_on_after_start_up_takes_effect() -> None:
    seen: list[str] = []
    app = Application([("/", Recorder, {"seen": seen})])
    evil = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    with serve(app) as server:
        assert fetch(server, "/", "POST", headers=evil).status_code == 200
        app.settings["cross_origin_protection"] = True
        assert fetch(server, "/", "POST", headers=evil).status_code == 403
        app.settings["trusted_origins"] = ["https://evil.example"]
        assert fetch(server, "/", "POST", headers=evil).status_code == 200


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"cross_origin_protection": "false"}, "cross_origin_protection"),
        ({"cross_origin_protection": 1}, "cross_origin_protection"),
        ({"trusted_origins": "https://a.example"}, "trusted_origins"),
        ({"trusted_origins": ["https://a.example/"]}, "trusted_origins"),
        ({"trusted_origins": ["a.example"]}, "trusted_origins"),
        ({"trusted_origins": [b"https://a.example"]}, "trusted_origins"),
        ({"trusted_origin": ["https://a.example"]}, "did you mean 'trusted_origins'"),
        ({"cross_origin_protections": True}, "did you mean 'cross_origin_protection'"),
    ],
)
def test_settings_that_would_protect_less_than_they_seem_fail_at_start_up(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Application([], **settings)


def test_an_applications_own_allowed_origins_setting_is_its_own() -> None:
    # A common name for an application's own list (read by its check_origin): not taken for a typo.
    assert Application([], allowed_origins=["https://a.example"]).settings["allowed_origins"] == ["https://a.example"]


def test_trusted_origins_accepts_any_collection_of_origins() -> None:
    app = Application([], cross_origin_protection=True, trusted_origins=("https://a.example:8443", "null"))
    assert app.config.trusted_origins == frozenset({"https://a.example:8443", "null"})
    assert app.config.guards_unsafe_methods
    assert not Application([]).config.guards_unsafe_methods


def test_a_url_without_a_route_is_a_404_from_any_origin(protected: tuple[ServerThread, list[str]]) -> None:
    server, _ = protected
    response = fetch(server, "/nowhere", "POST", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
    assert response.status_code == 404

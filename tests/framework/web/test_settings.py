"""Every setting and keyword Tornado documents for ``Application``, ``HTTPServer`` and ``listen``:
each works (checked here, or in the test named beside it) or fails at start-up; none is
accepted and ignored (``framework/web/settings.py``, ``application.py``)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests

from framework.httpserver import HTTPServer
from framework.template import DictLoader
from framework.testing import serve
from framework.web import (
    Application,
    GZipContentEncoding,
    HTTPError,
    OutputTransform,
    RequestHandler,
    UIModule,
)
from framework.web.redirect import ErrorHandler
from tests.framework.harness import fetch, running


class Hello(RequestHandler):
    def get(self) -> None:
        self.write("hello")


class Mod(UIModule):
    def render(self) -> str:
        return "m"


def config(name: str, expected: Any) -> Callable[[Application], None]:
    def check(app: Application) -> None:
        assert getattr(app.config, name) == expected

    return check


def in_settings(name: str) -> Callable[[Application], None]:
    def check(app: Application) -> None:
        assert name in app.settings

    return check


# Tornado's documented Application settings -> (a value, what shows that it took effect).
# Where the check is only that the value reached the resolved settings, the
# behaviour itself is tested in the module named in the comment.
WORKS: dict[str, tuple[Any, Callable[[Application], None]]] = {
    # general
    "autoreload": (True, config("autoreload", True)),  # test_autoreload: a real program restarts
    "debug": (True, lambda app: (app.config.serve_traceback, app.config.static_hash_cache) == (True, False)),
    "default_handler_class": (ErrorHandler, config("default_handler_class", ErrorHandler)),  # test_application
    "default_handler_args": ({"status_code": 410}, lambda app: app.config.default_handler_args["status_code"] == 410),
    "compress_response": (True, lambda app: GZipContentEncoding in app.transforms),
    "gzip": (True, lambda app: GZipContentEncoding in app.transforms),
    "log_function": (lambda handler: None, in_settings("log_function")),  # test_application: log_request
    "serve_traceback": (True, config("serve_traceback", True)),  # test_errors
    "ui_modules": ({"Mod": Mod}, lambda app: app.ui_modules["Mod"] is Mod),  # test_uimodules
    "ui_methods": ({"f": lambda handler: 1}, lambda app: "f" in app.ui_methods),
    "websocket_ping_interval": (10, in_settings("websocket_ping_interval")),  # websocket/test_handler
    "websocket_ping_timeout": (30, in_settings("websocket_ping_timeout")),  # websocket/test_handler
    "websocket_max_message_size": (1024, in_settings("websocket_max_message_size")),  # websocket/test_handler, test_client
    # authentication and security
    "cookie_secret": ("s" * 32, config("cookie_secret", "s" * 32)),  # test_cookies
    "key_version": (1, config("key_version", 1)),  # test_cookies: key rotation
    "login_url": ("/login", config("login_url", "/login")),  # test_cookies
    "xsrf_cookies": (True, config("xsrf_cookies", True)),  # test_cookies
    "xsrf_cookie_version": (2, in_settings("xsrf_cookie_version")),
    "xsrf_cookie_kwargs": ({"secure": True}, in_settings("xsrf_cookie_kwargs")),  # test_cookies
    # read by framework.auth's mixins from handler.settings
    "google_oauth": ({"key": "k", "secret": "s"}, in_settings("google_oauth")),
    "facebook_api_key": ("k", in_settings("facebook_api_key")),
    "facebook_secret": ("s", in_settings("facebook_secret")),
    "twitter_consumer_key": ("k", in_settings("twitter_consumer_key")),
    "twitter_consumer_secret": ("s", in_settings("twitter_consumer_secret")),
    "friendfeed_consumer_key": ("k", in_settings("friendfeed_consumer_key")),
    "friendfeed_consumer_secret": ("s", in_settings("friendfeed_consumer_secret")),
    "google_consumer_key": ("k", in_settings("google_consumer_key")),
    "google_consumer_secret": ("s", in_settings("google_consumer_secret")),
    # templates
    "autoescape": (None, config("autoescape", False)),  # test_template_tornado
    "compiled_template_cache": (False, lambda app: app.template_options.auto_reload),
    "template_path": ("/tmp", config("template_path", "/tmp")),
    "template_loader": (DictLoader({}), lambda app: app.config.template_engine == "tornado"),
    "template_whitespace": ("all", config("template_whitespace", "all")),  # with template_engine below
    # static files
    "static_hash_cache": (False, config("static_hash_cache", False)),  # test_static
    "static_path": ("/tmp", lambda app: app.static_url is not None),  # test_static
    "static_url_prefix": ("/assets/", config("static_url_prefix", "/assets/")),  # test_static
    "static_handler_class": (RequestHandler, in_settings("static_handler_class")),  # test_static
    "static_handler_args": ({}, in_settings("static_handler_args")),  # test_static
}

EXTRA = {"template_whitespace": {"template_engine": "tornado"}, "autoreload": {}, "debug": {"autoreload": False}}


@pytest.mark.parametrize("name", sorted(WORKS))
def test_documented_application_setting_works(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import framework.autoreload

    monkeypatch.setattr(framework.autoreload, "start", lambda check_time=500: None)  # no restarts in the test run
    value, check = WORKS[name]
    app = Application([], **{name: value}, **EXTRA.get(name, {}))
    assert check(app) is not False


# Settings that would not take effect fail when the Application is made.
RAISES: dict[str, dict[str, Any]] = {
    "xsrf_cookie_version=1 (unmasked tokens)": {"xsrf_cookie_version": 1},
    "template_dir (near miss)": {"template_dir": "/tmp"},
    "cookie_secrets (near miss)": {"cookie_secrets": "x"},
    "template_whitespace with Jinja2": {"template_whitespace": "all"},
    "ui_modules of a wrong type": {"ui_modules": 42},
    "max_body_size in Application settings": {"max_body_size": 10},
    "xheaders in Application settings": {"xheaders": True},
    "decompress_request in Application settings": {"decompress_request": True},
    "protocol in Application settings": {"protocol": "https"},
}


@pytest.mark.parametrize("settings", list(RAISES.values()), ids=list(RAISES))
def test_settings_that_cannot_work_fail_at_start_up(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Application([], **settings)


def test_application_arguments() -> None:
    class Mark(OutputTransform):
        pass

    app = Application([("/", Hello)], default_host="example.com", transforms=[Mark])
    assert app.default_host == "example.com" and app.transforms == [Mark]
    with pytest.raises(ValueError):
        Application([], transforms=["gzip"])


# -- HTTPServer and listen keywords ---------------------------------------------------


class Echo(RequestHandler):
    def get(self) -> None:
        self.write(self.request.protocol)

    def post(self) -> None:
        self.write(str(len(self.request.body)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"no_keep_alive": True}, {"xheaders": True}, {"max_header_size": 4096}, {"idle_connection_timeout": 5.0},
        {"body_timeout": 5.0}, {"max_body_size": 100}, {"trusted_downstream": ["10.0.0.1"]},
        {"decompress_request": True}, {"ssl_options": None},
    ],
)  # fmt: skip
def test_documented_server_keywords_are_taken(kwargs: dict[str, Any]) -> None:
    # Behaviour: test_httpserver (xheaders), http1connection/ (limits, timeouts), test_decompress.
    HTTPServer(Application([("/", Echo)]), **kwargs)


def test_unknown_server_keywords_fail() -> None:
    with pytest.raises(TypeError):
        HTTPServer(Application([]), max_body=10)


def test_listen_takes_bind_keywords() -> None:
    app = Application([("/", Hello)])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def listen_and_fetch() -> str:
        server = app.listen(port, "127.0.0.1", family=socket.AF_INET, backlog=16, flags=socket.AI_PASSIVE, reuse_port=True)
        try:
            import asyncio

            return await asyncio.to_thread(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=10).text)
        finally:
            server.stop()

    from framework.ioloop import IOLoop

    loop = IOLoop()
    try:
        assert loop.run_sync(listen_and_fetch) == "hello"
    finally:
        loop.close(all_fds=True)


def test_server_protocol_keyword_sets_request_protocol() -> None:
    with serve(Application([("/", Echo)]), protocol="https") as server:
        assert requests.get(server.url("/"), timeout=10).text == "https"


def test_server_max_buffer_size_limits_bodies() -> None:
    with serve(Application([("/", Echo)]), max_buffer_size=100) as server:
        assert requests.post(server.url("/"), data=b"x" * 1000, timeout=10).status_code == 413


def test_server_chunk_size_is_refused_or_used() -> None:
    with pytest.raises(TypeError):
        HTTPServer(Application([]), chunk_size=10)


def test_a_tornado_style_template_app_with_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    import framework.autoreload

    monkeypatch.setattr(framework.autoreload, "start", lambda check_time=500: None)

    class Page(RequestHandler):
        def get(self) -> None:
            self.render("p.html", n=2)

    app = Application([("/", Page)], template_loader=DictLoader({"p.html": "{{ n * 2 }}"}), debug=True)
    with serve(app) as server:
        assert requests.get(server.url("/"), timeout=10).text == "4"


# -- settings seen by handlers, debug, and the security headers ----------------------


@pytest.mark.parametrize(
    ("key", "meant"),
    [("template_dir", "template_path"), ("static_paths", "static_path"), ("cookie_secrets", "cookie_secret")],
)
def test_near_miss_setting_fails_at_construction(key: str, meant: str) -> None:
    with pytest.raises(ValueError, match=meant):
        Application([], **{key: "x"})


def test_custom_settings_stay_available_to_handlers() -> None:
    class SettingsHandler(RequestHandler):
        def get(self) -> None:
            self.write({"site": self.settings["site_name"], "same": self.settings is self.application.settings})

    with running([("/", SettingsHandler)], site_name="Demo", db_pool_size=4) as server:
        assert fetch(server, "/").json() == {"site": "Demo", "same": True}


def test_a_derived_field_of_the_settings_is_not_a_setting() -> None:
    # AppSettings.default_fields is computed, never set: the name stays free for the application.
    app = Application([], default_fields="the application's own", default_field=1)
    assert app.settings["default_fields"] == "the application's own" and app.settings["default_field"] == 1
    assert "server" in app.config.default_fields.now().fields


def test_debug_implies_serve_traceback() -> None:
    class BrokenHandler(RequestHandler):
        def get(self) -> None:
            raise ZeroDivisionError("debug shows me")

    app = Application([("/", BrokenHandler)], debug=True, autoreload=False)
    assert app.settings["serve_traceback"] is True
    assert app.settings["compiled_template_cache"] is False
    with serve(app) as server:
        response = fetch(server, "/")
    assert response.status_code == 500
    assert "Traceback" in response.text and "debug shows me" in response.text


def test_debug_can_be_overridden_per_setting() -> None:
    app = Application([], debug=True, serve_traceback=False, autoreload=False)
    assert app.settings["serve_traceback"] is False


def test_nosniff_and_referrer_policy_on_every_response() -> None:
    class Json(RequestHandler):
        def get(self) -> None:
            self.write({"ok": True})

    class Failing(RequestHandler):
        def get(self) -> None:
            raise RuntimeError("boom")

    class Raising(RequestHandler):
        def get(self) -> None:
            raise HTTPError(403)

    with running([("/json", Json), ("/fail", Failing), ("/raise", Raising)]) as server:
        logging.getLogger("framework.application").disabled = True
        try:
            responses = [fetch(server, path) for path in ("/json", "/fail", "/raise", "/missing")]
        finally:
            logging.getLogger("framework.application").disabled = False
    assert [r.status_code for r in responses] == [200, 500, 403, 404]
    for response in responses:
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", response.url


def test_security_headers_setting_changes_or_drops_the_defaults() -> None:
    class Plain(RequestHandler):
        def get(self) -> None:
            self.write("x")

    settings = {"security_headers": {"Referrer-Policy": None, "Content-Security-Policy": "default-src 'self'"}}
    with running([("/", Plain)], **settings) as server:
        response = fetch(server, "/")
    assert "Referrer-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'self'"


def test_a_handler_may_still_clear_a_security_header() -> None:
    class Sniffable(RequestHandler):
        def get(self) -> None:
            self.clear_header("X-Content-Type-Options")

    with running([("/", Sniffable)]) as server:
        assert "X-Content-Type-Options" not in fetch(server, "/").headers


@pytest.mark.parametrize("value", [{"X-Bad": "a\r\nb"}, {"Bad Name": "x"}, {"X-Num": 3}, ["X-Content-Type-Options"]])
def test_invalid_security_headers_setting_fails_at_start_up(value: Any) -> None:
    with pytest.raises(ValueError, match="security_headers|header"):
        Application([], security_headers=value)


@pytest.mark.parametrize("name", ["Server", "content-type", "X-Content-Type-Options", "X Request Id", "X-Id\r\n", ""])
def test_a_request_id_header_that_could_not_be_sent_or_repeats_a_default_fails_at_start_up(name: str) -> None:
    with pytest.raises(ValueError, match="request_id_header"):
        Application([], request_id_header=name)
    assert Application([], request_id_header="X-Trace").config.request_id_header == "X-Trace"

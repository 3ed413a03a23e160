"""``Application.settings`` changed after construction: the typed config follows (Tornado reads the dict live)."""

from __future__ import annotations

from typing import Any

import pytest

from framework.web import Application, RequestHandler
from tests.framework.harness import fetch, running


class FormHandler(RequestHandler):
    def post(self) -> None:
        self.write("accepted")


def test_a_setting_changed_later_takes_effect() -> None:
    app = Application([(r"/", FormHandler)], xsrf_cookies=True)
    assert app.config.xsrf_cookies is True
    app.settings["xsrf_cookies"] = False
    assert app.config.xsrf_cookies is False
    assert app.settings["xsrf_cookies"] is False


def test_a_bad_value_later_is_refused_and_changes_nothing() -> None:
    app = Application([], static_path="/srv/static")
    with pytest.raises(ValueError, match="static_path"):
        app.settings["static_path"] = 42
    assert app.settings["static_path"] == "/srv/static"
    assert app.config.static_path == "/srv/static"
    with pytest.raises(ValueError, match="did you mean 'template_path'"):
        app.settings.update(template_dir="templates")
    assert "template_dir" not in app.settings


def test_every_way_of_changing_the_dict_resolves_again() -> None:
    app = Application([])
    app.settings.update(login_url="/login")
    assert app.config.login_url == "/login"
    assert app.settings.setdefault("login_url", "/other") == "/login"
    assert app.settings.setdefault("cookie_secret", "s3cret") == "s3cret"
    assert app.config.cookie_secret == "s3cret"
    assert app.settings.pop("cookie_secret") == "s3cret"
    assert app.config.cookie_secret is None
    del app.settings["login_url"]
    assert app.config.login_url is None
    app.settings |= {"serve_traceback": True}
    assert app.config.serve_traceback is True
    app.settings.clear()
    assert app.config.serve_traceback is False


def test_debug_set_later_implies_what_it_implies_at_start_up() -> None:
    app = Application([])
    app.settings["debug"] = True
    assert app.settings["serve_traceback"] is True
    assert app.config.serve_traceback is True
    assert app.config.static_hash_cache is False


def test_an_application_key_is_kept_and_read_back() -> None:
    app = Application([], seen={})
    app.settings["seen"]["x"] = 1  # a value the application mutates in place
    app.settings["no_token"] = True
    assert app.settings["seen"] == {"x": 1}
    assert app.settings["no_token"] is True


def test_a_log_function_wrapped_after_construction_is_called() -> None:
    """What a metrics layer does: take the application's log_function over once it exists."""
    logged: list[tuple[int, str]] = []

    def log(handler: Any) -> None:
        logged.append((handler.get_status(), handler.request.path))

    with running([(r"/", FormHandler)]) as server:
        server.app.settings["log_function"] = log
        assert fetch(server, "/", method="POST").text == "accepted"
    assert logged == [(200, "/")]

"""Tests for framework/web/errors.py and the error pages a handler sends.

``HTTPError`` (status, reason, log message), ``Finish``, ``send_error`` and
``write_error``, ``log_exception``, and the default error page with and without
``serve_traceback``. Each test declares its handler beside it and talks to a
real server on an ephemeral port.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from framework.web import (
    Finish,
    HTTPError,
    RequestHandler,
)
from tests.framework.harness import app_errors, fetch, running


def test_send_error_renders_the_error_page() -> None:
    class TeapotHandler(RequestHandler):
        def get(self) -> None:
            self.write("partial output is discarded")
            self.send_error(503, reason="Come Back Later")

    with running([("/", TeapotHandler)]) as server:
        response = fetch(server, "/")
    assert (response.status_code, response.reason) == (503, "Come Back Later")
    assert "503: Come Back Later" in response.text
    assert "partial" not in response.text


def test_write_error_override_receives_exc_info() -> None:
    class CustomErrorHandler(RequestHandler):
        def get(self, kind: str) -> None:
            if kind == "crash":
                raise KeyError("missing thing")
            self.send_error(418)

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            exc_info = kwargs.get("exc_info")
            kind = exc_info[0].__name__ if exc_info else "none"
            self.write({"status": status_code, "exception": kind})

    with running([(r"/(\w+)", CustomErrorHandler)]) as server:
        crash = fetch(server, "/crash")
        plain = fetch(server, "/plain")
    assert crash.status_code == 500
    assert crash.json() == {"status": 500, "exception": "KeyError"}
    assert plain.status_code == 418
    assert plain.json() == {"status": 418, "exception": "none"}


def test_write_error_that_fails_still_answers(caplog: pytest.LogCaptureFixture) -> None:
    class BadErrorPageHandler(RequestHandler):
        def get(self) -> None:
            raise HTTPError(404)

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            raise RuntimeError("error page broke")

    with running([("/", BadErrorPageHandler)]) as server:
        response = fetch(server, "/")
    assert response.status_code == 404
    assert any("write_error" in r.getMessage() for r in app_errors(caplog))


def test_http_error_with_custom_reason_and_log_message(caplog: pytest.LogCaptureFixture) -> None:
    class ReasonHandler(RequestHandler):
        def get(self, which: str) -> None:
            if which == "custom":
                raise HTTPError(499, "client %s went away", "alice", reason="Client Closed Request")
            raise HTTPError(403, "no access to %s", "secret")

    caplog.set_level(logging.WARNING)
    with running([(r"/(\w+)", ReasonHandler)]) as server:
        custom = fetch(server, "/custom")
        forbidden = fetch(server, "/forbidden")
    assert (custom.status_code, custom.reason) == (499, "Client Closed Request")
    assert "499: Client Closed Request" in custom.text
    assert "alice" not in custom.text  # the log message never reaches the client
    assert (forbidden.status_code, forbidden.reason) == (403, "Forbidden")
    messages = [r.getMessage() for r in caplog.records if r.name == "framework.general"]
    assert any("client alice went away" in m and "GET /custom" in m for m in messages)
    assert any("no access to secret" in m for m in messages)
    assert app_errors(caplog) == []


def test_http_error_str() -> None:
    assert str(HTTPError(404)) == "HTTP 404: Not Found"
    assert str(HTTPError(499, reason="Closed")) == "HTTP 499: Closed"
    assert str(HTTPError(400, "bad %s", "thing")) == "HTTP 400: Bad Request (bad thing)"
    assert str(HTTPError(400, "100% literal")) == "HTTP 400: Bad Request (100% literal)"


def test_finish_exception_ends_the_request_without_write_error() -> None:
    error_pages: list[int] = []

    class FinishingHandler(RequestHandler):
        def get(self, which: str) -> None:
            self.set_status(202)
            self.write("partial ")
            if which == "arg":
                raise Finish("and x")
            raise Finish()

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            error_pages.append(status_code)
            super().write_error(status_code, **kwargs)

    with running([(r"/(\w+)", FinishingHandler)]) as server:
        bare = fetch(server, "/bare")
        with_arg = fetch(server, "/arg")
    assert (bare.status_code, bare.text) == (202, "partial ")
    assert (with_arg.status_code, with_arg.text) == (202, "partial and x")
    assert error_pages == []


@pytest.mark.parametrize("style", ["sync", "async"])
def test_log_exception_once_per_uncaught_exception(caplog: pytest.LogCaptureFixture, style: str) -> None:
    class SyncBoomHandler(RequestHandler):
        def get(self) -> None:
            raise RuntimeError("kaboom")

    class AsyncBoomHandler(RequestHandler):
        async def get(self) -> None:
            await asyncio.sleep(0)
            raise RuntimeError("kaboom")

    handler = SyncBoomHandler if style == "sync" else AsyncBoomHandler
    with running([("/boom", handler)]) as server:
        response = fetch(server, "/boom?x=1")
    assert response.status_code == 500
    records = app_errors(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    assert "GET /boom?x=1" in records[0].getMessage()
    assert records[0].exc_info is not None and records[0].exc_info[0] is RuntimeError


def test_log_exception_override_is_used() -> None:
    logged: list[str] = []

    class QuietHandler(RequestHandler):
        def get(self) -> None:
            raise ValueError("quiet")

        def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
            logged.append(repr(value))

    with running([("/", QuietHandler)]) as server:
        assert fetch(server, "/").status_code == 500
    assert logged == ["ValueError('quiet')"]


# -- error pages -----------------------------------------------------------------


def test_default_error_page_hides_the_traceback() -> None:
    class CrashHandler(RequestHandler):
        def get(self) -> None:
            raise RuntimeError("secret internals")

    with running([("/", CrashHandler)]) as server:
        response = fetch(server, "/")
    assert (response.status_code, response.reason) == (500, "Internal Server Error")
    assert "500: Internal Server Error" in response.text
    assert "Traceback" not in response.text and "secret internals" not in response.text


def test_serve_traceback_shows_it() -> None:
    class CrashHandler(RequestHandler):
        def get(self) -> None:
            raise RuntimeError("visible internals")

    with running([("/", CrashHandler)], serve_traceback=True) as server:
        response = fetch(server, "/")
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert "Traceback" in response.text and "RuntimeError: visible internals" in response.text


def test_initialize_failure_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    class BadInitHandler(RequestHandler):
        def initialize(self) -> None:
            raise RuntimeError("cannot init")

    with running([("/", BadInitHandler)]) as server:
        response = fetch(server, "/")
    assert response.status_code == 500
    assert "500: Internal Server Error" in response.text
    assert len(app_errors(caplog)) == 1


def test_http_error_with_a_non_latin1_reason_keeps_its_status() -> None:
    class Refusing(RequestHandler):
        def get(self) -> None:
            raise HTTPError(413, reason="field \u6587\u4ef6 too large")

    with running([("/", Refusing)]) as server:
        response = fetch(server, "/")
    assert (response.status_code, response.reason) == (413, "field ?? too large")

"""Tests for framework/web/application.py: ``Application`` as the server's delegate.

Listening, host tables, ``reverse_url``, the default handler, routing a request
to its handler (patterns, groups, percent-decoding), request ids and the access
log. Each test declares the handlers it exercises beside it and talks to a real
server on an ephemeral port (``tests/framework/harness.py``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import requests

import framework.web
from framework.testing import serve
from framework.web import (
    Application,
    RequestHandler,
    URLSpec,
    url,
)
from tests.framework.harness import WAIT, fetch, raw_exchange, running, split_response


def test_listen_returns_the_server_it_started() -> None:
    class HelloHandler(RequestHandler):
        def get(self) -> None:
            self.write("hello from listen")

    app = Application([("/", HelloHandler)])
    # Borrow a running loop: listen() must be called on the loop that serves.
    with serve(Application([])) as host:

        async def start() -> Any:
            return app.listen(0, "127.0.0.1")

        server = host.run(start)
        try:
            port = server.sockets[0].getsockname()[1]
            with requests.get(f"http://127.0.0.1:{port}/", timeout=10) as response:
                assert response.text == "hello from listen"
        finally:

            async def stop() -> None:
                server.stop()
                await server.drain(2.0)

            host.run(stop)


def test_add_handlers_selects_routes_by_host_header() -> None:
    class DefaultHandler(RequestHandler):
        def get(self) -> None:
            self.write("any host")

    class ExampleHandler(RequestHandler):
        def get(self) -> None:
            self.write("example.com")

    app = Application([("/", DefaultHandler), ("/only-default", DefaultHandler)])
    app.add_handlers(r"(www\.)?example\.com", [("/", ExampleHandler)])
    with serve(app) as server:
        assert fetch(server, "/", headers={"Host": "example.com"}).text == "example.com"
        assert fetch(server, "/", headers={"Host": "www.example.com:8080"}).text == "example.com"
        assert fetch(server, "/", headers={"Host": "other.test"}).text == "any host"
        # A host's table without the path falls through to the catch-all table.
        assert fetch(server, "/only-default", headers={"Host": "example.com"}).text == "any host"


def test_host_tables_are_tried_in_the_order_added() -> None:
    class WildcardHandler(RequestHandler):
        def get(self) -> None:
            self.write("wildcard")

    class WwwHandler(RequestHandler):
        def get(self) -> None:
            self.write("www")

    app = Application([])
    app.add_handlers(r".*\.example\.com", [("/", WildcardHandler)])
    app.add_handlers(r"www\.example\.com", [("/", WwwHandler), ("/www-only", WwwHandler)])
    with serve(app) as server:
        assert fetch(server, "/", headers={"Host": "www.example.com"}).text == "wildcard"
        assert fetch(server, "/www-only", headers={"Host": "www.example.com"}).text == "www"
        assert fetch(server, "/www-only", headers={"Host": "api.example.com"}).status_code == 404


def test_default_host_routes_unknown_hosts_to_its_table() -> None:
    class ExampleHandler(RequestHandler):
        def get(self) -> None:
            self.write("example table")

    app = Application([], default_host="example.com")
    app.add_handlers(r"example\.com", [("/", ExampleHandler)])
    with serve(app) as server:
        assert fetch(server, "/", headers={"Host": "unknown.test"}).text == "example table"


def test_reverse_url_is_remembered_until_routes_change(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Application([url(r"/plain", RequestHandler, name="plain"), url(r"/item/([^/]+)", RequestHandler, name="item")])
    asked: list[tuple[object, ...]] = []
    real = app.default_router.reverse_url
    monkeypatch.setattr(app.default_router, "reverse_url", lambda name, *a: asked.append((name, *a)) or real(name, *a))
    assert app.reverse_url("plain") == app.reverse_url("plain") == "/plain"
    assert app.reverse_url("item", 7) == app.reverse_url("item", 7) == "/item/7"
    assert asked == [("plain",), ("item", 7)]  # each computed once
    assert app.reverse_url("item", True) == "/item/True"  # True == 1, but not the same answer
    assert app.reverse_url("item", ["x"]) == "/item/%5B%27x%27%5D"  # unhashable: computed, not kept
    app.add_handlers(r"example\.com", [url(r"/elsewhere", RequestHandler, name="other")])
    assert app.reverse_url("plain") == "/plain" and asked[-1] == ("plain",)  # routes changed: asked again
    with pytest.raises(KeyError):
        app.reverse_url("missing")


def test_reverse_url_keeps_a_bounded_number_of_answers() -> None:
    app = Application([url(r"/item/(\d+)", RequestHandler, name="item")])
    for n in range(5000):  # ids from requests must not grow the table without bound
        assert app.reverse_url("item", n) == f"/item/{n}"
    assert len(app._reversed) <= 1024


def test_reverse_url_fills_and_escapes_arguments() -> None:
    class ItemHandler(RequestHandler):
        def get(self, *args: str) -> None:
            self.write(self.reverse_url("item", "a b?"))

    app = Application(
        [
            url(r"/item/([^/]+)", ItemHandler, name="item"),
            url(r"/pair/(\d+)/(\w+)", ItemHandler, name="pair"),
            url(r"/plain", ItemHandler, name="plain"),
        ]
    )
    assert app.reverse_url("item", "a b?&#") == "/item/a%20b%3F%26%23"
    assert app.reverse_url("item", "dir/file") == "/item/dir/file"  # as Tornado: "/" stays
    assert app.reverse_url("pair", 3, "x") == "/pair/3/x"
    assert app.reverse_url("plain") == "/plain"
    assert app.reverse_url("item", "caf\u00e9") == "/item/caf%C3%A9"
    with pytest.raises(KeyError, match="nope"):
        app.reverse_url("nope")
    with serve(app) as server:
        assert fetch(server, "/item/x").text == "/item/a%20b%3F"


def test_default_handler_class_answers_unmatched_paths() -> None:
    class NotFoundHandler(RequestHandler):
        def initialize(self, message: str) -> None:
            self.message = message

        def prepare(self) -> None:
            self.set_status(404)
            self.finish(f"{self.message}: {self.request.path}")

    with running(
        [("/", NotFoundHandler, {"message": "root"})],
        default_handler_class=NotFoundHandler,
        default_handler_args={"message": "nothing here"},
    ) as server:
        response = fetch(server, "/missing")
    assert response.status_code == 404
    assert response.text == "nothing here: /missing"


def test_default_not_found_page() -> None:
    with running([]) as server:
        response = fetch(server, "/nothing")
    assert response.status_code == 404
    assert "404: Not Found" in response.text
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"


# -- routing through the application -------------------------------------------


def test_routes_as_tuples_and_url_objects() -> None:
    class NameHandler(RequestHandler):
        def initialize(self, name: str) -> None:
            self.name = name

        def get(self) -> None:
            self.write(self.name)

    with running(
        [
            ("/tuple", NameHandler, {"name": "tuple"}),
            url("/url", NameHandler, {"name": "url"}),
            URLSpec("/spec", NameHandler, {"name": "spec"}, name="spec"),
        ]
    ) as server:
        assert fetch(server, "/tuple").text == "tuple"
        assert fetch(server, "/url").text == "url"
        assert fetch(server, "/spec").text == "spec"


def test_patterns_are_anchored_at_the_end() -> None:
    class AHandler(RequestHandler):
        def get(self) -> None:
            self.write("a")

    with running([("/a", AHandler)]) as server:
        assert fetch(server, "/a").text == "a"
        assert fetch(server, "/a/b").status_code == 404
        assert fetch(server, "/ab").status_code == 404


def test_first_matching_route_wins() -> None:
    class FirstHandler(RequestHandler):
        def get(self, rest: str) -> None:
            self.write("first")

    class SecondHandler(RequestHandler):
        def get(self) -> None:
            self.write("second")

    with running([(r"/x/(.*)", FirstHandler), (r"/x/literal", SecondHandler)]) as server:
        assert fetch(server, "/x/literal").text == "first"


def test_positional_and_named_groups() -> None:
    class PositionalHandler(RequestHandler):
        def get(self, year: str, month: str) -> None:
            self.write({"args": [year, month], "path_args": self.path_args, "path_kwargs": self.path_kwargs})

    class NamedHandler(RequestHandler):
        def get(self, month: str, year: str) -> None:
            self.write({"year": year, "month": month, "path_args": self.path_args, "path_kwargs": self.path_kwargs})

    with running(
        [
            (r"/p/(\d{4})/(\d{2})", PositionalHandler),
            (r"/n/(?P<year>\d{4})/(?P<month>\d{2})", NamedHandler),
        ]
    ) as server:
        assert fetch(server, "/p/2024/05").json() == {
            "args": ["2024", "05"],
            "path_args": ["2024", "05"],
            "path_kwargs": {},
        }
        assert fetch(server, "/n/2024/05").json() == {
            "year": "2024",
            "month": "05",
            "path_args": [],
            "path_kwargs": {"year": "2024", "month": "05"},
        }


def test_a_route_without_groups_gives_each_handler_its_own_empty_path_arguments() -> None:
    class GroupLessHandler(RequestHandler):
        def prepare(self) -> None:
            self.seen = {"path_args": list(self.path_args), "path_kwargs": dict(self.path_kwargs)}
            self.path_args.append("added in prepare")  # the method receives what prepare() leaves
            self.path_kwargs["extra"] = "too"

        def get(self, added: str, extra: str) -> None:
            self.write(dict(self.seen, method=[added, extra]))

    with running([(r"/plain", GroupLessHandler)]) as server:
        for _ in range(2):  # the second request starts from empty ones again
            assert fetch(server, "/plain").json() == {
                "path_args": [],
                "path_kwargs": {},
                "method": ["added in prepare", "too"],
            }


def test_path_arguments_are_percent_decoded() -> None:
    class StoryHandler(RequestHandler):
        def get(self, story: str) -> None:
            self.write(story)

    with running([(r"/story/([^/]+)", StoryHandler)]) as server:
        assert fetch(server, "/story/a%20b%2Fc").text == "a b/c"
        assert fetch(server, "/story/caf%C3%A9").text == "caf\u00e9"


def test_non_utf8_path_bytes_answer_400() -> None:
    class StoryHandler(RequestHandler):
        def get(self, story: str) -> None:
            self.write(story)

    class NamedHandler(RequestHandler):
        def get(self, slug: str) -> None:
            self.write(slug)

    with running([(r"/story/([^/]+)", StoryHandler), (r"/named/(?P<slug>[^/]+)", NamedHandler)]) as server:
        response = fetch(server, "/story/%ff")
        named = fetch(server, "/named/ok%ffno")
    assert response.status_code == 400
    assert named.status_code == 400


def test_bad_pattern_fails_at_construction() -> None:
    with pytest.raises(ValueError, match=r"invalid route pattern '/\('"):
        Application([("/(", RequestHandler)])


def test_duplicate_route_name_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="'home'"):
        Application([url("/", RequestHandler, name="home"), url("/index", RequestHandler, name="home")])


def test_log_function_setting_replaces_the_access_log() -> None:
    logged: list[tuple[int, str]] = []
    done = threading.Event()

    def log_function(handler: RequestHandler) -> None:
        logged.append((handler.get_status(), handler.request.uri))
        done.set()

    class OkHandler(RequestHandler):
        def get(self) -> None:
            self.write("ok")

    with running([("/", OkHandler)], log_function=log_function) as server:
        fetch(server, "/?q=1")
        assert done.wait(WAIT)
    assert logged == [(200, "/?q=1")]


# -- request ids and absolute-form targets --------------------------------------


class EchoRequestIdHandler(framework.web.RequestHandler):
    def get(self) -> None:
        self.write(self.request.request_id or "none")


def test_request_id_received_is_echoed_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="framework.access")
    app = framework.web.Application([(r"/", EchoRequestIdHandler)], request_id_header="X-Request-Id")
    with serve(app) as server, requests.Session() as session:
        sent = session.get(server.url("/"), headers={"X-Request-Id": "abc-123.x"})
        assert sent.headers["X-Request-Id"] == "abc-123.x"
        assert sent.text == "abc-123.x"
        made = session.get(server.url("/"))
        assert len(made.headers["X-Request-Id"]) == 16
        hostile = session.get(server.url("/"), headers={"X-Request-Id": "a b<script>"})
        assert hostile.headers["X-Request-Id"] != "a b<script>"
        missing = session.get(server.url("/nowhere"), headers={"X-Request-Id": "on-404"})
        assert missing.status_code == 404
        assert missing.headers["X-Request-Id"] == "on-404"
    assert any("rid=abc-123.x" in r.getMessage() for r in caplog.records)


class Tagged(logging.LogRecord):
    """What a program's own record factory makes (``logging.setLogRecordFactory``)."""


def test_the_access_record_names_log_access_and_passes_filters_and_the_record_factory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="framework.access")
    access = logging.getLogger("framework.access")
    hidden = framework.web.application.log_access  # the function the records must name

    def no_health_checks(record: logging.LogRecord) -> bool:
        return "/healthz" not in record.getMessage()

    class OkHandler(RequestHandler):
        def get(self) -> None:
            self.write("ok")

    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(Tagged)
    access.addFilter(no_health_checks)
    try:
        with running([("/.*", OkHandler)]) as server:
            fetch(server, "/healthz")
            fetch(server, "/page?x=1")
    finally:
        access.removeFilter(no_health_checks)
        logging.setLogRecordFactory(previous)
    records = [r for r in caplog.records if r.name == "framework.access"]
    assert [r.getMessage().split(" (")[0] for r in records] == ["200 GET /page?x=1"]
    (record,) = records
    assert type(record) is Tagged
    assert (record.pathname, record.funcName) == (hidden.__code__.co_filename, "log_access")
    assert record.lineno == hidden.__code__.co_firstlineno
    assert (record.method, record.path, record.status) == ("GET", "/page", 200)  # type: ignore[attr-defined]


def test_a_record_factory_that_sets_a_request_id_keeps_it_and_the_handler_still_finishes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="framework.access")
    finished = threading.Event()
    previous = logging.getLogRecordFactory()

    def with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = "from-the-program"  # (a context variable's, as logging setups do)
        return record

    class OkHandler(RequestHandler):
        def get(self) -> None:
            self.write("ok")

        def on_finish(self) -> None:
            finished.set()

    logging.setLogRecordFactory(with_request_id)
    try:
        with running([("/", OkHandler)]) as server:
            assert fetch(server, "/").text == "ok"
            assert finished.wait(WAIT)
    finally:
        logging.setLogRecordFactory(previous)
    (record,) = [r for r in caplog.records if r.name == "framework.access"]
    assert record.request_id == "from-the-program"  # type: ignore[attr-defined]
    assert (record.method, record.path, record.status) == ("GET", "/", 200)  # type: ignore[attr-defined]


def test_an_access_logger_of_the_program_s_own_class_makes_its_records(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[logging.LogRecord] = []

    class Tenanted(logging.Logger):
        """A logger class that adds a field to every record in its own ``_log``."""

        def _log(self, *args: Any, **kwargs: Any) -> None:
            kwargs["extra"] = {**(kwargs.get("extra") or {}), "tenant": "acme"}
            super()._log(*args, **kwargs)

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    own = Tenanted("framework.access.own")
    own.setLevel(logging.INFO)
    own.addHandler(Keep())
    own.propagate = False
    monkeypatch.setattr(framework.web.application, "access_log", own)

    class OkHandler(RequestHandler):
        def get(self) -> None:
            self.write("ok")

    with running([("/", OkHandler)]) as server:
        fetch(server, "/")
    (record,) = seen
    assert record.tenant == "acme"  # type: ignore[attr-defined]
    assert record.getMessage().startswith("200 GET / (")


def test_request_ids_are_off_by_default() -> None:
    with serve(framework.web.Application([(r"/", EchoRequestIdHandler)])) as server:
        response = requests.get(server.url("/"), headers={"X-Request-Id": "abc"})
        assert "X-Request-Id" not in response.headers
        assert response.text == "none"


def test_absolute_form_request_is_routed_by_its_path_and_takes_its_host() -> None:
    class Where(RequestHandler):
        def get(self) -> None:
            self.write(f"{self.request.host} {self.request.path} {self.get_argument('q')}")

    with running([("/where", Where)]) as server:
        raw = raw_exchange(
            server.port, b"GET http://real.example/where?q=1 HTTP/1.1\r\nHost: spoofed.example\r\nConnection: close\r\n\r\n"
        )
    status, _, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"
    assert body == b"real.example /where 1"


def test_find_handler_patched_onto_application_sees_literal_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The literal-route fast path is taken only with Application's own find_handler, even one patched later."""
    seen: list[str] = []
    original = framework.web.Application.find_handler

    def traced(self: framework.web.Application, request: Any, **kwargs: Any) -> Any:
        seen.append(request.path)
        return original(self, request, **kwargs)

    class Plain(framework.web.RequestHandler):
        def get(self) -> None:
            self.write("ok")

    monkeypatch.setattr(framework.web.Application, "find_handler", traced)
    with running([("/", Plain)]) as server:
        assert fetch(server, "/").status_code == 200
    assert seen == ["/"]

"""Tests for framework/web/: Application, routing through it, and the RequestHandler lifecycle.

Every test declares the handler it exercises right beside it and talks to a
real server (``framework.testing.serve``: an ``HTTPServer`` on an ephemeral
port, its IOLoop in a background thread) with ``requests`` or, where the bytes
on the wire matter (chunked framing, a client that disconnects), a raw socket.

Handlers run on the server's thread, so tests share state with them through
lists and ``threading.Event``; every wait is bounded. Sessions, responses and
sockets are closed before a test ends (warnings are errors).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import logging
import pathlib
import socket
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import framework.web
from framework import gen
from framework.ioloop import IOLoop
from framework.testing import ServerThread, serve
from framework.web import (
    Application,
    ErrorHandler,
    Finish,
    HTTPError,
    MissingArgumentError,
    RedirectHandler,
    RequestHandler,
    URLSpec,
    asynchronous,
    url,
)

WAIT = 5.0  # seconds a test waits for something that must happen


# -- harness -------------------------------------------------------------------


@contextlib.contextmanager
def running(handlers: list[Any], **settings: Any) -> Iterator[ServerThread]:
    """An ``Application(handlers, **settings)`` served on an ephemeral port."""
    with serve(Application(handlers, **settings)) as server:
        yield server


def fetch(server: ServerThread, path: str, method: str = "GET", **kwargs: Any) -> requests.Response:
    """One request in its own Session; the body is read and everything closed."""
    kwargs.setdefault("allow_redirects", False)
    kwargs.setdefault("timeout", 10)
    with requests.Session() as session:
        with session.request(method, server.url(path), **kwargs) as response:
            response.content  # read it before the connection closes
    return response


def raw_exchange(server: ServerThread, data: bytes) -> bytes:
    """Send ``data`` on a fresh socket and read until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        received = []
        while chunk := sock.recv(65536):
            received.append(chunk)
    return b"".join(received)


def split_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers with lower-case names, body) of one raw response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def decode_chunked(body: bytes) -> list[bytes]:
    """The chunks of a chunked body, checking the framing as it goes."""
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert body == b"\r\n", body
            return chunks
        chunks.append(body[:size])
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


def app_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """ERROR records of the application logger (the access log is separate)."""
    return [r for r in caplog.records if r.name == "framework.application" and r.levelno >= logging.ERROR]


# -- Application -------------------------------------------------------------------


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


# -- RequestHandler lifecycle ------------------------------------------------------


def test_a_new_handler_instance_per_request() -> None:
    seen: list[RequestHandler] = []

    class CountingHandler(RequestHandler):
        def get(self) -> None:
            seen.append(self)

    with running([("/", CountingHandler)]) as server:
        with requests.Session() as session:  # one keep-alive connection
            for _ in range(3):
                with session.get(server.url("/"), timeout=10) as response:
                    assert response.status_code == 200
    assert len(seen) == 3 and len({id(h) for h in seen}) == 3


def test_initialize_receives_route_kwargs() -> None:
    class InitHandler(RequestHandler):
        def initialize(self, greeting: str, punctuation: str = ".") -> None:
            self.greeting = greeting + punctuation

        def get(self) -> None:
            self.write(self.greeting)

    with running([("/", InitHandler, {"greeting": "hi", "punctuation": "!"})]) as server:
        assert fetch(server, "/").text == "hi!"


def test_prepare_may_finish_and_then_the_method_is_not_called() -> None:
    calls: list[str] = []

    class GuardHandler(RequestHandler):
        def prepare(self) -> None:
            calls.append("prepare")
            if self.get_argument("stop", None):
                self.finish("stopped in prepare")

        def get(self) -> None:
            calls.append("get")
            self.write("reached get")

    with running([("/", GuardHandler)]) as server:
        assert fetch(server, "/?stop=1").text == "stopped in prepare"
        assert calls == ["prepare"]
        assert fetch(server, "/").text == "reached get"
        assert calls == ["prepare", "prepare", "get"]


def test_async_prepare_runs_before_the_method() -> None:
    class AsyncPrepareHandler(RequestHandler):
        async def prepare(self) -> None:
            await asyncio.sleep(0.001)
            self.prepared = "yes"

        def get(self) -> None:
            self.write(self.prepared)

    with running([("/", AsyncPrepareHandler)]) as server:
        assert fetch(server, "/").text == "yes"


def test_prepare_raising_skips_the_method() -> None:
    calls: list[str] = []

    class SyncDeniedHandler(RequestHandler):
        def prepare(self) -> None:
            raise HTTPError(401)

        def get(self) -> None:
            calls.append("sync get")

    class AsyncDeniedHandler(RequestHandler):
        async def prepare(self) -> None:
            await asyncio.sleep(0)
            raise HTTPError(403)

        def get(self) -> None:
            calls.append("async get")

    with running([("/sync", SyncDeniedHandler), ("/async", AsyncDeniedHandler)]) as server:
        assert fetch(server, "/sync").status_code == 401
        assert fetch(server, "/async").status_code == 403
    assert calls == []


def test_sync_async_and_gen_coroutine_methods() -> None:
    class SyncHandler(RequestHandler):
        def get(self) -> None:
            self.write("sync")

    class AsyncHandler(RequestHandler):
        async def get(self) -> None:
            await asyncio.sleep(0.001)
            self.write("async")

    class GenHandler(RequestHandler):
        @gen.coroutine
        def get(self) -> Any:
            yield gen.sleep(0.001)
            self.write("gen")

    with running([("/sync", SyncHandler), ("/async", AsyncHandler), ("/gen", GenHandler)]) as server:
        assert fetch(server, "/sync").text == "sync"
        assert fetch(server, "/async").text == "async"
        assert fetch(server, "/gen").text == "gen"


def test_on_finish_is_called_once_after_the_response() -> None:
    events: list[str] = []
    finished = threading.Event()

    class FinishHandler(RequestHandler):
        def get(self) -> None:
            events.append("get")
            self.write("body")

        def on_finish(self) -> None:
            events.append(f"on_finish {self.get_status()}")
            with pytest.raises(RuntimeError):
                self.write("too late")  # the response is complete
            finished.set()

    with running([("/", FinishHandler)]) as server:
        assert fetch(server, "/").text == "body"
        assert finished.wait(WAIT)
    assert events == ["get", "on_finish 200"]


def test_on_finish_is_called_once_after_an_error() -> None:
    events: list[str] = []
    finished = threading.Event()

    class FailingHandler(RequestHandler):
        def get(self) -> None:
            raise HTTPError(403)

        def on_finish(self) -> None:
            events.append(f"on_finish {self.get_status()}")
            finished.set()

    with running([("/", FailingHandler)]) as server:
        assert fetch(server, "/").status_code == 403
        assert finished.wait(WAIT)
    assert events == ["on_finish 403"]


def test_method_outside_supported_methods_is_405() -> None:
    class GetOnlyHandler(RequestHandler):
        SUPPORTED_METHODS = ("GET",)

        def get(self) -> None:
            self.write("got")

        def post(self) -> None:  # defined, but not supported
            self.write("posted")

    with running([("/", GetOnlyHandler)]) as server:
        assert fetch(server, "/").text == "got"
        response = fetch(server, "/", method="POST")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_custom_method_in_supported_methods() -> None:
    class PurgeHandler(RequestHandler):
        SUPPORTED_METHODS = RequestHandler.SUPPORTED_METHODS + ("PURGE",)

        def purge(self) -> None:
            self.write("purged")

    with running([("/", PurgeHandler)]) as server:
        assert fetch(server, "/", method="PURGE").text == "purged"


def test_method_not_defined_is_405_with_allow() -> None:
    class GetPostHandler(RequestHandler):
        def get(self) -> None:
            self.write("get")

        def post(self) -> None:
            self.write("post")

    with running([("/", GetPostHandler)]) as server:
        response = fetch(server, "/", method="DELETE")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert "405: Method Not Allowed" in response.text


def test_write_str_bytes_and_dict() -> None:
    class WriteHandler(RequestHandler):
        def get(self, kind: str) -> None:
            if kind == "str":
                self.write("caf\u00e9 ")
                self.write("au lait")
            elif kind == "bytes":
                self.set_header("Content-Type", "application/octet-stream")
                self.write(b"\x00\xffraw")
            else:
                self.write({"a": [1, 2], "html": "</script>"})

    with running([(r"/(\w+)", WriteHandler)]) as server:
        text = fetch(server, "/str")
        raw = fetch(server, "/bytes")
        data = fetch(server, "/dict")
    assert text.content == "caf\u00e9 au lait".encode()
    assert text.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert text.headers["Content-Length"] == str(len(text.content))
    assert raw.content == b"\x00\xffraw"
    assert data.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert data.json() == {"a": [1, 2], "html": "</script>"}
    assert b"<\\/script>" in data.content  # safe inside a <script> element


def test_write_list_is_a_type_error_and_500(caplog: pytest.LogCaptureFixture) -> None:
    errors: list[str] = []

    class ListHandler(RequestHandler):
        def get(self, catch: str) -> None:
            if catch:
                try:
                    self.write([1, 2])  # type: ignore[arg-type]
                except TypeError as exc:
                    errors.append(str(exc))
                    self.write("refused")
            else:
                self.write([1, 2])  # type: ignore[arg-type]

    with running([(r"/(c?)", ListHandler)]) as server:
        assert fetch(server, "/c").text == "refused"
        response = fetch(server, "/")
    assert "dict" in errors[0]
    assert response.status_code == 500
    assert "[1, 2]" not in response.text
    assert len(app_errors(caplog)) == 1


def test_finish_twice_logs_an_error_and_does_not_hang(caplog: pytest.LogCaptureFixture) -> None:
    class TwiceHandler(RequestHandler):
        def get(self) -> None:
            self.finish("first")
            self.finish("second")

    with running([("/", TwiceHandler)]) as server:
        with requests.Session() as session:
            for _ in range(2):  # the connection stays usable
                with session.get(server.url("/"), timeout=10) as response:
                    assert response.status_code == 200
                    assert response.text == "first"
    records = app_errors(caplog)
    assert len(records) == 2  # one per request
    assert all("finish() called twice" in str(r.exc_info[1]) for r in records if r.exc_info)


def test_flush_streams_a_chunked_response() -> None:
    first_part_seen = threading.Event()

    class StreamHandler(RequestHandler):
        async def get(self) -> None:
            self.write("one")
            await self.flush()
            # The client must see "one" before the handler goes on: a real stream.
            for _ in range(int(WAIT / 0.01)):
                if first_part_seen.is_set():
                    break
                await asyncio.sleep(0.01)
            self.write("two")
            await self.flush()
            self.write("three")
            await self.flush()
            self.finish()

    with running([("/stream", StreamHandler)]) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            received = b""
            while b"one" not in received:
                chunk = sock.recv(65536)
                assert chunk, received
                received += chunk
            first_part_seen.set()
            while chunk := sock.recv(65536):
                received += chunk
        with requests.get(server.url("/stream"), timeout=10) as response:
            first_part_seen.set()
            assert response.text == "onetwothree"
    status, headers, body = split_response(received)
    assert status == "HTTP/1.1 200 OK"
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert decode_chunked(body) == [b"one", b"two", b"three"]


def test_set_status_with_reason_and_unknown_code() -> None:
    class StatusHandler(RequestHandler):
        def get(self, which: str) -> None:
            if which == "custom":
                self.set_status(299, "Custom Reason")
                self.write(str(self.get_status()))
            elif which == "known":
                self.set_status(202)
                self.write(str(self.get_status()))
            elif which == "unknown":
                self.set_status(201)
                try:
                    self.set_status(299)
                except ValueError:
                    self.write(f"refused, still {self.get_status()}")
            elif which == "unsafe":
                self.set_status(202, "OK\r\nX-Injected: yes")
                self.write(f"mended, still {self.get_status()}")
            else:
                self.set_status(299)

    with running([(r"/(\w+)", StatusHandler)]) as server:
        custom = fetch(server, "/custom")
        assert (custom.status_code, custom.reason, custom.text) == (299, "Custom Reason", "299")
        known = fetch(server, "/known")
        assert (known.status_code, known.reason, known.text) == (202, "Accepted", "202")
        unknown = fetch(server, "/unknown")
        assert (unknown.status_code, unknown.reason, unknown.text) == (201, "Created", "refused, still 201")
        unsafe = fetch(server, "/unsafe")
        assert (unsafe.status_code, unsafe.reason, unsafe.text) == (202, "OK??X-Injected: yes", "mended, still 202")
        assert "X-Injected" not in unsafe.headers
        assert fetch(server, "/uncaught").status_code == 500


def test_set_add_and_clear_header() -> None:
    class HeaderHandler(RequestHandler):
        def get(self) -> None:
            self.set_header("X-Single", "one")
            self.set_header("X-Single", "two")  # replaces
            self.add_header("X-Multi", "a")
            self.add_header("X-Multi", "b")
            self.set_header("X-Number", 42)
            self.set_header("X-Gone", "soon")
            self.clear_header("X-Gone")
            self.clear_header("X-Never-Set")

    with running([("/", HeaderHandler)]) as server:
        raw = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head = raw.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    assert "x-single: two\r\n" in head and "x-single: one" not in head
    assert "x-multi: a\r\n" in head and "x-multi: b\r\n" in head
    assert "x-number: 42\r\n" in head
    assert "x-gone" not in head


@pytest.mark.parametrize(
    "value",
    # RFC 9110 5.5: no CTL but HTAB, so not only CR, LF and NUL.
    ["a\r\nInjected: yes", "a\nInjected: yes", "a\rInjected: yes", "a\x00b", "a\x01b", "a\x0bb", "a\x1bb", "a\x7fb"],
)
def test_unsafe_header_values_are_refused(value: str) -> None:
    class CaughtHandler(RequestHandler):
        def get(self) -> None:
            refused = []
            for method in (self.set_header, self.add_header):
                try:
                    method("X-Bad", value)
                except ValueError:
                    refused.append(method.__name__)
            try:
                self.set_header("X-Bad\r\nInjected", "yes")
            except ValueError:
                refused.append("name")
            self.write("refused " + " ".join(refused))

    class UncaughtHandler(RequestHandler):
        def get(self) -> None:
            self.set_header("X-Bad", value)

    with running([("/caught", CaughtHandler), ("/uncaught", UncaughtHandler)]) as server:
        caught = fetch(server, "/caught")
        raw = raw_exchange(server, b"GET /uncaught HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert caught.text == "refused set_header add_header name"
    assert "Injected" not in caught.headers and "X-Bad" not in caught.headers
    status, headers, _ = split_response(raw)
    assert status == "HTTP/1.1 500 Internal Server Error"
    assert b"Injected" not in raw and "x-bad" not in headers


def test_unsafe_reason_redirect_and_non_latin1_values_never_reach_the_client(caplog: pytest.LogCaptureFixture) -> None:
    class UnsafeHandler(RequestHandler):
        def get(self, which: str) -> None:
            if which == "reason":
                self.set_status(200, "OK\r\nX-Injected: yes")
            elif which == "error-reason":
                raise HTTPError(400, reason="Bad\r\nX-Injected: yes")
            elif which == "redirect":
                self.redirect("/next\r\nX-Injected: yes")
            elif which == "latin1":
                try:
                    self.set_header("X-Name", "\u65e5\u672c")
                except ValueError:
                    self.write("refused")
                    return
            self.write("body")

    caplog.set_level(logging.WARNING)
    with running([(r"/(.*)", UnsafeHandler)]) as server:
        # A reason is mended (status kept); a redirect target is the client's error.
        expected = {"/reason": "200 OK??X-Injected: yes", "/error-reason": "400 Bad??X-Injected: yes",
                    "/redirect": "400 Bad Request"}
        for path, status_text in expected.items():
            raw = raw_exchange(server, f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            status, headers, _ = split_response(raw)
            assert status == f"HTTP/1.1 {status_text}", path
            assert "x-injected" not in headers and "location" not in headers
        assert fetch(server, "/latin1").text == "refused"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_head_that_fails_to_serialise_is_a_500_not_a_hang(caplog: pytest.LogCaptureFixture) -> None:
    class SneakyHandler(RequestHandler):
        def get(self) -> None:
            # Bypasses set_header's checks (as code touching Tornado's private
            # _headers does); the server still refuses to write the value.
            self._headers.add("X-Raw", "a\r\nX-Injected: yes")
            self.write("never sent")

    with running([("/", SneakyHandler)]) as server:
        raw = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 500 Internal Server Error"
    assert b"X-Injected" not in raw and b"never sent" not in body
    assert len(app_errors(caplog)) == 1


def test_exception_after_flush_ends_the_stream(caplog: pytest.LogCaptureFixture) -> None:
    class HalfStreamHandler(RequestHandler):
        async def get(self) -> None:
            self.write("partial")
            await self.flush()
            raise RuntimeError("mid-stream")

    with running([("/", HalfStreamHandler)]) as server:
        raw = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        with requests.get(server.url("/"), timeout=10) as response:  # the client is not left hanging
            assert response.status_code == 200
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"  # already sent; Tornado, too, can only end the stream
    assert decode_chunked(body)[0] == b"partial"
    assert len(app_errors(caplog)) == 2  # log_exception, once per request


def test_set_default_headers_apply_to_normal_and_error_pages() -> None:
    class DefaultsHandler(RequestHandler):
        def set_default_headers(self) -> None:
            self.set_header("X-Frame-Options", "DENY")
            self.set_header("Server", "demo")

        def get(self, what: str) -> None:
            if what == "http-error":
                raise HTTPError(403)
            if what == "crash":
                raise RuntimeError("boom")
            self.set_header("X-Only-Here", "1")
            if what == "send-error":
                self.send_error(409)
                return
            self.write("ok")

    with running([(r"/(.*)", DefaultsHandler)]) as server:
        for path, status in [("/ok", 200), ("/http-error", 403), ("/crash", 500), ("/send-error", 409)]:
            response = fetch(server, path)
            assert response.status_code == status
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["Server"] == "demo"
            # send_error() clears what the handler set before the error.
            assert ("X-Only-Here" in response.headers) == (status == 200)


def test_clear_resets_headers_body_and_status() -> None:
    class ClearHandler(RequestHandler):
        def get(self) -> None:
            self.set_status(201)
            self.set_header("X-Before", "1")
            self.write("discarded")
            self.clear()
            self.write("kept")

    with running([("/", ClearHandler)]) as server:
        response = fetch(server, "/")
    assert response.status_code == 200
    assert response.text == "kept"
    assert "X-Before" not in response.headers
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"


def test_redirect_statuses() -> None:
    class RedirectingHandler(RequestHandler):
        def get(self, kind: str) -> None:
            if kind == "temporary":
                self.redirect("/target")
            elif kind == "permanent":
                self.redirect("/target", permanent=True)
            elif kind == "see-other":
                self.redirect("/target?x=1", status=303)
            elif kind == "unicode":
                self.redirect("/caf\u00e9")
            else:
                self.redirect("/target", status=200)

    with running([(r"/r/(.*)", RedirectingHandler)]) as server:
        temporary = fetch(server, "/r/temporary")
        permanent = fetch(server, "/r/permanent")
        see_other = fetch(server, "/r/see-other")
        bad = fetch(server, "/r/not-3xx")
        unicode = fetch(server, "/r/unicode")
    assert (temporary.status_code, temporary.headers["Location"]) == (302, "/target")
    assert (permanent.status_code, permanent.headers["Location"]) == (301, "/target")
    assert (see_other.status_code, see_other.headers["Location"]) == (303, "/target?x=1")
    assert bad.status_code == 500
    assert "Location" not in bad.headers
    assert unicode.status_code == 302


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


def test_missing_argument_is_400_naming_it() -> None:
    class NeedsNameHandler(RequestHandler):
        def get(self) -> None:
            self.write(self.get_argument("name"))

    with running([("/", NeedsNameHandler)]) as server:
        response = fetch(server, "/")
    assert response.status_code == 400
    assert response.reason == "Missing argument name"
    assert "Missing argument name" in response.text
    error = MissingArgumentError("name")
    assert (error.status_code, error.arg_name) == (400, "name")
    assert isinstance(error, HTTPError)


def test_get_argument_family() -> None:
    class ArgsHandler(RequestHandler):
        def post(self) -> None:
            self.write(
                {
                    "a": self.get_argument("a"),
                    "all_a": self.get_arguments("a"),
                    "spaced": self.get_argument("spaced"),
                    "spaced_raw": self.get_argument("spaced", strip=False),
                    "default": self.get_argument("absent", "dflt"),
                    "none_default": self.get_argument("absent", None),
                    "no_values": self.get_arguments("absent"),
                    "query_a": self.get_query_arguments("a"),
                    "body_a": self.get_body_arguments("a"),
                    "query_only": self.get_query_argument("q"),
                    "body_only": self.get_body_argument("b"),
                    "body_missing_q": self.get_body_argument("q", "not in body"),
                    "control": self.get_argument("ctl"),
                    "blank": self.get_argument("blank"),
                }
            )

    with running([("/", ArgsHandler)]) as server:
        response = fetch(
            server,
            "/?a=1&a=2&q=query&spaced=%20x%20&ctl=a%01b&blank=",
            method="POST",
            data={"a": "3", "b": "body"},
        )
    assert response.json() == {
        "a": "3",
        "all_a": ["1", "2", "3"],
        "spaced": "x",
        "spaced_raw": " x ",
        "default": "dflt",
        "none_default": None,
        "no_values": [],
        "query_a": ["1", "2"],
        "body_a": ["3"],
        "query_only": "query",
        "body_only": "body",
        "body_missing_q": "not in body",
        "control": "a b",
        "blank": "",
    }


@pytest.mark.parametrize("getter", ["get_argument", "get_query_argument", "get_body_argument"])
def test_missing_argument_from_each_source_is_400(getter: str) -> None:
    class OneArgHandler(RequestHandler):
        def post(self) -> None:
            self.write(getattr(self, getter)("x"))

    with running([("/", OneArgHandler)]) as server:
        response = fetch(server, "/", method="POST", data={"other": "1"})
    assert response.status_code == 400
    assert response.reason == "Missing argument x"


def test_non_utf8_argument_bytes_answer_400(caplog: pytest.LogCaptureFixture) -> None:
    class ArgHandler(RequestHandler):
        def get(self) -> None:
            self.write(self.get_argument("a"))

        def post(self) -> None:
            self.write(self.get_body_argument("a"))

    with running([("/", ArgHandler)]) as server:
        query = fetch(server, "/?a=%ff")
        body = fetch(
            server, "/", method="POST", data=b"a=%ff", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    assert query.status_code == 400
    assert body.status_code == 400
    assert app_errors(caplog) == []


def test_handler_attributes() -> None:
    class AttributesHandler(RequestHandler):
        def get(self, *args: str, **kwargs: str) -> None:
            self.write(
                {
                    "path_args": self.path_args,
                    "path_kwargs": self.path_kwargs,
                    "uri": self.request.uri,
                    "method": self.request.method,
                    "app": self.application is app,
                    "settings": self.settings["marker"],
                }
            )

    app = Application([(r"/a/(\d+)", AttributesHandler), (r"/k/(?P<id>\d+)", AttributesHandler)], marker="m")
    with serve(app) as server:
        positional = fetch(server, "/a/7?x=1").json()
        named = fetch(server, "/k/8").json()
    assert positional == {
        "path_args": ["7"],
        "path_kwargs": {},
        "uri": "/a/7?x=1",
        "method": "GET",
        "app": True,
        "settings": "m",
    }
    assert named["path_args"] == [] and named["path_kwargs"] == {"id": "8"}


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


def test_on_connection_close_when_the_client_leaves() -> None:
    closed = threading.Event()
    started = threading.Event()
    ended = threading.Event()

    class SlowHandler(RequestHandler):
        def initialize(self) -> None:
            self.gone = asyncio.Event()

        async def get(self) -> None:
            started.set()
            try:
                await asyncio.wait_for(self.gone.wait(), 10 * WAIT)
            finally:
                ended.set()

        def on_connection_close(self) -> None:
            closed.set()
            self.gone.set()

    with running([("/slow", SlowHandler)]) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            assert started.wait(WAIT)
        assert closed.wait(WAIT)
        assert ended.wait(WAIT)


def test_on_connection_close_not_called_for_a_finished_response() -> None:
    closes: list[str] = []
    finished = threading.Event()

    class QuickHandler(RequestHandler):
        def get(self) -> None:
            self.write("quick")

        def on_finish(self) -> None:
            finished.set()

        def on_connection_close(self) -> None:
            closes.append("closed")

    with running([("/", QuickHandler)]) as server:
        raw = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert finished.wait(WAIT)
    assert raw.endswith(b"quick")
    assert closes == []


def test_current_user() -> None:
    class UserHandler(RequestHandler):
        calls = 0

        def get_current_user(self) -> Any:
            type(self).calls += 1
            return self.request.headers.get("X-User")

        def get(self) -> None:
            first = self.current_user
            assert self.current_user == first  # computed once per request
            if self.get_argument("become", None):
                self.current_user = "assigned"
            self.write({"user": self.current_user})

    with running([("/", UserHandler)]) as server:
        assert fetch(server, "/", headers={"X-User": "alice"}).json() == {"user": "alice"}
        assert fetch(server, "/").json() == {"user": None}
        assert fetch(server, "/?become=1").json() == {"user": "assigned"}
    assert UserHandler.calls == 3


def test_locale_from_accept_language_and_override() -> None:
    class LocaleHandler(RequestHandler):
        def get(self) -> None:
            self.write(self.locale.code)

    class UserLocaleHandler(RequestHandler):
        def get_user_locale(self) -> Any:
            return framework.web.Locale("fr_FR")

        def get(self) -> None:
            self.write(self.locale.code)

    with running([("/", LocaleHandler), ("/user", UserLocaleHandler)]) as server:
        assert fetch(server, "/", headers={"Accept-Language": "zh-CN"}).text == "zh_CN"
        assert fetch(server, "/", headers={"Accept-Language": "de;q=0.5, zh-cn;q=0.9"}).text == "zh_CN"
        assert fetch(server, "/", headers={"Accept-Language": "pt-BR,pt;q=0.8"}).text == "pt_BR"
        assert fetch(server, "/").text == "en_US"
        assert fetch(server, "/user", headers={"Accept-Language": "zh-CN"}).text == "fr_FR"


def test_etag_and_if_none_match_give_304_without_body() -> None:
    class EtagHandler(RequestHandler):
        def get(self) -> None:
            self.write("cacheable body")

    with running([("/", EtagHandler)]) as server:
        first = fetch(server, "/")
        etag = first.headers["Etag"]
        again = fetch(server, "/", headers={"If-None-Match": etag})
        listed = fetch(server, "/", headers={"If-None-Match": f'"other", W/{etag}'})
        other = fetch(server, "/", headers={"If-None-Match": '"other"'})
        raw = raw_exchange(
            server, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nIf-None-Match: " + etag.encode() + b"\r\n\r\n"
        )
    assert first.status_code == 200 and etag.startswith('"')
    assert again.status_code == 304 and again.content == b""
    assert again.headers["Etag"] == etag
    assert listed.status_code == 304
    assert other.status_code == 200 and other.text == "cacheable body"
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 304 Not Modified"
    assert body == b""
    # RFC 9110 15.4.5: no Content-Length other than the 200's, no representation headers.
    assert "content-length" not in headers
    assert "content-type" not in headers


def test_compute_etag_override() -> None:
    class NoEtagHandler(RequestHandler):
        def compute_etag(self) -> str | None:
            return None

        def get(self) -> None:
            self.write("x")

    class FixedEtagHandler(RequestHandler):
        def compute_etag(self) -> str | None:
            return '"v1"'

        def get(self) -> None:
            self.write("x")

    with running([("/none", NoEtagHandler), ("/fixed", FixedEtagHandler)]) as server:
        assert "Etag" not in fetch(server, "/none").headers
        assert fetch(server, "/none", headers={"If-None-Match": "*"}).status_code == 200
        assert fetch(server, "/fixed").headers["Etag"] == '"v1"'
        assert fetch(server, "/fixed", headers={"If-None-Match": '"v1"'}).status_code == 304


def test_head_request_gets_headers_without_body() -> None:
    class HeadHandler(RequestHandler):
        def get(self) -> None:
            self.write("twelve bytes")

        head = get

    with running([("/", HeadHandler)]) as server:
        raw = raw_exchange(server, b"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-length"] == "12"
    assert body == b""


def test_stream_request_body_delivers_chunks() -> None:
    @framework.web.stream_request_body
    class UploadHandler(RequestHandler):
        def prepare(self) -> None:
            self.received: list[bytes] = []

        def data_received(self, chunk: bytes) -> None:
            self.received.append(chunk)

        def put(self) -> None:
            body = b"".join(self.received)
            self.write({"size": len(body), "request_body": len(self.request.body), "ok": body == payload})

    payload = bytes(range(256)) * 4096  # 1 MiB

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    with running([("/upload", UploadHandler)]) as server:
        sized = fetch(server, "/upload", method="PUT", data=payload)
        chunked = fetch(server, "/upload", method="PUT", data=chunks())
    assert sized.json() == {"size": len(payload), "request_body": 0, "ok": True}
    assert chunked.json() == {"size": len(payload), "request_body": 0, "ok": True}
    with pytest.raises(TypeError):
        framework.web.stream_request_body(object)  # type: ignore[type-var]


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


# -- RedirectHandler, ErrorHandler ------------------------------------------------


def test_redirect_handler_substitutes_groups_and_keeps_the_query() -> None:
    with running(
        [
            (r"/old/(\d+)/(\w+)", RedirectHandler, {"url": r"/new/\2/\1"}),
            (r"/fmt/(\d+)", RedirectHandler, {"url": "/new/{0}?from=fmt"}),
            (r"/named/(?P<id>\d+)", RedirectHandler, {"url": "/new/{id}"}),
            (r"/temp", RedirectHandler, {"url": "/elsewhere", "permanent": False}),
        ]
    ) as server:
        backref = fetch(server, "/old/5/abc?x=1&y=2")
        formatted = fetch(server, "/fmt/7?x=1")
        named = fetch(server, "/named/9")
        temporary = fetch(server, "/temp")
        head = fetch(server, "/temp", method="HEAD")
    assert (backref.status_code, backref.headers["Location"]) == (301, "/new/abc/5?x=1&y=2")
    assert (formatted.status_code, formatted.headers["Location"]) == (301, "/new/7?from=fmt&x=1")
    assert named.headers["Location"] == "/new/9"
    assert (temporary.status_code, temporary.headers["Location"]) == (302, "/elsewhere")
    assert head.status_code == 302


def test_redirect_handler_never_evaluates_the_request_path_as_a_template() -> None:
    with running(
        [
            (r"/pictures/(.*)", RedirectHandler, {"url": r"/photos/\1"}),
            (r"/fmt/(.*)", RedirectHandler, {"url": "/photos/{0}"}),
            (r"/both/(\w+)/(.*)", RedirectHandler, {"url": r"/x/\1/{1}"}),
        ]
    ) as server:
        for prefix in ("/pictures/", "/fmt/"):
            attack = fetch(server, prefix + "%7B0.__class__%7D")
            braces = fetch(server, prefix + "a%7Bx%7D")
            assert (attack.status_code, attack.headers["Location"]) == (301, "/photos/{0.__class__}")
            assert (braces.status_code, braces.headers["Location"]) == (301, "/photos/a{x}")
        both = fetch(server, "/both/a/%5C1")
    assert both.headers["Location"] == "/x/a/\\1"


def test_error_handler_answers_its_status() -> None:
    with running([("/gone", ErrorHandler, {"status_code": 410})]) as server:
        get = fetch(server, "/gone")
        post = fetch(server, "/gone", method="POST", data={"a": "1"})
    assert get.status_code == 410 and "410: Gone" in get.text
    assert post.status_code == 410


def test_addslash_and_removeslash() -> None:
    class SlashHandler(RequestHandler):
        @framework.web.addslash
        def get(self) -> None:
            self.write("with slash")

        @framework.web.addslash
        def post(self) -> None:
            self.write("posted")

    class NoSlashHandler(RequestHandler):
        @framework.web.removeslash
        def get(self) -> None:
            self.write("without slash")

    with running([(r"/dir/?", SlashHandler), (r"/file/?", NoSlashHandler)]) as server:
        added = fetch(server, "/dir?x=1")
        removed = fetch(server, "/file/?x=1")
        assert fetch(server, "/dir/").text == "with slash"
        assert fetch(server, "/file").text == "without slash"
        assert fetch(server, "/dir", method="POST").status_code == 404
    assert (added.status_code, added.headers["Location"]) == (301, "/dir/?x=1")
    assert (removed.status_code, removed.headers["Location"]) == (301, "/file?x=1")


def test_fallback_handler_hands_over_the_request() -> None:
    from framework.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine

    def legacy_app(request: HTTPServerRequest) -> None:
        body = f"legacy saw {request.method} {request.path}".encode()
        headers = HTTPHeaders({"Content-Length": str(len(body)), "Content-Type": "text/plain"})
        request.connection.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), headers, body)
        request.connection.finish()

    class HelloHandler(RequestHandler):
        def get(self) -> None:
            self.write("native")

    with running(
        [("/native", HelloHandler), (r".*", framework.web.FallbackHandler, {"fallback": legacy_app})]
    ) as server:
        assert fetch(server, "/native").text == "native"
        assert fetch(server, "/old/page").text == "legacy saw GET /old/page"


# -- callback style ----------------------------------------------------------------


def test_asynchronous_decorator_waits_for_finish() -> None:
    events: list[str] = []

    class CallbackHandler(RequestHandler):
        @asynchronous
        def get(self) -> None:
            IOLoop.current().call_later(0.01, self.on_done)
            events.append("get returned")

        def on_done(self) -> None:
            events.append("on_done")
            self.write("done later")
            self.finish()

    with running([("/", CallbackHandler)]) as server:
        response = fetch(server, "/")
    assert response.text == "done later"
    assert events == ["get returned", "on_done"]


def test_asynchronous_on_a_coroutine_finishes_when_it_completes() -> None:
    """Tornado: with a coroutine, ``@asynchronous`` (placed first) is ignored."""

    class LegacyHandler(RequestHandler):
        @asynchronous
        @gen.coroutine
        def get(self) -> Any:
            yield gen.sleep(0.001)
            self.write("legacy pair")  # no finish(): the coroutine's end finishes

    with running([("/", LegacyHandler)]) as server:
        assert fetch(server, "/").text == "legacy pair"


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


# -- public names ----------------------------------------------------------------

EXPECTED_PUBLIC_NAMES = {
    "Application",
    "ErrorHandler",
    "FallbackHandler",
    "Finish",
    "GZipContentEncoding",
    "HTTPError",
    "Locale",
    "MissingArgumentError",
    "OutputTransform",
    "RedirectHandler",
    "RequestHandler",
    "StaticFileHandler",
    "TemplateModule",
    "UIModule",
    "URLSpec",
    "addslash",
    "authenticated",
    "asynchronous",
    "create_signed_value",
    "decode_signed_value",
    "get_signature_key_version",
    "removeslash",
    "stream_request_body",
    "url",
}


def test_public_names_are_exactly_the_expected_ones() -> None:
    assert set(framework.web.__all__) == EXPECTED_PUBLIC_NAMES
    assert len(framework.web.__all__) == len(EXPECTED_PUBLIC_NAMES)
    for name in framework.web.__all__:
        value = getattr(framework.web, name)
        module = importlib.import_module(value.__module__)
        assert getattr(module, value.__name__) is value, name
    namespace: dict[str, Any] = {}
    exec("from framework.web import *", namespace)
    assert EXPECTED_PUBLIC_NAMES <= set(namespace)


def test_web_package_init_only_reexports() -> None:
    """STYLE.md rule 2: a docstring, ``from .x import Name as Name`` lines and ``__all__``."""
    source = pathlib.Path(framework.web.__file__).read_text()
    tree = ast.parse(source)
    reexported = set()
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                assert alias.asname == alias.name, f"line {node.lineno}: re-export as 'import X as X'"
                reexported.add(alias.name)
            continue
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__all__"]:
            continue
        raise AssertionError(f"line {node.lineno}: framework/web/__init__.py must only re-export")
    assert reexported == set(framework.web.__all__)


def test_web_imports_in_a_fresh_interpreter() -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import framework.web; print(len(framework.web.__all__))"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(EXPECTED_PUBLIC_NAMES))


def test_module_as_ui_methods_is_accepted() -> None:
    module = types.ModuleType("my_ui")
    exec("def shout(handler, text):\n    return text.upper()\n_private = lambda handler: 1\n", module.__dict__)
    app = Application([], ui_methods=module)
    assert set(app.ui_methods) == {"shout"}


# -- request ids, cookies a browser may send, output errors ------------------------


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


def test_request_ids_are_off_by_default() -> None:
    with serve(framework.web.Application([(r"/", EchoRequestIdHandler)])) as server:
        response = requests.get(server.url("/"), headers={"X-Request-Id": "abc"})
        assert "X-Request-Id" not in response.headers
        assert response.text == "none"


class CookieReader(framework.web.RequestHandler):
    def get(self) -> None:
        self.write(self.get_cookie("good") or "missing")


def test_cookie_names_simplecookie_refuses_are_skipped() -> None:
    with serve(framework.web.Application([(r"/", CookieReader)])) as server:
        response = requests.get(server.url("/"), headers={"Cookie": "a[b]=1; good=yes; c d=2"})
        assert (response.status_code, response.text) == (200, "yes")


class LyingLengthHandler(framework.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Length", "3")
        self.write("12345")


def test_body_longer_than_content_length_is_a_500_not_an_empty_reply() -> None:
    with serve(framework.web.Application([(r"/", LyingLengthHandler)])) as server:
        response = requests.get(server.url("/"))
        assert response.status_code == 500


class FailingCallbackHandler(framework.web.RequestHandler):
    @framework.web.asynchronous
    def get(self) -> None:
        IOLoop.current().call_later(0.01, self.on_response)

    def on_response(self) -> None:
        raise framework.web.HTTPError(503, "upstream said no")


def test_asynchronous_callback_raising_ends_the_request_with_an_error_page() -> None:
    with serve(framework.web.Application([(r"/", FailingCallbackHandler)])) as server:
        response = requests.get(server.url("/"), timeout=10)
        assert response.status_code == 503
        assert "503: Service Unavailable" in response.text


def test_exception_handler_does_not_leak_to_other_callbacks(caplog: pytest.LogCaptureFixture) -> None:
    from framework.ioloop import run_with_exception_handler

    seen: list[BaseException] = []

    async def main() -> None:
        loop = IOLoop.current()
        done = asyncio.Event()

        def inside() -> None:
            loop.add_callback(lambda: 1 / 0)

        run_with_exception_handler(seen.append, inside)
        loop.add_callback(lambda: [][1])  # scheduled outside: logged, not routed
        loop.add_callback(done.set)
        await done.wait()
        await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, logger="framework.general"):
        asyncio.run(main())
    assert [type(e) for e in seen] == [ZeroDivisionError]
    assert any("IndexError" in (r.exc_text or "") or r.exc_info and r.exc_info[0] is IndexError for r in caplog.records)


# -- hardening (issue 12) -------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["/next\r\nX-Injected: yes", "/next\nX", "/a\x00b", "/a\x01b", "/a\x0bb", "/a\x7fb", "/a\x1b[31m"]
)
def test_redirect_to_a_target_with_a_control_character_is_a_clean_400(
    target: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Input (a path, a next= parameter) reaching redirect(): the client's
    # error, answered 400, with no traceback logged as a 500.
    class Redirecting(RequestHandler):
        def get(self) -> None:
            self.redirect(target)

    caplog.set_level(logging.WARNING)
    with running([("/", Redirecting)]) as server:
        response = fetch(server, "/")
    assert response.status_code == 400 and "Location" not in response.headers
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


def test_redirect_handler_refuses_a_control_character_from_the_path() -> None:
    with running([(r"/old/(.*)", RedirectHandler, {"url": "/new/{0}"})]) as server:
        assert fetch(server, "/old/a%01b").status_code == 400
        assert fetch(server, "/old/a%0d%0aX-Injected:%20yes").status_code == 400
        ok = fetch(server, "/old/a%09b")  # HTAB is allowed in a field value
        assert ok.status_code == 301 and ok.headers["Location"] == "/new/a\tb"


def test_redirect_with_non_ascii_target_is_still_sent_as_utf8() -> None:
    class Redirecting(RequestHandler):
        def get(self) -> None:
            self.redirect("/caf\u00e9/\u6587")

    with running([("/", Redirecting)]) as server:
        raw = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert b"\r\nLocation: /caf\xc3\xa9/\xe6\x96\x87\r\n" in raw


def multipart_body(disposition: str, payload: bytes) -> bytes:
    return (
        b"--b\r\nContent-Disposition: " + disposition.encode("utf-8") + b"\r\n\r\n" + payload + b"\r\n--b--\r\n"
    )


@pytest.mark.parametrize(
    ("disposition", "payload", "status"),
    [
        ('form-data; name="\u6587\u4ef6"', b"x" * (1024 * 1024 + 1), 413),  # a field over the 1 MiB limit
        ("\u4e2d", b"x", 400),  # a Content-Disposition that is not one
    ],
    ids=["field-too-large", "bad-disposition"],
)
def test_input_error_quoting_non_latin1_input_keeps_its_status(
    disposition: str, payload: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    # The error's reason quotes the input; it cannot go out as it is, but the
    # status must (it used to become a 500), before any XSRF check too.
    class Form(RequestHandler):
        def post(self) -> None:
            self.write("never")

    caplog.set_level(logging.WARNING)
    with running([("/", Form)], xsrf_cookies=True) as server:
        response = fetch(
            server, "/", "POST", data=multipart_body(disposition, payload),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
    assert response.status_code == status
    assert "?" in response.reason
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_http_error_with_a_non_latin1_reason_keeps_its_status() -> None:
    class Refusing(RequestHandler):
        def get(self) -> None:
            raise HTTPError(413, reason="field \u6587\u4ef6 too large")

    with running([("/", Refusing)]) as server:
        response = fetch(server, "/")
    assert (response.status_code, response.reason) == (413, "field ?? too large")


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


@pytest.mark.parametrize(
    "value", [{"X-Bad": "a\r\nb"}, {"Bad Name": "x"}, {"X-Num": 3}, ["X-Content-Type-Options"]]
)
def test_invalid_security_headers_setting_fails_at_start_up(value: Any) -> None:
    with pytest.raises(ValueError, match="security_headers|header"):
        Application([], security_headers=value)


def test_absolute_form_request_is_routed_by_its_path_and_takes_its_host() -> None:
    class Where(RequestHandler):
        def get(self) -> None:
            self.write(f"{self.request.host} {self.request.path} {self.get_argument('q')}")

    with running([("/where", Where)]) as server:
        raw = raw_exchange(
            server, b"GET http://real.example/where?q=1 HTTP/1.1\r\nHost: spoofed.example\r\nConnection: close\r\n\r\n"
        )
    status, _, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"
    assert body == b"real.example /where 1"


@framework.web.stream_request_body
class BigUpload(RequestHandler):
    """A streaming upload that raises the server's (buffered) body limit for itself."""

    async def prepare(self) -> None:
        self.request.connection.set_max_body_size(20 * 1024 * 1024)
        self.size = 0

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)

    def put(self) -> None:
        self.write(str(self.size))


class BufferedUpload(RequestHandler):
    def put(self) -> None:
        self.write(str(len(self.request.body)))


def test_default_body_limit_is_for_buffered_bodies_and_a_streaming_handler_raises_it() -> None:
    size = 9 * 1024 * 1024  # over the 8 MiB default
    head = f"PUT /%s HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    with running([("/big", BigUpload), ("/buffered", BufferedUpload)]) as server:
        # Buffered: 413 at once, without inviting the body.
        refused = raw_exchange(server, (head % "buffered").encode())
        assert refused.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in refused
        # Streaming with its own limit: invited, then read whole.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall((head % "big").encode())
            assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(b"z" * size)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    status, _, body = split_response(received)
    assert status == "HTTP/1.1 200 OK" and body == str(size).encode()


class ShortForm(RequestHandler):
    max_body_size = 1024
    calls = 0

    def post(self) -> None:
        ShortForm.calls += 1
        self.write(str(len(self.request.body)))


class LargeBuffered(RequestHandler):
    max_body_size = 64 * 1024

    def post(self) -> None:
        self.write(str(len(self.request.body)))


def test_a_handlers_max_body_size_refuses_a_larger_body_before_reading_it() -> None:
    ShortForm.calls = 0
    big = 5 * 1024 * 1024
    with running([("/form", ShortForm)]) as server:
        assert fetch(server, "/form", "POST", data=b"x" * 1000).text == "1000"
        # Declared over the limit: 413 at once, no 100 Continue, the body never sent.
        head = f"POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: {big}\r\nExpect: 100-continue\r\n\r\n"
        refused = raw_exchange(server, head.encode())
        assert refused.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in refused
        # Chunked, so no length is declared: cut off once 1 KiB has arrived.
        chunked = b"POST /form HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + b"800\r\n" + b"y" * 2048 + b"\r\n0\r\n\r\n"
        assert raw_exchange(server, chunked).startswith(b"HTTP/1.1 413 ")
    assert ShortForm.calls == 1


def test_a_handlers_max_body_size_may_be_larger_than_the_servers() -> None:
    app = Application([("/large", LargeBuffered), ("/form", ShortForm), ("/plain", BufferedUpload)])
    with serve(app, max_body_size=4096) as server:
        assert fetch(server, "/large", "POST", data=b"x" * 32768).text == "32768"
        assert fetch(server, "/form", "POST", data=b"x" * 2048).status_code == 413
        assert fetch(server, "/plain", "PUT", data=b"x" * 8192).status_code == 413  # the server's limit

"""Tests for framework/web/handler.py: what a ``RequestHandler`` writes and how.

``write``/``flush``/``finish`` (str, bytes, dict; chunked streaming), status
and headers (unsafe values refused, never sent), ``clear``, ``current_user``,
etags and 304s, HEAD, ``stream_request_body`` and per-handler body limits, and
the callback style of ``@asynchronous``. The lifecycle around them is in
``test_lifecycle.py``.

Every test declares the handler it exercises right beside it and talks to a
real server (``framework.testing.serve``: an ``HTTPServer`` on an ephemeral
port, its IOLoop in a background thread) with ``requests`` or, where the bytes
on the wire matter (chunked framing, a client that disconnects), a raw socket.
Handlers run on the server's thread, so tests share state with them through
lists and ``threading.Event``; every wait is bounded. Sessions, responses and
sockets are closed before a test ends (warnings are errors).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import threading
from typing import Any

import pytest
import requests

import framework.web
from framework.httputil import HTTPConnection, HTTPHeaders, HTTPServerRequest, ResponseStartLine
from framework.ioloop import IOLoop
from framework.iostream import StreamClosedError
from framework.testing import serve
from framework.web import (
    Application,
    HTTPError,
    RequestHandler,
)
from framework.web.responsehead import DefaultFields
from tests.framework.harness import WAIT, app_errors, decode_chunked, fetch, raw_exchange, running, split_response


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
        raw = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head = raw.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    assert "x-single: two\r\n" in head and "x-single: one" not in head
    assert "x-multi: a\r\n" in head and "x-multi: b\r\n" in head
    assert "x-number: 42\r\n" in head
    assert "x-gone" not in head


def test_a_header_added_to_a_default_one_stays_in_its_own_response() -> None:
    # Every response starts from one shared set of default header lists.
    class AddingHandler(RequestHandler):
        def get(self) -> None:
            self.add_header("Server", "extra")
            self.add_header("X-Content-Type-Options", "again")

    class PlainHandler(RequestHandler):
        def get(self) -> None:
            self.write("plain")

    with running([("/add", AddingHandler), ("/plain", PlainHandler)]) as server:
        added = fetch(server, "/add")
        plain = fetch(server, "/plain")
    assert added.headers["Server"] == "framework, extra"
    assert added.headers["X-Content-Type-Options"] == "nosniff, again"
    assert plain.headers["Server"] == "framework" and plain.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("settings", [{}, {"request_id_header": "X-Request-Id"}], ids=["plain", "request-ids"])
def test_a_handler_holds_no_header_map_until_it_uses_one(settings: dict[str, Any]) -> None:
    # A long poll waits for minutes; its response headers are made when it answers.
    class WaitingHandler(RequestHandler):
        async def get(self) -> None:
            await asyncio.sleep(0)
            made_before = self._header_map is not None
            self.write({"made_before": made_before})

    with running([("/", WaitingHandler)], **settings) as server:
        response = fetch(server, "/", headers={"X-Request-Id": "abc-123"})
    assert response.json() == {"made_before": False}
    if settings:
        assert response.headers["X-Request-Id"] == "abc-123"


def test_the_header_map_holds_the_defaults_when_first_read_and_writes_through() -> None:
    # Tornado's private ``_headers``, which applications read and write all the same.
    class MapHandler(RequestHandler):
        async def get(self) -> None:
            await asyncio.sleep(0)  # the map is made when first used, not with the handler
            seen = {name: self._headers.get(name) for name in ("Server", "Content-Type", "X-Content-Type-Options")}
            self._headers["X-Direct"] = "yes"
            self.write(seen)

    with running([("/", MapHandler)]) as server:
        response = fetch(server, "/")
    assert response.json() == {
        "Server": "framework",
        "Content-Type": "text/html; charset=UTF-8",
        "X-Content-Type-Options": "nosniff",
    }
    assert response.headers["X-Direct"] == "yes" and response.headers["Date"].endswith(" GMT")
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"  # write(dict) set it after


def header_lines(raw: bytes) -> tuple[bytes, list[bytes]]:
    """The status line and the field lines of one raw response, its Date's value left out."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    return status, [b"Date: (now)" if line.startswith(b"Date: ") else line for line in lines] + [b"", body]


def answers_on(port: int, request_line: bytes, paths: tuple[bytes, bytes]) -> list[tuple[bytes, list[bytes]]]:
    """``header_lines`` of the same request (with a request id, then closed) sent to each of two paths."""
    answers = []
    for path in paths:
        line = request_line.replace(paths[0], path)
        raw = raw_exchange(port, line + b"\r\nHost: t\r\nX-Request-Id: r-1\r\nConnection: close\r\n\r\n")
        answers.append(header_lines(raw))
    return answers


@pytest.mark.parametrize(
    ("request_line", "status", "settings"),
    [
        (b"GET /plain HTTP/1.1", 200, {}),
        (b"GET /plain HTTP/1.1", 200, {"request_id_header": "X-Request-Id"}),
        (b"HEAD /plain HTTP/1.1", 200, {}),
        (b"POST /plain HTTP/1.1", 200, {}),
        (b"GET /plain?status=404 HTTP/1.1", 404, {}),
        (b"GET /plain?status=200&reason= HTTP/1.1", 200, {}),  # an empty reason: the status's own phrase
        (b"GET /plain HTTP/1.0", 200, {}),
    ],
)
def test_a_response_that_touches_no_header_is_sent_as_its_header_map_would_be(
    request_line: bytes, status: int, settings: dict[str, Any]
) -> None:
    # The same response twice: on the prepared default fields (no header
    # touched) and through a header map (one default set to what it was).
    class Plain(RequestHandler):
        def get(self) -> None:
            self.set_status(int(self.get_argument("status", "200")), self.get_argument("reason", None))
            self.write("the same body")

        post = get
        head = get

    class Mapped(Plain):
        def prepare(self) -> None:
            self.set_header("Server", "framework")

    with running([("/plain", Plain), ("/mapped", Mapped)], **settings) as server:
        answers = answers_on(server.port, request_line, (b"/plain", b"/mapped"))
    assert answers[0] == answers[1]
    status_line, lines = answers[0]
    assert status_line.startswith(b"HTTP/1.1 %d " % status)
    assert (b"X-Request-Id: r-1" in lines) == bool(settings)
    assert b"Content-Length: 13" in lines and (b"Etag: " in b"".join(lines)) == (status == 200 and b"POST" not in request_line)


@pytest.mark.parametrize(
    ("request_line", "settings"),
    [
        (b"GET /own HTTP/1.1", {}),
        (b"GET /own HTTP/1.1", {"request_id_header": "X-Request-Id"}),
        (b"HEAD /own HTTP/1.1", {}),
        (b"POST /own HTTP/1.1", {}),
        (b"GET /own?status=404 HTTP/1.1", {"request_id_header": "X-Request-Id"}),
        (b"GET /own HTTP/1.0", {}),
        (b"GET /own?type=text/plain HTTP/1.1", {"request_id_header": "X-Request-Id"}),
        (b"HEAD /own?type=application/json HTTP/1.1", {}),
    ],
)
def test_a_handlers_own_fields_are_sent_as_its_header_map_would_send_them(request_line: bytes, settings: dict[str, Any]) -> None:
    # Fields of names the framework does not set itself go out after the
    # prepared defaults, without a header map: the same bytes as through one.
    maps: list[bool] = []

    class Own(RequestHandler):
        def get(self) -> None:
            self.set_status(int(self.get_argument("status", "200")))
            if self.get_argument("type", None):
                self.set_header("Content-Type", self.get_argument("type"))
            self.set_header("Cache-Control", "no-store")
            self.set_header("x-api-KEY", "first")
            self.set_header("X-Count", 3)
            self.set_header("X-API-Key", "second")  # replaces, in its first place
            self.write("the same body")

        def on_finish(self) -> None:
            maps.append(self._header_map is not None)

        post = get
        head = get

    class Mapped(Own):
        def prepare(self) -> None:
            self.set_header("Server", "framework")  # a default's name: the map is made

    with running([("/own", Own), ("/mapped", Mapped)], **settings) as server:
        answers = answers_on(server.port, request_line, (b"/own", b"/mapped"))
    assert answers[0] == answers[1]
    assert maps == [False, True]  # (the first without a map: on the prepared fields)
    lines = answers[0][1]
    own = [line for line in lines if line.startswith((b"Cache-Control", b"X-Api-Key", b"X-Count"))]
    assert own == [b"Cache-Control: no-store", b"X-Api-Key: second", b"X-Count: 3"]


def test_a_json_answer_goes_out_on_prepared_fields_of_its_type_as_a_map_would_send_it() -> None:
    maps: list[bool] = []

    class Json(RequestHandler):
        def get(self) -> None:
            self.write({"answer": 42})

        def on_finish(self) -> None:
            maps.append(self._header_map is not None)

    class Mapped(Json):
        def prepare(self) -> None:
            self.set_header("Server", "framework")

    with running([("/json", Json), ("/mapped", Mapped)]) as server:
        answers = answers_on(server.port, b"GET /json HTTP/1.1", (b"/json", b"/mapped"))
    assert answers[0] == answers[1] and maps == [False, True]
    assert b"Content-Type: application/json; charset=UTF-8" in answers[0][1] and answers[0][1][-1] == b'{"answer": 42}'


def test_content_type_variants_are_kept_for_a_bounded_number_of_types_a_second() -> None:
    defaults = DefaultFields({"server": ["s"], "content-type": ["text/html"], "date": [""]})
    first = defaults.typed("application/json")
    assert first is not None and first is defaults.typed("application/json")
    assert [name for name, _ in first.fields.items()] == ["server", "content-type", "date"]
    assert first.fields["content-type"] == ["application/json"]
    kept = [defaults.typed(f"type/{n}") for n in range(40)]
    assert None in kept  # (beyond the bound: the handler makes a header map)
    fresh = DefaultFields({"server": ["s"], "content-type": ["text/html"], "date": [""]})
    assert fresh.typed("text/plain\r\nInjected: 1") is None  # (never a block: the map's checks refuse it)


def test_own_fields_stay_in_the_header_map_whatever_reads_or_changes_it(caplog: pytest.LogCaptureFixture) -> None:
    seen: dict[str, Any] = {}

    class Changing(RequestHandler):
        def get(self) -> None:
            self.set_header("X-Kept", "1")
            self.set_header("X-Gone", "1")
            self.set_header("X-Twice", "a")
            self.add_header("X-Twice", "b")  # (the map is made here, with the fields set so far)
            self.clear_header("X-Gone")
            self.set_header("X-Request-Id", "mine")  # (a name the framework sets: its value is the handler's)
            self.write("body")

    class Cleared(RequestHandler):
        def get(self) -> None:
            self.set_header("X-Before-Error", "1")
            raise ValueError("boom")  # send_error() clears the headers set so far

    class ReadBack(RequestHandler):
        def get(self) -> None:
            self.set_header("X-Own", "yes")
            self.finish("body")
            seen["after"] = self._headers.get("X-Own")

    with running(
        [("/changing", Changing), ("/cleared", Cleared), ("/read", ReadBack)], request_id_header="X-Request-Id"
    ) as server:
        changing = fetch(server, "/changing")
        cleared = fetch(server, "/cleared")
        read = fetch(server, "/read")
    assert changing.headers["X-Kept"] == "1" and "X-Gone" not in changing.headers
    assert changing.headers["X-Twice"] == "a, b"  # (two lines, joined by requests)
    assert changing.headers["X-Request-Id"] == "mine"
    assert cleared.status_code == 500 and "X-Before-Error" not in cleared.headers
    assert [r.exc_info[1].args for r in app_errors(caplog) if r.exc_info] == [("boom",)]
    assert read.headers["X-Own"] == "yes" and seen["after"] == "yes"


def test_an_own_field_that_could_not_be_sent_is_refused_when_set() -> None:
    handler = RequestHandler(Application(), HTTPServerRequest(uri="/"))
    for name, value in (("X-Bad", "a\r\nInjected: 1"), ("Bad Name", "v"), ("X-Bad", "\u2603")):
        with pytest.raises(ValueError):
            handler.set_header(name, value)
    handler.set_header("X-Fine", "v")
    assert handler._headers["X-Fine"] == "v"


def test_the_header_map_read_after_a_prepared_response_is_what_was_sent() -> None:
    seen: list[dict[str, str]] = []

    class Reader(RequestHandler):
        def get(self) -> None:
            self.finish("body")
            seen.append(dict(self._headers.get_all()))

        def on_finish(self) -> None:
            seen.append(dict(self._headers.get_all()))

    with running([("/", Reader)]) as server:
        response = fetch(server, "/")
    assert len(seen) == 2 and seen[0] == seen[1]
    assert {name: seen[0][name] for name in response.headers} == dict(response.headers)
    assert seen[0]["Etag"] == f'"{hashlib.sha1(b"body").hexdigest()}"' and seen[0]["Content-Length"] == "4"


def test_flush_and_finish_return_futures_as_tornados_do() -> None:
    # Tornado documents both as returning a Future: code hands them to
    # IOLoop.add_future or adds its own done-callback, not only awaits them.
    seen: list[object] = []

    class CallbackHandler(RequestHandler):
        async def get(self) -> None:
            self.write("part;")
            flushed = self.flush()
            seen.append(asyncio.isfuture(flushed))
            done = asyncio.get_running_loop().create_future()
            IOLoop.current().add_future(flushed, lambda future: done.set_result(future.result()))
            await done
            finished = self.finish("end")
            seen.append(asyncio.isfuture(finished))
            finished.add_done_callback(lambda future: seen.append(future.result()))

    with running([("/", CallbackHandler)]) as server:
        assert fetch(server, "/").text == "part;end"
    assert seen == [True, True, None]


def test_a_write_to_a_client_that_left_fails_its_future_and_nothing_is_reported_for_one_not_awaited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[str] = []
    done = threading.Event()

    class LeftBehind(RequestHandler):
        async def get(self) -> None:
            self.request.connection.close()  # type: ignore[union-attr]  # (the client "leaves")
            await asyncio.sleep(0.05)
            self.write("unawaited")
            self.flush()  # never awaited: no "exception never retrieved" when it is collected
            self.write("awaited")
            try:
                await self.flush()
            except StreamClosedError:
                outcomes.append("StreamClosedError")
            done.set()

    with running([("/", LeftBehind)]) as server:
        with pytest.raises(requests.ConnectionError):
            fetch(server, "/")
        assert done.wait(WAIT)
    assert outcomes == ["StreamClosedError"]
    assert "never retrieved" not in caplog.text


def test_finish_calls_a_handlers_own_flush() -> None:
    class Flushing(RequestHandler):
        def get(self) -> None:
            self.write("body")

        def flush(self, include_footers: bool = False) -> Any:
            self.set_header("X-Flushed", "yes")
            return super().flush(include_footers)

    with running([("/", Flushing)]) as server:
        response = fetch(server, "/")
    assert (response.text, response.headers["X-Flushed"]) == ("body", "yes")


def test_a_status_code_is_three_digits() -> None:
    handler = RequestHandler(Application(), HTTPServerRequest(uri="/"))
    for code in (99, 1000, -200):
        with pytest.raises(ValueError):
            handler.set_status(code, "Odd")
    handler.set_status(999, "Odd")
    assert handler.get_status() == 999


def test_clear_after_a_prepared_response_reads_the_defaults_again() -> None:
    seen: list[dict[str, str]] = []

    class Clearing(RequestHandler):
        def get(self) -> None:
            self.finish("body")
            self.clear()
            seen.append(dict(self._headers.get_all()))

    with running([("/", Clearing)]) as server:
        assert fetch(server, "/").headers["Content-Length"] == "4"
    assert "Etag" not in seen[0] and "Content-Length" not in seen[0] and seen[0]["Server"] == "framework"


def test_a_connection_without_prepared_responses_gets_the_header_map() -> None:
    written: list[tuple[ResponseStartLine, dict[str, str], bytes | None]] = []

    class Recording(HTTPConnection):
        def write_headers(self, start_line: ResponseStartLine, headers: HTTPHeaders, chunk: bytes | None = None) -> Any:
            written.append((start_line, dict(headers.get_all()), chunk))

        def finish(self) -> None:
            pass

    request = HTTPServerRequest(method="GET", uri="/", connection=Recording())
    handler = RequestHandler(Application(), request)
    handler.finish("body")
    [(start_line, headers, chunk)] = written
    assert (start_line.code, chunk) == (200, b"body")
    assert headers["Etag"] == f'"{hashlib.sha1(b"body").hexdigest()}"' and headers["Content-Length"] == "4"


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
        raw = raw_exchange(server.port, b"GET /uncaught HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
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
        expected = {
            "/reason": "200 OK??X-Injected: yes",
            "/error-reason": "400 Bad??X-Injected: yes",
            "/redirect": "400 Bad Request",
        }
        for path, status_text in expected.items():
            raw = raw_exchange(server.port, f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
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
        raw = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
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
        raw = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
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
            server.port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nIf-None-Match: " + etag.encode() + b"\r\n\r\n"
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


def test_set_etag_header_overridden_or_called_by_the_handler_sets_the_default_etag() -> None:
    # The default ETag, the body's quoted SHA-1, however it is reached: the
    # inlined path of finish(), a set_etag_header override calling the base's,
    # or a handler calling it itself before finish().
    body = b"tagged body"
    expected = f'"{hashlib.sha1(body).hexdigest()}"'

    class Plain(RequestHandler):
        def get(self) -> None:
            self.write(body)

    class Overriding(RequestHandler):
        def set_etag_header(self) -> None:
            super().set_etag_header()
            self.set_header("X-Etag-Hook", "ran")

        def get(self) -> None:
            self.write(body)

    class Early(RequestHandler):
        def get(self) -> None:
            self.write(body)
            self.set_etag_header()

    with running([("/plain", Plain), ("/overriding", Overriding), ("/early", Early)]) as server:
        plain, overriding, early = (fetch(server, path) for path in ("/plain", "/overriding", "/early"))
        revalidated = fetch(server, "/overriding", headers={"If-None-Match": expected})
    assert plain.headers["Etag"] == overriding.headers["Etag"] == early.headers["Etag"] == expected
    assert overriding.headers["X-Etag-Hook"] == "ran"
    assert revalidated.status_code == 304


def test_head_request_gets_headers_without_body() -> None:
    class HeadHandler(RequestHandler):
        def get(self) -> None:
            self.write("twelve bytes")

        head = get

    with running([("/", HeadHandler)]) as server:
        raw = raw_exchange(server.port, b"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-length"] == "12"
    assert body == b""


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
        refused = raw_exchange(server.port, (head % "buffered").encode())
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
        refused = raw_exchange(server.port, head.encode())
        assert refused.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in refused
        # Chunked, so no length is declared: cut off once 1 KiB has arrived.
        chunked = (
            b"POST /form HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + b"800\r\n" + b"y" * 2048 + b"\r\n0\r\n\r\n"
        )
        assert raw_exchange(server.port, chunked).startswith(b"HTTP/1.1 413 ")
    assert ShortForm.calls == 1


def test_a_handlers_max_body_size_may_be_larger_than_the_servers() -> None:
    app = Application([("/large", LargeBuffered), ("/form", ShortForm), ("/plain", BufferedUpload)])
    with serve(app, max_body_size=4096) as server:
        assert fetch(server, "/large", "POST", data=b"x" * 32768).text == "32768"
        assert fetch(server, "/form", "POST", data=b"x" * 2048).status_code == 413
        assert fetch(server, "/plain", "PUT", data=b"x" * 8192).status_code == 413  # the server's limit


# -- hooks patched onto RequestHandler itself ------------------------------------------
# The base's no-op hooks are skipped per request; one patched onto the class
# (as tracing tools wrap on_finish) is a hook of its own and must still run.


class PlainHandler(RequestHandler):
    def get(self) -> None:
        self.write("ok")


def test_on_finish_patched_onto_the_base_class_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    done = threading.Event()

    def traced_on_finish(self: RequestHandler) -> None:
        seen.append(self.get_status())
        done.set()

    monkeypatch.setattr(RequestHandler, "on_finish", traced_on_finish)
    with running([("/", PlainHandler)]) as server:
        assert fetch(server, "/").status_code == 200
        assert done.wait(WAIT), "the patched on_finish never ran"
    assert seen == [200]


def test_set_default_headers_patched_onto_the_base_class_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def security_headers(self: RequestHandler) -> None:
        self.set_header("X-Frame-Options", "DENY")

    monkeypatch.setattr(RequestHandler, "set_default_headers", security_headers)
    with running([("/", PlainHandler)]) as server:
        assert fetch(server, "/").headers.get("X-Frame-Options") == "DENY"


def test_check_etag_header_patched_onto_the_base_class_runs_without_if_none_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def always_matches(self: RequestHandler) -> bool:
        return True

    monkeypatch.setattr(RequestHandler, "check_etag_header", always_matches)
    with running([("/", PlainHandler)]) as server:
        assert fetch(server, "/").status_code == 304


def test_prepare_patched_onto_the_base_class_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare(self: RequestHandler) -> None:
        self.finish("from the patched prepare")

    monkeypatch.setattr(RequestHandler, "prepare", prepare)
    with running([("/", PlainHandler)]) as server:
        assert fetch(server, "/").text == "from the patched prepare"


def test_prepare_patched_onto_the_lifecycle_mixin_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from framework.web.lifecycle import LifecycleMixin

    def prepare(self: RequestHandler) -> None:
        self.finish("from the mixin's patched prepare")

    monkeypatch.setattr(LifecycleMixin, "prepare", prepare)
    with running([("/", PlainHandler)]) as server:
        assert fetch(server, "/").text == "from the mixin's patched prepare"


def test_initialize_patched_onto_the_base_class_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(RequestHandler, "initialize", lambda self: seen.append("initialize"))
    with running([("/", PlainHandler)]) as server:
        assert fetch(server, "/").status_code == 200
    assert seen == ["initialize"]


def test_create_template_loader_patched_onto_the_mixin_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from framework import template
    from framework.web.rendering import TemplateMixin

    (tmp_path / "page.html").write_text("jinja {{ 1 + 1 }}")

    def loader(self: RequestHandler, path: str) -> template.BaseLoader:
        return template.DictLoader({"page.html": "own loader {{ 1 + 1 }}"})

    monkeypatch.setattr(TemplateMixin, "create_template_loader", loader)

    class Page(RequestHandler):
        def get(self) -> None:
            self.render("page.html")

    with running([("/", Page)], template_path=str(tmp_path)) as server:
        assert fetch(server, "/").text == "own loader 2"

"""``framework.wsgi.WSGIContainer``: WSGI applications behind ``HTTPServer`` and ``FallbackHandler``."""

from __future__ import annotations

import concurrent.futures
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from framework.testing import serve
from framework.web import Application, FallbackHandler, RequestHandler
from framework.wsgi import WSGIContainer

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def echo_environ(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Answers with the environ's interesting keys as JSON."""
    keys = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
            "SERVER_PROTOCOL", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_X_TOKEN", "REMOTE_ADDR",
            "wsgi.url_scheme", "wsgi.multithread")  # fmt: skip
    seen = {key: environ.get(key) for key in keys}
    seen["body"] = environ["wsgi.input"].read().decode()
    seen["thread"] = threading.current_thread().name
    start_response("200 OK", [("Content-Type", "application/json"), ("X-App", "wsgi")])
    return [json.dumps(seen).encode()]


def fetch(url: str, method: str = "GET", **kwargs: Any) -> requests.Response:
    return requests.request(method, url, timeout=10, **kwargs)


def test_http_server_runs_a_wsgi_application() -> None:
    with serve(WSGIContainer(echo_environ)) as server:
        response = fetch(server.url("/caf%C3%A9/x?a=1&b=2"), "POST", data=b"payload",
                         headers={"X-Token": "t", "Content-Type": "text/plain"})  # fmt: skip
    assert response.status_code == 200
    assert response.headers["X-App"] == "wsgi" and response.headers["Content-Type"] == "application/json"
    seen = response.json()
    assert seen["REQUEST_METHOD"] == "POST"
    assert seen["PATH_INFO"] == "/caf\u00c3\u00a9/x"  # PEP 3333: the bytes, as latin-1
    assert seen["QUERY_STRING"] == "a=1&b=2"
    assert seen["SERVER_NAME"] == "127.0.0.1" and seen["SERVER_PORT"] == str(server.port)
    assert seen["SERVER_PROTOCOL"] == "HTTP/1.1" and seen["wsgi.url_scheme"] == "http"
    assert seen["CONTENT_TYPE"] == "text/plain" and seen["CONTENT_LENGTH"] == "7"
    assert seen["HTTP_X_TOKEN"] == "t" and seen["REMOTE_ADDR"] == "127.0.0.1"
    assert seen["body"] == "payload"
    assert seen["wsgi.multithread"] is False


def test_executor_runs_the_application_off_the_loop() -> None:
    pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="wsgi-worker")
    with pool, serve(WSGIContainer(echo_environ, executor=pool)) as server:
        seen = fetch(server.url("/")).json()
    assert seen["thread"].startswith("wsgi-worker")
    assert seen["wsgi.multithread"] is True


def test_a_multipart_body_reaches_the_application_unparsed() -> None:
    with serve(WSGIContainer(echo_environ)) as server:
        seen = fetch(server.url("/"), "POST", files={"f": ("a.txt", b"data")}).json()
    assert seen["CONTENT_TYPE"].startswith("multipart/form-data; boundary=")
    assert 'filename="a.txt"' in seen["body"]


class ClosingBody:
    """A response iterable with ``close``, which PEP 3333 says the server must call."""

    closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield b"one "
        yield b""
        yield b"two"

    def close(self) -> None:
        ClosingBody.closed = True


def test_iterable_responses_write_and_close() -> None:
    def app(environ: Environ, start_response: StartResponse) -> ClosingBody:
        write = start_response("201 Created", [])
        write(b"written ")
        return ClosingBody()

    with serve(WSGIContainer(app)) as server:
        response = fetch(server.url("/"))
    assert (response.status_code, response.reason, response.text) == (201, "Created", "written one two")
    assert response.headers["Content-Length"] == str(len("written one two"))
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert ClosingBody.closed


def test_head_and_304_have_no_body() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        status = "304 Not Modified" if environ["PATH_INFO"] == "/cached" else "200 OK"
        start_response(status, [("ETag", '"x"')])
        return [] if status.startswith("304") else [b"body"]

    with serve(WSGIContainer(app)) as server:
        head = fetch(server.url("/"), "HEAD")
        cached = fetch(server.url("/cached"))
    assert head.status_code == 200 and head.content == b"" and head.headers["Content-Length"] == "4"
    assert cached.status_code == 304 and "Content-Length" not in cached.headers


@pytest.mark.parametrize("kind", ["raises", "no start_response", "bad header"])
def test_application_errors_are_a_500(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        if kind == "raises":
            raise RuntimeError("boom")
        if kind == "bad header":
            start_response("200 OK", [("X-Bad", "a\r\nInjected: yes")])
        return [b"never"]

    with serve(WSGIContainer(app)) as server:
        response = fetch(server.url("/"))
        again = fetch(server.url("/"))  # the server is still serving
    assert response.status_code == 500 and again.status_code == 500
    assert "Injected" not in response.headers
    assert "WSGI application" in caplog.text


class NativeHandler(RequestHandler):
    def get(self) -> None:
        self.write("native")


def test_fallback_handler_hands_other_paths_to_wsgi() -> None:
    container = WSGIContainer(echo_environ)
    app = Application([("/native", NativeHandler), (r".*", FallbackHandler, {"fallback": container})])
    with serve(app) as server:
        assert fetch(server.url("/native")).text == "native"
        seen = fetch(server.url("/flask/page?q=1"), "POST", data=b"form=1").json()
        assert fetch(server.url("/native")).text == "native"  # keep-alive went on
    assert seen["PATH_INFO"] == "/flask/page" and seen["QUERY_STRING"] == "q=1"
    assert seen["body"] == "form=1"

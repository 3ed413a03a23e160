"""Every example of the source tutorial (../shared/seed), run with `tornado` -> `framework`.

Complete programs live in ``seed_examples/`` and run as real processes on the
ports the tutorial gives them; fragments are assembled here around the
tutorial's own classes and served on an ephemeral port.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import framework.escape
import framework.gen
import framework.httpclient
import framework.web
from framework.testing import serve
from framework.web import Application, RequestHandler, url

EXAMPLES = Path(__file__).parent / "seed_examples"
REPO = Path(__file__).resolve().parents[2]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"example exited early: {proc.stderr.read().decode() if proc.stderr else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"example did not listen on port {port}")


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def run_example(name: str, port: int, *args: str) -> Iterator[str]:
    """Run ``seed_examples/<name>`` as ``__main__``; yield its base URL; stop it."""
    assert _port_is_free(port), f"port {port}, which the tutorial's example uses, is taken"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / name), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def test_first_program_says_hello_world(session: requests.Session) -> None:
    for base in run_example("first_program.py", 8000):
        response = session.get(base + "/")
        assert response.status_code == 200
        assert response.text == "Hello world!"
        assert session.post(base + "/").status_code == 405


def test_make_app_hello_world(session: requests.Session) -> None:
    for base in run_example("make_app.py", 8888):
        assert session.get(base + "/").text == "Hello, world"


def test_options_url_reverse_url_and_initialize(session: requests.Session) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for base in run_example("options_and_urls.py", port, f"--port={port}"):
        assert session.get(base + "/").text == '<a href="/cpp">cpp</a>'
        assert session.get(base + "/Python").text == "python"
        assert session.get(base + "/cpp").text == "cpp"


def test_options_help_lists_the_port_option() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "options_and_urls.py"), "--help"],
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert "--port" in (result.stdout + result.stderr).decode()


# -- fragments of the tutorial, around its own classes ----------------------------


class MainHandler(RequestHandler):
    def get(self):  # type: ignore[no-untyped-def]
        self.write('<a href="%s">link to story 1</a>' % self.reverse_url("story", "1"))


class StoryHandler(RequestHandler):
    def initialize(self, db):  # type: ignore[no-untyped-def]
        self.db = db

    def get(self, story_id):  # type: ignore[no-untyped-def]
        self.write("this is story %s" % story_id)


def test_story_routes_and_reverse_url(session: requests.Session) -> None:
    db: dict[str, str] = {}
    app = Application([url(r"/", MainHandler), url(r"/story/([0-9]+)", StoryHandler, dict(db=db), name="story")])
    with serve(app) as server:
        assert session.get(server.url("/")).text == '<a href="/story/1">link to story 1</a>'
        assert session.get(server.url("/story/1")).text == "this is story 1"
        assert session.get(server.url("/story/x")).status_code == 404


class MyFormHandler(framework.web.RequestHandler):
    def get(self):  # type: ignore[no-untyped-def]
        self.write(
            '<html><body><form action="/myform" method="POST">'
            '<input type="text" name="message">'
            '<input type="submit" value="Submit">'
            "</form></body></html>"
        )

    def post(self):  # type: ignore[no-untyped-def]
        self.set_header("Content-Type", "text/plain")
        self.write("You wrote " + self.get_body_argument("message"))


def test_form_get_and_post(session: requests.Session) -> None:
    with serve(Application([(r"/myform", MyFormHandler)])) as server:
        page = session.get(server.url("/myform"))
        assert '<input type="text" name="message">' in page.text
        posted = session.post(server.url("/myform"), data={"message": "你好 world"})
        assert posted.headers["Content-Type"] == "text/plain"
        assert posted.content.decode("utf-8") == "You wrote 你好 world"
        missing = session.post(server.url("/myform"), data={})
        assert missing.status_code == 400
        assert "message" in missing.text


class JSONHandler(RequestHandler):
    def prepare(self):  # type: ignore[no-untyped-def]
        if self.request.headers["Content-Type"].startswith("application/json"):
            self.json_args = json.loads(self.request.body)
        else:
            self.json_args = None

    def post(self):  # type: ignore[no-untyped-def]
        self.write({"received": self.json_args})


def test_prepare_parses_json_body(session: requests.Session) -> None:
    with serve(Application([(r"/api", JSONHandler)])) as server:
        response = session.post(server.url("/api"), json={"a": [1, 2]})
        assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
        assert response.json() == {"received": {"a": [1, 2]}}
        form = session.post(server.url("/api"), data={"a": "1"})
        assert form.json() == {"received": None}


def test_redirect_handler_static_target(session: requests.Session) -> None:
    app = framework.web.Application(
        [
            url(r"/app", framework.web.RedirectHandler, dict(url="http://itunes.apple.com/my-app-id")),
        ]
    )
    with serve(app) as server:
        response = session.get(server.url("/app"), allow_redirects=False)
        assert response.status_code == 301
        assert response.headers["Location"] == "http://itunes.apple.com/my-app-id"


class MyPhotoHandler(RequestHandler):
    def get(self, path):  # type: ignore[no-untyped-def]
        self.write("photo " + path)


def test_redirect_handler_regex_substitution(session: requests.Session) -> None:
    app = framework.web.Application(
        [
            url(r"/photos/(.*)", MyPhotoHandler),
            url(r"/pictures/(.*)", framework.web.RedirectHandler, dict(url=r"/photos/\1")),
        ]
    )
    with serve(app) as server:
        response = session.get(server.url("/pictures/cat.jpg"), allow_redirects=False)
        assert response.status_code == 301
        assert response.headers["Location"] == "/photos/cat.jpg"
        assert session.get(server.url("/pictures/cat.jpg")).text == "photo cat.jpg"


class PostRedirectHandler(RequestHandler):
    def post(self):  # type: ignore[no-untyped-def]
        self.redirect("/done")

    def get(self):  # type: ignore[no-untyped-def]
        self.redirect("/canonical", permanent=True)


def test_redirect_temporary_and_permanent(session: requests.Session) -> None:
    with serve(Application([(r"/r", PostRedirectHandler)])) as server:
        posted = session.post(server.url("/r"), allow_redirects=False)
        assert (posted.status_code, posted.headers["Location"]) == (302, "/done")
        got = session.get(server.url("/r"), allow_redirects=False)
        assert (got.status_code, got.headers["Location"]) == (301, "/canonical")


class NotFoundHandler(RequestHandler):
    def prepare(self):  # type: ignore[no-untyped-def]
        raise framework.web.HTTPError(404)

    def write_error(self, status_code, **kwargs):  # type: ignore[no-untyped-def]
        self.write("custom %d page" % status_code)


class FailingHandler(RequestHandler):
    def get(self):  # type: ignore[no-untyped-def]
        raise ValueError("boom")

    def write_error(self, status_code, **kwargs):  # type: ignore[no-untyped-def]
        exc_type = kwargs["exc_info"][0].__name__
        self.write("error %d from %s" % (status_code, exc_type))


class FinishingHandler(RequestHandler):
    def get(self):  # type: ignore[no-untyped-def]
        self.set_status(418, "I'm a teapot")
        self.write("short and stout")
        raise framework.web.Finish()


def test_error_handling_section(session: requests.Session) -> None:
    app = Application(
        [(r"/fail", FailingHandler), (r"/teapot", FinishingHandler)],
        default_handler_class=NotFoundHandler,
    )
    with serve(app) as server:
        missing = session.delete(server.url("/nowhere"))
        assert (missing.status_code, missing.text) == (404, "custom 404 page")
        failed = session.get(server.url("/fail"))
        assert (failed.status_code, failed.text) == (500, "error 500 from ValueError")
        teapot = session.get(server.url("/teapot"))
        assert (teapot.status_code, teapot.text) == (418, "short and stout")


class PlainFailingHandler(RequestHandler):
    def get(self):  # type: ignore[no-untyped-def]
        raise ValueError("secret detail")


def test_default_error_pages(session: requests.Session) -> None:
    with serve(Application([(r"/fail", PlainFailingHandler)])) as server:
        missing = session.get(server.url("/nothing-here"))
        assert missing.status_code == 404
        assert "404: Not Found" in missing.text
        failed = session.get(server.url("/fail"))
        assert failed.status_code == 500
        assert "500: Internal Server Error" in failed.text
        assert "secret detail" not in failed.text


class CoroutineHandler(RequestHandler):
    @framework.gen.coroutine
    def get(self):  # type: ignore[no-untyped-def]
        yield framework.gen.sleep(0.01)
        self.write("slept")


def test_gen_coroutine_handler_finishes_when_coroutine_returns(session: requests.Session) -> None:
    with serve(Application([(r"/", CoroutineHandler)])) as server:
        assert session.get(server.url("/")).text == "slept"


# -- the two AsyncHTTPClient examples ------------------------------------------------
# The tutorial fetches FriendFeed's API; there is no network here, so a local
# handler serves a feed of the same shape and FEED_URL points at it. The
# handlers are otherwise the tutorial's, `tornado` -> `framework`.

FEED_URL = "http://127.0.0.1:0/v2/feed/bret"


class FeedHandler(RequestHandler):
    def get(self):  # type: ignore[no-untyped-def]
        self.write({"entries": [{"id": i} for i in range(3)]})


class CallbackMainHandler(framework.web.RequestHandler):
    @framework.web.asynchronous
    def get(self):  # type: ignore[no-untyped-def]
        http = framework.httpclient.AsyncHTTPClient()
        http.fetch(FEED_URL, callback=self.on_response)

    def on_response(self, response):  # type: ignore[no-untyped-def]
        if response.error:
            raise framework.web.HTTPError(500)
        json = framework.escape.json_decode(response.body)
        self.write("Fetched " + str(len(json["entries"])) + " entries from the FriendFeed API")
        self.finish()


class CoroutineMainHandler(framework.web.RequestHandler):
    @framework.gen.coroutine
    def get(self):  # type: ignore[no-untyped-def]
        http = framework.httpclient.AsyncHTTPClient()
        response = yield http.fetch(FEED_URL)
        json = framework.escape.json_decode(response.body)
        self.write("Fetched " + str(len(json["entries"])) + " entries from the FriendFeed API")


@pytest.fixture
def feed_url() -> Iterator[str]:
    global FEED_URL
    with serve(Application([(r"/v2/feed/bret", FeedHandler)])) as feed:
        FEED_URL = feed.url("/v2/feed/bret")
        yield FEED_URL
        FEED_URL = "http://127.0.0.1:0/v2/feed/bret"


@pytest.mark.parametrize("handler", [CallbackMainHandler, CoroutineMainHandler])
def test_async_http_client_examples(feed_url: str, handler: type[RequestHandler], session: requests.Session) -> None:
    with serve(Application([(r"/", handler)])) as server:
        response = session.get(server.url("/"), timeout=20)
        assert response.status_code == 200
        assert response.text == "Fetched 3 entries from the FriendFeed API"


def test_callback_example_turns_a_failed_fetch_into_a_500(session: requests.Session) -> None:
    global FEED_URL
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        FEED_URL = f"http://127.0.0.1:{sock.getsockname()[1]}/v2/feed/bret"  # nothing listens
    try:
        with serve(Application([(r"/", CallbackMainHandler)])) as server:
            assert session.get(server.url("/"), timeout=20).status_code == 500
    finally:
        FEED_URL = "http://127.0.0.1:0/v2/feed/bret"

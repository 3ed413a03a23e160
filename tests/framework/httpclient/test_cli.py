"""``python -m framework.httpclient``: fetch from the shell and print what came back (Tornado's ``httpclient.main``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from framework.testing import serve
from framework.web import Application, RequestHandler

REPO = Path(__file__).resolve().parents[3]


class Page(RequestHandler):
    def get(self) -> None:
        self.set_header("X-Answer", "42")
        self.write("hello from the page")


class Missing(RequestHandler):
    def get(self) -> None:
        self.set_status(404)
        self.write("nothing here")


class Moved(RequestHandler):
    def get(self) -> None:
        self.redirect("/page")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framework.httpclient", *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_prints_headers_and_bodies_of_every_url_and_follows_redirects() -> None:
    with serve(Application([("/page", Page), ("/missing", Missing), ("/moved", Moved)])) as server:
        result = run("--print_headers", server.url("/moved"), server.url("/missing"))
        not_followed = run("--follow_redirects=false", "--print_body=false", "--print_headers", server.url("/moved"))
    assert result.returncode == 0, result.stderr
    page, missing = result.stdout.split("HTTP/1.1 ")[1:]
    assert page.startswith("200 OK") and "X-Answer: 42" in page and page.rstrip().endswith("hello from the page")
    assert missing.startswith("404 Not Found") and missing.rstrip().endswith("nothing here")  # an error still prints
    assert not_followed.returncode == 0 and not_followed.stdout.startswith("HTTP/1.1 302 Found")
    assert "Location: /page" in not_followed.stdout and "hello" not in not_followed.stdout


def test_no_url_and_a_proxy_are_refused_with_a_message() -> None:
    assert "usage: python -m framework.httpclient" in run().stderr
    refused = run("--proxy_host=127.0.0.1", "http://127.0.0.1:9/")
    assert refused.returncode == 1 and "proxies are not supported" in refused.stderr

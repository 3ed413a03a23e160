"""The portal in-process on an ephemeral port, and alone as ``python -m services.portal``."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from framework.lifecycle import Lifecycle
from framework.testing import ServerThread, serve
from services.catalog import DEMOS
from services.common.app import normalize_prefix, prefixed
from services.common.run import _metrics_port
from services.portal.app import make_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def portal() -> Iterator[ServerThread]:
    with serve(make_app()) as server:
        yield server


def test_landing_page_lists_every_demo(portal: ServerThread) -> None:
    page = requests.get(portal.url("/"))
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=UTF-8"
    for demo in DEMOS:
        assert f'id="demo-{demo.name}"' in page.text
        assert demo.summary in html.unescape(page.text)


def test_every_demo_card_links_its_prefix(portal: ServerThread) -> None:
    page = requests.get(portal.url("/")).text
    cards = {}
    for piece in page.split('<li class="card')[1:]:
        name = re.search(r'id="demo-([a-z]+)"', piece)
        assert name is not None
        cards[name.group(1)] = piece
    assert set(cards) == {demo.name for demo in DEMOS}
    for demo in DEMOS:
        assert f'href="{demo.prefix}"' in cards[demo.name]
        assert demo.title in cards[demo.name]


def test_every_link_on_the_portal_resolves(portal: ServerThread) -> None:
    page = requests.get(portal.url("/")).text
    for href in set(re.findall(r'href="([^"]+)"', page)):
        if href.startswith("/") and not any(href.startswith(d.prefix) for d in DEMOS):
            assert requests.get(portal.url(href)).status_code == 200, href


def test_healthz_reports_draining() -> None:
    lifecycle = Lifecycle()
    with serve(make_app(lifecycle=lifecycle)) as server:
        assert requests.get(server.url("/healthz")).text == "ok\n"
        lifecycle.begin_drain()
        response = requests.get(server.url("/healthz"))
        assert (response.status_code, response.text) == (503, "draining\n")


def test_not_found_page_in_the_suite_style(portal: ServerThread) -> None:
    response = requests.post(portal.url("/no/such/page"))
    assert response.status_code == 404
    assert "404" in response.text
    assert "suite.css" in response.text
    assert "Back to the demos" in response.text


def test_request_id_is_echoed(portal: ServerThread) -> None:
    response = requests.get(portal.url("/"), headers={"X-Request-Id": "portal-test-1"})
    assert response.headers["X-Request-Id"] == "portal-test-1"
    assert "portal-test-1" in response.text


def test_urls_honour_the_prefix() -> None:
    with serve(make_app(prefix="/portal/")) as server:
        page = requests.get(server.url("/portal/"))
        assert page.status_code == 200
        assert 'href="/portal/shared/suite.css?v=' in page.text
        assert requests.get(server.url("/portal/shared/suite.css")).status_code == 200
        assert requests.get(server.url("/portal/healthz")).status_code == 200
        assert requests.get(server.url("/")).status_code == 404


def test_prefix_helpers() -> None:
    assert [normalize_prefix(p) for p in ("", "/", "forms", "/forms", "/forms/")] == ["/", "/", "/forms/", "/forms/", "/forms/"]
    assert prefixed("/forms/", [(r"/", object)]) == [(r"/forms/", object)]


@contextlib.contextmanager
def portal_alone(*args: str) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """``python -m services.portal ARGS`` on a free port, until it answers /healthz; killed if still up.

    No metrics listener unless ARGS ask for one: its default port (--port + 1000) may be taken.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    if not any(arg.startswith("--metrics_port") for arg in args):
        args = (*args, "--metrics_port=0")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.portal", f"--port={port}", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise AssertionError("portal did not start")
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, wait for the drain; the process's output."""
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    return out


def test_runs_alone_and_exits_zero_on_sigterm() -> None:
    with portal_alone() as (port, proc):
        requests.get(f"http://127.0.0.1:{port}/missing", timeout=5)
        out = stop(proc)
    assert "GET /healthz" in out  # alone, every request is logged
    assert "404 GET /missing" in out
    assert "drained" in out


def test_several_processes_serve_one_port_and_drain_together() -> None:
    with portal_alone("--processes=2") as (port, proc):
        for _ in range(20):  # fresh connections: the kernel hands them to either child
            assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
        out = stop(proc)
    assert "[0] " in out and "[1] " in out  # each child logs under its task id
    assert out.count("drained") == 2
    assert "SIGTERM received: stopping 2 processes" in out


def test_without_the_access_log_only_errors_are_logged() -> None:
    with portal_alone("--access_log=false") as (port, proc):
        requests.get(f"http://127.0.0.1:{port}/missing", timeout=5)
        out = stop(proc)
    assert "GET /healthz" not in out
    assert "404 GET /missing" in out


def test_json_log_format_writes_one_object_per_line() -> None:
    with portal_alone("--log_format=json") as (port, proc):
        requests.get(f"http://127.0.0.1:{port}/missing?token=secret", headers={"X-Request-Id": "json-1"}, timeout=5)
        out = stop(proc)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "framework.access" and line["path"] == "/missing"]
    assert len(access) == 1
    entry = access[0]
    assert entry["status"] == 404 and entry["method"] == "GET" and entry["request_id"] == "json-1"
    assert entry["client"] == "127.0.0.1" and entry["duration_ms"] >= 0 and entry["service"] == "portal"
    assert entry["time"].endswith("Z")
    assert "secret" not in json.dumps(entry["path"])  # the query stays out of the structured path
    assert any("drained" in line["message"] for line in lines)


def test_an_unknown_log_format_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.portal", "--port=0", "--log_format=xml"],
        check=False, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    assert "--log_format must be one of text, json" in result.stderr


def test_the_metrics_port_defaults_to_the_port_plus_1000() -> None:
    assert _metrics_port(8001, None) == 9001
    assert _metrics_port(8001, 0) == 0
    assert _metrics_port(8001, 9100) == 9100
    assert _metrics_port(0, None) == 0  # an ephemeral port: no guess
    with pytest.raises(SystemExit):
        _metrics_port(65000, None)


def shown_address(port: int, headers: dict[str, str]) -> str:
    page = requests.get(f"http://127.0.0.1:{port}/", headers=headers, timeout=5).text
    found = re.search(r"Your address</span><span><code>([^<]*)</code>", page)
    assert found is not None
    return found.group(1)


def test_x_headers_are_believed_only_from_trusted_proxies() -> None:
    forged = {"X-Real-Ip": "203.0.113.7", "X-Forwarded-For": "203.0.113.7"}
    with portal_alone("--xheaders") as (port, proc):  # trusts nobody: the headers are ignored
        assert shown_address(port, forged) == "127.0.0.1"
        stop(proc)
    with portal_alone("--xheaders", "--trusted_proxies=10.0.0.0/8,127.0.0.1") as (port, proc):
        assert shown_address(port, forged) == "203.0.113.7"
        stop(proc)
    with portal_alone() as (port, proc):  # off by default
        assert shown_address(port, forged) == "127.0.0.1"
        stop(proc)


def test_sleep_answers_concurrently(portal: ServerThread) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: requests.get(portal.url("/sleep?ms=200"), timeout=10), range(3)))
    assert [r.status_code for r in responses] == [200] * 3
    assert all(r.text.startswith("slept 200 ms") for r in responses)


@pytest.mark.parametrize("ms", ["-1", "abc", "999999"])
def test_sleep_refuses_bad_durations(portal: ServerThread, ms: str) -> None:
    assert requests.get(portal.url(f"/sleep?ms={ms}")).status_code == 400

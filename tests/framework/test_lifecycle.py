"""Graceful shutdown: a real process, a real signal, requests in flight."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.framework.harness import free_port

REPO = Path(__file__).resolve().parents[2]

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from framework.httpserver import HTTPServer
    from framework.lifecycle import Lifecycle, serve_forever
    from framework.web import Application, RequestHandler

    lifecycle = Lifecycle()
    drained = []
    lifecycle.on_drain(lambda: drained.append(True))

    in_flight = []

    class Slow(RequestHandler):
        async def get(self):
            in_flight.append(self)
            await asyncio.sleep(float(self.get_argument("s", "1")))
            self.write("finished after drain=%s" % lifecycle.draining)

    class InFlight(RequestHandler):
        def get(self):
            self.write(str(len(in_flight)))

    class Health(RequestHandler):
        def get(self):
            self.set_status(503 if lifecycle.draining else 200)

    server = HTTPServer(Application([(r"/slow", Slow), (r"/health", Health), (r"/in-flight", InFlight)]))
    server.listen(int(sys.argv[1]), "127.0.0.1")
    print("ready", flush=True)
    reports = serve_forever([server], lifecycle=lifecycle, drain_timeout=float(sys.argv[2]))
    print("report", reports[0].idle_closed, reports[0].finished, reports[0].aborted, drained, flush=True)
    sys.exit(1 if reports[0].aborted else 0)
    """
)


def start(tmp_path: Path, drain_timeout: float) -> tuple[subprocess.Popen[str], int]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port), str(drain_timeout)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc, port


def wait_until_in_flight(port: int, count: int) -> None:
    """Poll (bounded) until ``count`` slow requests are inside their handler."""
    deadline = time.monotonic() + 15
    with requests.Session() as session:
        while time.monotonic() < deadline:
            if int(session.get(f"http://127.0.0.1:{port}/in-flight").text) >= count:
                return
            time.sleep(0.02)
    raise AssertionError("slow requests never started")


def test_sigterm_finishes_in_flight_requests_and_exits_zero(tmp_path: Path) -> None:
    proc, port = start(tmp_path, drain_timeout=10)
    base = f"http://127.0.0.1:{port}"
    try:
        idle = requests.Session()
        assert idle.get(base + "/health").status_code == 200  # leaves an idle keep-alive connection
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(requests.get, base + "/slow?s=1", timeout=20) for _ in range(4)]
            wait_until_in_flight(port, 4)
            proc.send_signal(signal.SIGTERM)
            responses = [f.result() for f in futures]
        assert [r.status_code for r in responses] == [200] * 4
        assert all(r.text == "finished after drain=True" for r in responses)
        assert all(r.headers.get("Connection") == "close" for r in responses)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "report 1 4 0 [True]" in out
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0  # no longer accepting
        idle.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_drain_timeout_aborts_requests_that_never_finish(tmp_path: Path) -> None:
    proc, port = start(tmp_path, drain_timeout=0.5)
    base = f"http://127.0.0.1:{port}"
    try:
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(requests.get, base + "/slow?s=30", timeout=20)
            wait_until_in_flight(port, 1)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
            try:
                future.result()
                raise AssertionError("the aborted request got a response")
            except requests.ConnectionError:
                pass
        assert proc.returncode == 1
        assert "report 0 0 1" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_second_signal_aborts_the_drain(tmp_path: Path) -> None:
    proc, port = start(tmp_path, drain_timeout=60)
    base = f"http://127.0.0.1:{port}"
    try:
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(requests.get, base + "/slow?s=60", timeout=30)
            wait_until_in_flight(port, 1)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)  # let the first signal start the drain before the second arrives
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)  # well inside the 60 s drain: the second signal cut it
            try:
                future.result()
                raise AssertionError("the aborted request got a response")
            except requests.ConnectionError:
                pass
        assert proc.returncode == 1, err
        assert "report 0 0 1" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

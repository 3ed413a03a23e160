"""services.common.metrics: /metrics in-process on an internal port, and summed over ``--processes=2``."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from framework.httpserver import HTTPServer
from framework.testing import ServerThread, serve
from framework.web import Application, RequestHandler, url
from services.common import metrics as service_metrics
from services.common.metrics import Metrics, RouteLabels, make_metrics_app
from services.portal.app import make_app

REPO = Path(__file__).resolve().parents[2]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def label_values(samples: Samples, label: str) -> set[str]:
    return {dict(labels)[label] for _, labels in samples if label in dict(labels)}


class Instrumented:
    """An app served in-process with its metrics on a second, internal listener of the same loop."""

    def __init__(self, public: ServerThread, metrics: Metrics) -> None:
        self.public = public
        self.metrics = metrics
        self.internal: HTTPServer | None = None
        self.internal_port = 0

    async def listen_internal(self) -> None:
        assert self.public.server is not None
        self.metrics.watch(self.public.server)
        self.internal = HTTPServer(make_metrics_app(self.metrics))
        self.internal.listen(0, "127.0.0.1")
        self.internal_port = self.internal.sockets[0].getsockname()[1]

    async def close_internal(self) -> None:
        if self.internal is not None:
            self.internal.stop()
            await self.internal.close_all_connections()

    def scrape(self) -> Samples:
        response = requests.get(f"http://127.0.0.1:{self.internal_port}/metrics", timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return parse(response.text)


@contextlib.contextmanager
def instrumented(app: Application) -> Iterator[Instrumented]:
    metrics = Metrics(app)
    try:
        with serve(app) as public:
            served = Instrumented(public, metrics)
            public.run(served.listen_internal)
            try:
                yield served
            finally:
                public.run(served.close_internal)
    finally:
        metrics.close()


@pytest.fixture
def portal() -> Iterator[Instrumented]:
    with instrumented(make_app()) as served:
        yield served


def test_counters_move_with_requests(portal: Instrumented) -> None:
    before = portal.scrape()
    for _ in range(3):
        assert requests.get(portal.public.url("/"), timeout=5).status_code == 200
    assert requests.post(portal.public.url("/"), timeout=5).status_code == 405
    after = portal.scrape()
    delta = value(after, "http_requests_total", route="/", method="GET", status="200") - value(
        before, "http_requests_total", route="/", method="GET", status="200"
    )
    assert delta == 3
    assert value(after, "http_requests_total", route="/", method="POST", status="405") == 1
    assert value(after, "http_request_duration_seconds_count", route="/") == 4
    assert value(after, "http_request_duration_seconds_sum", route="/") > 0


def test_route_labels_are_patterns_never_paths(portal: Instrumented) -> None:
    for path in ("/no/such/page", "/another/missing", "/shared/suite.css", "/healthz"):
        requests.get(portal.public.url(path), timeout=5)
    requests.request("BREW", portal.public.url("/"), timeout=5)
    samples = portal.scrape()
    routes = label_values(samples, "route")
    assert "/no/such/page" not in routes and "/another/missing" not in routes
    assert value(samples, "http_requests_total", route="(unmatched)", method="GET", status="404") == 2
    assert value(samples, "http_requests_total", route="/shared/(.*)", method="GET", status="200") == 1
    assert value(samples, "http_requests_total", route="/healthz", method="GET", status="200") == 1
    assert "BREW" not in label_values(samples, "method")  # methods are bounded too
    assert routes <= RouteLabels(make_app()).labels


class ItemHandler(RequestHandler):
    def get(self, item: str) -> None:
        self.write(item)


class PlainHandler(RequestHandler):
    def get(self, *args: str) -> None:
        self.write("plain")


def test_a_named_route_is_labelled_by_its_name() -> None:
    app = Application([
        url(r"/item/([0-9]+)", ItemHandler, name="item"),
        (r"/plain/(a|b)", PlainHandler),
        (r"/other", PlainHandler),
    ])  # fmt: skip
    with instrumented(app) as served:
        for path in ("/item/1", "/item/22", "/plain/a", "/plain/b", "/other"):
            assert requests.get(served.public.url(path), timeout=5).status_code == 200
        samples = served.scrape()
    assert value(samples, "http_requests_total", route="item", method="GET", status="200") == 2
    # One handler class behind two routes: told apart by the route that matched.
    assert value(samples, "http_requests_total", route="/plain/(a|b)", method="GET", status="200") == 2
    assert value(samples, "http_requests_total", route="/other", method="GET", status="200") == 1


def test_the_internal_port_serves_metrics_and_the_public_one_does_not(portal: Instrumented) -> None:
    assert requests.get(portal.public.url("/metrics"), timeout=5).status_code == 404
    internal = f"http://127.0.0.1:{portal.internal_port}"
    assert requests.get(internal + "/metrics", timeout=5).status_code == 200
    assert requests.get(internal + "/", timeout=5).status_code == 404


def test_open_and_idle_connections(portal: Instrumented) -> None:
    with requests.Session() as session:  # keeps its connection open and idle
        session.get(portal.public.url("/healthz"), timeout=5)
        samples = portal.scrape()
    assert value(samples, "http_connections_open") >= 1
    assert value(samples, "http_connections_idle") >= 1
    assert "http_requests_in_flight" in {name for name, _ in samples}


def test_hooks_for_long_polls_and_the_bus(portal: Instrumented) -> None:
    service_metrics.longpoll_waiters.inc()
    service_metrics.longpoll_waiters.inc()
    service_metrics.longpoll_waiters.dec()
    service_metrics.bus_lag.observe(0.003)
    samples = portal.scrape()
    assert value(samples, "longpoll_waiters") == 1
    assert value(samples, "bus_lag_seconds_count") == 1
    service_metrics.longpoll_waiters.set_function(lambda: 7)
    try:
        assert value(portal.scrape(), "longpoll_waiters") == 7  # sampled before the scrape
    finally:
        service_metrics.longpoll_waiters.set_function(None)
        service_metrics.longpoll_waiters.set(0)


def test_hooks_work_while_metrics_are_off() -> None:
    hook = service_metrics.GaugeHook("unbound", "not exported")
    hook.inc()
    hook.dec(0.5)
    assert hook.value == 0.5
    service_metrics.HistogramHook("unbound_seconds", "not exported", (1.0,)).observe(2.0)


def test_an_applications_own_log_function_still_runs() -> None:
    seen: list[int] = []
    app = Application([(r"/other", PlainHandler)], log_function=lambda handler: seen.append(handler.get_status()))
    with instrumented(app) as served:
        requests.get(served.public.url("/other"), timeout=5)
        assert value(served.scrape(), "http_requests_total", route="/other", method="GET", status="200") == 1
    assert seen == [200]


def test_multiprocess_directory_refuses_a_library_imported_too_early(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="imported before"):
        service_metrics.use_multiprocess_directory(str(tmp_path / "late"))  # this process imported it
    assert service_metrics.MULTIPROCESS_ENV not in os.environ


# -- several processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_with_two_processes_a_scrape_sums_both_children(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO), PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.portal", f"--port={port}", f"--metrics_port={metrics_port}", "--processes=2"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []  # the children's log, read as it comes
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    scrape_url = f"http://127.0.0.1:{metrics_port}/metrics"

    def served_by() -> set[str]:
        return {found[1] for line in list(lines) if (found := re.match(r"\[(\d)\] .* 200 GET / ", line))}

    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(scrape_url, timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "portal did not start"
                time.sleep(0.1)
        # Fresh connections until both children have answered some (the kernel hands each
        # to whichever child accepts first; on a busy machine one may take a long run).
        requests_made = 0
        while requests_made < 40 or (served_by() != {"0", "1"} and requests_made < 2000):
            assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
            requests_made += 1
        with requests.Session() as idle:
            idle.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            time.sleep(1.5)  # both children have written their connection counts
            for _ in range(6):  # whichever child answers, it reports the sum
                samples = parse(requests.get(scrape_url, timeout=5).text)
                assert value(samples, "http_requests_total", route="/", method="GET", status="200") == requests_made
                assert value(samples, "http_connections_open") >= 1
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)  # the pipe ends with the children
        proc.stdout.close()
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert served_by() == {"0", "1"}, out  # both children took requests, and the scrape counted them all
    directory = tmp_path / f"portal-{port}"
    assert not list(directory.glob("gauge_live*")), "an exited child's gauges still count"


def test_a_dead_processs_live_gauges_are_dropped_before_a_scrape(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no process
    for pid in (dead.pid, os.getpid()):
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{dead.pid}.db").write_bytes(b"")  # counters keep what the dead counted
    service_metrics._forget_dead_processes(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"gauge_livesum_{os.getpid()}.db", f"counter_{dead.pid}.db"])

"""Locust scenarios against the stack (through nginx).

First scenario, keep-alive: each simulated user holds ONE keep-alive
connection (``FastHttpUser`` with a single-connection pool) and, with think
time between requests, loads the portal and now and then ``/healthz``. What
it measures is how many concurrent keep-alive clients the stack serves at
what latency, not raw request throughput.

Headless, from the host (the stack on http://127.0.0.1:8080)::

    locust -f loadtest/locustfile.py --host http://127.0.0.1:8080 \\
        --headless -u 100 -r 20 -t 30s --csv loadtest/results/keepalive \\
        --html loadtest/results/keepalive.html

With the web UI, in containers (master and workers, UI on
http://127.0.0.1:8089)::

    docker compose --profile loadtest up --build

Think time defaults to 0.5-1.5 s per request; ``LOCUST_THINK_MIN`` and
``LOCUST_THINK_MAX`` (seconds) change it.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, between, task

THINK_MIN = float(os.environ.get("LOCUST_THINK_MIN", "0.5"))
THINK_MAX = float(os.environ.get("LOCUST_THINK_MAX", "1.5"))


class KeepAliveUser(FastHttpUser):
    """A browser-like client: one persistent connection, a pause between requests."""

    wait_time = between(THINK_MIN, THINK_MAX)
    # One connection per user: every request of a user reuses the same socket.
    concurrency = 1
    connection_timeout = 10.0
    network_timeout = 30.0
    default_headers = {"User-Agent": "locust-keepalive"}

    @task(5)
    def portal(self) -> None:
        with self.client.get("/", name="portal /", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif "<html" not in (response.text or "").lower():
                response.failure("not an HTML page")

    @task(1)
    def healthz(self) -> None:
        with self.client.get("/healthz", name="/healthz", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

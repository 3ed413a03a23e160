"""``docker compose stop portal`` under load loses no request nginx accepted.

It stops the portal and starts it again, so it is marked ``disruptive``:
``tests/stack/conftest.py`` runs such tests after every other, whatever the
file names or the order pytest is given them in.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests

pytestmark = pytest.mark.disruptive

CLIENTS = 20
STOP_GRACE = 15  # stop_grace_period in docker-compose.yml
# The portal's /sleep takes a while, so requests are inside the service when
# SIGTERM arrives (a fast page rarely is, and the drain would have nothing to
# finish).
SLOW_PATH = "/sleep?ms=300"


@dataclass
class Outcomes:
    """What the client threads saw, by kind."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[int, int] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)
    first_error_at: float | None = None  # time.monotonic() of the first non-200

    def record(self, status: int | None, problem: str | None = None) -> None:
        with self.lock:
            if problem is not None:
                self.broken.append(problem)
            if status is not None:
                self.statuses[status] = self.statuses.get(status, 0) + 1
            if (status != 200 or problem is not None) and self.first_error_at is None:
                self.first_error_at = time.monotonic()


def hammer(url: str, stop: threading.Event, outcomes: Outcomes) -> None:
    """Fetch ``url`` over one keep-alive connection until told to stop."""
    with requests.Session() as session:
        while not stop.is_set():
            try:
                response = session.get(url, timeout=15)
            except requests.RequestException as exc:  # reset, truncated body, timeout
                outcomes.record(None, f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code == 200 and not response.text.endswith("elapsed)\n"):
                outcomes.record(200, f"truncated body ({len(response.content)} bytes)")
            else:
                outcomes.record(response.status_code)


def portal_state(compose: Callable[..., subprocess.CompletedProcess[str]]) -> dict[str, object]:
    out = compose("ps", "-a", "--format", "json", "portal").stdout
    state: dict[str, object] = json.loads(out.splitlines()[0])
    return state


@pytest.mark.timeout(120)
def test_stop_under_load_loses_no_request(
    stack_url: str,
    compose: Callable[..., subprocess.CompletedProcess[str]],
    wait_for: Callable[..., bool],
) -> None:
    path = SLOW_PATH
    stop, outcomes = threading.Event(), Outcomes()
    clients = [threading.Thread(target=hammer, args=(stack_url + path, stop, outcomes), daemon=True) for _ in range(CLIENTS)]
    try:
        for client in clients:
            client.start()
        assert wait_for(lambda: outcomes.statuses.get(200, 0) >= 40, timeout=20), outcomes.statuses
        started = time.monotonic()
        compose("stop", "portal", timeout=STOP_GRACE + 15)
        time.sleep(1)  # requests after the stop: nginx answers them itself
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=20)

    state = portal_state(compose)
    try:
        # Every request got a complete response: no reset, no truncated body.
        assert not outcomes.broken, outcomes.broken[:5]
        # Full pages until the stop began; after it, nginx's own answers for a
        # service that is gone: 502 (refused), 503, or 504 (the stopped
        # container's address no longer answers: connect timeout).
        assert outcomes.first_error_at is None or outcomes.first_error_at >= started, outcomes.statuses
        assert set(outcomes.statuses) <= {200, 502, 503, 504}, outcomes.statuses
        # Exit 0: the service drained, aborting no request it had accepted.
        assert state["State"] == "exited" and state["ExitCode"] == 0, state
        # The drain had requests to finish: SIGTERM reached Python (init: true)
        # while requests were inside the service, and none was aborted.
        logs = compose("logs", "--no-color", "portal").stdout
        drained = [line for line in logs.splitlines() if "drained:" in line]
        assert drained and " 0 aborted" in drained[-1], drained
        assert " 0 requests finished" not in drained[-1], drained
    finally:
        compose("start", "portal")
        healthy = wait_for(lambda: _status(stack_url + "/healthz") == 200, timeout=30)
    assert healthy, "the portal did not come back behind nginx"


def _status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return None

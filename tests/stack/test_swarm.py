"""The suite on a one-node Docker Swarm: a rolling update of chat under long-polls loses no message.

Run by ``scripts/swarm test``, which deploys the stack from docker-compose.yml,
sets ``SWARM_URL`` and ``SWARM_STACK``, and removes the stack (and swarm mode,
if it turned it on) afterwards; without ``SWARM_URL`` this test skips.

The chat runs two tasks; ``docker service update --force`` replaces them one
at a time, the new one started and healthy before the old one drains
(``update_config: order: start-first``). Long-pollers and a poster go through
nginx the whole time.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
import requests

from tests.stack.test_replicas import ChatClient, Poller, is_ordered, new_room

POLLERS = 40
UPDATE_TIMEOUT = 150


def running_tasks(service: str) -> set[str]:
    out = subprocess.run(
        ["docker", "service", "ps", service, "--filter", "desired-state=running", "--format", "{{.ID}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return set(out.split())


@pytest.mark.timeout(UPDATE_TIMEOUT + 90)
def test_rolling_update_of_chat_under_long_polls_loses_no_message() -> None:
    url, stack = os.environ.get("SWARM_URL"), os.environ.get("SWARM_STACK", "framework-suite-swarm")
    if not url:
        pytest.skip("SWARM_URL is not set: this test runs through scripts/swarm test")
    service, base, room = f"{stack}_chat", url.rstrip("/") + "/chat", new_room()
    poster = ChatClient(base)
    first = poster.post(room, "first")
    assert first.status_code == 200, first.text
    acknowledged: list[tuple[str, str]] = []
    failed: dict[str, int] = {}
    stop_posting, stop = threading.Event(), threading.Event()

    def saw_the_end(got: list[tuple[str, str]]) -> bool:
        return any(body == "end" for _, body in got)

    def post_until_stopped() -> None:
        n = 0
        while not stop_posting.is_set():
            n += 1
            try:
                response = poster.post(room, f"u{n}")
            except requests.RequestException as exc:
                failed[type(exc).__name__] = failed.get(type(exc).__name__, 0) + 1
                continue
            if response.status_code == 200:
                acknowledged.append((response.json()["id"], f"u{n}"))
            else:
                failed[str(response.status_code)] = failed.get(str(response.status_code), 0) + 1
            time.sleep(0.05)

    pollers = [Poller(base, room, first.json()["id"], saw_the_end, stop) for _ in range(POLLERS)]
    for poller in pollers:
        poller.start()
    posting = threading.Thread(target=post_until_stopped, daemon=True)
    before = running_tasks(service)
    t0 = time.monotonic()
    try:
        time.sleep(1.0)
        posting.start()
        subprocess.run(
            ["docker", "service", "update", "--force", "--quiet", "--detach=false", service],
            capture_output=True,
            text=True,
            timeout=UPDATE_TIMEOUT,
            check=True,
        )
        updated_after = time.monotonic() - t0
        time.sleep(2.0)  # posts after the update, on the new tasks only
    finally:
        stop_posting.set()
        posting.join(20)
    try:
        end = poster.post(room, "end")
        assert end.status_code == 200, end.text
        deadline = time.monotonic() + 40
        while any(p.is_alive() for p in pollers) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()

    state = subprocess.run(
        ["docker", "service", "inspect", service, "--format", "{{json .UpdateStatus}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    after = running_tasks(service)
    errors = sorted({e for p in pollers for e in p.errors})
    print(
        f"swarm rolling update of chat ({len(before)} tasks, {updated_after:.1f} s): {len(acknowledged)} messages "
        f"acknowledged, failed posts {failed or 0}, {POLLERS} pollers: "
        f"{sum(1 for p in pollers if p.errors or p.reconnects)} moved (errors {errors}, "
        f"{sum(p.reconnects for p in pollers)} reconnect hints), "
        f"lost {max(len(set(acknowledged) - set(p.messages)) for p in pollers)}"
    )
    assert json.loads(state)["State"] == "completed", state
    assert before and not before & after, (before, after)  # every task replaced
    assert len(acknowledged) >= 20, failed
    for poller in pollers:
        assert not poller.is_alive(), "a poller never got the last message"
        assert set(acknowledged) <= set(poller.messages), (poller.errors, len(poller.messages))
        assert is_ordered([i for i, _ in poller.messages]), poller.messages

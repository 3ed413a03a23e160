"""Fixtures for the tests against the running containers, through nginx.

The test command (``scripts/test``) brings the compose stack up, sets
``STACK_URL`` and runs this folder; without ``STACK_URL`` these tests skip, so
a bare ``pytest`` on a machine with no stack up stays green.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def compose(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``docker compose ARGS`` for this project's stack; raise on failure."""
    return subprocess.run(
        ["docker", "compose", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def wait_for(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.25) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@pytest.fixture(scope="session")
def stack_url() -> str:
    url = os.environ.get("STACK_URL")
    if not url:
        pytest.skip("STACK_URL is not set: the stack tests run through scripts/test")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def stack_address(stack_url: str) -> tuple[str, int]:
    """(host, port) of nginx's public port."""
    parts = urlsplit(stack_url)
    return parts.hostname or "127.0.0.1", parts.port or 80


@pytest.fixture(name="compose")
def compose_fixture() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``compose(*args, timeout=60)``: run ``docker compose`` for this project's stack."""
    return compose


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., bool]:
    """``wait_for(predicate, timeout=...)``: poll until true; False on timeout."""
    return wait_for


@pytest.fixture
def service_log() -> Callable[[str, str], str | None]:
    """``service_log(service, needle)``: the first line of a service's log holding ``needle``."""

    def first_line(service: str, needle: str) -> str | None:
        logs = compose("logs", "--no-color", "--no-log-prefix", service).stdout
        return next((line for line in logs.splitlines() if needle in line), None)

    return first_line


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the ``disruptive`` tests (they stop a service) after all the others, in their own order."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)

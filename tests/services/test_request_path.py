"""Every demo page is served without touching the file system once warm.

In the containers each file system call is a round trip to the engine's FUSE
storage driver, made on the event loop: one ``find_spec`` per render once cut
the portal from thousands of pages a second to 250. Each page is fetched once
(templates compile, static versions are hashed), then again while every call
into the file system from the server's thread is recorded: ``stat``/``lstat``
(what ``find_spec``, ``os.path.exists`` and Jinja2's reload check use) by
wrapping them in ``os`` and ``posix``, ``open``/``listdir``/``scandir`` through an
audit hook.
"""

from __future__ import annotations

import importlib
import os
import posix
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from framework.testing import serve
from framework.web import Application, StaticFileHandler
from services.catalog import SERVICES, Service

SERVER_THREAD = "framework-test-server"  # framework.testing.ServerThread's thread
_recording: list[list[str]] = []  # the active recorder, if any (audit hooks cannot be removed)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording and event in ("open", "os.listdir", "os.scandir") and threading.current_thread().name == SERVER_THREAD:
        _recording[-1].append(f"{event} {args[0]!r}")


sys.addaudithook(_audit)


@pytest.fixture
def fs_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The file system calls the server's thread makes while the fixture is active."""
    calls: list[str] = []

    def watched(name: str) -> Callable[..., Any]:
        real = getattr(posix, name)  # os.stat is this same function

        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name == SERVER_THREAD:
                calls.append(f"{name} {path!r}")
            return real(path, *args, **kwargs)

        return call

    for name in ("stat", "lstat"):
        wrapper = watched(name)
        monkeypatch.setattr(posix, name, wrapper)  # importlib calls posix.stat
        monkeypatch.setattr(os, name, wrapper)  # os.path and library code call os.stat
    _recording.append(calls)
    yield calls
    _recording.remove(calls)


# Pages beyond each service's own index, /healthz and the stylesheet, visited in that order.
MORE_PAGES = {
    "forms": ["search?q=ada", "recent"],
    "chat": ["room/lobby"],
    "redirects": ["landed", "chain/3"],
}


def pages(service: Service) -> list[str]:
    own = ("", "healthz", "shared/suite.css", *MORE_PAGES.get(service.name, []))
    return [service.prefix + page for page in own]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.prefix)
def test_warm_pages_make_no_file_system_call(
    service: Service, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file served from memory is compared with the disk once a second (one stat):
    # not during this test, however slow the machine.
    monkeypatch.setattr(StaticFileHandler, "MEMORY_REVALIDATE_SECONDS", 3600.0)
    make_app: Callable[..., Application] = importlib.import_module(f"services.{service.name}.app").make_app
    paths = pages(service)
    with serve(make_app(prefix=service.prefix)) as server, requests.Session() as session:
        for path in paths:  # warm: compile templates, hash the stylesheet's version
            assert session.get(server.url(path), allow_redirects=False).status_code < 400
        calls: list[str] = request.getfixturevalue("fs_calls")
        for path in paths:
            response = session.get(server.url(path), allow_redirects=False)
            assert response.status_code < 400, path
        assert calls == []

"""Fixtures for the real-browser tests: Playwright driving Debian's Chromium.

The test command (``scripts/test``, see ``scripts/stack.sh``) brings the compose
stack up and runs this folder against it through nginx at ``STACK_URL``
(default http://127.0.0.1:8080; unset and nothing listening there, the tests
skip, so a bare ``pytest`` with no stack up stays green). The browser is ``/usr/bin/chromium`` (Debian's
package, installed by the test command when missing), never a Playwright
download. Each test's final page is saved to
``artifacts/screenshots/<test name>.png``; the screenshots in ``docs/`` are
taken by ``test_docs_screenshots.py``, so they show the suite as it is.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# `--headless` comes from headless=True; the rest as DESIGN.md lists them.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 15_000  # every Playwright wait (actions, navigations, expect) is bounded by this
EXPECT_TIMEOUT_MS = 10_000  # expect() retries this long (its default is 5 s); chat's long poll fits easily
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def stack_url() -> str:
    url = os.environ.get("STACK_URL")
    if url:
        return url.rstrip("/")  # set by the test command: an unreachable stack fails the tests
    url = "http://127.0.0.1:8080"
    # Not set: a bare `pytest` with no stack up skips, as tests/stack does.
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    except OSError:
        pytest.skip(f"no stack at {url} (STACK_URL unset): the browser tests run through scripts/test")
    return url


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
    yield browser
    browser.close()


def _new_context(browser: Browser, stack_url: str, **options: Any) -> BrowserContext:
    context = browser.new_context(base_url=stack_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{safe}.png"), full_page=True, timeout=TIMEOUT_MS)
    except (PlaywrightError, OSError) as exc:  # a failed screenshot must not hide the test's own result
        print(f"screenshot {safe}.png failed: {exc}")


@pytest.fixture
def page(browser: Browser, stack_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page in its own context (cookies, storage); screenshotted at the end."""
    context = _new_context(browser, stack_url)
    page = context.new_page()
    yield page
    _screenshot(page, request.node.name)
    context.close()


@pytest.fixture
def second_page(browser: Browser, stack_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """Another person: a page in a second context; screenshotted as ``<test name>-b``."""
    context = _new_context(browser, stack_url)
    page = context.new_page()
    yield page
    _screenshot(page, request.node.name + "-b")
    context.close()


@pytest.fixture
def page_with(browser: Browser, stack_url: str) -> Iterator[Callable[..., Page]]:
    """``page_with(**options)``: a page in a context of its own made with Playwright's ``new_context`` options."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        context = _new_context(browser, stack_url, **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()

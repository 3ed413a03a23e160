"""The screenshots in ``docs/``, taken from the running suite each time the browser tests run.

Each is taken only after the page was checked to be what it should show, so a
broken page fails here instead of ending up in the docs. The page is made
repeatable: a fixed request id (the footer shows it) and fixed viewport sizes,
so an unchanged page gives the same image and ``git status`` stays clean.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from services.catalog import DEMOS

DOCS = Path(__file__).resolve().parents[2] / "docs"
REQUEST_ID = "docs-screenshot"


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("portal", {"viewport": {"width": 1280, "height": 1100}}),
        ("portal-mobile", {"viewport": {"width": 390, "height": 1400}, "is_mobile": True, "has_touch": True}),
    ],
)
def test_the_portal_as_the_docs_show_it(page_with: Callable[..., Page], name: str, options: dict[str, object]) -> None:
    page = page_with(device_scale_factor=1, extra_http_headers={"X-Request-Id": REQUEST_ID}, **options)
    response = page.goto("/")
    assert response is not None and response.ok
    cards = page.locator("ul.cards > li.card")
    expect(cards).to_have_count(len(DEMOS))
    for demo in DEMOS:
        expect(page.locator(f"#demo-{demo.name} a.button")).to_have_attribute("href", demo.prefix)
    expect(page.locator("footer .rid")).to_have_text(f"request {REQUEST_ID}")
    page.evaluate("document.fonts.ready")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), animations="disabled", caret="hide")

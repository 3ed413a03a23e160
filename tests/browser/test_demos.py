"""Real-browser flows through the demo suite, as a person sees them.

Headless Chromium (``/usr/bin/chromium``) drives the running stack through nginx;
see ``conftest.py`` for the browser, the fixtures and the screenshots.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from services.catalog import DEMOS as CATALOG_DEMOS

# The portal shows every other service of the catalog as a card; all of them run in the stack.
DEMOS = {demo.name for demo in CATALOG_DEMOS}

# Reports every change of the uploads page's progress bar to the test through
# window.recordProgress (a function the test exposes: unlike the page's own
# state, it outlives the navigation to the listing once the upload is stored).
WATCH_PROGRESS = """() => {
  const box = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const status = document.getElementById("upload-status");
  const report = () => window.recordProgress({shown: !box.hidden, value: bar.value, text: status.textContent});
  new MutationObserver(report).observe(box, {attributes: true, childList: true, characterData: true, subtree: true});
}"""


def test_portal_cards_link_to_demos_that_load(page: Page) -> None:
    response = page.goto("/")
    assert response is not None and response.ok
    cards = page.locator("ul.cards > li.card")
    expect(cards).to_have_count(len(DEMOS))
    assert {card_id.removeprefix("demo-") for card_id in cards.evaluate_all("els => els.map(e => e.id)")} == DEMOS
    links = [cards.nth(i).locator("h2 a") for i in range(len(DEMOS))]
    targets = [(link.inner_text(), link.get_attribute("href")) for link in links]
    for title, href in targets:
        assert href, f"card {title!r} has no link"
        response = page.goto(href)
        assert response is not None and response.ok, f"{title}: {href} answered {response and response.status}"
        expect(page.locator("h1")).to_be_visible()
        expect(page.locator("h1")).not_to_be_empty()


def test_forms_error_then_thank_you_then_reload(page: Page) -> None:
    name = f"Ada {uuid.uuid4().hex[:6]}"
    page.goto("/forms/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill("ada-at-example")
    page.get_by_label("Topic").select_option("demos")
    page.get_by_label("I understand this is a demo").check()
    page.get_by_role("button", name="Sign up").click()

    error = page.locator("#email-error")
    expect(error).to_have_text("That does not look like an email address (name@example.org).")
    expect(page.locator("#email")).to_have_attribute("aria-describedby", "email-error")
    # The message sits in the email field's own block, right after the input.
    expect(page.locator(".field:has(#email) > #email + #email-error")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the 1 field marked below.")
    expect(page.get_by_label("Name")).to_have_value(name)
    expect(page.get_by_label("Email")).to_have_value("ada-at-example")

    page.get_by_label("Email").fill("ada@example.org")
    expect(page.get_by_label("I understand this is a demo")).to_be_checked()  # kept too
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/forms/done/[A-Za-z0-9_-]{12}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Thank you, {name}")
    expect(page.locator(".facts")).to_contain_text("ada@example.org")
    done_url = page.url

    response = page.reload()
    assert response is not None and response.ok
    assert response.request.method == "GET"
    assert page.url == done_url
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Thank you, {name}")


def test_uploads_two_files_listed_with_sha256(page: Page, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    files = {
        tmp_path / f"notes-{tag}.txt": f"hello from the browser test {tag}\n".encode(),
        tmp_path / f"data-{tag}.bin": bytes(range(256)) * 8 + tag.encode(),
    }
    for path, data in files.items():
        path.write_bytes(data)

    page.goto("/uploads/")
    page.get_by_label(re.compile(r"^Files")).set_input_files([str(p) for p in files])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Stored files")).to_be_visible()

    for path, data in files.items():
        row = page.locator("table.files tbody tr", has=page.get_by_role("link", name=path.name, exact=True))
        expect(row).to_have_count(1)
        expect(row.locator("code.hash")).to_have_text(hashlib.sha256(data).hexdigest())
        expect(row).to_contain_text(f"{len(data):,} bytes")
        expect(row.locator(".badge")).to_have_text("just uploaded")


def test_uploads_show_a_progress_bar_while_the_file_goes_up(page: Page, tmp_path: Path) -> None:
    data = os.urandom(24 * 1024 * 1024)
    path = tmp_path / f"large-{uuid.uuid4().hex[:8]}.bin"
    path.write_bytes(data)
    seen: list[dict[str, Any]] = []

    def record(state: dict[str, Any]) -> None:
        seen.append(state)

    page.expose_function("recordProgress", record)
    page.goto("/uploads/")
    expect(page.locator("#upload-progress")).to_be_hidden()
    page.evaluate(WATCH_PROGRESS)
    page.get_by_label(re.compile(r"^Files")).set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()

    row = page.locator("table.files tbody tr", has=page.get_by_role("link", name=path.name, exact=True))
    expect(row.locator(".badge")).to_have_text("just uploaded")
    expect(row.locator("code.hash")).to_have_text(hashlib.sha256(data).hexdigest())
    shown = [record for record in seen if record["shown"]]
    assert shown, seen
    values = [record["value"] for record in shown]
    assert values == sorted(values), values  # it only moves forward
    assert values[-1] == 100
    # At least one step came from the upload's own progress events: "N% · sent of total".
    assert any(re.fullmatch(r"\d{1,3}% · [\d.]+ MB of 24 MB", record["text"]) for record in shown), shown


def test_uploads_refuse_an_over_limit_file_before_sending_it(page: Page, tmp_path: Path) -> None:
    page.goto("/uploads/")
    limit = int(page.locator("#upload-form").get_attribute("data-max-bytes") or "0")
    assert limit > 0
    too_big = tmp_path / "too-big.bin"
    with too_big.open("wb") as sparse:  # one byte over the limit, and no disk: the browser only reads its size
        sparse.truncate(limit + 1)
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    files = page.get_by_label(re.compile(r"^Files"))

    files.set_input_files(str(too_big))
    refusal = page.locator("#files-error")
    expect(refusal).to_be_visible()
    size_mb = f"{round((limit + 1) / 1048576, 1):,}".removesuffix(".0")  # as the page writes it
    expect(refusal).to_contain_text(f"\u201ctoo-big.bin\u201d is {size_mb} MB")
    expect(refusal).to_contain_text("Nothing was sent.")
    expect(files).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-progress")).to_be_hidden()
    assert files.evaluate("input => input.files.length") == 1  # still chosen: the page never left
    assert page.url.endswith("/uploads/")
    assert posts == []

    small = tmp_path / "small.txt"
    small.write_bytes(b"fits\n")
    files.set_input_files(str(small))  # a file that fits clears the refusal
    expect(refusal).to_be_hidden()
    expect(files).not_to_have_attribute("aria-invalid", "true")


def test_chat_two_pages_talk_through_long_polling(page: Page, second_page: Page) -> None:
    room = f"browser-{uuid.uuid4().hex[:12]}"
    a, b = page, second_page
    for p in (a, b):
        p.goto("/chat/")
        p.get_by_label("Room").fill(room)
        p.get_by_role("button", name="Enter the room").click()
        expect(p.get_by_role("heading", level=1)).to_have_text(f"#{room}")
        expect(p.locator("#messages li")).to_have_count(0)

    def send(p: Page, nick: str, text: str) -> None:
        p.get_by_label("Nickname").fill(nick)
        p.get_by_label("Message").fill(text)
        p.get_by_role("button", name="Send").click()

    hello = f"hello from A {uuid.uuid4().hex[:6]}"
    send(a, "alice", hello)
    expect(a.locator("#messages li").last).to_have_text(f"alice {hello}")
    # B never reloads: the message arrives on B's pending long poll.
    expect(b.locator("#messages li").last).to_have_text(f"alice {hello}")

    answer = f"hi A, B here {uuid.uuid4().hex[:6]}"
    send(b, "bob", answer)
    expect(a.locator("#messages li").last).to_have_text(f"bob {answer}")
    expect(a.locator("#messages li")).to_have_count(2)
    expect(b.locator("#messages li")).to_have_count(2)
    expect(a.locator("#status")).to_be_empty()
    expect(b.locator("#status")).to_be_empty()


def test_redirect_chain_of_five_hops(page: Page) -> None:
    page.goto("/redirects/")
    page.get_by_role("link", name="Five hops").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You landed")
    expect(page).to_have_url(re.compile(r"/redirects/landed\?.*hops=5"))
    facts = page.locator(".facts")
    expect(facts).to_contain_text("Hops")
    expect(facts.locator("span", has_text=re.compile(r"^Hops$")).locator("xpath=following-sibling::span[1]")).to_have_text("5")


def test_open_redirect_guard_refuses_protocol_relative(page: Page) -> None:
    page.goto("/redirects/")
    page.get_by_label("next").fill("//evil.example/")
    page.get_by_role("button", name="Go", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Not following that")
    expect(page.locator("body")).to_contain_text("//evil.example/")
    assert "evil.example" not in (page.url.split("?")[0])


def test_not_found_page_in_the_suites_style(page: Page) -> None:
    page.goto("/")
    portal_css = page.locator("link[rel=stylesheet]").evaluate_all("els => els.map(e => e.href)")
    response = page.goto(f"/no-such-page-{uuid.uuid4().hex}")
    assert response is not None and response.status == 404
    expect(page.locator("section.error .code")).to_have_text("404")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Back to the demos")).to_be_visible()
    assert portal_css and page.locator("link[rel=stylesheet]").evaluate_all("els => els.map(e => e.href)") == portal_css
    expect(page.locator("body")).not_to_contain_text("nginx")

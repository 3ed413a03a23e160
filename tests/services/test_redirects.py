"""The redirects demo in-process: every kind of redirect, the chain, and the open-redirect guard."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from framework.testing import ServerThread, serve
from services.redirects.app import MAX_HOPS, make_app
from services.redirects.guard import refusal_reason


@pytest.fixture(scope="module")
def demo() -> Iterator[ServerThread]:
    with serve(make_app(prefix="/redirects/")) as server:
        yield server


def get(server: ServerThread, path: str, **kwargs: object) -> requests.Response:
    return requests.get(server.url(path), allow_redirects=False, timeout=10, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "status"),
    [("temporary", 302), ("permanent", 301), ("see-other", 303), ("temporary-307", 307), ("permanent-308", 308)],
)
def test_redirect_statuses(demo: ServerThread, kind: str, status: int) -> None:
    response = get(demo, f"/redirects/to/{kind}")
    assert response.status_code == status
    assert response.headers["Location"] == f"/redirects/landed?via={kind}&status={status}"


def test_307_keeps_method_and_body_303_does_not(demo: ServerThread) -> None:
    with requests.Session() as session:
        page = session.get(demo.url("/redirects/"), timeout=10).text
        match = re.search(r'name="_xsrf" value="([^"]+)"', page)
        assert match is not None
        form = {"message": "hello", "_xsrf": match.group(1)}
        kept = session.post(demo.url("/redirects/to/temporary-307"), data=form, timeout=10)
        assert kept.status_code == 200
        assert "<code>POST</code>" in kept.text and "hello" in kept.text
        dropped = session.post(demo.url("/redirects/to/see-other"), data=form, timeout=10)
        assert "<code>GET</code>" in dropped.text and "hello" not in dropped.text
        assert requests.post(demo.url("/redirects/to/see-other"), data={"message": "x"}, timeout=10).status_code == 403


def test_redirect_handler_substitutes_groups(demo: ServerThread) -> None:
    old = get(demo, "/redirects/old/articles/42?ref=x")
    assert (old.status_code, old.headers["Location"]) == (301, "/redirects/new/articles/42?ref=x")
    moved = get(demo, "/redirects/moved/summer-sale")
    assert (moved.status_code, moved.headers["Location"]) == (302, "/redirects/new/moved-summer-sale")
    assert "new/articles/42" in requests.get(demo.url("/redirects/old/articles/42"), timeout=10).text


def test_chain_follows_every_hop(demo: ServerThread) -> None:
    with requests.Session() as session:
        landed = session.get(demo.url("/redirects/chain/5"), timeout=10)
    assert [r.status_code for r in landed.history] == [302] * 6
    assert landed.url.endswith("/redirects/landed?via=chain&hops=5")
    assert get(demo, f"/redirects/chain/{MAX_HOPS + 1}").status_code == 400


@pytest.mark.parametrize("target", ["/redirects/landed?via=guard", "/", "/forms/?a=1"])
def test_guard_follows_local_paths(demo: ServerThread, target: str) -> None:
    response = get(demo, "/redirects/go", params={"next": target})
    assert (response.status_code, response.headers["Location"]) == (302, target)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
        "http:/evil.example",
    ],
)
def test_guard_refuses_other_hosts(demo: ServerThread, target: str) -> None:
    response = get(demo, "/redirects/go", params={"next": target})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Not following that" in response.text


def test_guard_reasons() -> None:
    assert refusal_reason("/ok") is None
    assert refusal_reason("//x") is not None


def test_index_links_all_resolve(demo: ServerThread) -> None:
    page = get(demo, "/redirects/").text
    links = {href.replace("&amp;", "&") for href in re.findall(r'href="(/redirects/[^"]*)"', page)}
    assert len(links) >= 8
    for link in links:
        status = get(demo, link).status_code
        assert status in (200, 301, 302, 303, 307, 308, 400), (link, status)


def no_controls(location: str) -> bool:
    return not any(ord(c) < 0x20 or ord(c) == 0x7F for c in location)


@pytest.mark.parametrize(
    "path",
    [
        "/redirects/chain/1?total=5%0d%0aX-Injected:%201",
        "/redirects/chain/1?total=%00",
        "/redirects/chain/0?total=%01",
        "/redirects/chain/3?total=%0b",
        "/redirects/old/a%0d%0aX-Injected:%201",
        "/redirects/old/a%00b",
        "/redirects/old/a%01b",
        "/redirects/old/a%0bb",
        "/redirects/old/a%7fb",
        "/redirects/old/a%c2%85b",
    ],
)
def test_control_characters_bound_for_location_are_a_400(demo: ServerThread, path: str) -> None:
    response = get(demo, path)
    assert response.status_code == 400, (path, response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers and "X-Injected" not in response.headers


def test_a_path_group_is_re_encoded_in_the_target(demo: ServerThread) -> None:
    response = get(demo, "/redirects/old/caf%C3%A9/50%25%20off?x=%C3%A9")
    assert (response.status_code, response.headers["Location"]) == (301, "/redirects/new/caf%C3%A9/50%25%20off?x=%C3%A9")
    assert no_controls(response.headers["Location"])


@pytest.mark.parametrize("digits", ["9" * 4400, "0" * 4400, "123", "021"])
def test_a_huge_or_too_large_hop_count_is_a_400(demo: ServerThread, digits: str) -> None:
    assert get(demo, f"/redirects/chain/{digits}").status_code == 400


@pytest.mark.parametrize("total", ["5%26via%3Devil", "abc", "-1", "9" * 4400, "%EF%BC%95"])
def test_total_cannot_add_parameters_or_be_anything_but_a_count(demo: ServerThread, total: str) -> None:
    response = get(demo, f"/redirects/chain/1?total={total}")
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_total_goes_on_encoded(demo: ServerThread) -> None:
    response = get(demo, "/redirects/chain/2?total=7")
    assert response.headers["Location"] == "/redirects/chain/1?total=7"
    last = get(demo, "/redirects/chain/0?total=7")
    assert last.headers["Location"] == "/redirects/landed?via=chain&hops=7"


def test_guarded_targets_beyond_ascii_are_encoded(demo: ServerThread) -> None:
    response = get(demo, "/redirects/go", params={"next": "/redirects/landed?via=caf\u00e9"})
    assert (response.status_code, response.headers["Location"]) == (302, "/redirects/landed?via=caf%C3%A9")
    assert get(demo, "/redirects/go", params={"next": "/redirects/landed?via=a\u0085b"}).status_code == 400

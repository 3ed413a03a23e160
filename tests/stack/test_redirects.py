"""The redirects demo through nginx: Locations stay on the public prefix, the guard holds."""

from __future__ import annotations

import requests

TIMEOUT = 10


def test_redirects_page_through_nginx(http: requests.Session, stack_url: str) -> None:
    page = http.get(stack_url + "/redirects/", timeout=TIMEOUT)
    assert page.status_code == 200
    assert 'href="/redirects/to/temporary"' in page.text
    assert 'href="/redirects/shared/suite.css?v=' in page.text


def test_redirect_location_keeps_the_prefix(http: requests.Session, stack_url: str) -> None:
    response = http.get(stack_url + "/redirects/old/articles/42", allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/redirects/new/articles/42")
    followed = http.get(stack_url + "/redirects/chain/3", timeout=TIMEOUT)
    assert followed.status_code == 200
    assert followed.url.endswith("/redirects/landed?via=chain&hops=3")


def test_open_redirect_guard_through_nginx(http: requests.Session, stack_url: str) -> None:
    refused = http.get(stack_url + "/redirects/go", params={"next": "//evil.example/"}, allow_redirects=False, timeout=TIMEOUT)
    assert refused.status_code == 400
    assert "Location" not in refused.headers


def test_portal_links_the_redirects_demo(http: requests.Session, stack_url: str) -> None:
    portal = http.get(stack_url + "/", timeout=TIMEOUT).text
    assert 'href="/redirects/"' in portal

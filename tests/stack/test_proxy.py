"""The portal through nginx: pages, errors, headers, compression, keep-alive."""

from __future__ import annotations

import gzip
import http.client
import re
import uuid
from collections.abc import Callable

import pytest
import requests

TIMEOUT = 10


def stylesheets(html: str) -> set[str]:
    return set(re.findall(r'<link rel="stylesheet" href="([^"]+)"', html))


def test_portal_page(http: requests.Session, stack_url: str) -> None:
    response = http.get(stack_url + "/", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html" in response.text and "</html>" in response.text
    for href in stylesheets(response.text):  # the suite's CSS is served too
        assert http.get(stack_url + href, timeout=TIMEOUT).status_code == 200


def test_healthz(http: requests.Session, stack_url: str) -> None:
    response = http.get(stack_url + "/healthz", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.text.strip() == "ok"


def test_not_found_in_the_suites_style(http: requests.Session, stack_url: str) -> None:
    portal = http.get(stack_url + "/", timeout=TIMEOUT)
    response = http.get(f"{stack_url}/no-such-page-{uuid.uuid4().hex}", timeout=TIMEOUT)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "404" in response.text
    # The service's page (the suite's stylesheet), not nginx's bare error page.
    assert stylesheets(portal.text) and stylesheets(response.text) == stylesheets(portal.text)
    assert "<center>nginx</center>" not in response.text


@pytest.mark.parametrize("path", ["/", "/healthz", "/no-such-page"])
def test_server_header_has_no_version(http: requests.Session, stack_url: str, path: str) -> None:
    server = http.get(stack_url + path, timeout=TIMEOUT).headers.get("Server", "")
    assert not re.search(r"\d", server), server


def test_gzip_for_html_when_asked(stack_address: tuple[str, int]) -> None:
    conn = http.client.HTTPConnection(*stack_address, timeout=TIMEOUT)
    try:
        conn.request("GET", "/", headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200
        assert response.getheader("Content-Encoding") == "gzip"
        assert "Accept-Encoding" in (response.getheader("Vary") or "")
        assert b"</html>" in gzip.decompress(body)

        conn.request("GET", "/", headers={"Accept-Encoding": "identity"})
        response = conn.getresponse()
        body = response.read()
        assert response.getheader("Content-Encoding") is None
        assert b"</html>" in body
    finally:
        conn.close()


def test_one_connection_serves_many_requests(stack_address: tuple[str, int]) -> None:
    conn = http.client.HTTPConnection(*stack_address, timeout=TIMEOUT)
    try:
        conn.connect()
        local = conn.sock.getsockname()
        for i in range(60):
            conn.request("GET", "/" if i % 2 else "/healthz")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            assert (response.getheader("Connection") or "").lower() != "close"
            assert conn.sock is not None and conn.sock.getsockname() == local, f"reconnected at request {i}"
    finally:
        conn.close()


LogLookup = Callable[[str, str], "str | None"]


def test_request_id_and_client_address_reach_the_service(
    http: requests.Session, stack_url: str, service_log: LogLookup, wait_for: Callable[..., bool]
) -> None:
    # The services log only errors behind nginx (nginx's access log has every
    # request); the portal shows the request id and the client's address as it
    # saw them, so the page itself tells what reached the service.
    request_id = f"test-{uuid.uuid4().hex}"
    forged = "203.0.113.9"
    response = http.get(stack_url + "/", headers={"X-Request-Id": request_id, "X-Forwarded-For": forged}, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == request_id
    assert f"request {request_id}" in response.text

    assert wait_for(lambda: service_log("nginx", request_id) is not None, timeout=10), "id not in nginx's log"
    nginx_line = service_log("nginx", request_id) or ""
    # nginx logs the address it saw first and the X-Forwarded-For it was sent.
    client = nginx_line.split()[0]
    assert f'xff="{forged}"' in nginx_line
    # The service takes nginx's view of the client (the X-Forwarded-For entry
    # nginx appended, or X-Real-IP), never the entry the client forged.
    shown = re.search(r"Your address</span><span><code>([^<]*)</code>", response.text)
    assert shown is not None and shown.group(1) == client, (nginx_line, shown)


@pytest.mark.parametrize("sent", [None, "not a sane id", "x" * 200])
def test_nginx_generates_a_request_id(
    http: requests.Session, stack_url: str, service_log: LogLookup, wait_for: Callable[..., bool], sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-Id": sent}
    response = http.get(stack_url + "/", headers=headers, timeout=TIMEOUT)
    request_id = response.headers.get("X-Request-Id", "")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id  # nginx's $request_id
    assert f"request {request_id}" in response.text  # the id the service was given
    assert wait_for(lambda: service_log("nginx", request_id) is not None, timeout=10)

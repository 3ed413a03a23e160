"""What every service inherits from ``services.common.handlers.BaseHandler``: security headers and body limits."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from framework.testing import ServerThread, serve
from services.chat.app import make_app as make_chat
from services.common.handlers import CONTENT_SECURITY_POLICY, REFERRER_POLICY
from services.forms.app import make_app as make_forms
from services.portal.app import make_app as make_portal
from services.redirects.app import make_app as make_redirects
from services.uploads.app import make_app as make_uploads


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerThread]]:
    """Every service, each alone on an ephemeral port, by prefix."""
    store = tmp_path_factory.mktemp("uploads")
    apps = {
        "/": make_portal(),
        "/chat/": make_chat(prefix="/chat/"),
        "/forms/": make_forms(prefix="/forms/"),
        "/redirects/": make_redirects(prefix="/redirects/"),
        "/uploads/": make_uploads(prefix="/uploads/", upload_dir=str(Path(store))),
    }
    servers = {prefix: serve(app) for prefix, app in apps.items()}
    try:
        yield {prefix: context.__enter__() for prefix, context in servers.items()}
    finally:
        for context in servers.values():
            context.__exit__(None, None, None)


PAGES = [
    "/",
    "/chat/",
    "/chat/room/lobby",
    "/forms/",
    "/forms/recent",
    "/forms/search?q=a",
    "/redirects/",
    "/redirects/landed?via=x",
    "/redirects/new/x",
    "/uploads/",
    "/chat/no/such/page",
    "/forms/done/AAAAAAAAAAAA",
]


def fetch(suite: dict[str, ServerThread], path: str, method: str = "GET", **kwargs: object) -> requests.Response:
    prefix = next(p for p in sorted(suite, key=len, reverse=True) if path.startswith(p))
    return requests.request(method, suite[prefix].url(path), allow_redirects=False, timeout=10, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_meets_its_content_security_policy(suite: dict[str, ServerThread], path: str) -> None:
    response = fetch(suite, path)
    policy = response.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy and "nonce" not in policy
    page = response.text
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    for script in re.findall(r"<script[^>]*>(.*?)</script>", page, re.DOTALL):
        assert script.strip() == "", "an inline script the policy would block"


def test_the_chat_room_script_is_a_static_file_of_this_origin(suite: dict[str, ServerThread]) -> None:
    page = fetch(suite, "/chat/room/lobby").text
    (src,) = re.findall(r'<script src="([^"]+)"></script>', page)
    assert src.startswith("/chat/static/chat.js?v=")
    script = fetch(suite, src)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    assert 'data-updates-url="/chat/a/message/updates"' in page and 'data-room="lobby"' in page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/chat/room/lobby"),
        ("POST", "/chat/a/message/new"),
        ("GET", "/redirects/to/temporary"),
        ("GET", "/redirects/old/x"),
        ("GET", "/chat/healthz"),
        ("GET", "/uploads/files/AAAAAAAAAAAAAAAA"),
        ("PUT", "/uploads/put/x.bin"),
    ],
)
def test_every_response_has_the_referrer_policy(suite: dict[str, ServerThread], method: str, path: str) -> None:
    response = fetch(suite, path, method, data=b"x" if method in ("POST", "PUT") else None)
    assert response.headers["Referrer-Policy"] == REFERRER_POLICY
    assert "Content-Security-Policy" in response.headers


def status_of_big_body(port: int, path: str, *, declared: int = 5 * 1024 * 1024, sent: int = 64 * 1024) -> bytes:
    """Declare a large body, send only its start, and read the answer: it must come without the rest."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        try:
            sock.sendall(b"a" * sent)
        except OSError:
            pass  # the server already answered and closed
        return sock.recv(64).split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    "path",
    [
        "/chat/a/message/new",
        "/chat/a/message/updates",
        "/chat/",
        "/forms/",
        "/forms/search",
        "/redirects/to/temporary-307",
        "/redirects/landed",
        "/redirects/old/x",
        "/chat/healthz",
        "/chat/nowhere",
    ],
)
def test_a_body_over_the_endpoint_limit_is_a_413_before_it_is_read(suite: dict[str, ServerThread], path: str) -> None:
    port = suite["/" + path.split("/")[1] + "/"].port
    # An unknown page may even be answered 404 before its body: what counts is that the answer comes first.
    expected = (b"HTTP/1.1 413 ", b"HTTP/1.1 404 ") if path == "/chat/nowhere" else (b"HTTP/1.1 413 ",)
    assert status_of_big_body(port, path).startswith(expected)
    assert status_of_big_body(port, path, sent=0).startswith(expected)


def test_a_chunked_body_over_the_limit_is_a_413(suite: dict[str, ServerThread]) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"body=" + b"x" * 64 * 1024

    response = requests.post(suite["/chat/"].url("/chat/a/message/new"), data=chunks(), timeout=10)
    assert response.status_code == 413


def test_a_full_size_message_still_fits(suite: dict[str, ServerThread]) -> None:
    server = suite["/chat/"]
    with requests.Session() as session:
        page = session.get(server.url("/chat/room/lobby"), timeout=10).text
        token = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        body = "\U0001f600" * 2000  # 2,000 characters of 4 bytes: 24,000 bytes percent-encoded
        sent = session.post(
            server.url("/chat/a/message/new"), data={"room": "big", "nick": "n" * 32, "body": body, "_xsrf": token}, timeout=10
        )
    assert sent.status_code == 200, sent.text
    assert sent.json()["body"] == body


def test_a_form_token_in_the_body_is_still_checked(suite: dict[str, ServerThread]) -> None:
    server = suite["/forms/"]
    with requests.Session() as session:
        session.get(server.url("/forms/"), timeout=10)
        refused = session.post(server.url("/forms/"), data={"name": "x", "_xsrf": "2|00|00|0"}, timeout=10)
    assert refused.status_code == 403


def test_error_pages_show_the_errors_reason_else_the_standard_phrase(suite: dict[str, ServerThread]) -> None:
    refused = fetch(suite, "/chat/?room=%21bad")  # HTTPError(400, reason=...)
    assert refused.status_code == 400
    assert refused.reason == "room names are 1-32 lower-case letters, digits and dashes"
    assert f"<h1>{refused.reason}</h1>" in refused.text
    missing = fetch(suite, "/forms/no/such/page")  # HTTPError(404): no reason of its own
    assert missing.status_code == 404
    assert "<h1>Not Found</h1>" in missing.text


def test_a_post_to_no_page_is_a_404_even_without_an_xsrf_token(suite: dict[str, ServerThread]) -> None:
    assert fetch(suite, "/forms/no/such/page", method="POST").status_code == 404
    assert fetch(suite, "/forms/", method="POST").status_code == 403  # a real form still wants its token

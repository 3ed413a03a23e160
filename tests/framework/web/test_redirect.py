"""Tests for framework/web/redirect.py and the redirects a handler sends.

``RedirectHandler`` (group substitution, the query kept, GET only, targets
whose scheme or host a substitution would change and control characters
refused), ``ErrorHandler``, ``FallbackHandler``, and ``RequestHandler.redirect``
(``addslash``/``removeslash`` are in ``test_decorators.py``). Each test declares
its handler beside it and talks to a real server on an ephemeral port.
"""

from __future__ import annotations

import logging

import pytest

import framework.web
from framework.testing import ServerThread
from framework.web import (
    ErrorHandler,
    RedirectHandler,
    RequestHandler,
)
from tests.framework.harness import fetch, raw_exchange, running, split_response


def test_redirect_statuses() -> None:
    class RedirectingHandler(RequestHandler):
        def get(self, kind: str) -> None:
            if kind == "temporary":
                self.redirect("/target")
            elif kind == "permanent":
                self.redirect("/target", permanent=True)
            elif kind == "see-other":
                self.redirect("/target?x=1", status=303)
            elif kind == "unicode":
                self.redirect("/caf\u00e9")
            else:
                self.redirect("/target", status=200)

    with running([(r"/r/(.*)", RedirectingHandler)]) as server:
        temporary = fetch(server, "/r/temporary")
        permanent = fetch(server, "/r/permanent")
        see_other = fetch(server, "/r/see-other")
        bad = fetch(server, "/r/not-3xx")
        unicode = fetch(server, "/r/unicode")
    assert (temporary.status_code, temporary.headers["Location"]) == (302, "/target")
    assert (permanent.status_code, permanent.headers["Location"]) == (301, "/target")
    assert (see_other.status_code, see_other.headers["Location"]) == (303, "/target?x=1")
    assert bad.status_code == 500
    assert "Location" not in bad.headers
    assert unicode.status_code == 302


# -- RedirectHandler, ErrorHandler ------------------------------------------------


def test_redirect_handler_substitutes_groups_and_keeps_the_query() -> None:
    with running(
        [
            (r"/old/(\d+)/(\w+)", RedirectHandler, {"url": r"/new/\2/\1"}),
            (r"/fmt/(\d+)", RedirectHandler, {"url": "/new/{0}?from=fmt"}),
            (r"/named/(?P<id>\d+)", RedirectHandler, {"url": "/new/{id}"}),
            (r"/temp", RedirectHandler, {"url": "/elsewhere", "permanent": False}),
        ]
    ) as server:
        backref = fetch(server, "/old/5/abc?x=1&y=2")
        formatted = fetch(server, "/fmt/7?x=1")
        named = fetch(server, "/named/9")
        temporary = fetch(server, "/temp")
    assert (backref.status_code, backref.headers["Location"]) == (301, "/new/abc/5?x=1&y=2")
    assert (formatted.status_code, formatted.headers["Location"]) == (301, "/new/7?from=fmt&x=1")
    assert named.headers["Location"] == "/new/9"
    assert (temporary.status_code, temporary.headers["Location"]) == (302, "/elsewhere")


def test_redirect_handler_answers_only_get() -> None:
    # Tornado's RedirectHandler defines get alone: HEAD is 405, not a redirect.
    with running([(r"/temp", RedirectHandler, {"url": "/elsewhere"})]) as server:
        head = fetch(server, "/temp", method="HEAD")
        post = fetch(server, "/temp", method="POST", data={"a": "1"})
    assert (head.status_code, "Location" in head.headers) == (405, False)
    assert post.status_code == 405


def test_redirect_handler_re_encodes_the_query_as_tornado_does() -> None:
    with running([(r"/r/(.*)", RedirectHandler, {"url": "/{0}/b?t=1"})]) as server:
        response = fetch(server, "/r/foo?y=%20z&x=%FF&y=2&blank")
    # Grouped by name in first-seen order, spaces as "+", raw bytes kept.
    assert response.headers["Location"] == "/foo/b?t=1&y=+z&y=2&x=%FF&blank="


def test_redirect_handler_never_evaluates_the_request_path_as_a_template() -> None:
    with running(
        [
            (r"/pictures/(.*)", RedirectHandler, {"url": r"/photos/\1"}),
            (r"/fmt/(.*)", RedirectHandler, {"url": "/photos/{0}"}),
            (r"/both/(\w+)/(.*)", RedirectHandler, {"url": r"/x/\1/{1}"}),
        ]
    ) as server:
        for prefix in ("/pictures/", "/fmt/"):
            attack = fetch(server, prefix + "%7B0.__class__%7D")
            braces = fetch(server, prefix + "a%7Bx%7D")
            assert (attack.status_code, attack.headers["Location"]) == (301, "/photos/{0.__class__}")
            assert (braces.status_code, braces.headers["Location"]) == (301, "/photos/a{x}")
        both = fetch(server, "/both/a/%5C1")
    assert both.headers["Location"] == "/x/a/\\1"


def _redirect_location(server: ServerThread, target: str) -> tuple[str, str | None]:
    """(status line, Location) for ``GET target`` sent byte for byte (no client normalizes it)."""
    raw = raw_exchange(server.port, f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    status, headers, _ = split_response(raw)
    return status, headers.get("location")


@pytest.mark.parametrize(
    ("template", "target"),
    [
        ("/{0}/b", "/r//evil.com"),  # would be //evil.com/b: protocol-relative
        ("/{0}/b", "/r/%2Fevil.com"),
        ("/{0}/b", "/r/%5Cevil.com"),  # /\evil.com/b: a browser reads "\" as "/"
        ("/{0}/b", "/r/%09/evil.com"),  # a browser drops the tab
        (r"/\1/b", "/r//evil.com"),
        ("{0}", "/r/http://evil.com/"),
        ("{0}", "/r/javascript:alert(1)"),
        ("http://example.com{0}", "/r/@evil.com"),  # user info: the host becomes evil.com
        ("http://example.com{0}", "/r/.evil.com"),
        ("https://{0}/", "/r/example.com"),  # the host would come wholly from the request
        ("http:/{0}", "/r//evil.com"),  # a browser skips the extra slashes
    ],
)
def test_redirect_handler_refuses_a_substitution_that_changes_scheme_or_host(template: str, target: str) -> None:
    # Tornado 6.6: the scheme and host come from the template, never the request.
    with running([(r"/r/(.*)", RedirectHandler, {"url": template})]) as server:
        status, location = _redirect_location(server, target)
    assert (status.split(" ")[1], location) == ("400", None)


@pytest.mark.parametrize(
    ("template", "target", "location"),
    [
        ("/{0}/b", "/r/foo/bar", "/foo/bar/b"),
        ("{0}", "/r/relative/page", "relative/page"),
        ("http://example.com/{0}", "/r/@evil.com", "http://example.com/@evil.com"),  # a path, not user info
        ("http://example.com/{0}", "/r/:80@evil.com", "http://example.com/:80@evil.com"),
        ("HTTP://Example.COM/{0}", "/r/x", "HTTP://Example.COM/x"),  # compared case-insensitively
        ("https://example.com:8443/{0}", "/r//x", "https://example.com:8443//x"),
        ("//example.com/{0}", "/r/x", "//example.com/x"),  # a fixed protocol-relative host is the template's own
    ],
)
def test_redirect_handler_allows_substitutions_after_a_fixed_host(template: str, target: str, location: str) -> None:
    with running([(r"/r/(.*)", RedirectHandler, {"url": template})]) as server:
        status, sent = _redirect_location(server, target)
    assert (status.split(" ")[1], sent) == ("301", location)


def test_error_handler_answers_its_status() -> None:
    with running([("/gone", ErrorHandler, {"status_code": 410})]) as server:
        get = fetch(server, "/gone")
        post = fetch(server, "/gone", method="POST", data={"a": "1"})
    assert get.status_code == 410 and "410: Gone" in get.text
    assert post.status_code == 410


def test_fallback_handler_hands_over_the_request() -> None:
    from framework.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine

    def legacy_app(request: HTTPServerRequest) -> None:
        body = f"legacy saw {request.method} {request.path}".encode()
        headers = HTTPHeaders({"Content-Length": str(len(body)), "Content-Type": "text/plain"})
        request.connection.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), headers, body)
        request.connection.finish()

    class HelloHandler(RequestHandler):
        def get(self) -> None:
            self.write("native")

    with running([("/native", HelloHandler), (r".*", framework.web.FallbackHandler, {"fallback": legacy_app})]) as server:
        assert fetch(server, "/native").text == "native"
        assert fetch(server, "/old/page").text == "legacy saw GET /old/page"


# -- hardening (issue 12) -------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["/next\r\nX-Injected: yes", "/next\nX", "/a\x00b", "/a\x01b", "/a\x0bb", "/a\x7fb", "/a\x1b[31m"]
)
def test_redirect_to_a_target_with_a_control_character_is_a_clean_400(target: str, caplog: pytest.LogCaptureFixture) -> None:
    # Input (a path, a next= parameter) reaching redirect(): the client's
    # error, answered 400, with no traceback logged as a 500.
    class Redirecting(RequestHandler):
        def get(self) -> None:
            self.redirect(target)

    caplog.set_level(logging.WARNING)
    with running([("/", Redirecting)]) as server:
        response = fetch(server, "/")
    assert response.status_code == 400 and "Location" not in response.headers
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


def test_redirect_handler_refuses_a_control_character_from_the_path() -> None:
    with running([(r"/old/(.*)", RedirectHandler, {"url": "/new/{0}"})]) as server:
        assert fetch(server, "/old/a%01b").status_code == 400
        assert fetch(server, "/old/a%0d%0aX-Injected:%20yes").status_code == 400
        ok = fetch(server, "/old/a%09b")  # HTAB is allowed in a field value
        assert ok.status_code == 301 and ok.headers["Location"] == "/new/a\tb"


def test_redirect_with_non_ascii_target_is_still_sent_as_utf8() -> None:
    class Redirecting(RequestHandler):
        def get(self) -> None:
            self.redirect("/caf\u00e9/\u6587")

    with running([("/", Redirecting)]) as server:
        raw = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert b"\r\nLocation: /caf\xc3\xa9/\xe6\x96\x87\r\n" in raw

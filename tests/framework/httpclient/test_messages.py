"""Tests for framework/httpclient/messages.py: requests, responses and errors, and options resolved once.

Mostly without a server: these are plain objects. One round trip checks what
``raise_error`` makes of a 404.
"""

from __future__ import annotations

import io

import pytest

from framework.httpclient import (
    HTTPClientError,
    HTTPError,
    HTTPRequest,
    HTTPResponse,
    HTTPStreamClosedError,
    HTTPTimeoutError,
    StreamClosedError,
)
from framework.httpclient.messages import DEFAULTABLE, Options, resolve_options
from tests.framework.harness import run
from tests.framework.httpclient.servers import (
    Server,
    client,
    keep_alive,
    response,
)


def test_raise_error_true_and_false() -> None:
    respond = lambda r: response(404, b"missing", reason="Not Found")  # noqa: E731

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client() as http:
            with pytest.raises(HTTPError) as info:
                await http.fetch(server.url())
            assert info.value.code == 404 and str(info.value) == "HTTP 404: Not Found"
            assert info.value.response is not None and info.value.response.body == b"missing"
            resp = await http.fetch(server.url(), raise_error=False)
            assert resp.code == 404 and isinstance(resp.error, HTTPClientError)
            with pytest.raises(HTTPClientError):
                resp.rethrow()

    run(main)


def test_errors_carry_their_code_message_and_response() -> None:
    assert HTTPError is HTTPClientError  # Tornado's older name
    error = HTTPClientError(404)
    assert (error.code, error.message, error.response, str(error)) == (404, "Not Found", None, "HTTP 404: Not Found")
    assert repr(error) == "HTTP 404: Not Found"
    assert str(HTTPClientError(599, "connection refused")) == "HTTP 599: connection refused"
    timeout = HTTPTimeoutError("request timed out")
    assert isinstance(timeout, HTTPClientError) and (timeout.code, timeout.message) == (599, "request timed out")
    reset = ConnectionResetError(104, "reset by peer")
    closed = HTTPStreamClosedError("body truncated after 9 of 100 bytes", reset)
    assert isinstance(closed, HTTPClientError) and isinstance(closed, StreamClosedError)  # either except catches it
    assert (closed.code, closed.message, closed.real_error) == (599, "body truncated after 9 of 100 bytes", reset)


def test_request_keeps_tornados_options_and_encodes_a_str_body() -> None:
    request = HTTPRequest("http://example.test/x", "POST", {"X-A": "1"}, "caf\u00e9", request_timeout=3.0)
    assert request.body == b"caf\xc3\xa9"  # a str body is sent UTF-8 encoded
    assert request.headers["x-a"] == "1" and request.request_timeout == 3.0
    assert request.connect_timeout is None and request.follow_redirects is None  # unset: defaults decide later
    assert not request.expect_100_continue
    request.body = b"raw"
    assert request.body == b"raw"
    request.body = None
    assert request.body is None
    assert repr(request) == "HTTPRequest(POST http://example.test/x)"
    with pytest.raises(TypeError):
        HTTPRequest("http://example.test/", "GET", None, None, 5.0)  # type: ignore[misc]  # keyword-only options


def test_response_error_is_its_status_unless_given() -> None:
    request = HTTPRequest("http://example.test/start")
    ok = HTTPResponse(request, 200, buffer=io.BytesIO(b"body"), effective_url="http://example.test/end")
    assert (ok.error, ok.body, ok.reason, ok.effective_url) == (None, b"body", "OK", "http://example.test/end")
    ok.rethrow()  # nothing to raise
    missing = HTTPResponse(request, 404)
    assert missing.body == b"" and missing.effective_url == request.url and missing.headers == {}
    assert isinstance(missing.error, HTTPClientError) and missing.error.response is missing
    with pytest.raises(HTTPClientError, match="404"):
        missing.rethrow()
    refused = ConnectionRefusedError()
    no_answer = HTTPResponse(request, 599, error=refused)
    assert no_answer.error is refused and no_answer.reason == "Unknown"
    with pytest.raises(ConnectionRefusedError):
        no_answer.rethrow()
    assert repr(ok) == "HTTPResponse(code=200, effective_url='http://example.test/end')"


def test_resolve_options_takes_the_request_then_the_defaults_then_the_built_ins() -> None:
    request = HTTPRequest("http://example.test/", request_timeout=1.5, follow_redirects=False)
    options = resolve_options(request, {"request_timeout": 9.0, "connect_timeout": 2.0, "user_agent": "suite"})
    assert options.request_timeout == 1.5  # the request's own
    assert options.follow_redirects is False  # False is a value, not "unset"
    assert (options.connect_timeout, options.user_agent) == (2.0, "suite")  # the client's defaults
    assert (options.max_redirects, options.validate_cert, options.auth_mode) == (5, True, "basic")  # built-in
    assert resolve_options(HTTPRequest("http://example.test/"), {}) == Options()
    assert DEFAULTABLE == {"connect_timeout", "request_timeout", "follow_redirects", "max_redirects", "user_agent",
                           "decompress_response", "allow_nonstandard_methods", "validate_cert", "ca_certs",
                           "ssl_options", "auth_username", "auth_password", "auth_mode"}  # fmt: skip
    with pytest.raises(AttributeError):
        options.request_timeout = 5.0  # type: ignore[misc]  # resolved once: frozen

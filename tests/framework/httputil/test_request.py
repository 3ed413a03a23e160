"""Tests for framework/httputil/request.py: ``HTTPServerRequest``, its URI, host, arguments, cookies and body."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPInputError,
    HTTPServerRequest,
    ParseBodyConfig,
    ParseUrlEncodedConfig,
    RequestStartLine,
    set_parse_body_config,
)
from tests.framework.httputil.bodies import FORM


def test_server_request_parses_its_uri_and_host() -> None:
    request = HTTPServerRequest("GET", "/p?a=1&b=%C3%A9&a=2&e=", headers=HTTPHeaders({"Host": "Ex.com:81"}))
    assert (request.path, request.query) == ("/p", "a=1&b=%C3%A9&a=2&e=")
    assert request.query_arguments == request.arguments == {"a": [b"1", b"2"], "b": [b"\xc3\xa9"], "e": [b""]}
    assert request.arguments is not request.query_arguments
    assert (request.host, request.host_name) == ("Ex.com:81", "ex.com")
    assert request.full_url() == "http://Ex.com:81/p?a=1&b=%C3%A9&a=2&e="
    assert request.body == b"" and request.files == {} and request.body_arguments == {}
    assert repr(request) == "HTTPServerRequest(method='GET', uri='/p?a=1&b=%C3%A9&a=2&e=', remote_ip=None)"


def test_server_request_defaults_and_start_line() -> None:
    request = HTTPServerRequest()
    assert (request.method, request.uri, request.version, request.host) == ("GET", "/", "HTTP/1.0", "127.0.0.1")
    assert (request.remote_ip, request.protocol, request.connection) == (None, "http", None)
    assert request.request_time() >= 0
    from_line = HTTPServerRequest(start_line=RequestStartLine("DELETE", "/item/1", "HTTP/1.1"), host="api.test")
    assert (from_line.method, from_line.path, from_line.version, from_line.host) == ("DELETE", "/item/1", "HTTP/1.1", "api.test")


@pytest.mark.parametrize(
    ("target", "host_values"),
    [("/", ["a.test"]), ("/p?x=1&y=%20&x=2", ["a.test:8080"]), ("/q?", []), ("/empty", [""]), ("/v6", ["[::1]:8888"])],
)
def test_server_request_from_start_line_is_what_the_constructor_builds(target: str, host_values: list[str]) -> None:
    class Connection(HTTPConnection):
        context = SimpleNamespace(remote_ip="198.51.100.7", protocol="https")

    connection, start_line = Connection(), RequestStartLine("POST", target, "HTTP/1.1")
    fields = {"host": host_values} if host_values else {}
    built = HTTPServerRequest(
        start_line=start_line, headers=HTTPHeaders.adopt(dict(fields)), connection=connection, server_connection="srv"
    )
    fast = HTTPServerRequest.from_start_line(start_line, HTTPHeaders.adopt(dict(fields)), connection, "srv")
    assert state_of(fast) == state_of(built)
    assert fast.headers.fields == built.headers.fields and fast.request_time() >= 0


# Tornado 6.6.1's rule: RFC 3986's host characters (unreserved, sub-delims,
# %XX), with "[", "]" and ":" anywhere and no ",", which two joined Host
# fields would make.
@pytest.mark.parametrize(
    "host",
    ["a.com,b.com", "a b", "a/b", "u@a.com", "a?b", "a#b", "a\\b", "%zz.test", "caf\u00e9.test", "a.test:80,", "<x>"],
)
def test_server_request_refuses_a_host_outside_the_host_rule(host: str) -> None:
    with pytest.raises(HTTPInputError) as refused:
        HTTPServerRequest.from_start_line(
            RequestStartLine("GET", "/", "HTTP/1.1"), HTTPHeaders.adopt({"host": [host]}), None, None
        )
    assert refused.value.status == 400
    expected = "Multiple host headers" if "," in host else "Invalid Host header"
    assert refused.value.message.startswith(expected)
    with pytest.raises(HTTPInputError, match=expected):
        HTTPServerRequest(start_line=RequestStartLine("GET", "/", "HTTP/1.1"), headers=HTTPHeaders({"Host": host}))


def test_server_request_refuses_two_host_fields_joined() -> None:
    headers = HTTPHeaders.adopt({"host": ["a.test", "b.test"]})
    with pytest.raises(HTTPInputError, match="Multiple host headers"):
        HTTPServerRequest.from_start_line(RequestStartLine("GET", "/", "HTTP/1.1"), headers, None, None)


@pytest.mark.parametrize(
    ("host", "host_name"),
    [
        ("Example.COM:8080", "example.com"),
        ("[::1]:8888", "::1"),  # Tornado keeps the brackets: "[::1]" (split_host_and_port differs)
        ("", ""),  # an empty Host stays empty, as in Tornado; only a missing one is 127.0.0.1
        ("%41b.test", "%41b.test"),
        ("x-_.~!$&'()*+;=:", "x-_.~!$&'()*+;="),
    ],
)
def test_server_request_accepts_what_the_host_rule_allows(host: str, host_name: str) -> None:
    request = HTTPServerRequest.from_start_line(
        RequestStartLine("GET", "/", "HTTP/1.1"), HTTPHeaders.adopt({"host": [host]}), None, None
    )
    assert (request.host, request.host_name) == (host, host_name)


def test_server_request_refuses_a_query_over_the_urlencoded_field_limit() -> None:
    def request(target: str) -> HTTPServerRequest:
        return HTTPServerRequest.from_start_line(
            RequestStartLine("GET", target, "HTTP/1.1"), HTTPHeaders.adopt({"host": ["a.test"]}), None, None
        )

    assert len(request("/?" + "&".join(["a"] * 1000)).query_arguments["a"]) == 1000  # Tornado's default limit
    with pytest.raises(HTTPInputError, match="Invalid query string: Max number of fields exceeded") as refused:
        request("/?" + "&".join(["a"] * 1001))
    assert refused.value.status == 400
    with pytest.raises(HTTPInputError):
        request("/?a=1" + "&" * 1000)  # empty pairs count, as Tornado counts them
    set_parse_body_config(ParseBodyConfig(urlencoded=ParseUrlEncodedConfig(max_arguments=2)))
    try:
        assert request("/?a=1&b=2").arguments == {"a": [b"1"], "b": [b"2"]}
        with pytest.raises(HTTPInputError):
            request("/?a=1&b=2&c=3")
    finally:
        set_parse_body_config(ParseBodyConfig())


def state_of(request: HTTPServerRequest) -> dict[str, object]:
    """Every attribute a request holds, its slots and its ``__dict__``, but the clock and the headers."""
    skipped = {"__dict__", "__weakref__", "_start_time", "headers"}
    state = {name: getattr(request, name) for name in HTTPServerRequest.__slots__ if name not in skipped}
    assert len(state) > 10  # the slots are there to compare
    return state | vars(request)


def test_server_request_makes_its_argument_dicts_on_first_use_and_keeps_them() -> None:
    request = HTTPServerRequest("GET", "/plain")
    for name in ("query_arguments", "arguments", "body_arguments", "files"):
        made = getattr(request, name)
        assert made == {} and getattr(request, name) is made  # one dict, kept once made
        made["k"] = [b"v"]
        assert getattr(request, name) == {"k": [b"v"]}
        replaced: dict[str, list[bytes]] = {}
        setattr(request, name, replaced)
        assert getattr(request, name) is replaced
    request.anything_else = "an application's own attribute"  # type: ignore[attr-defined]  # as on Tornado's
    assert vars(request) == {"anything_else": "an application's own attribute"}


def test_server_request_takes_any_mapping_as_its_headers() -> None:
    request = HTTPServerRequest("GET", "/", headers={"Host": "plain.test"})  # type: ignore[arg-type]  # as Tornado's does
    assert request.host == "plain.test" and request.headers == {"Host": "plain.test"}


def test_server_request_takes_remote_ip_and_protocol_from_its_connection_context() -> None:
    class Connection(HTTPConnection):
        context = SimpleNamespace(remote_ip="203.0.113.9", protocol="https")

    connection = Connection()
    request = HTTPServerRequest("GET", "/", headers=HTTPHeaders({"Host": "site.test"}), connection=connection)
    assert (request.remote_ip, request.protocol, request.connection) == ("203.0.113.9", "https", connection)
    assert request.full_url() == "https://site.test/"


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (SimpleNamespace(remote_ip="203.0.113.9"), ("203.0.113.9", "http")),  # a context without a protocol
        (SimpleNamespace(protocol="https"), (None, "https")),  # nor a remote_ip
        (None, (None, "http")),
    ],
)
def test_server_request_without_a_full_context_takes_what_there_is(
    context: SimpleNamespace | None, expected: tuple[str | None, str]
) -> None:
    class Connection(HTTPConnection):
        pass

    connection = Connection()
    if context is not None:
        connection.context = context  # type: ignore[attr-defined]
    for conn in (connection, None):  # (and a request made without a connection)
        request = HTTPServerRequest("GET", "/", connection=conn)
        assert (request.remote_ip, request.protocol) == (expected if conn is not None else (None, "http"))


def test_server_request_cookies_skip_names_simple_cookie_refuses() -> None:
    headers = HTTPHeaders.from_pairs([("Cookie", 's=1; bad name=2; t="q"'), ("Cookie", "u=%7E")])
    cookies = HTTPServerRequest("GET", "/", headers=headers).cookies
    assert {name: morsel.value for name, morsel in cookies.items()} == {
        "s": "1",
        "t": "q",
        "u": "%7E",
    }  # (as sent: Tornado does not percent-decode)


def test_server_request_parse_body_adds_body_arguments_and_files() -> None:
    form = HTTPServerRequest(
        "POST", "/?a=1", headers=HTTPHeaders({"Content-Type": "application/x-www-form-urlencoded"}), body=b"a=2&c=3"
    )
    form.parse_body()
    assert form.body_arguments == {"a": [b"2"], "c": [b"3"]}
    assert form.arguments == {"a": [b"1", b"2"], "c": [b"3"]} and form.query_arguments == {"a": [b"1"]}
    upload = HTTPServerRequest(
        "POST", "/", headers=HTTPHeaders({"Content-Type": "multipart/form-data; boundary=1234"}), body=FORM
    )
    upload._parse_body()  # Tornado's name, kept as an alias
    assert upload.arguments == {"title": [b"hello"]} and upload.files["files"][0].filename == "ab.txt"

"""Tests for framework.routing (mirrors tornado.routing), on real requests without a server."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Generator
from typing import Any

import pytest

from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from framework.routing import (
    AnyMatches,
    DefaultHostMatches,
    HostMatches,
    Matcher,
    PathMatches,
    ReversibleRuleRouter,
    Router,
    Rule,
    RuleRouter,
    URLSpec,
    url,
)

# -- helpers: named targets and a router that reports which one it chose -------


class Target:
    """A stand-in for a handler class: the router below reports it by name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Target({self.name!r})"


class Found(HTTPMessageDelegate):
    def __init__(self, name: str, params: dict[str, Any]) -> None:
        self.name = name
        self.params = params


class NamingRouter(ReversibleRuleRouter):
    """Turns ``Target`` objects into ``Found`` delegates, as Application does for handler classes."""

    def get_target_delegate(self, target: Any, request: HTTPServerRequest, **target_params: Any) -> HTTPMessageDelegate | None:
        if isinstance(target, Target):
            return Found(target.name, target_params)
        return super().get_target_delegate(target, request, **target_params)


class Nothing(Router):
    """A nested router that never finds anything, so the parent moves on."""

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        return None


def route(router: Router, uri: str, **request_kwargs: Any) -> Found | None:
    request_kwargs.setdefault("method", "GET")
    delegate = router.find_handler(HTTPServerRequest(uri=uri, **request_kwargs))
    assert delegate is None or isinstance(delegate, Found)
    return delegate


def chosen(router: Router, uri: str, **request_kwargs: Any) -> str | None:
    found = route(router, uri, **request_kwargs)
    return None if found is None else found.name


class Ready:
    """An already-complete awaitable, as a real connection returns when it can take more."""

    def __await__(self) -> Generator[None, None, None]:
        return
        yield


class FakeConnection(HTTPConnection):
    """Records what the application writes."""

    def __init__(self) -> None:
        self.start_line: ResponseStartLine | None = None
        self.headers: HTTPHeaders | None = None
        self.body = b""
        self.finished = False

    def write_headers(self, start_line: ResponseStartLine, headers: HTTPHeaders, chunk: bytes | None = None) -> Awaitable[None]:
        self.start_line, self.headers = start_line, headers
        self.body += chunk or b""
        return Ready()

    def write(self, chunk: bytes) -> Awaitable[None]:
        self.body += chunk
        return Ready()

    def finish(self) -> None:
        self.finished = True


def serve(
    router: Router, uri: str, body: bytes = b"", headers: dict[str, str] | None = None, method: str = "GET"
) -> FakeConnection:
    """Drive a request through ``start_request`` as the server would."""
    conn = FakeConnection()
    delegate = router.start_request(object(), conn)
    delegate.headers_received(RequestStartLine(method, uri, "HTTP/1.1"), HTTPHeaders(headers or {}))
    if body:
        delegate.data_received(body)
    delegate.finish()
    return conn


# -- matching order -------------------------------------------------------------


def test_first_matching_rule_wins() -> None:
    router = NamingRouter([(r"/story/(.*)", Target("any")), (r"/story/([0-9]+)", Target("digits"))])
    assert chosen(router, "/story/1") == "any"


def test_literal_after_matching_regex_does_not_win() -> None:
    router = NamingRouter([(r"/a.*", Target("regex")), ("/about", Target("literal"))])
    assert chosen(router, "/about") == "regex"


def test_literal_before_regex_wins() -> None:
    router = NamingRouter([("/about", Target("literal")), (r"/a.*", Target("regex"))])
    assert chosen(router, "/about") == "literal"
    assert chosen(router, "/abc") == "regex"


def test_literal_after_non_matching_regex_is_found() -> None:
    router = NamingRouter([(r"/story/([0-9]+)", Target("s")), ("/", Target("home")), ("/healthz", Target("h"))])
    assert chosen(router, "/") == "home"
    assert chosen(router, "/healthz") == "h"
    assert chosen(router, "/missing") is None


def test_duplicate_literal_first_wins() -> None:
    router = NamingRouter([("/x", Target("first")), ("/x", Target("second"))])
    assert chosen(router, "/x") == "first"


def test_literal_whose_target_declines_falls_through_to_later_rules() -> None:
    router = NamingRouter([("/x", Nothing()), (r"/early", Target("no")), (r"/.*", Target("catch-all"))])
    assert chosen(router, "/x") == "catch-all"


def test_host_rule_before_literal_keeps_its_priority() -> None:
    admin = Rule(HostMatches(r"admin\.example\.com"), Target("admin"))
    router = NamingRouter([admin, ("/about", Target("about"))])
    assert chosen(router, "/about", headers=HTTPHeaders({"Host": "admin.example.com"})) == "admin"
    assert chosen(router, "/about", headers=HTTPHeaders({"Host": "www.example.com"})) == "about"


def test_rules_inserted_in_place_are_honoured() -> None:
    # Tornado's Application.add_handlers edits ``rules`` directly.
    router = NamingRouter([("/about", Target("old"))])
    assert chosen(router, "/about") == "old"
    router.rules.insert(0, Rule(PathMatches("/about"), Target("new")))
    assert chosen(router, "/about") == "new"


def test_add_rules_after_construction() -> None:
    router = NamingRouter()
    router.add_rules([("/a", Target("a"))])
    router.add_rules([Rule(PathMatches(r"/b/(\d+)"), Target("b"))])
    assert chosen(router, "/a") == "a"
    assert chosen(router, "/b/7") == "b"


def test_process_rule_hook_sees_every_rule() -> None:
    seen: list[Rule] = []

    class Recording(NamingRouter):
        def process_rule(self, rule: Rule) -> Rule:
            seen.append(rule)
            return super().process_rule(rule)

    Recording([("/a", Target("a")), (r"/b", Target("b"))])
    assert [type(rule.matcher) for rule in seen] == [PathMatches, PathMatches]


@pytest.mark.parametrize("bad", [("/only",), ("/a", Target("a"), {}, "n", "extra"), "/a"])
def test_malformed_rule_tuples_are_rejected(bad: Any) -> None:
    with pytest.raises(ValueError, match="a rule is a Rule"):
        NamingRouter([bad])


def test_rule_needs_a_matcher() -> None:
    with pytest.raises(TypeError, match="needs a Matcher"):
        Rule("/x", Target("x"))  # type: ignore[arg-type]


# -- path matching --------------------------------------------------------------


def test_pattern_is_anchored_at_the_end() -> None:
    router = NamingRouter([(r"/story/([0-9]+)", Target("story"))])
    assert chosen(router, "/story/1") == "story"
    assert chosen(router, "/story/1/extra") is None
    assert chosen(router, "/x/story/1") is None


def test_query_string_is_not_part_of_the_path() -> None:
    router = NamingRouter([("/search", Target("s"))])
    assert chosen(router, "/search?q=1") == "s"


def test_unnamed_groups_become_positional_bytes() -> None:
    found = route(NamingRouter([(r"/(\w+)/([0-9]+)", Target("t"))]), "/story/12")
    assert found is not None
    assert found.params == {"path_args": [b"story", b"12"], "path_kwargs": {}}


def test_named_groups_become_keyword_arguments_only() -> None:
    found = route(NamingRouter([(r"/(?P<kind>\w+)/([0-9]+)", Target("t"))]), "/story/12")
    assert found is not None
    assert found.params == {"path_args": [], "path_kwargs": {"kind": b"story"}}


def test_groups_are_percent_decoded_to_bytes() -> None:
    found = route(NamingRouter([(r"/(.*)", Target("t"))]), "/a%20b%E9")
    assert found is not None
    assert found.params["path_args"] == [b"a b\xe9"]


def test_group_that_did_not_participate_is_none() -> None:
    found = route(NamingRouter([(r"/a(/x)?", Target("t"))]), "/a")
    assert found is not None
    assert found.params["path_args"] == [None]


def test_pattern_without_groups_passes_no_arguments() -> None:
    assert PathMatches("/about").match(HTTPServerRequest(uri="/about")) == {}


def test_target_kwargs_reach_the_target() -> None:
    found = route(NamingRouter([("/a", Target("t"), {"db": 1})]), "/a")
    assert found is not None
    assert found.params == {"target_kwargs": {"db": 1}}


def test_invalid_pattern_fails_at_construction() -> None:
    with pytest.raises(ValueError, match=r"invalid route pattern '/\(unclosed'"):
        PathMatches("/(unclosed")
    with pytest.raises(ValueError, match="invalid route pattern"):
        NamingRouter([("/[", Target("t"))])


def test_compiled_pattern_is_used_as_given() -> None:
    matcher = PathMatches(re.compile("/about", re.IGNORECASE))
    assert matcher.match(HTTPServerRequest(uri="/ABOUT/more")) == {}
    assert matcher.literal_path is None


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        ("/", "/"),
        ("/about", "/about"),
        (r"/favicon\.ico", "/favicon.ico"),
        ("^/x$", "/x"),
        ("/favicon.ico", None),
        (r"/s/(\d+)", None),
        ("/feed/?", None),
        ("/a|/b", None),
    ],
)
def test_only_plain_text_patterns_are_literal(pattern: str, literal: str | None) -> None:
    assert PathMatches(pattern).literal_path == literal


# -- reversing ------------------------------------------------------------------


def test_reverse_url_escapes_arguments() -> None:
    router = NamingRouter([url(r"/story/([^/]+)", Target("story"), name="story")])
    assert router.reverse_url("story", "a b/c?d") == "/story/a%20b/c%3Fd"
    assert router.reverse_url("story", 42) == "/story/42"
    assert router.reverse_url("story", b"\xe9") == "/story/%E9"
    assert router.reverse_url("story", "é+1") == "/story/%C3%A9%2B1"


def test_reversed_url_round_trips_through_match() -> None:
    router = NamingRouter([url(r"/files/(.+)", Target("f"), name="f")])
    path = router.reverse_url("f", "dir/a b.txt")
    assert path is not None
    found = route(router, path)
    assert found is not None and found.params["path_args"] == [b"dir/a b.txt"]


def test_reverse_literal_and_escaped_text() -> None:
    router = NamingRouter([url(r"^/feed\.xml$", Target("f"), name="feed"), url("/", Target("h"), name="home")])
    assert router.reverse_url("feed") == "/feed.xml"
    assert router.reverse_url("home") == "/"


def test_reverse_named_groups_in_order() -> None:
    spec = URLSpec(r"/(?P<year>\d{4})/(?P<slug>[^/]+)", Target("post"), name="post")
    assert spec.reverse(2024, "hi there") == "/2024/hi%20there"


@pytest.mark.parametrize("args", [(), ("1", "2")])
def test_reverse_argument_count_mismatch(args: tuple[str, ...]) -> None:
    router = NamingRouter([url(r"/story/([0-9]+)", Target("s"), name="story")])
    with pytest.raises(ValueError, match="takes 1 argument"):
        router.reverse_url("story", *args)


@pytest.mark.parametrize("pattern", [r"/a/(b(c))", r"/(?:x|y)/(\d+)", r"/feed/?", r"/\d+/(x)"])
def test_unreversible_patterns_raise(pattern: str) -> None:
    with pytest.raises(ValueError, match="cannot reverse"):
        PathMatches(pattern).reverse("1")


def test_unknown_name_reverses_to_none() -> None:
    assert NamingRouter([url("/", Target("h"), name="home")]).reverse_url("nope") is None


def test_duplicate_names_fail_naming_both_patterns() -> None:
    with pytest.raises(ValueError, match=r"'main' is used twice: by '/a\$' and '/b\$'"):
        NamingRouter([url("/a", Target("a"), name="main"), url("/b", Target("b"), name="main")])


def test_matcher_without_url_form_reverses_to_none() -> None:
    assert Rule(AnyMatches(), Target("x"), name="x").reverse() is None


# -- nested routers ---------------------------------------------------------------


def test_nested_rule_router_is_consulted() -> None:
    inner = NamingRouter([url(r"/api/items/([0-9]+)", Target("item"), name="item")])
    outer = NamingRouter([(r"/api/.*", inner), ("/", Target("home"))])
    found = route(outer, "/api/items/3")
    assert found is not None and found.name == "item" and found.params["path_args"] == [b"3"]
    assert chosen(outer, "/") == "home"


def test_nested_router_that_finds_nothing_lets_later_rules_try() -> None:
    inner = NamingRouter([("/api/items", Target("items"))])
    outer = NamingRouter([Rule(AnyMatches(), inner), ("/about", Target("about"))])
    assert chosen(outer, "/api/items") == "items"
    assert chosen(outer, "/about") == "about"


def test_reverse_url_searches_nested_routers() -> None:
    inner = NamingRouter([url(r"/api/items/([0-9]+)", Target("item"), name="item")])
    outer = NamingRouter([Rule(AnyMatches(), inner), url("/", Target("home"), name="home")])
    assert outer.reverse_url("item", 5) == "/api/items/5"
    assert outer.reverse_url("home") == "/"


# -- host matchers ----------------------------------------------------------------


def test_host_matches_host_name_without_port() -> None:
    matcher = HostMatches(r"www\.example\.com")
    request = HTTPServerRequest(uri="/", headers=HTTPHeaders({"Host": "WWW.example.com:8080"}))
    assert matcher.match(request) == {}
    other = HTTPServerRequest(uri="/", headers=HTTPHeaders({"Host": "www.example.com.evil"}))
    assert matcher.match(other) is None


def test_host_pattern_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="invalid route pattern"):
        HostMatches("(")


def test_default_host_matches_unless_proxied() -> None:
    class App:
        default_host = "example.com"

    matcher = DefaultHostMatches(App(), re.compile(r"example\.com$"))
    assert matcher.match(HTTPServerRequest(uri="/")) == {}
    proxied = HTTPServerRequest(uri="/", headers=HTTPHeaders({"X-Real-Ip": "10.0.0.1"}))
    assert matcher.match(proxied) is None
    assert DefaultHostMatches(App(), re.compile("other$")).match(HTTPServerRequest(uri="/")) is None
    app = App()
    app.default_host = None  # type: ignore[assignment]  # set back to none after the rule was made
    assert DefaultHostMatches(app, re.compile(".*")).match(HTTPServerRequest(uri="/")) is None


def test_custom_matcher() -> None:
    class PostOnly(Matcher):
        def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
            return {} if request.method == "POST" else None

    router = NamingRouter([Rule(PostOnly(), Target("post")), ("/", Target("home"))])
    assert chosen(router, "/") == "home"
    found = route(router, "/", method="POST")
    assert found is not None and found.name == "post"


# -- start_request: 404, callables, connection delegates ----------------------------


def test_no_route_answers_404_after_the_body() -> None:
    conn = serve(NamingRouter([("/", Target("home"))]), "/missing", body=b"ignored", method="POST")
    assert conn.start_line == ResponseStartLine("HTTP/1.1", 404, "Not Found")
    assert conn.headers is not None and conn.headers["Content-Length"] == str(len(conn.body))
    assert conn.body and conn.finished


def test_found_delegate_receives_every_call() -> None:
    calls: list[Any] = []

    class Recorder(HTTPMessageDelegate):
        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
            calls.append(("headers", start_line.path))

        def data_received(self, chunk: bytes) -> None:
            calls.append(("data", chunk))

        def finish(self) -> None:
            calls.append("finish")

        def on_connection_close(self) -> None:
            calls.append("close")

    class Starter(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            calls.append(("start", request_conn))
            return Recorder()

    router = RuleRouter([("/up", Starter())])
    conn = FakeConnection()
    delegate = router.start_request(object(), conn)
    delegate.headers_received(RequestStartLine("POST", "/up", "HTTP/1.1"), HTTPHeaders())
    delegate.data_received(b"abc")
    delegate.finish()
    delegate.on_connection_close()
    assert calls == [("start", conn), ("headers", "/up"), ("data", b"abc"), "finish", "close"]


def test_callable_target_gets_request_with_body_and_arguments() -> None:
    seen: list[HTTPServerRequest] = []

    def handle(request: HTTPServerRequest) -> None:
        seen.append(request)
        request.connection.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders(), b"OK")
        request.connection.finish()

    conn = serve(
        RuleRouter([("/form", handle)]),
        "/form?x=1",
        body=b"name=ada",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    assert conn.start_line is not None and conn.start_line.code == 200 and conn.body == b"OK"
    (request,) = seen
    assert request.body == b"name=ada"
    assert request.arguments == {"x": [b"1"], "name": [b"ada"]}


def test_callable_target_receives_path_groups_as_keywords() -> None:
    seen: list[Any] = []

    def handle(request: HTTPServerRequest, path_args: list[bytes], path_kwargs: dict[str, bytes]) -> None:
        seen.append((path_args, path_kwargs))

    serve(RuleRouter([(r"/story/([0-9]+)", handle)]), "/story/9")
    assert seen == [([b"9"], {})]


def test_string_target_is_imported() -> None:
    rule = Rule(AnyMatches(), "framework.httputil.HTTPMessageDelegate")
    assert rule.target is HTTPMessageDelegate
    with pytest.raises(ImportError, match="no object 'Nope'"):
        Rule(AnyMatches(), "framework.httputil.Nope")


def test_urlspec_keeps_tornado_attributes() -> None:
    target = Target("h")
    spec = URLSpec(r"/story/([0-9]+)", target, {"db": 1}, "story")
    assert url is URLSpec
    assert spec.regex.pattern == r"/story/([0-9]+)$"
    assert spec.handler_class is target and spec.target is target
    assert spec.kwargs == {"db": 1} and spec.name == "story"
    assert isinstance(spec.matcher, PathMatches) and spec.reverse(3) == "/story/3"
    assert "story" in repr(spec)

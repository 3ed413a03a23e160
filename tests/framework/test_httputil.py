"""Tests for framework/httputil/ (the package): every public name, as Tornado's ``httputil_test`` exercises them.

The module is the seam between server and application (``HTTPConnection``,
``HTTPMessageDelegate``, ``HTTPServerConnectionDelegate``), the request and
header objects handlers see, and Tornado's helper functions. No sockets here:
the real-socket behaviour of the seam is tested with the server. The last test
checks that every name in ``httputil.__all__`` is named in this file.
"""

from __future__ import annotations

import ast
import datetime
import logging
import pathlib
import urllib.parse
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework import http1, httputil
from framework.httputil import (
    HTTPConnection,
    HTTPFile,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPOutputError,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
    encode_username_password,
    format_timestamp,
    parse_body_arguments,
    parse_cookie,
    parse_multipart_form_data,
    parse_qs_bytes,
    parse_request_start_line,
    parse_response_start_line,
    qs_to_qsl,
    responses,
    split_host_and_port,
    url_concat,
)

FORM = (
    b"--1234\r\n"
    b'Content-Disposition: form-data; name="title"\r\n\r\n'
    b"hello\r\n"
    b"--1234\r\n"
    b'Content-Disposition: form-data; name="files"; filename="ab.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"Foo\r\n"
    b"--1234--\r\n"
)


@pytest.mark.parametrize("boundary", [b"1234", b'"1234"'])
def test_parse_multipart_form_data_fills_arguments_and_files(boundary: bytes) -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_multipart_form_data(boundary, FORM, arguments, files)
    assert arguments == {"title": [b"hello"]}
    upload = files["files"][0]
    assert (upload.filename, upload.content_type, upload.body) == ("ab.txt", "text/plain", b"Foo")


def test_parse_multipart_form_data_refuses_a_truncated_body() -> None:
    with pytest.raises(HTTPInputError):
        parse_multipart_form_data(b"1234", FORM[:-10], {}, {})


def test_parse_multipart_form_data_refuses_a_boundary_with_a_quote() -> None:
    with pytest.raises(HTTPInputError):
        parse_multipart_form_data(b'12"34', FORM, {}, {})


def test_parse_body_arguments_url_encoded_and_multipart() -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_body_arguments("application/x-www-form-urlencoded", b"a=1&a=2&b=", arguments, files)
    assert arguments == {"a": [b"1", b"2"], "b": [b""]}
    parse_body_arguments("multipart/form-data; boundary=1234", FORM, arguments, files)
    assert arguments["title"] == [b"hello"] and files["files"][0].body == b"Foo"


def test_parse_request_start_line() -> None:
    assert parse_request_start_line("GET /foo?a=1 HTTP/1.1") == RequestStartLine("GET", "/foo?a=1", "HTTP/1.1")
    start = parse_request_start_line("POST / HTTP/1.0")
    assert (start.method, start.path, start.version) == ("POST", "/", "HTTP/1.0")


@pytest.mark.parametrize("line", ["GET /foo", "GET /foo HTTP/1.1 extra", "GET /foo HTTP/x", "GET /f\x00o HTTP/1.1", ""])
def test_parse_request_start_line_refuses_malformed_lines(line: str) -> None:
    with pytest.raises(HTTPInputError):
        parse_request_start_line(line)


def test_parse_response_start_line() -> None:
    assert parse_response_start_line("HTTP/1.1 200 OK") == ResponseStartLine("HTTP/1.1", 200, "OK")
    assert parse_response_start_line("HTTP/1.0 404 Not Found") == ResponseStartLine("HTTP/1.0", 404, "Not Found")
    assert parse_response_start_line("HTTP/1.1 204") == ResponseStartLine("HTTP/1.1", 204, "")


@pytest.mark.parametrize("line", ["HTTP/1.1 2000 OK", "HTTP/1.1", "HTTP/x 200 OK", "ICY 200 OK", "HTTP/1.1 200 O\rK"])
def test_parse_response_start_line_refuses_malformed_lines(line: str) -> None:
    with pytest.raises(HTTPInputError):
        parse_response_start_line(line)


def test_encode_username_password() -> None:
    assert encode_username_password("user", "pass") == b"user:pass"
    assert encode_username_password(b"user", "p\u00e4ss") == b"user:p\xc3\xa4ss"


def test_url_concat() -> None:
    assert url_concat("http://example.com/foo", {"c": "d"}) == "http://example.com/foo?c=d"
    assert url_concat("http://example.com/foo?a=b", [("c", "d"), ("c", "d2")]) == "http://example.com/foo?a=b&c=d&c=d2"
    assert url_concat("http://example.com/foo?a=b", None) == "http://example.com/foo?a=b"


def test_format_timestamp_accepts_every_form() -> None:
    expected = "Sun, 27 Jan 2013 18:43:20 GMT"
    ts = 1359312200.503611
    assert format_timestamp(ts) == expected
    assert format_timestamp(datetime.datetime(2013, 1, 27, 18, 43, 20)) == expected
    assert format_timestamp(datetime.datetime(2013, 1, 27, 18, 43, 20, tzinfo=datetime.UTC)) == expected
    assert format_timestamp((2013, 1, 27, 18, 43, 20, 0, 0, 0)) == expected


def test_split_host_and_port() -> None:
    assert split_host_and_port("example.com:8080") == ("example.com", 8080)
    assert split_host_and_port("example.com") == ("example.com", None)
    assert split_host_and_port("[::1]:80") == ("::1", 80)


def test_split_host_and_port_without_a_usable_port() -> None:
    assert split_host_and_port("[::1]") == ("::1", None)
    assert split_host_and_port("::1") == ("::1", None)  # bare IPv6: its colons are not a port
    assert split_host_and_port("example.com:http") == ("example.com", None)


# -- query strings and cookies ------------------------------------------------------


def _parse_qs_reference(qs: str | bytes, keep_blank_values: bool) -> dict[str, list[bytes]]:
    """What the standard library makes of a query string, values back to latin-1 bytes (Tornado's recipe)."""
    text = qs.decode("latin-1") if isinstance(qs, bytes) else qs
    parsed = urllib.parse.parse_qs(text, keep_blank_values=keep_blank_values, encoding="latin-1", errors="strict")
    return {name: [value.encode("latin-1") for value in values] for name, values in parsed.items()}


_QS_ALPHABET = st.sampled_from(
    [b"a", b"b", b"=", b"&", b"+", b"%", b"2", b"B", b"F", b"f", b"g", b"\xe9", b" ", b";", b"%2", b"%zz"]
)


@given(parts=st.lists(_QS_ALPHABET, max_size=40), keep=st.booleans())
def test_parse_qs_bytes_agrees_with_the_standard_library(parts: list[bytes], keep: bool) -> None:
    qs = b"".join(parts)
    assert parse_qs_bytes(qs, keep_blank_values=keep) == _parse_qs_reference(qs, keep)
    assert parse_qs_bytes(qs.decode("latin-1"), keep_blank_values=keep) == _parse_qs_reference(qs, keep)


@given(text=st.text(alphabet="ab=&+%2F€é ", max_size=30), keep=st.booleans())
def test_parse_qs_bytes_of_any_text_agrees_with_the_standard_library(text: str, keep: bool) -> None:
    """Text beyond latin-1 (only a hand-made request holds it): the same answer, or the same refusal."""
    try:
        expected: object = _parse_qs_reference(text, keep)
    except UnicodeEncodeError:
        expected = UnicodeEncodeError
    try:
        got: object = parse_qs_bytes(text, keep_blank_values=keep)
    except UnicodeEncodeError:
        got = UnicodeEncodeError
    assert got == expected


def test_parse_qs_bytes_keeps_values_as_bytes() -> None:
    assert parse_qs_bytes("a=1&a=%FF&b=&c", keep_blank_values=True) == {"a": [b"1", b"\xff"], "b": [b""], "c": [b""]}
    assert parse_qs_bytes("a=1&b=") == {"a": [b"1"]}  # blank values dropped unless asked for
    assert parse_qs_bytes(b"x=%C3%A9+y") == {"x": [b"\xc3\xa9 y"]}  # bytes in, UTF-8 left to the handler
    assert parse_qs_bytes("%E9t%E9=1") == {"\xe9t\xe9": [b"1"]}  # names decoded as latin-1: never fails
    assert parse_qs_bytes("") == {} and parse_qs_bytes(b"") == {}


def test_qs_to_qsl_flattens_a_multi_valued_dict_in_order() -> None:
    assert list(qs_to_qsl({"a": [1, 2], "b": [], "c": ["x"]})) == [("a", 1), ("a", 2), ("c", "x")]
    assert list(qs_to_qsl(parse_qs_bytes("k=1&k=2"))) == [("k", b"1"), ("k", b"2")]


def test_parse_cookie_is_lenient_as_browsers_are() -> None:
    assert parse_cookie("a=1; b=2") == {"a": "1", "b": "2"}
    assert parse_cookie('q="quoted"; e=%20x; f=g=h') == {"q": "quoted", "e": " x", "f": "g=h"}
    assert parse_cookie(" ; ;a=1;; ") == {"a": "1"}  # empty chunks skipped
    assert parse_cookie("lonely") == {"": "lonely"}  # a value without a name, as RFC 6265 5.4 reads it
    assert parse_cookie("") == {}


def test_responses_maps_codes_to_standard_reasons() -> None:
    assert responses[200] == "OK"
    assert responses[404] == "Not Found"
    assert responses[503] == "Service Unavailable"
    assert 599 not in responses  # not a standard code: no made-up reason
    assert all(100 <= code < 600 and reason and reason != "Unknown" for code, reason in responses.items())


# -- HTTPHeaders -----------------------------------------------------------------------


def test_http_headers_are_case_insensitive_and_multi_valued() -> None:
    headers = HTTPHeaders({"Content-Type": "text/html"})
    headers.add("set-cookie", "a=1")
    headers.add("Set-Cookie", "b=2")
    assert headers["content-type"] == headers["CONTENT-TYPE"] == "text/html"
    assert headers["Set-Cookie"] == "a=1,b=2"  # RFC 9110 5.3: a list-valued field joined by commas
    assert headers.get_list("SET-COOKIE") == ["a=1", "b=2"]
    assert headers.get_list("missing") == []
    assert list(headers.get_all()) == [("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert headers.pairs() == list(headers.get_all())
    assert list(headers) == ["Content-Type", "Set-Cookie"] and len(headers) == 2
    assert headers.get("x-missing") is None and headers.get("x-missing", "d") == "d"
    assert "set-cookie" in headers and 1 not in headers
    headers["Set-Cookie"] = "c=3"  # assignment replaces every value
    assert headers.get_list("set-cookie") == ["c=3"]
    del headers["SET-COOKIE"]
    assert "Set-Cookie" not in headers
    with pytest.raises(KeyError):
        headers["Set-Cookie"]


def test_http_headers_parse_a_block_and_a_line() -> None:
    headers = HTTPHeaders.parse("Content-Type: text/plain\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n")
    assert headers["Content-Type"] == "text/plain" and headers.get_list("X-Multi") == ["1", "2"]
    headers.parse_line("X-Multi: 3")
    assert headers.get_list("x-multi") == ["1", "2", "3"]
    for bad in ["no colon here\r\n", "X: ok\r\n folded: continuation\r\n", "Bad Name: x\r\n"]:
        with pytest.raises(HTTPInputError) as caught:
            HTTPHeaders.parse(bad)
        assert caught.value.status == 400


def test_http_headers_built_from_pairs_adopted_and_copied() -> None:
    headers = HTTPHeaders.from_pairs([("X-A", "1"), ("x-a", "2"), ("Host", "h")])
    assert headers.get_list("X-A") == ["1", "2"] and headers.fields == {"x-a": ["1", "2"], "host": ["h"]}
    fields = {"host": ["example.com"]}
    adopted = HTTPHeaders.adopt(fields)
    adopted.add("Accept", "*/*")
    assert fields == {"host": ["example.com"], "accept": ["*/*"]}  # wrapped, not copied
    copied = adopted.copy()
    copied.add("Host", "other")
    assert adopted.get_list("Host") == ["example.com"] and copied.get_list("Host") == ["example.com", "other"]
    assert HTTPHeaders(adopted).fields == adopted.fields and HTTPHeaders(adopted).fields is not adopted.fields
    assert HTTPHeaders([("A", "1"), ("a", "2")]).get_list("a") == ["2"]  # update() replaces, as Tornado's does


def test_http_headers_add_replaces_a_shared_list_instead_of_changing_it() -> None:
    shared = ["framework"]
    first, second = HTTPHeaders.adopt({"server": shared}), HTTPHeaders.adopt({"server": shared})
    first.add("Server", "extra")
    assert first.get_list("Server") == ["framework", "extra"]
    assert shared == ["framework"] and second.get_list("Server") == ["framework"]


def test_http_headers_str_and_repr_show_every_pair() -> None:
    headers = HTTPHeaders.from_pairs([("content-length", "3"), ("Vary", "A"), ("vary", "B")])
    assert str(headers) == "Content-Length: 3\r\nVary: A\r\nVary: B\r\n"
    assert repr(headers) == "HTTPHeaders([('Content-Length', '3'), ('Vary', 'A'), ('Vary', 'B')])"


# -- HTTPFile, errors, start lines -----------------------------------------------------------


def test_http_file_is_a_dict_with_attributes() -> None:
    upload = HTTPFile("a.txt", "text/plain", b"data")
    assert upload["filename"] == upload.filename == "a.txt"  # the tutorial reads info["filename"]
    assert upload["content_type"] == upload.content_type == "text/plain"
    assert upload["body"] == upload.body == b"data"
    assert dict(upload) == {"filename": "a.txt", "content_type": "text/plain", "body": b"data"}


def test_input_and_output_errors() -> None:
    error = HTTPInputError("too many parts", 413)
    assert (error.message, error.status, str(error)) == ("too many parts", 413, "too many parts")
    assert HTTPInputError("bad").status == 400
    assert issubclass(HTTPOutputError, Exception) and not issubclass(HTTPOutputError, HTTPInputError)
    assert str(HTTPOutputError("5 body bytes for Content-Length 3")) == "5 body bytes for Content-Length 3"


def test_start_lines_are_named_tuples() -> None:
    request = RequestStartLine("GET", "/x?y=1", "HTTP/1.1")
    method, path, version = request
    assert (method, path, version) == (request.method, request.path, request.version) == ("GET", "/x?y=1", "HTTP/1.1")
    response = ResponseStartLine("HTTP/1.1", 404, "Not Found")
    assert (response.version, response.code, response.reason) == tuple(response)


# -- the seam's base classes -------------------------------------------------------------------


def test_the_seam_base_classes_define_the_verbs() -> None:
    connection = HTTPConnection()
    start = ResponseStartLine("HTTP/1.1", 200, "OK")
    for call in (lambda: connection.write_headers(start, HTTPHeaders()), lambda: connection.write(b"x"), connection.finish):
        with pytest.raises(NotImplementedError):
            call()
    # A connection that reads no body and cannot close early (a fake in tests) may ignore these.
    assert connection.set_max_body_size(10) is None
    assert connection.set_body_timeout(1.0) is None
    assert connection.set_close_callback(lambda: None) is None
    # Not Tornado's: a connection that cannot send prepared fields says so (the caller writes headers).
    assert connection.write_prepared(200, "OK", http1.PreparedFields({}), [], b"") is None
    message = HTTPMessageDelegate()
    assert message.headers_received(RequestStartLine("GET", "/", "HTTP/1.1"), HTTPHeaders()) is None
    assert message.data_received(b"chunk") is None  # None: no flow control asked for
    assert message.finish() is None and message.on_connection_close() is None
    server = HTTPServerConnectionDelegate()
    with pytest.raises(NotImplementedError):
        server.start_request(object(), connection)
    assert server.on_close(object()) is None


def test_a_delegate_subclass_is_driven_through_the_verbs() -> None:
    seen: list[object] = []

    class Recorder(HTTPMessageDelegate):
        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
            seen.append((start_line.method, headers["Host"]))

        def data_received(self, chunk: bytes) -> None:
            seen.append(chunk)

        def finish(self) -> None:
            seen.append("finish")

    class App(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return Recorder()

    message = App().start_request(object(), HTTPConnection())
    message.headers_received(RequestStartLine("PUT", "/", "HTTP/1.1"), HTTPHeaders({"Host": "h"}))
    message.data_received(b"ab")
    message.finish()
    assert seen == [("PUT", "h"), b"ab", "finish"]


# -- HTTPServerRequest ------------------------------------------------------------------------


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
    [("/", ["a.test"]), ("/p?x=1&y=%20&x=2", ["a.test:8080"]), ("/q?", []), ("/empty", [""]), ("/twice", ["a.test", "b.test"])],
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


def test_server_request_cookies_skip_names_simple_cookie_refuses() -> None:
    headers = HTTPHeaders.from_pairs([("Cookie", 's=1; bad name=2; t="q"'), ("Cookie", "u=%7E")])
    cookies = HTTPServerRequest("GET", "/", headers=headers).cookies
    assert {name: morsel.value for name, morsel in cookies.items()} == {"s": "1", "t": "q", "u": "~"}


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


def test_parse_body_arguments_leaves_encoded_and_other_bodies_alone(caplog: pytest.LogCaptureFixture) -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    with caplog.at_level(logging.WARNING, logger="framework.general"):
        parse_body_arguments(
            "application/x-www-form-urlencoded", b"a=1", arguments, files, HTTPHeaders({"Content-Encoding": "gzip"})
        )
    assert arguments == {} and any("Content-Encoding" in r.getMessage() for r in caplog.records)
    parse_body_arguments("application/json", b'{"a": 1}', arguments, files)
    assert arguments == {} and files == {}
    with pytest.raises(HTTPInputError) as caught:
        parse_body_arguments("multipart/form-data; boundary=1234", b"not multipart", arguments, files)
    assert caught.value.status == 400


def test_url_concat_encodes_and_keeps_blank_values() -> None:
    assert url_concat("http://example.com/foo?a=", {"b": "x y&z"}) == "http://example.com/foo?a=&b=x+y%26z"
    assert url_concat("http://example.com/foo", []) == "http://example.com/foo"


def test_format_timestamp_refuses_an_unknown_type() -> None:
    with pytest.raises(TypeError):
        format_timestamp("yesterday")  # type: ignore[arg-type]


# -- every public name is tested here ---------------------------------------------------------


def test_every_public_name_of_httputil_is_named_in_this_file() -> None:
    source = pathlib.Path(__file__).read_text()
    imported = {
        alias.name
        for node in ast.parse(source).body
        if isinstance(node, ast.ImportFrom) and node.module == "framework.httputil"
        for alias in node.names
    }
    assert imported == set(httputil.__all__)
    used_in_tests = {name.id for name in ast.walk(ast.parse(source)) if isinstance(name, ast.Name)}
    assert set(httputil.__all__) <= used_in_tests

"""Tests for framework/http1/parser.py's ``RequestParser``: bytes in, events out, no sockets.

Each test states its input as bytes and its expectation as data: the list of
events a server pulls from the parser (``parsing.events``). Request lines and
headers, bodies by Content-Length and chunked, keep-alive, pipelining,
``Expect: 100-continue``, end of input, requests split anywhere, and heads fed
a byte at a time in linear time. The grammar the parser reads heads with
(``head.py``: request lines, fields, absolute-form, framing) is tested here
through it, as ``test_mirror.py``'s ELSEWHERE says.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.http1 import (
    LAST_CHUNK,
    NEED_DATA,
    PAUSED,
    Body,
    EndOfMessage,
    Limits,
    ProtocolError,
    RequestHead,
    RequestParser,
    encode_chunk,
    serialize_request_head,
)
from tests.framework.http1.parsing import (
    CHUNKED,
    CHUNKED_EVENTS,
    CHUNKED_HEAD,
    GET,
    GET_EVENTS,
    POST,
    POST_EVENTS,
    drain,
    events,
    head,
    request_error,
    serve,
    split_at,
)

# Every test runs with the compiled fast paths and with pure Python (conftest.py).
pytestmark = pytest.mark.usefixtures("http1_implementation")

# -- request line and headers -------------------------------------------------


def test_get_request() -> None:
    assert events(GET) == GET_EVENTS


def test_header_names_keep_their_case_and_order() -> None:
    data = b"GET / HTTP/1.1\r\nhost: a\r\nX-Custom-Header: One\r\nx-custom-header: Two\r\n\r\n"
    assert events(data) == [
        head(headers=[("host", "a"), ("X-Custom-Header", "One"), ("x-custom-header", "Two")]),
        EndOfMessage(),
    ]


def test_header_values_lose_surrounding_whitespace_only() -> None:
    data = b"GET / HTTP/1.1\r\nHost:a\r\nX:  \t inner  space\tand tab \t \r\nEmpty:\r\nBlank:   \r\n\r\n"
    assert events(data) == [
        head(headers=[("Host", "a"), ("X", "inner  space\tand tab"), ("Empty", ""), ("Blank", "")]),
        EndOfMessage(),
    ]


def test_header_value_obs_text_is_latin_1() -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n"
    assert events(data)[0] == head(headers=[("Host", "a"), ("X-Name", "caf\xe9")])


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/path/to?query=1&b=%20#frag"),  # origin-form
        ("CONNECT", "example.com:443"),  # authority-form
        ("OPTIONS", "*"),  # asterisk-form
        ("PURGE", "/cache"),  # any token is a method
    ],
)
def test_request_targets_and_methods(method: str, target: str) -> None:
    data = f"{method} {target} HTTP/1.1\r\nHost: a\r\n\r\n".encode()
    assert events(data) == [head(method, target), EndOfMessage()]


@pytest.mark.parametrize(
    ("target", "host", "origin_form"),
    [
        ("http://example.com:8080/x?y=1", "example.com:8080", "/x?y=1"),
        ("HTTPS://Example.com/", "Example.com", "/"),
        ("http://example.com", "example.com", "/"),
        ("http://example.com?q", "example.com", "/?q"),
        ("http://[::1]:81/a/b", "[::1]:81", "/a/b"),
        ("http://10.0.0.1:/p", "10.0.0.1:", "/p"),
    ],
)
def test_absolute_form_target_is_routed_by_its_path_and_its_host_replaces_host(target: str, host: str, origin_form: str) -> None:
    # RFC 9112 3.2.2: a server MUST accept the absolute-form, and ignore the
    # received Host in favour of the target's authority.
    data = f"GET {target} HTTP/1.1\r\nHost: ignored.example\r\nAccept: */*\r\n\r\n".encode()
    first = events(data)[0]
    assert first == head(target=origin_form, headers=[("Accept", "*/*"), ("Host", host)])
    assert isinstance(first, RequestHead) and first.fields["host"] == [host]


def test_absolute_form_gives_an_http_1_0_request_its_host() -> None:
    first = events(b"GET http://a.example/x HTTP/1.0\r\n\r\n")[0]
    assert first == head(target="/x", headers=[("Host", "a.example")], version="HTTP/1.0", keep_alive=False)


@pytest.mark.parametrize(
    "target",
    [
        "ftp://example.com/x",  # a scheme this server does not answer
        "http://user@example.com/x",  # userinfo (RFC 9110 4.2.4)
        "http:///x",  # no host (RFC 9110 4.2.1)
        "http://example.com/x#frag",  # absolute-URI has no fragment
        "http://exa mple.com/",  # (split by the request line already)
    ],
)
def test_invalid_absolute_form_targets_are_400(target: str) -> None:
    data = f"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n".encode()
    assert request_error(data).status == 400


def test_absolute_form_still_needs_exactly_one_host_in_http_1_1() -> None:
    # RFC 9112 3.2: a request lacking Host is a 400 whatever the target's form.
    assert request_error(b"GET http://a.example/ HTTP/1.1\r\n\r\n").status == 400


def test_http_1_0_request_needs_no_host() -> None:
    data = b"GET / HTTP/1.0\r\n\r\n"
    assert events(data) == [head(headers=[], version="HTTP/1.0", keep_alive=False), EndOfMessage()]


def test_leading_empty_lines_before_request_line_are_ignored() -> None:
    assert events(b"\r\n\r\n\r\n" + GET) == GET_EVENTS


# -- Content-Length bodies ----------------------------------------------------


def test_content_length_body() -> None:
    assert events(POST) == POST_EVENTS


def test_content_length_zero_has_no_body_events() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
    assert events(data) == [
        head("POST", "/", [("Host", "a"), ("Content-Length", "0")], content_length=0),
        EndOfMessage(),
    ]


@pytest.mark.parametrize(
    "lengths",
    [
        [b"Content-Length: 5", b"Content-Length: 5"],
        [b"Content-Length: 5, 5"],
        [b"Content-Length: 5,5", b"content-length:  5 "],
    ],
    ids=["two-headers", "list", "mixed"],
)
def test_identical_repeated_content_lengths_are_accepted(lengths: list[bytes]) -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\n" + b"\r\n".join(lengths) + b"\r\n\r\nhello"
    first, *rest = events(data)
    assert isinstance(first, RequestHead) and first.content_length == 5
    assert rest == [Body(b"hello"), EndOfMessage()]


def test_body_bytes_are_not_read_past_content_length() -> None:
    parser = RequestParser()
    parser.feed(POST + b"GET")
    assert drain(parser) == (POST_EVENTS, PAUSED)
    assert parser.buffered == 3


def test_body_arrives_in_pieces() -> None:
    parser = RequestParser()
    parser.feed(POST[:-5])
    assert drain(parser) == ([POST_EVENTS[0]], NEED_DATA)
    parser.feed(b"he")
    assert drain(parser) == ([Body(b"he")], NEED_DATA)
    parser.feed(b"llo")
    assert drain(parser) == ([Body(b"llo"), EndOfMessage()], PAUSED)


# -- chunked bodies -----------------------------------------------------------


def test_chunked_body_with_extensions_and_trailers() -> None:
    assert events(CHUNKED) == CHUNKED_EVENTS


def test_chunked_body_without_trailers_and_with_upper_case_hex() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n00000001\r\n!\r\n0\r\n\r\n"
    assert events(data) == [
        head("POST", "/", [("Host", "a"), ("Transfer-Encoding", "Chunked")], chunked=True),
        Body(b"0123456789!"),
        EndOfMessage(),
    ]


def test_chunked_body_with_only_the_last_chunk() -> None:
    assert events(CHUNKED_HEAD + b"0\r\n\r\n")[1:] == [EndOfMessage()]


def test_chunk_data_may_contain_crlf() -> None:
    data = CHUNKED_HEAD + b"4\r\n\r\n\r\n\r\n0\r\n\r\n"
    assert events(data)[1:] == [Body(b"\r\n\r\n"), EndOfMessage()]


def test_serialised_chunks_parse_back() -> None:
    data = serialize_request_head("POST", "/", [("Host", "a"), ("Transfer-Encoding", "chunked")])
    data += encode_chunk(b"x" * 300) + encode_chunk(b"") + encode_chunk(b"yz") + LAST_CHUNK
    assert events(data)[1:] == [Body(b"x" * 300 + b"yz"), EndOfMessage()]


# -- keep-alive ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        ("HTTP/1.1", None, True),
        ("HTTP/1.1", "close", False),
        ("HTTP/1.1", "Close", False),
        ("HTTP/1.1", "keep-alive, close", False),
        ("HTTP/1.1", "keep-alive", True),
        ("HTTP/1.1", "Upgrade", True),
        ("HTTP/1.0", None, False),
        ("HTTP/1.0", "keep-alive", True),
        ("HTTP/1.0", "Keep-Alive", True),
        ("HTTP/1.0", "foo, keep-alive", True),
        ("HTTP/1.0", "keep-alive, close", False),
        ("HTTP/1.0", "close", False),
    ],
)
def test_keep_alive_rules(version: str, connection: str | None, keep_alive: bool) -> None:
    data = f"GET / {version}\r\nHost: a\r\n".encode()
    if connection is not None:
        data += f"Connection: {connection}\r\n".encode()
    first = events(data + b"\r\n")[0]
    assert isinstance(first, RequestHead) and first.keep_alive is keep_alive


def test_keep_alive_from_several_connection_headers() -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
    first = events(data)[0]
    assert isinstance(first, RequestHead) and first.keep_alive is False


# -- pipelining ---------------------------------------------------------------


def test_pipelined_requests_wait_until_start_next() -> None:
    parser = RequestParser()
    parser.feed(GET + POST + CHUNKED)
    assert drain(parser) == (GET_EVENTS, PAUSED)
    assert parser.next_event() is PAUSED  # still paused: the response is in flight
    assert parser.buffered == len(POST + CHUNKED)
    assert not parser.at_message_start
    parser.start_next()
    assert parser.at_message_start
    assert drain(parser) == (POST_EVENTS, PAUSED)
    parser.start_next()
    assert drain(parser) == (CHUNKED_EVENTS, PAUSED)
    parser.start_next()
    assert drain(parser) == ([], NEED_DATA)
    assert parser.buffered == 0


def test_a_parser_is_reusable_only_between_messages_with_nothing_buffered_and_no_eof() -> None:
    parser = RequestParser()
    assert parser.reusable
    parser.feed(GET + POST)
    assert not parser.reusable  # bytes buffered
    drain(parser)
    assert not parser.reusable  # a message complete, not yet answered
    parser.start_next()
    assert not parser.reusable  # the next request is buffered
    drain(parser)
    parser.start_next()
    assert parser.reusable
    parser.feed_eof()
    assert not parser.reusable  # would refuse the next connection's bytes


def test_pipelined_requests_answered_in_order() -> None:
    stream = GET + POST + CHUNKED + GET
    assert serve([stream]) == GET_EVENTS + POST_EVENTS + CHUNKED_EVENTS + GET_EVENTS


def test_empty_lines_between_pipelined_requests_are_ignored() -> None:
    stream = GET + b"\r\n" + POST + b"\r\n\r\n" + GET
    assert serve([stream]) == GET_EVENTS + POST_EVENTS + GET_EVENTS


def test_start_next_before_the_message_is_complete_is_a_bug() -> None:
    parser = RequestParser()
    parser.feed(POST[:-1])
    drain(parser)
    with pytest.raises(RuntimeError):
        parser.start_next()


def test_start_next_after_body_but_before_end_of_message_is_a_bug() -> None:
    parser = RequestParser()
    parser.feed(POST)
    parser.next_event()  # head
    parser.next_event()  # the whole body; EndOfMessage not pulled yet
    with pytest.raises(RuntimeError):
        parser.start_next()


def test_start_next_at_a_message_start_changes_nothing() -> None:
    """A server calls it on a parser it took while the previous message was answered elsewhere."""
    parser = RequestParser()
    parser.feed(GET[:5])  # part of a head, not yet parsed
    parser.start_next()
    assert parser.buffered == 5 and parser.at_message_start
    parser.feed(GET[5:])
    assert drain(parser) == (GET_EVENTS, PAUSED)


# -- Expect: 100-continue -----------------------------------------------------


@pytest.mark.parametrize(
    ("framing", "expect_continue"),
    [
        (b"Content-Length: 5\r\n", True),
        (b"Transfer-Encoding: chunked\r\n", True),
        (b"Content-Length: 0\r\n", False),
        (b"", False),
    ],
    ids=["length", "chunked", "empty-length", "no-body"],
)
def test_expect_continue_only_with_a_body(framing: bytes, expect_continue: bool) -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n" + framing + b"\r\n"
    first = events(data)[0]
    assert isinstance(first, RequestHead) and first.expect_continue is expect_continue


def test_declared_length_over_the_limit_is_known_before_any_body_byte() -> None:
    # The server asks before it would send 100 Continue (RFC 9110 10.1.1).
    parser = RequestParser(Limits(max_body_bytes=10))
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
    first = parser.next_event()
    assert isinstance(first, RequestHead) and first.expect_continue
    assert parser.declared_body_too_large
    parser.set_max_body_size(11)  # a handler raising its limit
    assert not parser.declared_body_too_large
    parser.set_max_body_size(10)
    with pytest.raises(ProtocolError) as info:
        parser.next_event()
    assert info.value.status == 413


@pytest.mark.parametrize("framing", [b"Content-Length: 10\r\n", b"Transfer-Encoding: chunked\r\n", b""])
def test_declared_length_within_the_limit(framing: bytes) -> None:
    parser = RequestParser(Limits(max_body_bytes=10))
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\n" + framing + b"\r\n")
    assert isinstance(parser.next_event(), RequestHead)
    assert not parser.declared_body_too_large


@pytest.mark.parametrize("expect", [b"100-continue", b"something-else"])
def test_expect_is_ignored_in_http_1_0(expect: bytes) -> None:
    data = b"POST / HTTP/1.0\r\nExpect: " + expect + b"\r\nContent-Length: 5\r\n\r\nhello"
    first, *rest = events(data)
    assert isinstance(first, RequestHead) and first.expect_continue is False
    assert rest == [Body(b"hello"), EndOfMessage()]


@pytest.mark.parametrize("expect", [b"something-else", b"100-continue, foo", b"", b"200-ok"])
def test_unsupported_expectation_is_417(expect: bytes) -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: " + expect + b"\r\n\r\nx"
    assert request_error(data).status == 417


# -- end of input ------------------------------------------------------------


def test_eof_between_requests_is_a_clean_close() -> None:
    assert events(GET + b"\r\n", eof=True) == GET_EVENTS
    assert events(b"", eof=True) == []


@pytest.mark.parametrize(
    "data",
    [
        b"G",
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r",
        POST[:-1],
        CHUNKED[: CHUNKED.index(b"5;")],  # before the first chunk-size line
        CHUNKED[: CHUNKED.index(b"hello") + 2],  # inside chunk data
        CHUNKED[: CHUNKED.index(b"hello") + 5],  # before the CRLF after chunk data
        CHUNKED[: CHUNKED.index(b"hello") + 6],  # between CR and LF after chunk data
        CHUNKED[: CHUNKED.index(b"0;last")],  # before the last chunk
        CHUNKED[: CHUNKED.index(b"Checksum")],  # before the trailers
        CHUNKED[:-2],  # before the blank line that ends the trailers
    ],
    ids=[
        "head-first-byte",
        "head-no-blank-line",
        "head-half-blank-line",
        "length-body",
        "chunk-size",
        "chunk-data",
        "chunk-crlf",
        "chunk-lf",
        "last-chunk",
        "trailers",
        "trailers-end",
    ],
)
def test_eof_inside_a_message_is_an_error(data: bytes) -> None:
    parser = RequestParser()
    parser.feed(data)
    drain(parser)  # no error while more bytes may come
    parser.feed_eof()
    with pytest.raises(ProtocolError) as info:
        drain(parser)
    assert info.value.status == 400


def test_feed_after_eof_is_a_bug() -> None:
    parser = RequestParser()
    parser.feed_eof()
    with pytest.raises(RuntimeError):
        parser.feed(GET)


# -- split anywhere -----------------------------------------------------------

REQUESTS = [
    GET,
    POST,
    CHUNKED,
    b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /c HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n\r\n\r",
    b"\r\n" + GET,
]


@settings(deadline=None, max_examples=300)
@given(st.data())
def test_requests_split_anywhere_give_the_same_events(data: st.DataObject) -> None:
    stream = b"".join(data.draw(st.lists(st.sampled_from(REQUESTS), min_size=1, max_size=4)))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=30))
    assert serve(split_at(stream, cuts)) == serve([stream])


def test_requests_fed_one_byte_at_a_time_give_the_same_events() -> None:
    stream = b"".join(REQUESTS)
    whole = serve([stream])
    assert whole == serve([stream[i : i + 1] for i in range(len(stream))])
    assert [type(e) for e in whole].count(EndOfMessage) == len(REQUESTS)


# -- linear time --------------------------------------------------------------
# Correctness tests sized so that only a linear parser finishes in time: with
# the head search remembering where it stopped, each takes well under a second;
# a parser that rescans its buffer on every byte needs minutes for the 512 KB
# line (measured: 3 s at 64 KB, 46 s at 256 KB, growing fourfold per doubling),
# and pytest-timeout (60 s) fails it. No timing is asserted: timing goals live
# in loadtest/, never in tests.

BIG = Limits(max_header_bytes=512 * 1024)


def test_big_head_fed_one_byte_at_a_time() -> None:
    headers = [(f"X-Header-{i}", "v" * 500) for i in range(120)]  # about 60 KB
    data = serialize_request_head("GET", "/", [("Host", "a"), *headers])
    assert 60_000 < len(data) < Limits().max_header_bytes
    parser = RequestParser()
    for i in range(len(data) - 1):
        parser.feed(data[i : i + 1])
        assert parser.next_event() is NEED_DATA
    parser.feed(data[-1:])
    assert drain(parser) == ([head(headers=[("Host", "a"), *headers]), EndOfMessage()], PAUSED)


def test_endless_header_line_fed_one_byte_at_a_time() -> None:
    start = b"GET / HTTP/1.1\r\nHost: a\r\nX: "
    parser = RequestParser(BIG)
    parser.feed(start)
    assert parser.next_event() is NEED_DATA
    for _ in range(BIG.max_header_bytes - len(start)):
        parser.feed(b"v")
        assert parser.next_event() is NEED_DATA
    parser.feed(b"v")  # one byte over the limit
    with pytest.raises(ProtocolError) as info:
        parser.next_event()
    assert info.value.status == 431

"""Tests for framework/http1/speedups*.c, the optional C accelerator: None or the Python result.

Its one rule: for any input, a function of ``speedups`` returns None or
exactly what the pure-Python reference computes (``parser._split_request_head``,
``writer.serialize_response_fields`` with no fast path). Hypothesis checks that
on random and mutated heads and responses; fixed cases check that it does
answer for ordinary ones (so the rule cannot hold by always declining) and
declines the unusual; a loop checks that it leaks nothing. Where the module is
not built these tests skip, or fail under ``FRAMEWORK_REQUIRE_SPEEDUPS=1``.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from framework.http1 import Limits, ProtocolError, RequestHead, RequestParser, parser, writer
from tests.framework.http1.conftest import REQUIRED, compiled_speedups
from tests.framework.http1.parsing import drain


@pytest.fixture(scope="module")
def speedups() -> ModuleType:
    return compiled_speedups()


def test_the_accelerator_is_built_where_it_is_required() -> None:
    """scripts/test sets FRAMEWORK_REQUIRE_SPEEDUPS=1: there, a missing build fails here (elsewhere its tests skip)."""
    if not REQUIRED:
        pytest.skip("FRAMEWORK_REQUIRE_SPEEDUPS is not set")
    try:
        importlib.import_module("framework.http1.speedups")
    except ImportError as exc:
        pytest.fail(
            f"framework.http1.speedups is not built, and FRAMEWORK_REQUIRE_SPEEDUPS=1 requires it ({exc}): install gcc and the "
            "Python headers (Debian: python3-dev), then pip install -e . (scripts/venv.sh does; its output says "
            "whether the build succeeded)"
        )


# -- the reference each function is compared with ---------------------------

DEFAULT = Limits()


def python_parts(head: bytes, limits: Limits = DEFAULT) -> object:
    """The Python twin's answer for ``head``: its parts, or the ProtocolError it raises (message, status)."""
    try:
        return parser._split_request_head(bytearray(head), limits)
    except ProtocolError as exc:
        return ("error", exc.message, exc.status)


@contextmanager
def pure_python() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser, "_fast_read_request_head", None)
        patch.setattr(parser, "_new_request_head", RequestHead)
        patch.setattr(writer, "_fast_serialize_response_fields", None)
        patch.setattr(writer, "_fast_prepared_response", None)
        yield


def python_head(
    status: int, fields: Mapping[str, list[str]], extra: Sequence[tuple[str, str]], reason: str, version: str
) -> object:
    """The pure-Python writer's answer: the bytes, or the ValueError it raises."""
    with pure_python():
        try:
            return writer.serialize_response_fields(status, fields, extra=extra, reason=reason, version=version)
        except ValueError as exc:
            return ("error", type(exc), str(exc))


def assert_same_parts(compiled: object, python: object) -> None:
    """Equal, in the same order, and made of exact built-in types (CPython's ASCII flag included)."""
    assert compiled == python
    assert isinstance(compiled, tuple) and isinstance(python, tuple)
    method, target, version, headers, fields = compiled
    assert list(fields.items()) == list(python[4].items())
    texts = [method, target, version, *(text for pair in headers for text in pair), *fields]
    for text in texts:
        assert type(text) is str
        # str.isascii() reads the flag CPython keeps; C sets it by hand.
        assert text.isascii() == all(ord(c) < 128 for c in text)
    assert all(type(values) is list for values in fields.values())


# -- parse_request_head -------------------------------------------------------

ORDINARY_HEADS = [
    b"GET / HTTP/1.1\r\nHost: a",
    b"GET / HTTP/1.1",
    b"GET / HTTP/1.0",
    b"POST /form?x=1&y=%20 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nContent-Type: text/plain",
    b"OPTIONS * HTTP/1.1\r\nHost: a",
    b"GET http://example.com/p?q HTTP/1.1\r\nHost: a",  # absolute-form: rewritten after the split
    b"M-SEARCH /x HTTP/1.1\r\nhost: a\r\nX-Custom-Header: One\r\nx-custom-header: Two\r\nACCEPT:*/*",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Spaces:   \t \r\nX-Inner: a \t b  \r\nX-Colons: a:b::c",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Latin: caf\xe9 \xff\x80",
    (
        b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
        b"Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
        b"Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: a=1; b=2\r\n"
        b'Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nIf-None-Match: "abc"'
    ),
    b"GET / HTTP/1.1\r\n" + b"\r\n".join(b"X-%d: %d" % (i, i) for i in range(64)),
]


@pytest.mark.parametrize("head", ORDINARY_HEADS)
def test_parse_request_head_answers_for_ordinary_heads(speedups: ModuleType, head: bytes) -> None:
    compiled = speedups.parse_request_head(head, DEFAULT.max_headers, DEFAULT.max_target_bytes)
    assert compiled is not None
    assert_same_parts(compiled, python_parts(head))


COMMON_NAME_HEADS = [
    b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: b\r\nAccept: */*",  # the usual spelling
    b"GET / HTTP/1.1\r\nhost: a\r\nuser-agent: b\r\naccept: */*",  # lower case, as HTTP/2 proxies send
    b"GET / HTTP/1.1\r\nHOST: a\r\nuSeR-aGeNt: b\r\nX-Real-IP: 1.2.3.4\r\nSec-WebSocket-Key: k",  # other spellings
]


@pytest.mark.parametrize("head", COMMON_NAME_HEADS)
def test_common_methods_and_names_are_the_modules_own_strings(speedups: ModuleType, head: bytes) -> None:
    """Equal to Python's parts; the method and the keys are the same objects on every head (nothing allocated for them)."""
    first = speedups.parse_request_head(head, DEFAULT.max_headers, DEFAULT.max_target_bytes)
    again = speedups.parse_request_head(head, DEFAULT.max_headers, DEFAULT.max_target_bytes)
    assert first is not None and again is not None
    assert_same_parts(first, python_parts(head))
    assert first[0] is again[0]
    assert all(a is b for a, b in zip(first[4], again[4], strict=True))
    sent = [line.split(b":")[0].decode() for line in head.split(b"\r\n")[1:]]
    assert [name for name, _ in first[3]] == sent  # names as sent, whatever their case


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_parse_request_head_reads_any_buffer(speedups: ModuleType, kind: type) -> None:
    head = b"GET / HTTP/1.1\r\nHost: a"
    assert speedups.parse_request_head(kind(head), 10, 10) == ("GET", "/", "HTTP/1.1", [("Host", "a")], {"host": ["a"]})


class _Scribbler:
    """Cyclic garbage whose finaliser writes one byte into a buffer (allowed while it is exported: the size stays)."""

    def __init__(self, buffer: bytearray, at: int, byte: int) -> None:
        self.cycle = self
        self.buffer, self.at, self.byte = buffer, at, byte

    def __del__(self) -> None:
        self.buffer[self.at] = self.byte


@pytest.mark.parametrize("byte", [0xE9, ord("\n"), 0])
def test_parse_request_head_reads_a_buffer_that_changes_under_it_once(speedups: ModuleType, byte: int) -> None:
    """Pass 2 allocates, a collection may run a finaliser, and that may write into a bytearray being parsed.

    What pass 1 checked (no control character, whether a value is ASCII)
    must be what pass 2 copies: a mutable buffer is read as one copy, so
    the answer is the head as it was when the call began.
    """
    head = bytearray(b"GET / HTTP/1.1\r\nHost: a\r\nX-Value: abc")
    gc.collect()
    gc.disable()
    _Scribbler(head, head.index(b"abc") + 1, byte)
    threshold = gc.get_threshold()
    gc.set_threshold(1)  # (the next allocation collects, finalising the scribbler)
    gc.enable()
    try:
        parts = speedups.parse_request_head(head, 10, 100)
    finally:
        gc.set_threshold(*threshold)
    assert head[head.index(b"X-Value: ") + 10] == byte  # the finaliser did run, during the call
    assert parts is not None and parts[4]["x-value"] == ["abc"]
    assert parts[4]["x-value"][0].isascii()


UNUSUAL_HEADS = [
    b"",
    b"GET  / HTTP/1.1",
    b"GET / HTTP/1.1 ",
    b"GET /  HTTP/1.1",
    b" GET / HTTP/1.1",
    b"GET / HTTP/1.2",
    b"GET / HTTP/2.0",
    b"GET / http/1.1",
    b"GET / HTTP/1.1x",
    b"GET /caf\xe9 HTTP/1.1",
    b"G@T / HTTP/1.1",
    b"GET\t/ HTTP/1.1",
    b"GET / HTTP/1.1\r\n",  # an empty field line
    b"GET / HTTP/1.1\r\nHost : a",
    b"GET / HTTP/1.1\r\nHost a",
    b"GET / HTTP/1.1\r\n: a",
    b"GET / HTTP/1.1\r\nHost: a\r\n folded",  # obs-fold
    b"GET / HTTP/1.1\r\nHost: a\r\n\tfolded",
    b"GET / HTTP/1.1\r\nH\xe9st: a",
    b"GET / HTTP/1.1\nHost: a",
    b"GET / HTTP/1.1\r\nHost: a\rb",
    b"GET / HTTP/1.1\r\nHost: a\nb",
    b"GET / HTTP/1.1\r\nHost: a\r",
    b"GET / HTTP/1.1\r\nHost: a\x00",
    b"GET / HTTP/1.1\r\nHost: a\x7f",
    b"GET / HTTP/1.1\r\nHost: a\x1b",
    b"GET / HTTP/1.1\x00\r\nHost: a",
    b"GET / HTTP/1.1\r\n" + b"\r\n".join(b"X-%d: %d" % (i, i) for i in range(65)),  # more than it keeps on the stack
]


@pytest.mark.parametrize("head", UNUSUAL_HEADS)
def test_parse_request_head_declines_the_unusual(speedups: ModuleType, head: bytes) -> None:
    assert speedups.parse_request_head(head, DEFAULT.max_headers, DEFAULT.max_target_bytes) is None


def test_parse_request_head_declines_heads_over_the_limits(speedups: ModuleType) -> None:
    head = b"GET /0123456789 HTTP/1.1\r\nHost: a\r\nX: 1"
    assert speedups.parse_request_head(head, 2, 11) is not None
    assert speedups.parse_request_head(head, 1, 11) is None  # Python: 431
    assert speedups.parse_request_head(head, 2, 10) is None  # Python: the long-target path (414 for HTTP/1.1)
    assert speedups.parse_request_head(b"GET / HTTP/1.1", 0, 0) is None


def test_parse_request_head_refuses_wrong_arguments(speedups: ModuleType) -> None:
    with pytest.raises(TypeError):
        speedups.parse_request_head(b"GET / HTTP/1.1", 1)
    with pytest.raises(TypeError):
        speedups.parse_request_head("GET / HTTP/1.1", 1, 1)


@pytest.mark.parametrize(("max_headers", "max_target"), [("1", 1), (1.0, 1), (-1, 10), (10, -1), (10, 2**80), (2**80, 10)])
def test_parse_request_head_declines_limits_it_cannot_apply(
    speedups: ModuleType, max_headers: object, max_target: object
) -> None:
    """Limits does not check its values: for odd ones (Python answers 431 for max_headers=-1) C steps aside."""
    assert speedups.parse_request_head(b"GET / HTTP/1.1", max_headers, max_target) is None


def test_the_parser_applies_odd_limits_as_python_does_with_the_accelerator_built() -> None:
    parser = RequestParser(Limits(max_headers=-1))
    parser.feed(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(ProtocolError) as raised:
        parser.next_event()
    assert raised.value.status == 431
    huge = RequestParser(Limits(max_headers=2**70, max_target_bytes=2**70))
    huge.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert huge.next_event().target == "/"  # type: ignore[union-attr]


# Pieces of heads: the first of each list are what clients send, the rest break the common case.
METHODS = [b"GET", b"POST", b"M-SEARCH", b"~!#$%&'*+.^_`|", b"get", b"", b"G T", b"G\xe9T"]
TARGETS = [b"/", b"/a?b=c", b"*", b"http://h:80/p", b"h:443", b"/%e9", b"/caf\xe9", b"", b"/a b", b"/\x7f"]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"http/1.1", b"HTTP/1.1 ", b"HTTP/1.10", b"HTTP/1", b""]
NAMES = [b"Host", b"host", b"HOST", b"Content-Length", b"X-A", b"x_y.z~", b"", b"X A", b"X\xe9", b" Host", b"X:Y"]
VALUES = [b"a", b"12", b"", b" a ", b"\ta\t", b"caf\xe9", b"a:b", b"a\x00", b"a\rb", b"a\nb", b"\x7f"]
SEPARATORS = [b": ", b":", b":\t", b": \t ", b" : "]
LINE_ENDS = [b"\r\n", b"\n", b"\r", b"\r\n "]
ODD_BYTES = st.sampled_from(list(b"\x00\t\n\r :\x7f\x80\xffAa-/"))


@st.composite
def request_heads(draw: st.DrawFn) -> bytes:
    """A head near the common case, perhaps mutated: what a client, or a fuzzer, sends.

    Half of them are drawn from the common pieces only, with at most one
    mutation, so that the accelerator answers often enough to be compared.
    """
    clean = draw(st.booleans())

    def piece(choices: list[bytes], common: int) -> bytes:
        pick = st.sampled_from(choices[:common] if clean else choices)
        return draw(pick if clean else st.one_of(pick, st.binary(max_size=6)))

    lines = [piece(METHODS, 4) + b" " + piece(TARGETS, 6) + b" " + piece(VERSIONS, 2)]
    for _ in range(draw(st.integers(0, 6))):
        lines.append(piece(NAMES, 6) + piece(SEPARATORS, 4) + piece(VALUES, 7))
    ends = [piece(LINE_ENDS, 1) for _ in lines[1:]]
    data = bytearray(lines[0] + b"".join(end + line for end, line in zip(ends, lines[1:], strict=True)))
    for _ in range(draw(st.integers(0, 1 if clean else 3))):  # mutations: replace, insert or delete one byte
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["replace", "insert", "delete"]))
        if how == "insert":
            data.insert(at, draw(ODD_BYTES))
        elif at < len(data):
            if how == "replace":
                data[at] = draw(ODD_BYTES)
            else:
                del data[at]
    return bytes(data)


LIMITS = st.one_of(
    st.just(DEFAULT),
    st.builds(Limits, max_headers=st.integers(0, 6), max_target_bytes=st.integers(0, 12)),
)


@settings(max_examples=800, deadline=None)
@given(request_heads(), LIMITS)
@example(b"GET / HTTP/1.1\r\nHost: a", DEFAULT)
def test_parse_request_head_is_none_or_the_python_result(head: bytes, limits: Limits) -> None:
    speedups = compiled_speedups()
    compiled = speedups.parse_request_head(head, limits.max_headers, limits.max_target_bytes)
    if compiled is not None:
        assert_same_parts(compiled, python_parts(head, limits))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_parse_request_head_on_any_bytes_is_none_or_the_python_result(head: bytes) -> None:
    compiled = compiled_speedups().parse_request_head(head, 128, 8192)
    if compiled is not None:
        assert_same_parts(compiled, python_parts(head))


# -- read_request_head ----------------------------------------------------------


def python_event(head: bytes, limits: Limits = DEFAULT) -> object:
    """What the pure-Python parser makes of ``head``: its RequestHead event, or its error."""
    with pure_python():
        request_parser = RequestParser(limits)
        request_parser.feed(head + b"\r\n\r\n")
        try:
            return request_parser.next_event()
        except ProtocolError as exc:
            return ("error", exc.message, exc.status)


def assert_read_matches_python(speedups: ModuleType, head: bytes, limits: Limits = DEFAULT) -> object:
    """read_request_head's answer is None, parse_request_head's parts, or the whole event Python makes."""
    speedups.bind_request_head(RequestHead)
    answer = speedups.read_request_head(head, limits.max_headers, limits.max_target_bytes)
    if type(answer) is RequestHead:
        event = python_event(head, limits)
        assert answer == event
        assert answer.fields == event.fields and list(answer.fields) == list(event.fields)  # type: ignore[union-attr]
        assert not answer.chunked and not answer.expect_continue and answer.keep_alive
        assert type(answer.content_length) is type(event.content_length)  # type: ignore[union-attr]
    elif answer is not None:
        assert_same_parts(answer, speedups.parse_request_head(head, limits.max_headers, limits.max_target_bytes))
    return answer


DECIDED_HEADS = [
    b"GET / HTTP/1.1\r\nHost: a",
    b"GET /x?y=1 HTTP/1.1\r\nhost: a\r\nUser-Agent: b\r\nAccept: */*",
    b"DELETE /item/1 HTTP/1.1\r\nHost: a\r\nKeep-Alive: 5\r\nX-Connection: close",  # not Connection itself
    b"POST / HTTP/1.1\r\nHost: a",  # a POST without a body is as plain as a GET
    b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Type: application/x-www-form-urlencoded",
    b"POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 0",
    b"PUT / HTTP/1.1\r\nHost: a\r\nCONTENT-LENGTH:007",
    b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999",  # 18 digits
]

UNDECIDED_HEADS = [
    b"GET / HTTP/1.0\r\nHost: a",  # keep-alive is HTTP/1.0's own rule
    b"GET / HTTP/1.1",  # no Host: Python refuses it
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b",
    b"GET http://example.com/ HTTP/1.1\r\nHost: a",  # absolute-form: rewritten by Python
    b"OPTIONS * HTTP/1.1\r\nHost: a",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5",  # Python merges it
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6",  # Python: 400
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \xb2",  # a digit to str.isdigit, not ASCII
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000",  # 19 digits: Python's 413
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close",
    b"GET / HTTP/1.1\r\nHost: a\r\nCONNECTION: keep-alive",
    b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue",
    b"GET / HTTP/1.1\r\nHost: a\r\nExpect: something-else",  # Python: 417
]


@pytest.mark.parametrize("head", DECIDED_HEADS)
def test_read_request_head_answers_the_whole_event_when_nothing_is_left_to_decide(speedups: ModuleType, head: bytes) -> None:
    assert type(assert_read_matches_python(speedups, head)) is RequestHead


@pytest.mark.parametrize("head", UNDECIDED_HEADS)
def test_read_request_head_leaves_python_the_decisions_a_field_or_the_version_brings(speedups: ModuleType, head: bytes) -> None:
    assert type(assert_read_matches_python(speedups, head)) is tuple


@pytest.mark.parametrize("head", UNUSUAL_HEADS)
def test_read_request_head_declines_what_parse_request_head_declines(speedups: ModuleType, head: bytes) -> None:
    assert speedups.read_request_head(head, DEFAULT.max_headers, DEFAULT.max_target_bytes) is None


@settings(max_examples=800, deadline=None)
@given(request_heads(), LIMITS)
def test_read_request_head_is_none_the_python_parts_or_the_python_event(head: bytes, limits: Limits) -> None:
    assert_read_matches_python(compiled_speedups(), head, limits)


PLAIN_FIELDS = [b"User-Agent: b", b"Accept: */*", b"X-Forwarded-For: 1.2.3.4", b"Keep-Alive: 5"]
DECIDING_FIELDS = [b"Connection: close", b"Connection: keep-alive", b"Transfer-Encoding: chunked", b"Expect: 100-continue"]
LENGTHS = [b"0", b"5", b"007", b"18", b"999999999999999999", b"1000000000000000000", b"", b"+5", b"5, 5", b"5 5", b"\xb2", b"x"]


@st.composite
def near_decided_heads(draw: st.DrawFn) -> bytes:
    """A request line the accelerator reads and a Host, with fields that may leave something to decide."""
    line = draw(st.sampled_from([b"GET / HTTP/1.1", b"POST /form HTTP/1.1", b"GET /a?b HTTP/1.0", b"GET * HTTP/1.1"]))
    fields = [b"Host: a"] * draw(st.sampled_from([1, 1, 1, 2])) + draw(st.lists(st.sampled_from(PLAIN_FIELDS), max_size=3))
    fields += [b"Content-Length: " + draw(st.sampled_from(LENGTHS)) for _ in range(draw(st.integers(0, 2)))]
    fields += draw(st.lists(st.sampled_from(DECIDING_FIELDS), max_size=1))
    return b"\r\n".join([line, *draw(st.permutations(fields))])


@settings(max_examples=500, deadline=None)
@given(near_decided_heads())
def test_read_request_head_decides_as_python_does_near_the_plain_case(head: bytes) -> None:
    assert_read_matches_python(compiled_speedups(), head)


def parser_outcome(data: bytes, limits: Limits) -> object:
    """What a RequestParser makes of ``data``: its events (with each head's fields), or its error."""
    request_parser = RequestParser(limits)
    request_parser.feed(data)
    try:
        seen, _ = drain(request_parser)
    except ProtocolError as exc:
        return ("error", exc.message, exc.status)
    return [(event, getattr(event, "fields", None)) for event in seen]


@settings(max_examples=500, deadline=None)
@given(request_heads(), LIMITS, st.sampled_from([b"", b"hello", b"5\r\nhello\r\n0\r\n\r\n"]))
def test_the_parser_gives_the_same_events_or_errors_either_way(head: bytes, limits: Limits, body: bytes) -> None:
    speedups = compiled_speedups()
    data = head + b"\r\n\r\n" + body
    with pure_python():
        python = parser_outcome(data, limits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser, "_fast_read_request_head", speedups.read_request_head)
        compiled = parser_outcome(data, limits)
    assert compiled == python


# -- serialize_response_fields ------------------------------------------------

ORDINARY_RESPONSES: list[tuple[int, dict[str, list[str]], Sequence[tuple[str, str]], str, str]] = [
    (200, {}, (), "OK", "HTTP/1.1"),
    (
        200,
        {
            "server": ["framework"],
            "content-type": ["text/html; charset=UTF-8"],
            "date": ["Wed, 02 Dec 2026 06:00:00 GMT"],
            "content-length": ["12"],
            "etag": ['"5d41402abc4b2a76b9719d911017c592"'],
        },
        [],
        "OK",
        "HTTP/1.1",
    ),
    (404, {"set-cookie": ["a=1", "b=2"], "x-empty": [], "x-tab": ["a\tb"]}, [("Connection", "close")], "Not Found", "HTTP/1.0"),
    (302, {"location": ["/caf\xe9"], "x--odd-": [""], "x-up": ["1"]}, (("Transfer-Encoding", "chunked"),), "Found", "HTTP/1.1"),
    (599, {"x-1": ["\x80\xff"]}, [], "Caf\xe9 \t", "HTTP/1.1"),
    (-1, {}, [], "", ""),
    (2**40, {"X-UPPER": ["kept as the key says"]}, [], "Big", "HTTP/1.1"),
]


@pytest.mark.parametrize(("status", "fields", "extra", "reason", "version"), ORDINARY_RESPONSES)
def test_serialize_response_fields_answers_for_ordinary_responses(
    speedups: ModuleType,
    status: int,
    fields: dict[str, list[str]],
    extra: Sequence[tuple[str, str]],
    reason: str,
    version: str,
) -> None:
    compiled = speedups.serialize_response_fields(status, fields, extra, reason, version)
    assert compiled is not None
    assert compiled == python_head(status, fields, extra, reason, version)


@given(st.integers(-(2**63), 2**63 - 1))
def test_serialize_response_fields_writes_any_status_as_python_does(speedups: ModuleType, status: int) -> None:
    # The status line's digits are written by hand in C (no snprintf): the same as f"{status}" for every long.
    compiled = speedups.serialize_response_fields(status, {}, (), "OK", "HTTP/1.1")
    assert compiled is not None and compiled == python_head(status, {}, (), "OK", "HTTP/1.1")


class Text(str):
    __slots__ = ()


class Fields(dict[str, list[str]]):
    pass


UNUSUAL_RESPONSES: list[tuple[object, object, object, object, object]] = [
    (HTTPStatus.OK, {}, (), "OK", "HTTP/1.1"),  # an int subclass: its f-string is its own business
    (True, {}, (), "OK", "HTTP/1.1"),
    (2**70, {}, (), "OK", "HTTP/1.1"),
    ("200", {}, (), "OK", "HTTP/1.1"),
    (200, Fields(), (), "OK", "HTTP/1.1"),
    (200, {"x": ("a",)}, (), "OK", "HTTP/1.1"),
    (200, {"x": [Text("a")]}, (), "OK", "HTTP/1.1"),
    (200, {Text("x"): ["a"]}, (), "OK", "HTTP/1.1"),
    (200, {"x": [1]}, (), "OK", "HTTP/1.1"),
    (200, {"": ["a"]}, (), "OK", "HTTP/1.1"),
    (200, {"x y": ["a"]}, (), "OK", "HTTP/1.1"),
    (200, {"x:y": ["a"]}, (), "OK", "HTTP/1.1"),
    (200, {"x\xe9": ["a"]}, (), "OK", "HTTP/1.1"),
    (200, {"x": ["a\r\nEvil: 1"]}, (), "OK", "HTTP/1.1"),
    (200, {"x": ["a\x00"]}, (), "OK", "HTTP/1.1"),
    (200, {"x": ["a\x7f"]}, (), "OK", "HTTP/1.1"),
    (200, {"x": ["\u20ac"]}, (), "OK", "HTTP/1.1"),
    (200, {}, [("X", "a\n")], "OK", "HTTP/1.1"),
    (200, {}, [("X Y", "a")], "OK", "HTTP/1.1"),
    (200, {}, [["X", "a"]], "OK", "HTTP/1.1"),
    (200, {}, [("X", "a", "b")], "OK", "HTTP/1.1"),
    (200, {}, iter([("X", "a")]), "OK", "HTTP/1.1"),
    (200, {}, (), "O\rK", "HTTP/1.1"),
    (200, {}, (), "\u20ac", "HTTP/1.1"),
    (200, {}, (), Text("OK"), "HTTP/1.1"),
    (200, {}, (), "OK", "HTTP/1.1\n"),
    (200, {}, (), None, "HTTP/1.1"),
]


@pytest.mark.parametrize(("status", "fields", "extra", "reason", "version"), UNUSUAL_RESPONSES)
def test_serialize_response_fields_declines_the_unusual(
    speedups: ModuleType, status: object, fields: object, extra: object, reason: object, version: object
) -> None:
    assert speedups.serialize_response_fields(status, fields, extra, reason, version) is None


def test_serialize_response_fields_refuses_wrong_arguments(speedups: ModuleType) -> None:
    with pytest.raises(TypeError):
        speedups.serialize_response_fields(200, {}, (), "OK")


TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Text near what a head may hold: tokens, spaces, controls, Latin-1 and beyond.
ODD_TEXT = st.text(
    alphabet=st.sampled_from([*"aZ09-_ :\t\r\n\x00\x01\x1f\x7f\x80\xe9\xff", "\u0100", "\u20ac", "\U0001f600"]), max_size=8
)
COMMON_NAMES = st.one_of(
    st.sampled_from(["content-type", "content-length", "set-cookie", "etag", "x-a", "X-Upper", "x--y", "-x-"]),
    st.text(alphabet=st.sampled_from(TCHARS), min_size=1, max_size=6),
)
ODD_NAMES = st.text(alphabet=st.sampled_from([*TCHARS, " ", ":", "\xe9", "\r"]), max_size=6)
COMMON_TEXT = st.one_of(
    st.sampled_from(["text/plain", "", "12", "a\tb", "caf\xe9", "OK", "HTTP/1.1"]),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=8),
)
STATUSES = st.one_of(st.integers(100, 599), st.integers())


@st.composite
def responses(draw: st.DrawFn) -> tuple[int, dict[str, list[str]], Sequence[tuple[str, str]], str, str]:
    """Arguments of serialize_response_fields: half of them from what handlers set, half from anything."""
    clean = draw(st.booleans())
    names = COMMON_NAMES if clean else st.one_of(COMMON_NAMES, ODD_NAMES)
    text = COMMON_TEXT if clean else st.one_of(COMMON_TEXT, ODD_TEXT)
    fields = draw(st.dictionaries(names, st.lists(text, max_size=3), max_size=5))
    pairs = st.tuples(names, text)
    extra = draw(st.one_of(st.lists(pairs, max_size=2), st.tuples(pairs)))
    return draw(STATUSES), fields, extra, draw(text), draw(text)


@settings(max_examples=800, deadline=None)
@given(responses())
def test_serialize_response_fields_is_none_or_the_python_result(
    arguments: tuple[int, dict[str, list[str]], Sequence[tuple[str, str]], str, str],
) -> None:
    compiled = compiled_speedups().serialize_response_fields(*arguments)
    if compiled is not None:
        assert compiled == python_head(*arguments)


# -- prepared_response --------------------------------------------------------

BLOCK = writer.PreparedFields({"server": ["framework"], "date": ["Thu, 03 Dec 2026 16:00:00 GMT"]})


def python_prepared(
    method: str, version: str, status: int, reason: str, fields: Sequence[tuple[str, str]], body: bytes, keep_alive: bool
) -> object:
    """The pure-Python writer's whole response on BLOCK, with its framing; or the ValueError it raises."""
    with pure_python():
        try:
            return writer.prepared_response(method, version, status, reason, BLOCK, fields, body, keep_alive)
        except ValueError as exc:
            return exc


def usual(message: bytes, body: bytes) -> tuple[bytes, tuple[object, ...]]:
    """The compiled twin's answer as the Python writer gives it: it answers only where the framing is
    a length, kept open, nothing added."""
    return message, (True, False, len(body), True, ())


ORDINARY_PREPARED: list[tuple[str, str, int, str, Sequence[tuple[str, str]], bytes, bool]] = [
    ("GET", "HTTP/1.1", 200, "OK", [("etag", '"1133e3ac"')], b"message\n", True),
    ("POST", "HTTP/1.1", 404, "Not Found", [("x-request-id", "r1"), ("etag", "caf\xe9")], b"", True),
    ("PUT", "HTTP/1.1", 999, "", (), b"x" * 5000, True),
    ("GET", "HTTP/1.1", 201, "Made \t here", [("X-Upper-Name", "v"), ("a" * 60, "long name")], b"1", True),
]


@pytest.mark.parametrize(("method", "version", "status", "reason", "fields", "body", "keep_alive"), ORDINARY_PREPARED)
def test_prepared_response_answers_for_ordinary_responses(
    speedups: ModuleType,
    method: str,
    version: str,
    status: int,
    reason: str,
    fields: Sequence[tuple[str, str]],
    body: bytes,
    keep_alive: bool,
) -> None:
    compiled = speedups.prepared_response(method, version, status, reason, BLOCK.block, fields, body, keep_alive)
    assert compiled is not None
    assert usual(compiled, body) == python_prepared(method, version, status, reason, fields, body, keep_alive)


UNUSUAL_PREPARED: list[tuple[object, ...]] = [
    ("HEAD", "HTTP/1.1", 200, "OK", (), b"x", True),  # no body: the framing is not the usual one
    ("GET", "HTTP/1.0", 200, "OK", (), b"x", True),
    ("GET", "HTTP/1.1", 200, "OK", (), b"x", False),
    ("GET", "HTTP/1.1", 200, "OK", (), b"x", 1),
    ("GET", "HTTP/1.1", 204, "OK", (), b"", True),
    ("GET", "HTTP/1.1", 304, "OK", (), b"", True),
    ("GET", "HTTP/1.1", 101, "OK", (), b"", True),
    ("GET", "HTTP/1.1", 1000, "OK", (), b"", True),
    ("GET", "HTTP/1.1", HTTPStatus.OK, "OK", (), b"", True),
    ("GET", "HTTP/1.1", 200, Text("OK"), (), b"", True),
    ("GET", "HTTP/1.1", 200, "O\nK", (), b"", True),
    ("GET", "HTTP/1.1", 200, "\u20ac", (), b"", True),
    ("GET", "HTTP/1.1", 200, "OK", [("x", "a\r\nEvil: 1")], b"", True),
    ("GET", "HTTP/1.1", 200, "OK", [("x y", "a")], b"", True),
    ("GET", "HTTP/1.1", 200, "OK", [["x", "a"]], b"", True),
    ("GET", "HTTP/1.1", 200, "OK", [("x", "a", "b")], b"", True),
    ("GET", "HTTP/1.1", 200, "OK", iter([("x", "a")]), b"", True),
    ("GET", "HTTP/1.1", 200, "OK", (), bytearray(b"x"), True),
    (Text("GET"), "HTTP/1.1", 200, "OK", (), b"", True),
]


@pytest.mark.parametrize("arguments", UNUSUAL_PREPARED)
def test_prepared_response_declines_the_unusual(speedups: ModuleType, arguments: tuple[object, ...]) -> None:
    method, version, status, reason, fields, body, keep_alive = arguments
    assert speedups.prepared_response(method, version, status, reason, BLOCK.block, fields, body, keep_alive) is None
    with pytest.raises(TypeError):
        speedups.prepared_response(method, version, status, reason, BLOCK.block, fields, body)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["GET", "POST", "HEAD", "get"]),
    st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/1.1 "]),
    st.one_of(st.integers(100, 999), st.sampled_from([200, 204, 304]), st.integers()),
    st.one_of(COMMON_TEXT, ODD_TEXT),
    st.lists(st.tuples(st.one_of(COMMON_NAMES, ODD_NAMES), st.one_of(COMMON_TEXT, ODD_TEXT)), max_size=3),
    st.binary(max_size=40),
    st.booleans(),
)
def test_prepared_response_is_none_or_the_python_result(
    method: str, version: str, status: int, reason: str, fields: list[tuple[str, str]], body: bytes, keep_alive: bool
) -> None:
    compiled = compiled_speedups().prepared_response(method, version, status, reason, BLOCK.block, fields, body, keep_alive)
    if compiled is not None:
        assert usual(compiled, body) == python_prepared(method, version, status, reason, fields, body, keep_alive)


# -- memory -------------------------------------------------------------------


def run_every_path(speedups: ModuleType, rounds: int) -> None:
    """Each function answering, declining and refusing its arguments, ``rounds`` times."""
    good = ORDINARY_HEADS[-2]
    fields = ORDINARY_RESPONSES[1][1]
    for _ in range(rounds):
        assert speedups.parse_request_head(good, 128, 8192) is not None
        assert speedups.parse_request_head(bytearray(good), 128, 8192) is not None
        assert speedups.parse_request_head(b"GET / HTTP/1.1\r\nHost: a\x00", 128, 8192) is None
        assert type(speedups.read_request_head(b"GET / HTTP/1.1\r\nHost: a", 128, 8192)) is RequestHead
        assert type(speedups.read_request_head(good, 128, 8192)) is tuple
        assert speedups.read_request_head(b"GET / HTTP/1.1\r\nHost: a\x00", 128, 8192) is None
        assert speedups.serialize_response_fields(200, fields, [("Connection", "close")], "OK", "HTTP/1.1") is not None
        assert speedups.serialize_response_fields(200, {"x": ["a\r\n"]}, (), "OK", "HTTP/1.1") is None
        assert speedups.prepared_response("GET", "HTTP/1.1", 200, "OK", b"X: 1\r\n", [("etag", "e")], b"b", True) is not None
        assert speedups.prepared_response("GET", "HTTP/1.1", 200, "OK", b"", [("e", "\r")], b"b", True) is None
        assert speedups.make_request_head("GET", "/", "HTTP/1.1", [], True, False, False, None, {}).method == "GET"
        assert speedups.parse_urlencoded(b"a=1&b=%41+x&c&=&a=%zz", True)["a"] == [b"1", b"%zz"]
        for call in (
            lambda: speedups.parse_request_head("text", 1, 1),
            lambda: speedups.parse_request_head(good, 1, 2**80),
            lambda: speedups.serialize_response_fields(200),
            lambda: speedups.prepared_response(200),
            lambda: speedups.parse_urlencoded("text", False),
        ):
            try:
                call()
            except (TypeError, OverflowError):
                pass


def test_the_accelerator_leaks_nothing(speedups: ModuleType) -> None:
    """Traced allocations stay flat over many calls (a leaked object per call would be ~1 MB here)."""
    run_every_path(speedups, 200)  # warm-up: caches and free lists
    gc.collect()
    tracemalloc.start()
    try:
        run_every_path(speedups, 100)
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        run_every_path(speedups, 5000)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024


def test_the_accelerator_keeps_the_reference_counts_of_what_it_is_given(speedups: ModuleType) -> None:
    head = bytearray(ORDINARY_HEADS[2])
    fields = {"content-type": ["text/plain"], "x": ["a", "b"]}
    extra = [("Connection", "close")]
    watched = [head, fields, fields["x"], fields["x"][0], extra, extra[0], "HTTP/1.1", "OK"]

    def exercise() -> None:
        speedups.parse_request_head(head, 128, 8192)
        speedups.parse_request_head(b"GET / HTTP/1.1\r\n", 128, 8192)  # declined: None
        speedups.read_request_head(head, 128, 8192)  # a tuple: HTTP/1.0 decides
        speedups.read_request_head(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 123456789012345", 128, 8192
        )  # a length read in C
        speedups.read_request_head(b"GET / HTTP/1.1\r\nHost: a", 128, 8192)  # the whole RequestHead
        speedups.serialize_response_fields(200, fields, extra, "OK", "HTTP/1.1")
        speedups.serialize_response_fields(200, fields, extra, "O\nK", "HTTP/1.1")

    # Once first: the texts it has checked stay referenced, one each (the
    # next test). A whole round, not one call: two texts whose addresses
    # share a slot of the table take turns in it, and which one holds it
    # then depends on the last call, so the counts are taken where every
    # later round ends too.
    exercise()
    counts = [sys.getrefcount(obj) for obj in watched]
    nones = sys.getrefcount(None)
    for _ in range(1000):
        exercise()
    assert [sys.getrefcount(obj) for obj in watched] == counts
    # None is immortal from Python 3.12 on; before, a reference kept per decline would show here.
    assert abs(sys.getrefcount(None) - nones) < 100
    head.extend(b"\r\nX: 1")  # the buffer export was released: the bytearray can grow again


def test_the_texts_remembered_as_checked_are_a_bounded_few(speedups: ModuleType) -> None:
    # Each serialised name and value is kept (a strong reference, found by
    # identity next time) in one of 256 slots: two thousand distinct ones leave
    # at most 256 of each held, and the bytes are the same whether remembered or not.
    names = [f"x-name-{index}" for index in range(2000)]
    values = [f"value {index}" for index in range(2000)]
    texts = names + values
    alone = [sys.getrefcount(text) for text in texts]
    for _ in range(2):
        for index, (name, value) in enumerate(zip(names, values, strict=True)):
            head = speedups.serialize_response_fields(200, {name: [value]}, (), "OK", "HTTP/1.1")
            assert head == f"HTTP/1.1 200 OK\r\nX-Name-{index}: value {index}\r\n\r\n".encode()
    now = [sys.getrefcount(text) for text in texts]
    held = sum(after > before for after, before in zip(now, alone, strict=True))
    assert 0 < held <= 2 * 256


def test_long_texts_are_not_remembered(speedups: ModuleType) -> None:
    value = "v" * 1000  # (a large value, or a secret, is not held on to after its response)
    before = sys.getrefcount(value)
    speedups.serialize_response_fields(200, {"x-long": [value]}, (), "OK", "HTTP/1.1")
    assert sys.getrefcount(value) == before


def test_repeated_values_of_shared_fields_and_plain_paths_are_one_str_between_requests(speedups: ModuleType) -> None:
    # What a waiting long poll holds of its head: the Host, User-Agent... and
    # path every other request sent too are one object, not one copy each.
    head = (
        b"GET /poll HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: probe/1.0\r\n"
        b"Accept: */*\r\nCookie: session=abc\r\nAuthorization: Bearer t0k3n\r\n"
        b"Sec-Fetch-Mode: cors\r\nContent-Length: 0"
    )
    first = speedups.parse_request_head(bytearray(head), 128, 8192)
    second = speedups.parse_request_head(bytes(head), 128, 8192)
    assert first == second  # (and each is what the Python parser makes: the tests above)
    _, target, _, _, fields = first
    _, target_again, _, _, fields_again = second
    assert target_again is target
    for name in ("host", "user-agent", "accept", "sec-fetch-mode"):
        assert fields_again[name][0] is fields[name][0], name
    # One user's values, and what differs per request, are each their own.
    for name in ("cookie", "authorization", "content-length"):
        assert fields_again[name][0] is not fields[name][0], name


def test_a_target_with_a_query_or_a_value_with_obs_text_is_not_shared(speedups: ModuleType) -> None:
    head = b"GET /reset?token=s3cret HTTP/1.1\r\nHost: h\r\nUser-Agent: caf\xe9"
    first = speedups.parse_request_head(head, 128, 8192)
    second = speedups.parse_request_head(head, 128, 8192)
    assert first == second
    assert first[1] == "/reset?token=s3cret" and second[1] is not first[1]
    with_parameters = b"GET /app;jsessionid=1A2B HTTP/1.1\r\nHost: h"
    assert (
        speedups.parse_request_head(with_parameters, 128, 8192)[1]
        is not speedups.parse_request_head(with_parameters, 128, 8192)[1]
    )
    assert first[4]["user-agent"] == ["caf\xe9"] and second[4]["user-agent"][0] is not first[4]["user-agent"][0]
    assert second[4]["host"][0] is first[4]["host"][0]


def test_the_table_of_recent_values_is_bounded_and_a_collision_only_evicts(speedups: ModuleType) -> None:
    # 2,000 distinct hosts: each parse gives the right text, and at most the
    # table's 128 slots stay held once they are gone.
    hosts = [f"host-{index}.example" for index in range(2000)]
    parsed = [speedups.parse_request_head(f"GET / HTTP/1.1\r\nHost: {host}".encode(), 128, 8192) for host in hosts]
    assert [p[4]["host"] == [host] for p, host in zip(parsed, hosts, strict=True)] == [True] * len(hosts)
    values = [p[4]["host"][0] for p in parsed]
    del parsed
    held = 0
    for value in values:
        held += sys.getrefcount(value) > 3  # (the list's, this loop's and the call's references)
    assert 0 < held <= 128
    long_host = "h" * 300  # (over the limit: a value that long is not kept)
    got = speedups.parse_request_head(f"GET / HTTP/1.1\r\nHost: {long_host}".encode(), 128, 8192)[4]["host"][0]
    assert got == long_host and sys.getrefcount(got) == 2


# -- RequestHead without its __init__ -------------------------------------------------


HEAD_FIELDS = st.tuples(
    st.sampled_from(["GET", "POST", "PURGE"]),
    st.text(max_size=20),
    st.sampled_from(["HTTP/1.1", "HTTP/1.0"]),
    st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=3),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.none() | st.integers(min_value=0, max_value=2**70),
    st.dictionaries(st.text(max_size=5), st.lists(st.text(max_size=5), min_size=1), max_size=3),
)


@given(HEAD_FIELDS)
def test_make_request_head_builds_what_the_constructor_builds(speedups: ModuleType, values: tuple[object, ...]) -> None:
    speedups.bind_request_head(RequestHead)
    made, built = speedups.make_request_head(*values), RequestHead(*values)  # type: ignore[arg-type]
    assert type(made) is RequestHead and made == built and repr(made) == repr(built)
    assert all(getattr(made, name) is value for name, value in zip(RequestHead.__slots__, values, strict=True))
    made.keep_alive = not made.keep_alive  # an ordinary instance: its slots can be set
    assert made.keep_alive is not built.keep_alive


def test_make_request_head_keeps_the_reference_counts_of_its_fields(speedups: ModuleType) -> None:
    speedups.bind_request_head(RequestHead)
    values = ["GET", "/x", "HTTP/1.1", [("Host", "a")], True, False, False, int("123456789"), {"host": ["a"]}]
    watched = [value for value in values if not isinstance(value, bool)]  # True and False move with everything
    counts = [sys.getrefcount(value) for value in watched]
    for _ in range(1000):
        head = speedups.make_request_head(*values)
        assert head.fields is values[-1]
    del head
    assert [sys.getrefcount(value) for value in watched] == counts


def test_bind_request_head_refuses_a_class_laid_out_otherwise(speedups: ModuleType) -> None:
    @dataclasses.dataclass
    class NoSlots:
        method: str

    @dataclasses.dataclass(slots=True)
    class TooFew:
        method: str
        target: str

    @dataclasses.dataclass(slots=True)
    class OneMore(RequestHead):  # its own slot beyond RequestHead's would stay unset
        extra: str = ""

    def upper_method(self: Any) -> None:
        self.method = self.method.upper()

    post_init = _nine_slots({"__post_init__": upper_method})  # work in __init__ that would be skipped

    class Other:  # a class whose slot lies beyond a nine-slot instance
        __slots__ = tuple(f"s{i}" for i in range(4000))

    # make_request_head writes at each field's offset: a descriptor taken
    # from another class would put it outside the instance, and two fields
    # on one slot would overwrite a reference it holds without releasing it.
    foreign = _nine_slots()
    foreign.fields = Other.__dict__["s3999"]  # type: ignore[attr-defined]
    shared = _nine_slots()
    shared.target = shared.__dict__["method"]  # type: ignore[attr-defined]
    assert speedups.bind_request_head(_nine_slots()) is None  # (the shape itself binds)
    for cls in (NoSlots, TooFew, OneMore, post_init, int, foreign, shared):
        with pytest.raises(TypeError):
            speedups.bind_request_head(cls)
    with pytest.raises(TypeError):
        speedups.bind_request_head("RequestHead")
    with pytest.raises(TypeError):
        speedups.make_request_head("GET")  # nine fields or none
    speedups.bind_request_head(RequestHead)
    head = speedups.make_request_head("GET", "/", "HTTP/1.1", [], True, False, False, None, {})
    assert type(head) is RequestHead


def _nine_slots(namespace: dict[str, Any] | None = None) -> type:
    """A new slots dataclass of RequestHead's nine fields (bind_request_head takes its shape), with ``namespace``."""
    fields = [(field.name, field.type) for field in dataclasses.fields(RequestHead)]
    return dataclasses.make_dataclass("Head", fields, slots=True, namespace=namespace)


# -- loading ------------------------------------------------------------------


LOADED = (
    "from framework import http1; from framework.http1 import parser, writer; "
    "print(parser._fast_read_request_head is not None, writer._fast_serialize_response_fields is not None, "
    "http1.usual_prepared_response is not writer._declines_usual_response)"
)


@pytest.mark.parametrize(("pure", "expected"), [(None, "True True True"), ("0", "True True True"), ("1", "False False False")])
def test_framework_http1_pure_keeps_the_accelerator_unused(speedups: ModuleType, pure: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FRAMEWORK_HTTP1_PURE"}
    if pure is not None:
        env["FRAMEWORK_HTTP1_PURE"] = pure
    result = subprocess.run([sys.executable, "-c", LOADED], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == expected

"""Tests for framework/http1/parser.py: every error with the status a server should answer, and the limits.

Each malformed request is a case of ``ERRORS`` (fed whole and a byte at a
time); the limits (head size, header count, target length, body size by
Content-Length and chunked, chunk-size lines, trailers) are checked at, just
under and just over their value.
"""

from __future__ import annotations

import pytest

from framework.http1 import (
    PAUSED,
    Body,
    EndOfMessage,
    ProtocolError,
    RequestHead,
    RequestParser,
)
from tests.framework.http1.parsing import (
    CHUNKED_HEAD,
    CODING_HEAD,
    GET,
    LENGTH_HEAD,
    SMALL,
    drain,
    events,
    request_error,
)

# Every test runs with the compiled fast paths and with pure Python (conftest.py).
pytestmark = pytest.mark.usefixtures("http1_implementation")

# -- errors, each with the status a server should answer ---------------------

ERRORS: list[tuple[str, bytes, int]] = [
    # request line (RFC 9112 3)
    ("no-version", b"GET /\r\nHost: a\r\n\r\n", 400),
    ("only-method", b"GET\r\nHost: a\r\n\r\n", 400),
    ("double-space", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("trailing-space", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
    ("tab-separator", b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("space-in-target", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("empty-method", b" / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("non-token-method", b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("non-ascii-target", b"GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("control-in-target", b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("nul-in-target", b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    # version (RFC 9112 2.3)
    ("http-2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("http-1.2", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
    ("http-0.9", b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
    ("http-3.0", b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
    ("version-two-digits", b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
    ("version-lower-case", b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),
    ("version-no-minor", b"GET / HTTP/1\r\nHost: a\r\n\r\n", 400),
    ("version-no-dot", b"GET / HTTP/11\r\nHost: a\r\n\r\n", 400),
    ("version-wrong-name", b"GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
    ("version-missing", b"GET / \r\nHost: a\r\n\r\n", 400),
    # header lines (RFC 9112 5)
    ("space-before-colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    ("tab-before-colon", b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
    ("no-colon", b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
    ("empty-name", b"GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n", 400),
    ("space-in-name", b"GET / HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n", 400),
    ("non-token-name", b"GET / HTTP/1.1\r\nHost: a\r\nX(Y): 1\r\n\r\n", 400),
    ("non-ascii-name", b"GET / HTTP/1.1\r\nHost: a\r\nX\xe9: 1\r\n\r\n", 400),
    ("obs-fold-space", b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400),
    ("obs-fold-tab", b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n", 400),
    ("space-after-start-line", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
    ("nul-in-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),
    ("nul-in-name", b"GET / HTTP/1.1\r\nHost: a\r\nX\x00Y: 1\r\n\r\n", 400),
    ("cr-in-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
    ("lf-in-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", 400),
    ("cr-in-name", b"GET / HTTP/1.1\r\nHost: a\r\nX\rY: 1\r\n\r\n", 400),
    ("control-in-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", 400),
    ("escape-in-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x1b[0mb\r\n\r\n", 400),
    ("del-in-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", 400),
    ("vertical-tab-in-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x0bb\r\n\r\n", 400),
    # line endings (RFC 9112 2.2): CRLF only
    ("bare-lf-everywhere", b"GET / HTTP/1.1\nHost: a\n\n", 400),
    ("bare-lf-after-request-line", b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
    ("bare-lf-before-blank-line", b"GET / HTTP/1.1\r\nHost: a\n\r\n", 400),
    ("bare-lf-then-crlf", b"GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
    ("bare-lf-first", b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("bare-cr", b"GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
    ("cr-cr-lf", b"GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400),
    # Host (RFC 9112 3.2)
    ("missing-host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two-hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    # framing and smuggling (RFC 9112 6)
    ("unknown-coding", CODING_HEAD % b"gzip", 501),
    ("coding-before-chunked", CODING_HEAD % b"gzip, chunked", 501),
    ("identity-coding", CODING_HEAD % b"identity", 501),
    ("chunked-twice", CODING_HEAD % b"chunked, chunked", 400),
    ("chunked-twice-two-headers", CODING_HEAD % b"chunked\r\nTransfer-Encoding: chunked", 400),
    ("empty-transfer-encoding", CODING_HEAD % b"", 400),
    (
        "length-and-chunked",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    (
        "chunked-and-length",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        400,
    ),
    ("chunked-in-http-1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (
        "conflicting-lengths",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        400,
    ),
    ("conflicting-length-list", LENGTH_HEAD % b"5, 6" + b"hello!", 400),
    ("length-list-with-empty", LENGTH_HEAD % b"5," + b"hello", 400),
    ("length-plus", LENGTH_HEAD % b"+5" + b"hello", 400),
    ("length-minus", LENGTH_HEAD % b"-1", 400),
    ("length-hex", LENGTH_HEAD % b"0x10", 400),
    ("length-decimal-point", LENGTH_HEAD % b"5.0", 400),
    ("length-inner-space", LENGTH_HEAD % b"5 5", 400),
    ("length-empty", LENGTH_HEAD % b"", 400),
    ("length-superscript-digit", LENGTH_HEAD % b"\xb2", 400),
    ("length-too-many-digits", LENGTH_HEAD % (b"9" * 30), 413),
    # chunked bodies (RFC 9112 7.1)
    ("chunk-size-not-hex", CHUNKED_HEAD + b"x\r\n", 400),
    ("chunk-size-empty", CHUNKED_HEAD + b"\r\nhello\r\n", 400),
    ("chunk-size-negative", CHUNKED_HEAD + b"-1\r\n", 400),
    ("chunk-size-0x", CHUNKED_HEAD + b"0x5\r\nhello\r\n", 400),
    ("chunk-size-plus", CHUNKED_HEAD + b"+5\r\nhello\r\n", 400),
    ("chunk-size-leading-space", CHUNKED_HEAD + b" 5\r\nhello\r\n", 400),
    ("chunk-size-17-digits", CHUNKED_HEAD + b"1" + b"0" * 16 + b"\r\n", 400),
    ("chunk-size-bare-lf", CHUNKED_HEAD + b"5\nhello\r\n0\r\n\r\n", 400),
    ("chunk-ext-bare-cr", CHUNKED_HEAD + b"5;a\rb\r\nhello\r\n", 400),
    ("chunk-ext-nul", CHUNKED_HEAD + b"5;a\x00b\r\nhello\r\n", 400),
    ("chunk-data-too-long", CHUNKED_HEAD + b"5\r\nhello!\r\n0\r\n\r\n", 400),
    ("chunk-data-without-crlf", CHUNKED_HEAD + b"5\r\nhello0\r\n\r\n", 400),
    ("chunk-data-then-lf", CHUNKED_HEAD + b"5\r\nhello\n0\r\n\r\n", 400),
    ("chunk-data-then-one-wrong-byte", CHUNKED_HEAD + b"5\r\nhelloX", 400),
    ("chunk-data-then-cr-and-wrong-byte", CHUNKED_HEAD + b"5\r\nhello\rX", 400),
    ("trailer-malformed", CHUNKED_HEAD + b"0\r\nNo colon here\r\n\r\n", 400),
    ("trailer-space-before-colon", CHUNKED_HEAD + b"0\r\nX : 1\r\n\r\n", 400),
    ("trailer-obs-fold", CHUNKED_HEAD + b"0\r\nX: 1\r\n 2\r\n\r\n", 400),
    ("trailer-nul", CHUNKED_HEAD + b"0\r\nX: a\x00b\r\n\r\n", 400),
    ("trailer-bare-lf", CHUNKED_HEAD + b"0\r\nX: a\nY: b\r\n\r\n", 400),
]


ERROR_CASES = [pytest.param(data, status, id=name) for name, data, status in ERRORS]


@pytest.mark.parametrize(("data", "status"), ERROR_CASES)
def test_protocol_errors(data: bytes, status: int) -> None:
    assert request_error(data).status == status


@pytest.mark.parametrize(("data", "status"), ERROR_CASES)
def test_protocol_errors_byte_at_a_time(data: bytes, status: int) -> None:
    """The same error, whichever byte completes the evidence (EOF only if no error came first)."""
    parser = RequestParser()
    with pytest.raises(ProtocolError) as info:
        for i in range(len(data)):
            parser.feed(data[i : i + 1])
            drain(parser)
        parser.feed_eof()
        drain(parser)
    assert info.value.status == status


def test_parser_stays_broken_after_an_error() -> None:
    parser = RequestParser()
    parser.feed(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n" + GET)
    with pytest.raises(ProtocolError):
        parser.next_event()
    with pytest.raises(ProtocolError):
        parser.next_event()


def head_of_size(size: int) -> bytes:
    """A complete GET head of exactly ``size`` bytes, blank line included."""
    start = b"GET / HTTP/1.1\r\nHost: a\r\nX: "
    return start + b"v" * (size - len(start) - 4) + b"\r\n\r\n"


def test_head_exactly_at_the_limit_is_accepted() -> None:
    data = head_of_size(SMALL.max_header_bytes)
    assert len(data) == 200
    assert events(data, SMALL)[1:] == [EndOfMessage()]


def test_head_over_the_limit_is_431() -> None:
    assert request_error(head_of_size(SMALL.max_header_bytes + 1), SMALL).status == 431


def unfinished_head(size: int) -> bytes:
    """``size`` bytes of a head whose last header line has not ended yet."""
    start = b"GET / HTTP/1.1\r\nHost: a\r\nX: "
    return start + b"v" * (size - len(start))


def test_unfinished_head_up_to_the_limit_waits() -> None:
    assert events(unfinished_head(SMALL.max_header_bytes), SMALL) == []


def test_unfinished_head_over_the_limit_is_431() -> None:
    assert request_error(unfinished_head(SMALL.max_header_bytes + 1), SMALL).status == 431


def test_too_many_headers_is_431() -> None:
    at_limit = b"GET / HTTP/1.1\r\nHost: a\r\nB: 2\r\nC: 3\r\n\r\n"
    assert events(at_limit, SMALL)[1:] == [EndOfMessage()]
    over = b"GET / HTTP/1.1\r\nHost: a\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"
    assert request_error(over, SMALL).status == 431


def test_request_target_too_long_is_414() -> None:
    at_limit = b"GET /" + b"a" * 19 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert events(at_limit, SMALL)[1:] == [EndOfMessage()]
    over = b"GET /" + b"a" * 20 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert request_error(over, SMALL).status == 414


def test_request_line_longer_than_the_head_limit_is_414() -> None:
    assert request_error(b"GET /" + b"a" * 300, SMALL).status == 414


def test_body_over_the_limit_by_content_length_is_413_before_any_body_byte() -> None:
    parser = RequestParser(SMALL)
    parser.feed(LENGTH_HEAD % b"11")  # no body byte sent: the length alone decides
    first = parser.next_event()
    assert isinstance(first, RequestHead) and first.content_length == 11
    with pytest.raises(ProtocolError) as info:
        parser.next_event()
    assert info.value.status == 413


def test_body_at_the_limit_is_accepted() -> None:
    by_length = LENGTH_HEAD % b"10" + b"0123456789"
    assert events(by_length, SMALL)[1:] == [Body(b"0123456789"), EndOfMessage()]
    chunked = CHUNKED_HEAD + b"5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"
    assert events(chunked, SMALL)[1:] == [Body(b"0123456789"), EndOfMessage()]


@pytest.mark.parametrize(
    "chunks",
    [b"b\r\n", b"5\r\n01234\r\n6\r\n"],
    ids=["one-chunk", "sum-of-chunks"],
)
def test_chunked_body_over_the_limit_is_413_before_its_data(chunks: bytes) -> None:
    assert request_error(CHUNKED_HEAD + chunks, SMALL).status == 413


def test_huge_chunk_size_is_413() -> None:
    assert request_error(CHUNKED_HEAD + b"ffffffffffffffff\r\n").status == 413


def test_set_max_body_size_raises_the_limit_for_one_message() -> None:
    parser = RequestParser(SMALL)
    parser.feed(LENGTH_HEAD % b"20" + b"x" * 20 + LENGTH_HEAD % b"20" + b"x" * 20)
    assert isinstance(parser.next_event(), RequestHead)
    parser.set_max_body_size(20)
    assert drain(parser) == ([Body(b"x" * 20), EndOfMessage()], PAUSED)
    parser.start_next()  # the override ends with its message
    assert isinstance(parser.next_event(), RequestHead)
    with pytest.raises(ProtocolError) as info:
        parser.next_event()
    assert info.value.status == 413


def test_set_max_body_size_raises_the_limit_for_a_chunked_body() -> None:
    parser = RequestParser(SMALL)
    parser.feed(CHUNKED_HEAD + b"14\r\n" + b"x" * 20 + b"\r\n0\r\n\r\n")
    assert isinstance(parser.next_event(), RequestHead)
    parser.set_max_body_size(20)
    assert drain(parser) == ([Body(b"x" * 20), EndOfMessage()], PAUSED)


@pytest.mark.parametrize(
    "data",
    [LENGTH_HEAD % b"6" + b"hello!", CHUNKED_HEAD + b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"],
    ids=["length", "chunked"],
)
def test_set_max_body_size_lowers_the_limit(data: bytes) -> None:
    parser = RequestParser()
    parser.feed(data)
    assert isinstance(parser.next_event(), RequestHead)
    parser.set_max_body_size(5)
    with pytest.raises(ProtocolError) as info:
        drain(parser)
    assert info.value.status == 413


@pytest.mark.parametrize(
    "line",
    [b"5;" + b"e" * 40, b"5;" + b"e" * 40 + b"\r\nhello\r\n"],
    ids=["unfinished", "finished"],
)
def test_chunk_size_line_over_the_limit_is_400(line: bytes) -> None:
    assert request_error(CHUNKED_HEAD + line, SMALL).status == 400


def test_chunk_size_line_within_the_limit_is_accepted() -> None:
    data = CHUNKED_HEAD + b"5;" + b"e" * 20 + b"\r\nhello\r\n0\r\n\r\n"
    assert events(data, SMALL)[1:] == [Body(b"hello"), EndOfMessage()]


@pytest.mark.parametrize(
    "trailers",
    [
        b"X: " + b"v" * 60,  # one line, not finished
        b"X: " + b"v" * 60 + b"\r\n\r\n",  # one line, finished
        b"A: 1234567890\r\nB: 1234567890\r\nC: 1234567890\r\n\r\n",  # many short lines
    ],
    ids=["unfinished-line", "long-line", "many-lines"],
)
def test_trailers_over_the_limit_are_431(trailers: bytes) -> None:
    assert request_error(CHUNKED_HEAD + b"0\r\n" + trailers, SMALL).status == 431


def test_trailers_within_the_limit_are_accepted() -> None:
    data = CHUNKED_HEAD + b"0\r\nA: 1234567890\r\nB: 1234567890\r\n\r\n"
    assert events(data, SMALL)[1:] == [EndOfMessage([("A", "1234567890"), ("B", "1234567890")])]

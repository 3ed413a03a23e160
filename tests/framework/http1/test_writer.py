"""Tests for framework/http1/writer.py: response and request heads, chunks, and response framing.

Names and values are checked on the way out: every unsafe header or reason is
refused with ``ValueError`` and nothing is written.
"""

from __future__ import annotations

import pytest

from framework.http1 import (
    LAST_CHUNK,
    EndOfMessage,
    PreparedFields,
    RequestHead,
    encode_chunk,
    frame_response,
    prepared_response,
    serialize_prepared_response,
    serialize_request_head,
    serialize_response_fields,
    serialize_response_head,
    validate_header_field,
)
from tests.framework.http1.parsing import (
    events,
    head,
)

# Every test runs with the compiled fast paths and with pure Python (conftest.py).
pytestmark = pytest.mark.usefixtures("http1_implementation")

# -- serialisers --------------------------------------------------------------


def test_serialize_response_head_with_default_reason() -> None:
    data = serialize_response_head(200, [("Content-Type", "text/plain"), ("Content-Length", "2")])
    assert data == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"


def test_serialize_response_head_with_custom_reason_and_version() -> None:
    custom = serialize_response_head(404, [], reason="Gone Fishing")
    assert custom == b"HTTP/1.1 404 Gone Fishing\r\n\r\n"
    assert serialize_response_head(200, [], reason="") == b"HTTP/1.1 200 \r\n\r\n"
    assert serialize_response_head(599, [], version="HTTP/1.0") == b"HTTP/1.0 599 Unknown\r\n\r\n"


def test_serialize_response_head_keeps_latin_1_values() -> None:
    data = serialize_response_head(200, [("X", "caf\xe9")])
    assert data == b"HTTP/1.1 200 OK\r\nX: caf\xe9\r\n\r\n"


UNSAFE_HEADERS = [
    ("X-A\r\nEvil", "1"),
    ("X-A\nEvil", "1"),
    ("X-A\x00", "1"),
    ("X A", "1"),
    ("X:A", "1"),
    ("", "1"),
    ("X-\xe9", "1"),
    ("X", "a\r\nSet-Cookie: evil=1"),
    ("X", "a\rb"),
    ("X", "a\nb"),
    ("X", "a\x00b"),
    # RFC 9110 5.5: no CTL but HTAB in a field value, not only CR, LF and NUL.
    ("X", "a\x01b"),
    ("X", "a\x0bb"),
    ("X", "a\x0cb"),
    ("X", "a\x1bb"),
    ("X", "a\x1fb"),
    ("X", "a\x7fb"),
]


@pytest.mark.parametrize(("name", "value"), UNSAFE_HEADERS)
def test_serialize_response_head_refuses_unsafe_headers(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        serialize_response_head(200, [("Content-Length", "0"), (name, value)])
    with pytest.raises(ValueError):
        serialize_request_head("GET", "/", [(name, value)])
    with pytest.raises(ValueError):
        validate_header_field(name, value)


@pytest.mark.parametrize("reason", ["OK\r\nSet-Cookie: x=1", "O\rK", "O\nK", "O\x00K", "O\x01K", "O\x7fK"])
def test_serialize_response_head_refuses_unsafe_reason(reason: str) -> None:
    with pytest.raises(ValueError):
        serialize_response_head(200, [], reason=reason)


def test_serialize_response_fields_shows_names_and_keeps_every_value() -> None:
    fields = {"content-type": ["text/plain"], "set-cookie": ["a=1", "b=2"], "x-caf": ["caf\xe9"], "etag": ['"1"'], "x-none": []}
    data = serialize_response_fields(404, fields, extra=[("Transfer-Encoding", "chunked")])
    assert data == (
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
        b'X-Caf: caf\xe9\r\nEtag: "1"\r\nTransfer-Encoding: chunked\r\n\r\n'
    )
    assert serialize_response_fields(299, {}, reason="Fine", version="HTTP/1.0") == b"HTTP/1.0 299 Fine\r\n\r\n"


@pytest.mark.parametrize(("name", "value"), UNSAFE_HEADERS)
def test_serialize_response_fields_refuses_unsafe_headers(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        serialize_response_fields(200, {"content-length": ["0"], name.lower(): [value]})
    with pytest.raises(ValueError):
        serialize_response_fields(200, {"content-length": ["0"]}, extra=[(name, value)])


def test_serialize_response_fields_refuses_text_beyond_latin_1() -> None:
    with pytest.raises(ValueError):
        serialize_response_fields(200, {"x": ["\u20ac"]})
    with pytest.raises(ValueError):
        serialize_response_fields(200, {}, reason="\u20ac")


# -- prepared fields: checked and serialised once, sent by many responses -----

DEFAULTS = {
    "server": ["framework"],
    "content-type": ["text/html"],
    "date": ["Thu, 03 Dec 2026 16:00:00 GMT"],
    "x-two": ["1", "2"],
}


def test_prepared_fields_are_the_lines_serialize_response_fields_writes() -> None:
    prepared = PreparedFields(DEFAULTS)
    assert prepared.block == serialize_response_fields(200, DEFAULTS)[len(b"HTTP/1.1 200 OK\r\n") : -2]
    assert prepared.block.startswith(b"Server: framework\r\n") and prepared.block.endswith(b"X-Two: 2\r\n")
    assert prepared.fields == DEFAULTS and prepared.fields is not DEFAULTS
    assert PreparedFields({}).block == b""


@pytest.mark.parametrize(("name", "value"), UNSAFE_HEADERS)
def test_prepared_fields_refuse_unsafe_headers(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        PreparedFields({name.lower(): [value]})


def whole_head(status: int, reason: str, own: list[tuple[str, str]], length: int, extra: list[tuple[str, str]]) -> bytes:
    """What serialize_response_fields writes of the prepared fields, ``own`` and the length, in that order."""
    fields = {**DEFAULTS, **{name: [value] for name, value in own}, "content-length": [str(length)]}
    return serialize_response_fields(status, fields, extra=extra, reason=reason)


@pytest.mark.parametrize(
    ("status", "reason", "own", "extra"),
    [
        (200, "OK", [("etag", '"abc"')], []),
        (404, "Not Found", [("x-request-id", "r-1"), ("etag", "caf\xe9\tx")], [("Connection", "close")]),
        (599, "", [], [("Connection", "keep-alive")]),
        (201, "Made \t here", [("X-Mixed-Case", "v")], []),
    ],
)
def test_a_prepared_head_is_the_head_of_the_same_fields(
    status: int, reason: str, own: list[tuple[str, str]], extra: list[tuple[str, str]]
) -> None:
    head = serialize_prepared_response(status, reason, PreparedFields(DEFAULTS), own, "12", extra)
    assert head == whole_head(status, reason, own, 12, extra)


@pytest.mark.parametrize(("name", "value"), UNSAFE_HEADERS)
def test_a_prepared_head_refuses_unsafe_headers(name: str, value: str) -> None:
    prepared = PreparedFields(DEFAULTS)
    with pytest.raises(ValueError):
        serialize_prepared_response(200, "OK", prepared, [(name.lower(), value)], "0", [])
    with pytest.raises(ValueError):
        serialize_prepared_response(200, "OK", prepared, [], "0", [(name, value)])
    with pytest.raises(ValueError):
        prepared_response("GET", "HTTP/1.1", 200, "OK", prepared, [(name.lower(), value)], b"", True)


@pytest.mark.parametrize("reason", ["OK\r\nSet-Cookie: x=1", "O\nK", "O\x00K", "O\x7fK", "\u20ac"])
def test_a_prepared_head_refuses_an_unsafe_reason(reason: str) -> None:
    with pytest.raises(ValueError):
        serialize_prepared_response(200, reason, PreparedFields(DEFAULTS), [], "0", [])
    with pytest.raises(ValueError):
        prepared_response("GET", "HTTP/1.1", 200, reason, PreparedFields(DEFAULTS), [], b"", True)


@pytest.mark.parametrize(("status", "length"), [(200, "-1"), (200, "1 "), (200, "\u0661"), (200, ""), (1000, "0"), (99, "0")])
def test_a_prepared_head_refuses_a_bad_status_or_length(status: int, length: str) -> None:
    with pytest.raises(ValueError):
        serialize_prepared_response(status, "X", PreparedFields(DEFAULTS), [], length, [])


@pytest.mark.parametrize("status", [100, 101, 199, 204, 304])
def test_a_response_without_a_body_is_not_prepared(status: int) -> None:
    # RFC 9110 8.6: no Content-Length in a 1xx or 204; a 304's would be the 200's.
    with pytest.raises(ValueError):
        prepared_response("GET", "HTTP/1.1", status, "X", PreparedFields(DEFAULTS), [], b"", True)


def test_a_name_that_only_displays_as_a_token_is_refused_and_not_remembered() -> None:
    # "\xdfx" capitalises to "Ssx", a token; the name itself is not one, and
    # must not be remembered as one (the client's serialiser trusts that set).
    with pytest.raises(ValueError):
        serialize_prepared_response(200, "OK", PreparedFields(DEFAULTS), [("\xdfx", "v")], "0", [])
    with pytest.raises(ValueError):
        serialize_request_head("GET", "/", [("\xdfx", "v")])


@pytest.mark.parametrize(
    ("method", "version", "status", "keep_alive"),
    [
        ("GET", "HTTP/1.1", 200, True),  # the usual response
        ("POST", "HTTP/1.1", 404, True),
        ("HEAD", "HTTP/1.1", 200, True),  # the length of the body it would have had, and no body
        ("GET", "HTTP/1.0", 200, True),  # Connection: keep-alive
        ("GET", "HTTP/1.1", 200, False),  # Connection: close
        ("GET", "HTTP/1.1", 205, True),
    ],
)
def test_a_prepared_response_is_framed_as_frame_response_frames_it(
    method: str, version: str, status: int, keep_alive: bool
) -> None:
    body = b"hello, world"
    message, framing = prepared_response(
        method, version, status, "Why", PreparedFields(DEFAULTS), [("etag", '"e"')], body, keep_alive
    )
    assert framing == frame_response(method, version, status, str(len(body)), None, None, keep_alive)
    head = whole_head(status, "Why", [("etag", '"e"')], len(body), list(framing.extra_headers))
    assert message == (head + body if method != "HEAD" else head)


def test_serialize_response_fields_refuses_every_ctl_on_its_fast_path() -> None:
    # The fast path (fields kept as HTTPHeaders stores them) checks the
    # whole block at once; a control character in any value must still fail.
    for ctl in [c for c in map(chr, [*range(0x20), 0x7F]) if c != "\t"]:
        with pytest.raises(ValueError):
            serialize_response_fields(200, {"content-length": ["0"], "x": [f"a{ctl}b"]})
    tab = serialize_response_fields(200, {"x": ["a\tb"]}, reason="O\tK")
    assert tab == b"HTTP/1.1 200 O\tK\r\nX: a\tb\r\n\r\n"


def test_serialize_request_head() -> None:
    headers = [("Host", "example.com"), ("Content-Length", "0")]
    data = serialize_request_head("POST", "/a?b=c", headers)
    assert data == b"POST /a?b=c HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n"
    assert events(data) == [
        head("POST", "/a?b=c", headers, content_length=0),
        EndOfMessage(),
    ]


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GE T", "/"),
        ("", "/"),
        ("GET\r\n", "/"),
        ("GET", "/a b"),
        ("GET", "/a\r\nX: 1"),
        ("GET", ""),
        ("GET", "/\x00"),
    ],
)
def test_serialize_request_head_refuses_bad_request_lines(method: str, target: str) -> None:
    with pytest.raises(ValueError):
        serialize_request_head(method, target, [("Host", "a")])


def test_encode_chunk() -> None:
    assert encode_chunk(b"hello") == b"5\r\nhello\r\n"
    assert encode_chunk(b"x" * 255) == b"ff\r\n" + b"x" * 255 + b"\r\n"
    assert encode_chunk(b"") == b""  # an empty chunk would end the body
    assert LAST_CHUNK == b"0\r\n\r\n"


# -- response framing decisions ---------------------------------------------------


def _head(version: str = "HTTP/1.1", method: str = "GET", keep_alive: bool = True) -> RequestHead:
    return RequestHead(method, "/", version, [], keep_alive=keep_alive)


@pytest.mark.parametrize(
    ("head", "status", "length", "te", "conn", "server_keep", "expected"),
    [
        (_head(), 200, "5", None, None, True, (True, False, 5, True, [])),
        (_head(), 200, None, None, None, True, (True, True, None, True, [("Transfer-Encoding", "chunked")])),
        (_head("HTTP/1.0"), 200, None, None, None, True, (True, False, None, False, [("Connection", "close")])),
        (_head("HTTP/1.0"), 200, "2", None, None, True, (True, False, 2, True, [("Connection", "keep-alive")])),
        (_head("HTTP/1.0", keep_alive=False), 200, "2", None, None, True, (True, False, 2, False, [("Connection", "close")])),
        (_head(method="HEAD"), 200, "9", None, None, True, (False, False, 0, True, [])),
        (_head(), 204, None, None, None, True, (False, False, 0, True, [])),
        (_head(), 304, None, None, None, True, (False, False, 0, True, [])),
        (_head(), 200, "5", None, "close", True, (True, False, 5, False, [])),
        (_head(), 200, "5", None, None, False, (True, False, 5, False, [("Connection", "close")])),
    ],
)
def test_frame_response(
    head: RequestHead,
    status: int,
    length: str | None,
    te: str | None,
    conn: str | None,
    server_keep: bool,
    expected: tuple[object, ...],
) -> None:
    framing = frame_response(
        head.method,
        head.version,
        status,
        content_length=length,
        transfer_encoding=te,
        connection=conn,
        keep_alive=server_keep and head.keep_alive,  # what the server passes: its wish and the head's
    )
    assert (framing.has_body, framing.chunked, framing.length, framing.keep_alive, list(framing.extra_headers)) == expected


@pytest.mark.parametrize("bad", ["-1", "5 ", "x", "²"])
def test_frame_response_refuses_a_bad_content_length(bad: str) -> None:
    with pytest.raises(ValueError):
        frame_response("GET", "HTTP/1.1", 200, content_length=bad, transfer_encoding=None, connection=None, keep_alive=True)

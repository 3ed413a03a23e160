"""Tests of ``framework/multipart.py``: bytes in, events out, no sockets.

Bodies are built with ``form()``/``part()`` so each test states only what it
is about. ``PartData`` events are merged before comparing, because where a
part's body is cut depends only on how the bytes arrived; the split-anywhere
property tests check exactly that.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.multipart import (
    NEED_DATA,
    Event,
    MultipartDecoder,
    MultipartEnd,
    MultipartError,
    MultipartLimits,
    PartData,
    PartEnd,
    PartStart,
    parse_boundary,
    parse_multipart,
)

BOUNDARY = b"----formdata-7MA4YWxkTrZu0gW"
DELIMITER = b"\r\n--" + BOUNDARY
CONTENT_TYPE = "multipart/form-data; boundary=" + BOUNDARY.decode()

# -- helpers ------------------------------------------------------------------


def quote(value: str) -> str:
    """A quoted-string for a Content-Disposition parameter."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def form_data(name: str, filename: str | None = None) -> str:
    """A Content-Disposition value as a browser writes it."""
    value = "form-data; name=" + quote(name)
    return value if filename is None else value + "; filename=" + quote(filename)


def part(
    name: str,
    data: bytes = b"",
    *,
    filename: str | None = None,
    content_type: str | None = None,
    disposition: str | None = None,
    extra: bytes = b"",
) -> bytes:
    """One body part: its header block, a blank line and ``data``."""
    if disposition is None:
        disposition = form_data(name, filename)
    head = b"Content-Disposition: " + disposition.encode()
    if content_type is not None:
        head += b"\r\nContent-Type: " + content_type.encode()
    return head + extra + b"\r\n\r\n" + data


def form(*parts: bytes, boundary: bytes = BOUNDARY, preamble: bytes = b"", epilogue: bytes = b"\r\n") -> bytes:
    """A complete multipart body around ``parts``."""
    dash = b"--" + boundary
    body = preamble + b"\r\n" if preamble else b""
    for piece in parts:
        body += dash + b"\r\n" + piece + b"\r\n"
    return body + dash + b"--" + epilogue


def merge_data(seen: Iterable[Event]) -> list[Event]:
    """Join consecutive ``PartData`` events, so part bodies compare as one value."""
    out: list[Event] = []
    for event in seen:
        if isinstance(event, PartData) and out and isinstance(out[-1], PartData):
            out[-1] = PartData(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def decode(pieces: Iterable[bytes], boundary: bytes = BOUNDARY, limits: MultipartLimits | None = None) -> list[Event]:
    """Feed ``pieces`` one after another, pulling events after each, then EOF."""
    decoder = MultipartDecoder(boundary, limits=limits)
    seen: list[Event] = []
    for piece in [*pieces, None]:
        if piece is None:
            decoder.feed_eof()
        else:
            decoder.feed(piece)
        while (event := decoder.next_event()) is not NEED_DATA:
            seen.append(event)
    return merge_data(seen)


def error(body: bytes, limits: MultipartLimits | None = None, *, boundary: bytes = BOUNDARY) -> MultipartError:
    """The ``MultipartError`` decoding ``body`` raises."""
    with pytest.raises(MultipartError) as info:
        decode([body], boundary, limits)
    return info.value


def field_start(name: str) -> PartStart:
    return PartStart(name, None, "text/plain", [("Content-Disposition", form_data(name))])


# -- Content-Type and boundary ------------------------------------------------


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        ("multipart/form-data; boundary=abc", b"abc"),
        ('multipart/form-data; boundary="abc"', b"abc"),
        ("Multipart/Form-Data; BOUNDARY=abc", b"abc"),
        ('multipart/form-data; charset=utf-8; boundary="a b c"', b"a b c"),
        ("multipart/form-data ;boundary=x;", b"x"),
        ('multipart/form-data; boundary="\'()+_,-./:=?"', b"'()+_,-./:=?"),
        ("multipart/form-data; boundary=" + "b" * 70, b"b" * 70),
        ("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", b"----WebKitFormBoundary7MA4YWxkTrZu0gW"),
    ],
)
def test_parse_boundary(header: str, boundary: bytes) -> None:
    assert parse_boundary(header) == boundary


@pytest.mark.parametrize(
    "header",
    [
        "multipart/form-data",
        "multipart/form-data; charset=utf-8",
        "multipart/mixed; boundary=abc",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary=""',
        "multipart/form-data; boundary=" + "b" * 71,
        'multipart/form-data; boundary="ends with space "',
        'multipart/form-data; boundary="tab\there"',
        "multipart/form-data; boundary=a; boundary=b",
        'multipart/form-data; boundary="unterminated',
        "multipart/form-data; boundary=a b",
        "multipart/form-data; boundary=é",
    ],
)
def test_parse_boundary_refuses(header: str) -> None:
    with pytest.raises(MultipartError) as info:
        parse_boundary(header)
    assert info.value.status == 400


def test_decoder_refuses_an_invalid_boundary() -> None:
    with pytest.raises(ValueError):
        MultipartDecoder(b"")
    with pytest.raises(ValueError):
        MultipartDecoder(b"a\r\nb")


# -- fields and files ---------------------------------------------------------


def test_event_stream() -> None:
    body = form(part("a", b"1"), part("f", b"data", filename="x.txt", content_type="image/png"))
    assert decode([body]) == [
        field_start("a"),
        PartData(b"1"),
        PartEnd(),
        PartStart(
            "f",
            "x.txt",
            "image/png",
            [("Content-Disposition", 'form-data; name="f"; filename="x.txt"'), ("Content-Type", "image/png")],
        ),
        PartData(b"data"),
        PartEnd(),
        MultipartEnd(),
    ]


def test_fields_and_files() -> None:
    body = form(
        part("title", b"Hello"),
        part("upload", b"\x89PNG\r\n\x1a\n", filename="a.png", content_type="image/png"),
        part("title", b"again"),
    )
    fields, files = parse_multipart(CONTENT_TYPE, body)
    assert fields == {"title": [b"Hello", b"again"]}
    assert files == {"upload": [("a.png", "image/png", b"\x89PNG\r\n\x1a\n")]}


def test_missing_content_type_defaults() -> None:
    fields, files = parse_multipart(CONTENT_TYPE, form(part("a", b"x"), part("f", b"y", filename="f")))
    assert fields == {"a": [b"x"]}
    assert files == {"f": [("f", "application/octet-stream", b"y")]}


def test_part_content_type_is_kept_as_sent() -> None:
    body = form(part("a", b"x", content_type="text/plain; charset=utf-8"))
    assert decode([body])[0] == PartStart(
        "a",
        None,
        "text/plain; charset=utf-8",
        [("Content-Disposition", 'form-data; name="a"'), ("Content-Type", "text/plain; charset=utf-8")],
    )


def test_several_files_per_field() -> None:
    body = form(
        part("docs", b"one", filename="1.txt", content_type="text/plain"),
        part("docs", b"two", filename="2.txt", content_type="text/plain"),
        part("docs", b"", filename="3.bin"),
    )
    _, files = parse_multipart(CONTENT_TYPE, body)
    assert files == {
        "docs": [
            ("1.txt", "text/plain", b"one"),
            ("2.txt", "text/plain", b"two"),
            ("3.bin", "application/octet-stream", b""),
        ]
    }


def test_empty_files_and_fields() -> None:
    # A browser sends an empty file input as filename="" with an empty body.
    body = form(part("empty", b""), part("nofile", b"", filename=""))
    fields, files = parse_multipart(CONTENT_TYPE, body)
    assert fields == {"empty": [b""]}
    assert files == {"nofile": [("", "application/octet-stream", b"")]}


def test_no_parts_at_all() -> None:
    # RFC 2046 wants one part, but browsers send a bare close delimiter for an empty form.
    assert parse_multipart(CONTENT_TYPE, b"--" + BOUNDARY + b"--\r\n") == ({}, {})


@pytest.mark.parametrize(
    "data",
    [
        b"\r\n",
        b"line one\r\nline two\r\n",
        b"\r\n--",
        DELIMITER[:-1],
        DELIMITER[:-1] + b"\r\n" + DELIMITER[:5],
        b"--" + BOUNDARY,  # not at the start of a line: data
        BOUNDARY + b"--",
        b"\r\n-" + BOUNDARY,
        b"\r" * 100 + b"\n" * 100,
        bytes(range(256)) * 4,
        b"ends with CR\r",
        b"ends with a partial delimiter" + DELIMITER[:-3],
    ],
)
def test_binary_bodies(data: bytes) -> None:
    body = form(part("f", data, filename="bin"), part("after", b"ok"))
    fields, files = parse_multipart(CONTENT_TYPE, body)
    assert files == {"f": [("bin", "application/octet-stream", data)]}
    assert fields == {"after": [b"ok"]}


def test_large_part_is_emitted_while_it_arrives() -> None:
    decoder = MultipartDecoder(BOUNDARY)
    decoder.feed(b"--" + BOUNDARY + b"\r\n" + part("f", b"x" * 10_000, filename="big"))
    seen = [decoder.next_event(), decoder.next_event(), decoder.next_event()]
    assert isinstance(seen[0], PartStart)
    assert seen[1] == PartData(b"x" * 10_000)
    assert seen[2] is NEED_DATA
    decoder.feed(b"y" * 10 + DELIMITER[:-1])
    assert decoder.next_event() == PartData(b"y" * 10)
    assert decoder.next_event() is NEED_DATA
    assert decoder.buffered == len(DELIMITER) - 1


def test_after_the_end() -> None:
    decoder = MultipartDecoder(BOUNDARY)
    decoder.feed(form(part("a", b"1"), epilogue=b"\r\nignored epilogue"))
    seen = [decoder.next_event() for _ in range(4)]
    assert seen[-1] == MultipartEnd()
    assert decoder.finished
    decoder.feed(b"more epilogue")
    assert decoder.buffered == 0
    decoder.feed_eof()
    assert decoder.next_event() is NEED_DATA
    with pytest.raises(RuntimeError):
        decoder.feed(b"x")


# -- names and filenames --------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "name", "filename"),
    [
        ('form-data; name="a"; filename="b.txt"', "a", "b.txt"),
        ("form-data; name=a; filename=b.txt", "a", "b.txt"),
        ('FORM-DATA; NAME="a"; FILENAME="b.txt"', "a", "b.txt"),
        ('form-data;name="a";filename="b.txt"', "a", "b.txt"),
        ('form-data; name = "a" ; filename = "b.txt" ;', "a", "b.txt"),
        (r'form-data; name="say \"hi\""; filename="back\\slash"', 'say "hi"', "slash"),
        ('form-data; name="a;b=c"; filename="x; name=y"', "a;b=c", "x; name=y"),
        ('form-data; name="caf\u00e9"; filename="r\u00e9sum\u00e9.pdf"', "caf\u00e9", "r\u00e9sum\u00e9.pdf"),
        ('form-data; name="a"; filename="%22quoted%22 %0D%0A.txt"', "a", "%22quoted%22 %0D%0A.txt"),
        ("form-data; name=\"a\"; filename*=UTF-8''%E2%82%AC%20rates.txt", "a", "\u20ac rates.txt"),
        ("form-data; name=\"a\"; filename*=utf-8'en'caf%C3%A9", "a", "caf\u00e9"),
        ("form-data; name=\"a\"; filename*=ISO-8859-1''caf%E9", "a", "caf\u00e9"),
        ('form-data; name="a"; filename="fallback.txt"; filename*=UTF-8\'\'%E2%82%AC.txt', "a", "\u20ac.txt"),
        ('form-data; name="a"; filename*=UTF-8\'\'%E2%82%AC.txt; filename="fallback.txt"', "a", "\u20ac.txt"),
        ('form-data; name="a"; filename="../../etc/passwd"', "a", "passwd"),
        ('form-data; name="a"; filename="C:\\\\Users\\\\me\\\\report.doc"', "a", "report.doc"),
        ('form-data; name="a"; filename="C:\\Users\\me\\report.doc"', "a", "report.doc"),  # as IE sent it
        ('form-data; name="a\\b"; filename="x\\y"', "a\\b", "y"),
        ("form-data; name=\"a\"; filename*=UTF-8''..%2F..%2Fetc%2Fshadow", "a", "shadow"),
        ('form-data; name="a"; filename="dir/"', "a", ""),
        ('form-data; name=""', "", None),
        ('form-data; name="a"; x-unknown="ignored"', "a", None),
    ],
)
def test_content_disposition(disposition: str, name: str, filename: str | None) -> None:
    start = decode([form(part("", b"", disposition=disposition))])[0]
    assert isinstance(start, PartStart)
    assert (start.name, start.filename) == (name, filename)


@pytest.mark.parametrize(
    "disposition",
    [
        'form-data; filename="x"',  # no name
        'attachment; name="a"',
        'inline; name="a"',
        'form-data; name="a"; name="b"',  # repeated: two parsers could disagree
        'form-data; name="a"; filename="x"; FILENAME="y"',
        'form-data; name="a',
        'form-data; name="a" junk',
        "form-data; name=a b",
        "form-data name=a",
        'form-data; name="a"; filename*0="x"; filename*1=".txt"',  # RFC 2231 continuation
        'form-data; name="a"; filename*="UTF-8\'\'x"x',
        'form-data; name="a"; filename*=UTF-8\'x',
        "form-data; name=\"a\"; filename*=UTF-8''%E2%82",  # truncated UTF-8
        "form-data; name=\"a\"; filename*=UTF-8''100%",
        "form-data; name=\"a\"; filename*=KOI8-R''x",
        'form-data; name="a"; filename=".."',
        'form-data; name="a"; filename="x/.."',
        "",
    ],
)
def test_content_disposition_refused(disposition: str) -> None:
    assert error(form(part("", b"", disposition=disposition))).status == 400


@pytest.mark.parametrize(
    "filename",
    [
        "a%0D%0AContent-Type: text/html",
        "a%0Db",
        "a%0Ab",
        "a%00.php",
        "a%7F",
    ],
)
def test_header_injection_in_filename_star(filename: str) -> None:
    disposition = "form-data; name=\"f\"; filename*=UTF-8''" + filename
    err = error(form(part("", b"x", disposition=disposition)))
    assert err.status == 400
    assert "filename" in err.message


@pytest.mark.parametrize(
    "head",
    [
        b'Content-Disposition: form-data; name="f"; filename="a\r\nContent-Type: text/html"',
        b'Content-Disposition: form-data; name="f"; filename="a\rb"',
        b'Content-Disposition: form-data; name="f"; filename="a\nb"',
        b'Content-Disposition: form-data; name="f"; filename="a\x00.php"',
        b'Content-Disposition: form-data; name="f"; filename="a\x1bb"',
    ],
)
def test_header_injection_in_raw_filename(head: bytes) -> None:
    assert error(form(head + b"\r\n\r\nx")).status == 400


# -- part headers ---------------------------------------------------------------


def test_header_names_are_case_insensitive() -> None:
    head = b'content-disposition: form-data; name="a"; filename="f"\r\nCONTENT-TYPE: text/csv'
    start = decode([form(head + b"\r\n\r\nx")])[0]
    assert start == PartStart(
        "a",
        "f",
        "text/csv",
        [("content-disposition", 'form-data; name="a"; filename="f"'), ("CONTENT-TYPE", "text/csv")],
    )


def test_other_part_headers_are_kept() -> None:
    start = decode([form(part("a", b"x", extra=b"\r\nX-Custom:  v1 \r\nContent-Transfer-Encoding: binary"))])[0]
    assert isinstance(start, PartStart)
    assert start.headers[1:] == [("X-Custom", "v1"), ("Content-Transfer-Encoding", "binary")]


@pytest.mark.parametrize(
    "block",
    [
        b"",  # no headers at all
        b"X-Other: 1",
        b'Content-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="b"',
        b'Content-Disposition: form-data; name="a"\r\nContent-Type: a/b\r\nContent-Type: c/d',
        b'Content-Disposition: form-data; name="a"\r\n folded: continuation',
        b'Content-Disposition: form-data; name="a"\r\nno colon here',
        b'Content-Disposition: form-data; name="a"\r\n: empty name',
        b'Content-Disposition: form-data; name="a"\r\nbad name: x',
        b'Content-Disposition: form-data; name="\xff"',  # not UTF-8
        b'Content-Disposition: form-data; name="a"\nX: bare LF',
    ],
)
def test_malformed_part_headers(block: bytes) -> None:
    assert error(form(block + b"\r\n\r\nx")).status == 400


# -- boundary edge cases --------------------------------------------------------


@pytest.mark.parametrize(
    "boundary",
    [b"a", b"a b c", b"'()+_,-./:=?", b"z" * 70, b"--", b"-- --x", b"a'q"],
)
def test_unusual_boundaries(boundary: bytes) -> None:
    body = form(part("a", b"1\r\n--" + boundary[:-1]), part("f", b"2", filename="f"), boundary=boundary)
    quoted = '"' + boundary.decode() + '"'
    fields, files = parse_multipart("multipart/form-data; boundary=" + quoted, body)
    assert fields == {"a": [b"1\r\n--" + boundary[:-1]]}
    assert files == {"f": [("f", "application/octet-stream", b"2")]}


def test_preamble_and_epilogue_are_ignored() -> None:
    body = form(
        part("a", b"1"),
        preamble=b"This is a preamble.\r\n--not-the-boundary\r\n-" + BOUNDARY[:-1],
        epilogue=b"\r\nThis is the epilogue.\r\n--" + BOUNDARY + b"\r\n" + part("b", b"2"),
    )
    assert parse_multipart(CONTENT_TYPE, body) == ({"a": [b"1"]}, {})


@pytest.mark.parametrize("epilogue", [b"", b"\r\n", b"  \r\n", b"garbage"])
def test_close_delimiter_with_or_without_epilogue(epilogue: bytes) -> None:
    assert parse_multipart(CONTENT_TYPE, form(part("a", b"1"), epilogue=epilogue)) == ({"a": [b"1"]}, {})


def test_transport_padding_after_delimiters() -> None:
    body = b"--" + BOUNDARY + b" \t \r\n" + part("a", b"1") + DELIMITER + b"\t\r\n" + part("b", b"2") + DELIMITER + b"-- \t\r\n"
    assert parse_multipart(CONTENT_TYPE, body) == ({"a": [b"1"], "b": [b"2"]}, {})


def test_empty_preamble_line() -> None:
    body = b"\r\n" + form(part("a", b"1"))
    assert parse_multipart(CONTENT_TYPE, body) == ({"a": [b"1"]}, {})


@pytest.mark.parametrize(
    "body",
    [
        b"--" + BOUNDARY + b"x\r\n" + part("a", b"1") + DELIMITER + b"--",  # longer boundary
        b"--" + BOUNDARY + b"-x\r\n" + part("a", b"1") + DELIMITER + b"--",
        b"--" + BOUNDARY + b" x\r\n" + part("a", b"1") + DELIMITER + b"--",  # not padding
        b"--" + BOUNDARY + b"\n" + part("a", b"1") + DELIMITER + b"--",  # LF only
        b"--" + BOUNDARY + b"\r\r\n" + part("a", b"1") + DELIMITER + b"--",
        form(part("a", b"the boundary " + DELIMITER + b"X appears in the data")),
    ],
)
def test_bad_delimiter_lines(body: bytes) -> None:
    assert error(body).status == 400


# -- split anywhere -------------------------------------------------------------

HOSTILE = st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"-", b"--", b"\r\n--", DELIMITER[:-1], BOUNDARY, b"x", b"\x00"])).map(
    b"".join
)
DATA = st.one_of(st.binary(max_size=120), HOSTILE).filter(lambda d: DELIMITER not in d)
NAMES = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8)
FILENAMES = st.one_of(st.none(), st.sampled_from(["", "a.txt", "r\u00e9sum\u00e9.pdf", 'q"uote', "back\\slash"]))
PARTS = st.lists(st.tuples(NAMES, FILENAMES, DATA), max_size=5)


def expected(parts: list[tuple[str, str | None, bytes]]) -> list[Event]:
    """The events a body built from ``parts`` should produce."""
    out: list[Event] = []
    for name, filename, data in parts:
        headers = [("Content-Disposition", form_data(name, filename))]
        if filename is None:
            start = PartStart(name, None, "text/plain", headers)
        else:
            basename = filename.rpartition("\\")[2]
            start = PartStart(name, basename, "application/octet-stream", headers)
        out += [start, PartData(data)] if data else [start]
        out.append(PartEnd())
    return [*out, MultipartEnd()]


def cut(body: bytes, points: list[int]) -> list[bytes]:
    edges = [0, *sorted(set(points)), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


@settings(deadline=None, max_examples=200)
@given(parts=PARTS, preamble=st.sampled_from([b"", b"preamble", b"--x\r\n" + DELIMITER[:-1]]), data=st.data())
def test_split_anywhere(parts: list[tuple[str, str | None, bytes]], preamble: bytes, data: st.DataObject) -> None:
    body = form(*(part(n, d, filename=f) for n, f, d in parts), preamble=preamble)
    points = data.draw(st.lists(st.integers(0, len(body))))
    want = expected(parts)
    assert decode([body]) == want
    assert decode(cut(body, points)) == want
    assert decode([body[i : i + 1] for i in range(len(body))]) == want


@settings(deadline=None, max_examples=200)
@given(
    body=st.sampled_from(
        [
            form(part("a", b"1")),
            form(part("a", DELIMITER[:-1]), part("f", b"x", filename="f")),
            b"--" + BOUNDARY + b"\r\n" + part("a", b"x" * 50),
        ]
    ),
    data=st.data(),
)
def test_truncated_anywhere_is_400(body: bytes, data: st.DataObject) -> None:
    end = data.draw(st.integers(0, len(body) - 1 - body.endswith(b"--\r\n") * 2))
    truncated = body[:end]
    points = data.draw(st.lists(st.integers(0, len(truncated))))
    with pytest.raises(MultipartError) as info:
        decode(cut(truncated, points))
    assert info.value.status == 400


# -- errors and limits ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "before the first boundary"),
        (b"--" + BOUNDARY, "inside part headers"),
        (b"--" + BOUNDARY + b"\r\n" + part("a")[:-4], "inside part headers"),
        (b"--" + BOUNDARY + b"\r\n" + part("a", b"partial data"), "before the closing boundary"),
        (b"--" + BOUNDARY + b"\r\n" + part("a", b"x") + DELIMITER, "inside part headers"),
        (b"--" + BOUNDARY + b"\r\n" + part("a", b"x") + DELIMITER + b"-", "inside part headers"),
        (form(part("a", b"1"))[:-5], "before the closing boundary"),
    ],
)
def test_truncated(body: bytes, message: str) -> None:
    err = error(body)
    assert err.status == 400
    assert message in err.message


def test_wrong_boundary() -> None:
    body = form(part("a", b"1"), boundary=b"other-boundary")
    err = error(body)
    assert (err.status, "wrong boundary" in err.message) == (400, True)
    with pytest.raises(MultipartError):
        parse_multipart("multipart/form-data; boundary=nope", body)


def test_boundary_that_never_ends() -> None:
    decoder = MultipartDecoder(BOUNDARY)
    decoder.feed(b"--" + BOUNDARY + b"\r\n" + part("f", filename="f"))
    for _ in range(100):
        decoder.feed(b"\r\n--" + BOUNDARY[:-1] + b"\r\n-" * 50)
        while decoder.next_event() is not NEED_DATA:
            pass
        assert decoder.buffered < len(DELIMITER)
    decoder.feed_eof()
    with pytest.raises(MultipartError) as info:
        decoder.next_event()
    assert info.value.status == 400


def test_too_many_parts() -> None:
    body = form(*[part(str(i), b"x") for i in range(4)])
    assert error(body, MultipartLimits(max_parts=3)).status == 413
    assert len(decode([body], limits=MultipartLimits(max_parts=4))) == 4 * 3 + 1
    default = form(*[part("a", b"") for _ in range(1001)])
    assert error(default).status == 413


def test_oversized_part_header() -> None:
    big = part("a", b"x", extra=b"\r\nX-Pad: " + b"p" * 9000)
    assert error(form(big)).status == 413
    # Found complete, or still waiting for the blank line: both are refused.
    assert error(form(big)[:5000], MultipartLimits(max_part_header_bytes=1000)).status == 413
    # The limit counts from the end of the boundary: its CRLF, then the fields.
    limit = 2 + len(part("a", extra=b"\r\nX-Pad: pp")) - 4
    assert decode([form(part("a", extra=b"\r\nX-Pad: pp"))], limits=MultipartLimits(max_part_header_bytes=limit))
    assert error(form(part("a", extra=b"\r\nX-Pad: ppp")), MultipartLimits(max_part_header_bytes=limit)).status == 413


def test_oversized_field() -> None:
    limits = MultipartLimits(max_field_bytes=10)
    assert parse_multipart(CONTENT_TYPE, form(part("a", b"x" * 10)), limits=limits) == ({"a": [b"x" * 10]}, {})
    assert error(form(part("a", b"x" * 11)), limits).status == 413
    assert error(form(part("a", b"x" * (1024 * 1024 + 1)))).status == 413
    # A file is not a field: the field limit does not apply to it.
    _, files = parse_multipart(CONTENT_TYPE, form(part("a", b"x" * 11, filename="f")), limits=limits)
    assert files["a"][0][2] == b"x" * 11


def test_oversized_file() -> None:
    limits = MultipartLimits(max_file_bytes=100)
    ok = form(part("f", b"x" * 100, filename="a"), part("g", b"y" * 100, filename="b"))
    assert len(parse_multipart(CONTENT_TYPE, ok, limits=limits)[1]) == 2
    err = error(form(part("f", b"x" * 101, filename="a")), limits)
    assert err.status == 413
    # Streaming: refused as soon as the part passes the limit, not at its end.
    decoder = MultipartDecoder(BOUNDARY, limits=limits)
    decoder.feed(b"--" + BOUNDARY + b"\r\n" + part("f", b"x" * 1000, filename="a"))
    assert isinstance(decoder.next_event(), PartStart)
    with pytest.raises(MultipartError) as info:
        decoder.next_event()
    assert info.value.status == 413


def test_max_total_bytes() -> None:
    body = form(part("a", b"x" * 100))
    assert decode([body], limits=MultipartLimits(max_total_bytes=len(body)))
    decoder = MultipartDecoder(BOUNDARY, limits=MultipartLimits(max_total_bytes=len(body) - 1))
    decoder.feed(body[:-1])
    with pytest.raises(MultipartError) as info:
        decoder.feed(body[-1:])
    assert info.value.status == 413


def test_a_failed_decoder_stays_failed() -> None:
    decoder = MultipartDecoder(BOUNDARY)
    decoder.feed(b"--" + BOUNDARY + b"\r\nno colon\r\n\r\n")
    with pytest.raises(MultipartError):
        decoder.next_event()
    decoder.feed(b"\r\n--" + BOUNDARY + b"--")
    with pytest.raises(MultipartError) as info:
        decoder.next_event()
    assert info.value.status == 400


# -- scale: many parts, linear time, bounded memory -----------------------------


def test_ten_thousand_tiny_parts() -> None:
    body = form(*[part(f"f{i}", str(i).encode()) for i in range(10_000)])
    fields, files = parse_multipart(CONTENT_TYPE, body, limits=MultipartLimits(max_parts=10_000))
    assert len(fields) == 10_000 and not files
    assert fields["f0"] == [b"0"] and fields["f9999"] == [b"9999"]
    # The same body fed in 7-byte pieces gives the same events.
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    events = decode(pieces, limits=MultipartLimits(max_parts=10_000))
    assert events == decode([body], limits=MultipartLimits(max_parts=10_000))


def test_partial_delimiters_stay_linear() -> None:
    """16 MB of partial delimiters in 64-byte pieces: 260,000 feeds.

    A decoder that searched its whole part buffer on every feed would scan
    about 2 * 10**12 bytes here (minutes, then pytest-timeout); this one looks
    at each byte a bounded number of times (well under a second). No timing
    is asserted: the timeout is the check.
    """
    partial = b"\r\n--" + BOUNDARY[:-1]
    size = 16 * 1024 * 1024
    data = (partial * (size // len(partial) + 1))[:size]
    body = form(part("f", data, filename="f"), part("g", b"\r\n-" * 1000))
    decoder = MultipartDecoder(BOUNDARY)
    digest, current, total, most = hashlib.sha256(), "", 0, 0
    for i in range(0, len(body), 64):
        decoder.feed(body[i : i + 64])
        while (event := decoder.next_event()) is not NEED_DATA:
            if isinstance(event, PartStart):
                current = event.name
            elif isinstance(event, PartData) and current == "f":
                digest.update(event.data)
                total += len(event.data)
        most = max(most, decoder.buffered)
    assert decoder.finished
    assert total == size and digest.digest() == hashlib.sha256(data).digest()
    assert most < 200  # a partial delimiter or a part's header block, never the part


def test_fifty_megabyte_file_streams_in_bounded_memory() -> None:
    chunk = random.Random(7).randbytes(64 * 1024)
    assert DELIMITER not in chunk + chunk
    count = 50 * 1024 * 1024 // len(chunk)
    decoder = MultipartDecoder(BOUNDARY)
    decoder.feed(b"--" + BOUNDARY + b"\r\n" + part("upload", filename="big.bin"))
    assert isinstance(decoder.next_event(), PartStart)
    digest, pieces = hashlib.sha256(), 0
    for piece in [chunk] * count + [DELIMITER + b"--\r\n"]:
        decoder.feed(piece)
        assert decoder.buffered <= len(chunk) + len(DELIMITER)
        while (event := decoder.next_event()) is not NEED_DATA:
            if isinstance(event, PartData):
                digest.update(event.data)
                pieces += 1
        assert decoder.buffered < len(DELIMITER)
    assert decoder.finished
    assert pieces >= count
    want = hashlib.sha256()
    for _ in range(count):
        want.update(chunk)
    assert digest.digest() == want.digest()

"""Tests for framework/httputil/query.py: query strings, checked against the standard library, and ``url_concat``."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.httputil import (
    parse_qs_bytes,
    qs_to_qsl,
    url_concat,
)


def test_url_concat() -> None:
    assert url_concat("http://example.com/foo", {"c": "d"}) == "http://example.com/foo?c=d"
    assert url_concat("http://example.com/foo?a=b", [("c", "d"), ("c", "d2")]) == "http://example.com/foo?a=b&c=d&c=d2"
    assert url_concat("http://example.com/foo?a=b", None) == "http://example.com/foo?a=b"


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


def test_parse_qs_bytes_refuses_more_fields_than_max_num_fields() -> None:
    """Tornado 6.5.8's count: one more than the ``&``, empty pairs included, checked before parsing."""
    assert parse_qs_bytes("a=1&b=2", max_num_fields=2) == {"a": [b"1"], "b": [b"2"]}
    for qs in ("a=1&b=2&c=3", b"a=1&&", "\u20ac=1&&"):  # text beyond latin-1 too
        with pytest.raises(ValueError, match="Max number of fields exceeded"):
            parse_qs_bytes(qs, max_num_fields=2)
    assert parse_qs_bytes("", max_num_fields=0) == {}  # no field at all


@pytest.mark.parametrize("qs", ["a=1&b", "a=1&&b=2", "&a=1", "a=1&", "a"])
def test_parse_qs_bytes_strict_parsing_refuses_empty_pairs_and_pairs_without_equals(qs: str) -> None:
    with pytest.raises(ValueError, match="bad query field"):
        parse_qs_bytes(qs, strict_parsing=True)
    parse_qs_bytes(qs)  # skipped or kept, not refused, without it


def test_parse_qs_bytes_strict_parsing_keeps_what_it_accepts() -> None:
    assert parse_qs_bytes("a=1&b=&=2", strict_parsing=True) == {"a": [b"1"], "": [b"2"]}
    assert parse_qs_bytes("a=1&b=", True, True) == {"a": [b"1"], "b": [b""]}  # Tornado's positional order


def test_qs_to_qsl_flattens_a_multi_valued_dict_in_order() -> None:
    assert list(qs_to_qsl({"a": [1, 2], "b": [], "c": ["x"]})) == [("a", 1), ("a", 2), ("c", "x")]
    assert list(qs_to_qsl(parse_qs_bytes("k=1&k=2"))) == [("k", b"1"), ("k", b"2")]


def test_url_concat_encodes_and_keeps_blank_values() -> None:
    assert url_concat("http://example.com/foo?a=", {"b": "x y&z"}) == "http://example.com/foo?a=&b=x+y%26z"
    assert url_concat("http://example.com/foo", []) == "http://example.com/foo"

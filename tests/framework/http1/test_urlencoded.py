"""Tests of ``framework/http1/urlencoded.py``: form bodies and query strings as ``{name: [value bytes]}``.

The pure-Python reference against the standard library's reading of the same
bytes, and the compiled twin (``speedups.parse_urlencoded``, where built)
against the reference, on chosen and generated inputs.
"""

from __future__ import annotations

import urllib.parse
from types import ModuleType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from framework.http1 import urlencoded
from framework.http1.urlencoded import parse_urlencoded_python
from tests.framework.http1.conftest import compiled_speedups

MIXED = b"a=1&b=caf%C3%A9&b=x+y&empty=&bad=%zz%4&plus=%2B&&c&=v&%%41=%4"


def standard_library(data: bytes, keep: bool) -> dict[str, list[bytes]]:
    """``urllib.parse.parse_qsl`` read as Latin-1, its values encoded back: what the reference must equal."""
    expected: dict[str, list[bytes]] = {}
    for name, value in urllib.parse.parse_qsl(data.decode("latin-1"), keep_blank_values=keep, encoding="latin-1"):
        expected.setdefault(name, []).append(value.encode("latin-1"))
    return expected


@pytest.mark.parametrize("keep", [False, True])
def test_the_reference_reads_as_the_standard_library(keep: bool) -> None:
    assert parse_urlencoded_python(MIXED, keep) == standard_library(MIXED, keep)


def test_plus_is_a_space_escapes_are_bytes_and_a_bad_escape_stays() -> None:
    assert parse_urlencoded_python(b"n=Ada+Lovelace&e=ada%40example.com&x=%zz%4&m=caf%C3%A9", False) == {
        "n": [b"Ada Lovelace"],
        "e": [b"ada@example.com"],
        "x": [b"%zz%4"],
        "m": [b"caf\xc3\xa9"],
    }


def test_blank_values_count_only_when_asked() -> None:
    assert parse_urlencoded_python(b"a=&b&c=1", False) == {"c": [b"1"]}
    assert parse_urlencoded_python(b"a=&b&c=1", True) == {"a": [b""], "b": [b""], "c": [b"1"]}


def test_the_module_answers_with_its_compiled_twin_where_built() -> None:
    assert urlencoded.parse_urlencoded(MIXED, True) == standard_library(MIXED, True)


@pytest.fixture(scope="module")
def speedups() -> ModuleType:
    return compiled_speedups()


URLENCODED_BYTES = st.lists(
    st.sampled_from([b"a", b"b", b"=", b"&", b"+", b"%", b"%4", b"%41", b"%4g", b"%e9", b"%C3%A9", b"\xe9", b" ", b"x y"]),
    max_size=24,
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(data=st.one_of(URLENCODED_BYTES, st.binary(max_size=64)), keep=st.booleans())
@example(data=b"name=Ada+Lovelace&email=ada%40example.com&age=36", keep=False)
@example(data=MIXED, keep=True)
def test_the_compiled_twin_is_what_the_reference_gives(speedups: ModuleType, data: bytes, keep: bool) -> None:
    assert speedups.parse_urlencoded(data, keep) == parse_urlencoded_python(data, keep)
    for buffer in (bytearray(data), memoryview(data)):  # read as the bytes they hold, both ways
        assert speedups.parse_urlencoded(buffer, keep) == parse_urlencoded_python(buffer, keep)


@pytest.mark.parametrize("data", [3, [97, 61, 98]])
def test_what_is_no_buffer_is_refused_both_ways(speedups: ModuleType, data: object) -> None:
    # bytes() would make three NUL bytes of 3 and b"a=b" of the list: the
    # reference reads buffers only, as the compiled twin does.
    with pytest.raises(TypeError):
        speedups.parse_urlencoded(data, True)
    with pytest.raises(TypeError):
        parse_urlencoded_python(data, True)  # type: ignore[arg-type]

"""Tests for framework/httputil/headers.py: ``HTTPHeaders``, case-insensitive and multi-valued."""

from __future__ import annotations

import pytest

from framework.httputil import (
    HTTPHeaders,
    HTTPInputError,
)


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

"""Tests for framework/httputil/fieldvalues.py: cookies, hosts and ports, HTTP dates, basic credentials."""

from __future__ import annotations

import datetime

import pytest

from framework.httputil import (
    encode_username_password,
    format_timestamp,
    parse_cookie,
    split_host_and_port,
)


def test_encode_username_password() -> None:
    assert encode_username_password("user", "pass") == b"user:pass"
    assert encode_username_password(b"user", "p\u00e4ss") == b"user:p\xc3\xa4ss"


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


def test_parse_cookie_is_lenient_as_browsers_are() -> None:
    assert parse_cookie("a=1; b=2") == {"a": "1", "b": "2"}
    assert parse_cookie('q="quoted"; e=%20x; f=g=h') == {"q": "quoted", "e": "%20x", "f": "g=h"}  # as sent (Tornado)
    assert parse_cookie(" ; ;a=1;; ") == {"a": "1"}  # empty chunks skipped
    assert parse_cookie("lonely") == {"": "lonely"}  # a value without a name, as RFC 6265 5.4 reads it
    assert parse_cookie("") == {}


def test_format_timestamp_refuses_an_unknown_type() -> None:
    with pytest.raises(TypeError):
        format_timestamp("yesterday")  # type: ignore[arg-type]


def test_a_quoted_cookie_value_has_its_escapes_undone_as_set_cookie_makes_them() -> None:
    # http.cookies (so Tornado's set_cookie, and this one) writes ";" as \\073 and '"' as \\".
    assert parse_cookie('a="x\\073y"; b="q\\"x"; c="\\351t\\351"') == {"a": "x;y", "b": 'q"x', "c": "été"}
    assert parse_cookie('d="x\\\\y"; e="\\x"; f="x\\"; g="\\400"') == {"d": "x\\y", "e": "x", "f": "x\\", "g": "400"}
    assert parse_cookie('h="unclosed; i=""') == {"h": '"unclosed', "i": ""}

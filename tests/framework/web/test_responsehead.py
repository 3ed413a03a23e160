"""The default fields, prepared once a second, and the default ETag (framework/web/responsehead.py)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework import http1
from framework.httputil import format_timestamp
from framework.web import responsehead
from framework.web.responsehead import DefaultFields, body_etag, prepared_headers

FIELDS = {
    "server": ["framework"],
    "content-type": ["text/html; charset=UTF-8"],
    "date": [""],
    "x-content-type-options": ["nosniff"],
}


def test_the_default_fields_are_serialised_in_order_with_this_seconds_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(responsehead.time, "time", lambda: 1_700_000_000.5)
    defaults = DefaultFields(FIELDS)
    date = format_timestamp(1_700_000_000)
    second, prepared = defaults.current
    assert second == 1_700_000_000
    assert prepared.fields == {**FIELDS, "date": [date]}
    assert (
        prepared.block
        == (
            f"Server: framework\r\nContent-Type: text/html; charset=UTF-8\r\nDate: {date}\r\nX-Content-Type-Options: nosniff\r\n"
        ).encode()
    )
    assert defaults.now() is prepared  # the same second: the same object


def test_the_default_fields_follow_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_700_000_000.9]
    monkeypatch.setattr(responsehead.time, "time", lambda: now[0])
    defaults = DefaultFields(FIELDS)
    first = defaults.current[1]
    now[0] += 0.2
    later = defaults.now()
    assert later is not first and defaults.current == (1_700_000_001, later)
    assert later.fields["date"] == [format_timestamp(1_700_000_001)]
    assert first.fields["date"] == [format_timestamp(1_700_000_000)]  # (a response of the last second keeps its own)


def test_default_fields_that_could_never_be_sent_fail_at_once() -> None:
    with pytest.raises(ValueError):
        DefaultFields({**FIELDS, "x-bad": ["a\r\nInjected: yes"]})
    with pytest.raises(ValueError):
        DefaultFields({**FIELDS, "bad name": ["x"]})


def test_prepared_headers_are_what_a_prepared_response_sends() -> None:
    prepared = http1.PreparedFields({"server": ["framework"], "date": ["Thu, 03 Dec 2026 16:00:00 GMT"], "x-a": ["1", "2"]})
    own = [("x-request-id", "r1"), ("etag", '"abc"')]
    headers = prepared_headers(prepared, own, 5)
    assert list(headers.get_all()) == [
        ("Server", "framework"), ("Date", "Thu, 03 Dec 2026 16:00:00 GMT"), ("X-A", "1"), ("X-A", "2"),
        ("X-Request-Id", "r1"), ("Etag", '"abc"'), ("Content-Length", "5"),
    ]  # fmt: skip
    message, _ = http1.prepared_response("GET", "HTTP/1.1", 200, "OK", prepared, own, b"hello", True)
    assert message == http1.serialize_response_fields(200, headers.fields, reason="OK") + b"hello"
    headers["X-A"] = "changed"
    assert prepared.fields["x-a"] == ["1", "2"]  # (the prepared fields are not changed through the map)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=5))
def test_the_default_etag_is_the_bodys_sha1_whatever_was_tagged_before(bodies: list[bytes]) -> None:
    # Twice over: the second pass meets each body again, as the last one
    # tagged (remembered) or after another (not).
    for body in bodies + bodies:
        assert body_etag([body]) == f'"{hashlib.sha1(body).hexdigest()}"'
        assert body_etag([body[:1], body[1:]]) == f'"{hashlib.sha1(body).hexdigest()}"'


def test_a_bytes_subclass_equal_to_the_last_body_is_hashed_for_itself() -> None:
    class Lenient(bytes):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = bytes.__hash__

    assert body_etag([b"remembered"]) == f'"{hashlib.sha1(b"remembered").hexdigest()}"'
    assert body_etag([Lenient(b"other")]) == f'"{hashlib.sha1(b"other").hexdigest()}"'


def test_a_buffer_written_and_changed_afterwards_is_tagged_by_what_it_holds() -> None:
    buffer = bytearray(b"first")
    assert body_etag([buffer]) == f'"{hashlib.sha1(b"first").hexdigest()}"'  # type: ignore[list-item]
    buffer[:] = b"other"
    assert body_etag([buffer]) == f'"{hashlib.sha1(b"other").hexdigest()}"'  # type: ignore[list-item]
    assert body_etag([b"first"]) == f'"{hashlib.sha1(b"first").hexdigest()}"'

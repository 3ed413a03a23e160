"""Tests for framework/http1/grammar.py: the rules both directions share.

``ProtocolError`` and ``Limits``, the header-field check, status reasons and
which responses carry a body.
"""

from __future__ import annotations

import pytest

from framework.http1 import (
    Limits,
    ProtocolError,
    reason_phrase,
    response_has_body,
    validate_header_field,
)


def test_protocol_error_carries_message_and_status() -> None:
    error = ProtocolError("bad thing")
    assert (error.message, error.status, str(error)) == ("bad thing", 400, "bad thing")
    assert ProtocolError("too big", 413).status == 413


def test_default_limits() -> None:
    assert Limits() == Limits(
        max_header_bytes=65536,
        max_body_bytes=104857600,
        max_target_bytes=8192,
        max_headers=128,
        max_chunk_line_bytes=4096,
        max_trailer_bytes=16384,
    )
    with pytest.raises(AttributeError):
        Limits().max_headers = 1  # type: ignore[misc]


def test_validate_header_field_accepts_tokens_and_visible_values() -> None:
    validate_header_field("X-Custom_Header.1!#$%&'*+^`|~", 'any value\twith tab; and "quotes"')


@pytest.mark.parametrize(
    ("status", "method", "has_body"),
    [
        (200, "GET", True),
        (200, "POST", True),
        (404, "GET", True),
        (200, "HEAD", False),
        (404, "HEAD", False),
        (100, "GET", False),
        (101, "GET", False),
        (199, "GET", False),
        (204, "GET", False),
        (304, "GET", False),
        (205, "GET", True),
    ],
)
def test_response_has_body(status: int, method: str, has_body: bool) -> None:
    assert response_has_body(status, method) is has_body


@pytest.mark.parametrize(
    ("status", "phrase"),
    [(200, "OK"), (404, "Not Found"), (418, "I'm a Teapot"), (599, "Unknown"), (999, "Unknown")],
)
def test_reason_phrase(status: int, phrase: str) -> None:
    assert reason_phrase(status) == phrase

"""Tests for framework/websocket/handshake.py: the opening handshake as pure functions."""

from __future__ import annotations

import pytest

from framework.websocket import (
    handshake,
)


class Fields(dict[str, list[str]]):
    def get_list(self, name: str) -> list[str]:
        return self.get(name.lower(), [])


def request_fields(**overrides: str | None) -> Fields:
    fields = {
        "upgrade": "websocket",
        "connection": "keep-alive, Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    fields.update({k.replace("_", "-"): v for k, v in overrides.items()})  # type: ignore[misc]
    return Fields({k: [v] for k, v in fields.items() if v is not None})


def test_handshake_keys() -> None:
    # RFC 6455 1.3's example.
    assert handshake.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert handshake.check_request("HTTP/1.1", request_fields()) == "dGhlIHNhbXBsZSBub25jZQ=="
    assert len(handshake.new_key()) == 24


@pytest.mark.parametrize(
    ("version", "overrides", "status"),
    [
        ("HTTP/1.0", {}, 400),
        ("HTTP/1.1", {"upgrade": None}, 400),
        ("HTTP/1.1", {"upgrade": "h2c"}, 400),
        ("HTTP/1.1", {"connection": "keep-alive"}, 400),
        ("HTTP/1.1", {"sec_websocket_version": "8"}, 426),
        ("HTTP/1.1", {"sec_websocket_version": None}, 426),
        ("HTTP/1.1", {"sec_websocket_key": None}, 400),
        ("HTTP/1.1", {"sec_websocket_key": "c2hvcnQ="}, 400),
        ("HTTP/1.1", {"sec_websocket_key": "not base64!!!!!!!!!!!!=="}, 400),
    ],
)
def test_handshake_request_errors(version: str, overrides: dict[str, str | None], status: int) -> None:
    with pytest.raises(handshake.HandshakeError) as caught:
        handshake.check_request(version, request_fields(**overrides))
    assert caught.value.status == status
    if status == 426:
        assert caught.value.headers == [("Sec-WebSocket-Version", "13")]


def test_handshake_response_checks() -> None:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    good = {"upgrade": ["websocket"], "connection": ["Upgrade"], "sec-websocket-accept": ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]}
    assert handshake.check_response(Fields(good), key, []) is None
    assert handshake.check_response(Fields({**good, "sec-websocket-protocol": ["b"]}), key, ["a", "b"]) == "b"
    variants: list[dict[str, list[str]]] = [
        {"sec-websocket-accept": ["wrong"]},
        {"upgrade": []},
        {"sec-websocket-protocol": ["c"]},
    ]
    for broken in variants:
        with pytest.raises(handshake.HandshakeError):
            handshake.check_response(Fields({**good, **broken}), key, ["a"])

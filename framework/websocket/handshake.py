"""Sans-IO opening handshake (RFC 6455 section 4): the WebSocket header fields.

Contract: no sockets, no asyncio, nothing from the rest of ``framework``.
The HTTP messages themselves are parsed and serialised by ``framework.http1``;
this module judges only the fields the handshake adds, and computes keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable, Sequence
from typing import Final, Protocol

__all__ = [
    "HandshakeError",
    "accept_key",
    "check_request",
    "check_response",
    "header_tokens",
    "new_key",
    "requested_subprotocols",
]

GUID: Final = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VERSION: Final = "13"
_HTTP_VERSION = re.compile(r"HTTP/(\d)\.(\d)")


class Fields(Protocol):
    """What is needed of a header map: every value of a field (``HTTPHeaders.get_list``)."""

    def get_list(self, name: str) -> list[str]: ...


class HandshakeError(Exception):
    """The handshake cannot go on; for a server, ``status`` and ``headers`` are the answer.

    Args:
        message: what was wrong (sent as the body of the server's answer).
        status: 400, or 426 for an unsupported version.
        headers: fields the answer must carry (426's ``Sec-WebSocket-Version``).
    """

    def __init__(self, message: str, status: int = 400, headers: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message, status)
        self.message = message
        self.status = status
        self.headers = list(headers)

    def __str__(self) -> str:
        return self.message


def header_tokens(fields: Fields, name: str) -> list[str]:
    """A comma-separated list field's elements, lower-cased, empty ones dropped."""
    return [item.strip().lower() for value in fields.get_list(name) for item in value.split(",") if item.strip()]


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 4.2.2 step 5.4)."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def new_key(random: Callable[[int], bytes] = os.urandom) -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes, base64-encoded."""
    return base64.b64encode(random(16)).decode("ascii")


def _is_valid_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key.encode("ascii"), validate=True)) == 16
    except (binascii.Error, UnicodeEncodeError):
        return False


def check_request(version: str, fields: Fields) -> str:
    """Check a client's opening handshake (RFC 6455 4.2.1); the method is the caller's.

    Returns:
        The ``Sec-WebSocket-Key``.

    Raises:
        HandshakeError: 400 for a missing or wrong field, 426 (with
            ``Sec-WebSocket-Version: 13``) for another protocol version.
    """
    match = _HTTP_VERSION.fullmatch(version)
    if match is None or (int(match.group(1)), int(match.group(2))) < (1, 1):
        raise HandshakeError("WebSocket needs HTTP/1.1 or later.")
    if "websocket" not in header_tokens(fields, "Upgrade"):
        raise HandshakeError('Can "Upgrade" only to "WebSocket".')
    if "upgrade" not in header_tokens(fields, "Connection"):
        raise HandshakeError('"Connection" must be "Upgrade".')
    if [v.strip() for v in fields.get_list("Sec-WebSocket-Version")] != [VERSION]:
        raise HandshakeError("Unsupported WebSocket version; use 13.", 426, [("Sec-WebSocket-Version", VERSION)])
    keys = fields.get_list("Sec-WebSocket-Key")
    if len(keys) != 1 or not _is_valid_key(keys[0].strip()):
        raise HandshakeError("Missing/Invalid WebSocket headers: Sec-WebSocket-Key must be 16 bytes in base64.")
    return keys[0].strip()


def requested_subprotocols(fields: Fields) -> list[str]:
    """The ``Sec-WebSocket-Protocol`` values a client offered, in its order of preference."""
    return [item.strip() for value in fields.get_list("Sec-WebSocket-Protocol") for item in value.split(",") if item.strip()]


def check_response(fields: Fields, key: str, offered: Sequence[str]) -> str | None:
    """Check a server's ``101`` answer (RFC 6455 4.1, the client's steps 2-6).

    Args:
        fields: the response's header fields.
        key: the ``Sec-WebSocket-Key`` the client sent.
        offered: the subprotocols the client asked for.

    Returns:
        The subprotocol the server selected, or None.

    Raises:
        HandshakeError: a field is missing or wrong.
    """
    if "websocket" not in header_tokens(fields, "Upgrade"):
        raise HandshakeError("server's 101 lacks Upgrade: websocket")
    if "upgrade" not in header_tokens(fields, "Connection"):
        raise HandshakeError("server's 101 lacks Connection: upgrade")
    if [v.strip() for v in fields.get_list("Sec-WebSocket-Accept")] != [accept_key(key)]:
        raise HandshakeError("invalid Sec-WebSocket-Accept")
    selected = requested_subprotocols(fields)
    if not selected:
        return None
    if len(selected) != 1 or selected[0] not in offered:
        raise HandshakeError(f"server selected a subprotocol that was not offered: {selected!r}")
    return selected[0]

"""HTTP/1.1 grammar shared by the parsers and the writer: events, limits, rules (RFC 9110, 9112).

Part of the sans-IO ``framework.http1`` package (see its docstring for the
contract): no sockets, no asyncio, no imports from the rest of ``framework``.
What only the parsers use (their states, the rules for heads received, the
line parsers) lives in ``parser``; what only the writer uses, in ``writer``.
The names here are public within the package, and the token rule
(``TCHAR``) is the one ``multipart`` builds its header grammar from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

# FRAMEWORK_HTTP1_PURE=1 keeps the compiled accelerator (speedups*.c) unused even
# where it is built: read once, at import, by the modules that would call it.
PURE_PYTHON: Final = os.environ.get("FRAMEWORK_HTTP1_PURE", "") not in ("", "0")
"""True when the environment asks for the pure-Python parser and writer (``FRAMEWORK_HTTP1_PURE``)."""


class ProtocolError(Exception):
    """The peer broke HTTP/1.1 framing or grammar; the connection cannot be trusted.

    Args:
        message: what was wrong, for logs and the error body.
        status: the status code a server should answer with before closing.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Limits:
    """Every size limit of the parser, travelling as one immutable value.

    Attributes:
        max_header_bytes: the request line plus header block (431 beyond it).
        max_body_bytes: a message body, after de-chunking (413 beyond it).
        max_target_bytes: the request target (414 beyond it).
        max_headers: number of header fields (431 beyond it).
        max_chunk_line_bytes: a chunk-size line including extensions (400).
        max_trailer_bytes: the trailer section of a chunked body (431).
    """

    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 100 * 1024 * 1024
    max_target_bytes: int = 8 * 1024
    max_headers: int = 128
    max_chunk_line_bytes: int = 4 * 1024
    max_trailer_bytes: int = 16 * 1024


class Sentinel:
    """A named marker returned by a sans-IO ``next_event()`` instead of an event.

    ``NEED_DATA`` is the one instance shared by every pull parser of the
    package and above it (``multipart``, WebSocket frames), so "feed me more"
    is the same object wherever it comes from.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA: Final = Sentinel("NEED_DATA")
"""``next_event()`` needs more bytes from ``feed()`` before it can go on."""
PAUSED: Final = Sentinel("PAUSED")
"""A message is complete; call ``start_next()`` after answering it."""

Headers = list[tuple[str, str]]


@dataclass(slots=True)
class RequestHead:
    """A parsed request line and header block.

    ``keep_alive``, ``expect_continue``, ``chunked`` and ``content_length`` are
    the framing decisions the parser already made, so no layer above re-reads
    the headers to learn them.
    """

    method: str
    target: str
    version: str
    headers: Headers
    keep_alive: bool
    expect_continue: bool = False
    chunked: bool = False
    content_length: int | None = None
    # The same fields keyed by lower-case name, built in the same pass, so
    # the layer above can wrap them (HTTPHeaders) without parsing again.
    fields: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)


@dataclass(slots=True)
class ResponseHead:
    """A parsed status line and header block (client side)."""

    status: int
    reason: str
    version: str
    headers: Headers
    keep_alive: bool


@dataclass(slots=True)
class Body:
    """A piece of a message body, already de-chunked."""

    data: bytes


@dataclass(slots=True)
class EndOfMessage:
    """The body is complete; ``trailers`` holds a chunked body's trailer fields."""

    trailers: Headers = field(default_factory=list)


Event = RequestHead | ResponseHead | Body | EndOfMessage | Sentinel

# RFC 9110 5.6.2: token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
TCHAR: Final = r"-!#$%&'*+.^_`|~0-9A-Za-z"
"""The tchar rule as the inside of a character class, to build larger rules from (``multipart`` does)."""
TOKEN_PATTERN: Final = rf"[{TCHAR}]+"
TOKEN: Final = re.compile(TOKEN_PATTERN)
# RFC 9112 3.2: request-target in origin-, absolute-, authority- or
# asterisk-form; all are visible ASCII without spaces.
REQUEST_TARGET = re.compile(r"[\x21-\x7e]+")
# RFC 9110 5.5: field-value = *field-content; field-vchar = VCHAR / obs-text,
# with SP and HTAB allowed inside. So any CTL other than HTAB is forbidden in a
# received head, and CR or LF may appear only as the CRLF that ends a line.
# (multipart's part headers follow the same rule: RFC 5322 2.2.)
FORBIDDEN_IN_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n")
# On the way out, RFC 9110 5.5 again: no CTL but HTAB in a field value (CR, LF
# or NUL would split the message; the other controls are no safer in a
# recipient's parser). RFC 9112 4 says the same of the reason-phrase:
#   reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
FORBIDDEN_OUT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# The same rule without CR and LF, for a whole serialised head whose CRLFs
# are checked by counting (as the parser's _CTL_IN_HEAD is for heads received).
CTL_OUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def validate_header_field(name: str, value: str) -> None:
    """Refuse a header a handler or client wants to send if it could split the message.

    Raises:
        ValueError: the name is not a token, or the value holds a control
            character other than HTAB (CR, LF, NUL, %x01-1F, DEL).
    """
    if not TOKEN.fullmatch(name):
        raise ValueError(f"invalid header name {name!r}")
    if FORBIDDEN_OUT.search(value):
        raise ValueError(f"unsafe header value {value!r} (a control character: CR, LF, NUL or another CTL)")


def field_value_is_safe(value: str) -> bool:
    """True when ``value`` holds no control character but HTAB (RFC 9110 5.5).

    The public face of the check ``validate_header_field`` makes, for layers
    that want to answer differently (a 400 rather than a ``ValueError``).
    """
    return FORBIDDEN_OUT.search(value) is None


# RFC 9112 4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), so anything
# else (a CTL, or a character beyond one byte) cannot be sent.
_NOT_IN_REASON = re.compile(r"[^\t\x20-\x7e\x80-\xff]")


def sendable_reason(reason: str) -> str:
    """``reason`` with every character a reason-phrase may not hold replaced by ``?``.

    A reason phrase is advisory (RFC 9112 4: a client SHOULD ignore it), so
    one quoting input that cannot be sent (a field named in Chinese, a stray
    control character) is better mended than turned into a 500.
    """
    return _NOT_IN_REASON.sub("?", reason)


DISPLAY_NAMES: dict[str, str] = {}
"""``field_display_name``'s cache (lower-case name -> display name), bounded.

Public so that serialisers read it inline (``names[key] if key in names``,
no call per field: bench_inprocess); only ``field_display_name`` writes it.
"""
_DISPLAY_NAMES_MAX = 1000


def field_display_name(key: str) -> str:
    """``content-type`` -> ``Content-Type``, cached (bounded): the same few names recur."""
    name = DISPLAY_NAMES.get(key)
    if name is None:
        name = "-".join(part.capitalize() for part in key.split("-"))
        if len(DISPLAY_NAMES) < _DISPLAY_NAMES_MAX:
            DISPLAY_NAMES[key] = name
    return name


_REASONS: dict[int, str] = {s.value: s.phrase for s in HTTPStatus}


def reason_phrase(status: int) -> str:
    """The standard reason phrase for ``status``, or "Unknown"."""
    return _REASONS.get(status, "Unknown")


def response_has_body(status: int, request_method: str) -> bool:
    """RFC 9110 6.4.1: no body after HEAD, or in 1xx, 204 and 304 responses."""
    return not (request_method == "HEAD" or status < 200 or status in (204, 304))

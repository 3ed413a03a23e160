"""HTTP/1.1 grammar shared by the parsers and the writer: events, limits, rules (RFC 9110, 9112).

Part of the sans-IO ``framework.http1`` package (see its docstring for the
contract): no sockets, no asyncio, no imports from the rest of ``framework``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final


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


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA: Final = _Sentinel("NEED_DATA")
"""``next_event()`` needs more bytes from ``feed()`` before it can go on."""
PAUSED: Final = _Sentinel("PAUSED")
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


Event = RequestHead | ResponseHead | Body | EndOfMessage | _Sentinel

# RFC 9110 5.6.2: token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_TOKEN_STR = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
# RFC 9112 3.2: request-target in origin-, absolute-, authority- or
# asterisk-form; all are visible ASCII without spaces.
_REQUEST_TARGET_STR = re.compile(r"[\x21-\x7e]+")
# RFC 9112 2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT
_HTTP_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
# RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
_STATUS_CODE = re.compile(rb"[0-9]{3}")
# RFC 9110 5.5: field-value = *field-content; field-vchar = VCHAR / obs-text,
# with SP and HTAB allowed inside. So any CTL other than HTAB is forbidden, and
# CR or LF may appear only as the CRLF that ends a line.
_FORBIDDEN_IN_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n")
# The same rule split in two for a complete head (speed: bench_inprocess, the
# lookaround alternation above costs ~1.7 µs on a 70-byte head, this class
# ~0.3 µs): control characters other than HTAB, CR and LF here, and CR/LF
# only as CRLF checked by counting (every CR and every LF is part of a CRLF
# exactly when the three counts agree).
_CTL_IN_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# RFC 9112 2.2: a line ends with CRLF; a bare LF (not preceded by CR) in an
# unfinished head already condemns it, wherever it sits.
_BARE_LF = re.compile(rb"(?<!\r)\n")
# On the way out, RFC 9110 5.5 again: no CTL but HTAB in a field value (CR, LF
# or NUL would split the message; the other controls are no safer in a
# recipient's parser). RFC 9112 4 says the same of the reason-phrase:
#   reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
_FORBIDDEN_OUT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# The same rule without CR and LF, for a whole serialised head whose CRLFs
# are checked by counting (as _CTL_IN_HEAD is for heads received).
_CTL_OUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# RFC 9112 7.1: chunk-size = 1*HEXDIG
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
# RFC 9110 8.6: Content-Length = 1*DIGIT
_DIGITS = re.compile(rb"[0-9]{1,18}")

_SUPPORTED_VERSIONS = ("HTTP/1.1", "HTTP/1.0")

# Parser states.
_HEAD, _BODY_LENGTH, _CHUNK_SIZE_LINE, _CHUNK_DATA, _CHUNK_END = 0, 1, 2, 3, 4
_TRAILERS, _UNTIL_CLOSE, _DONE, _ERROR = 5, 6, 7, 8
# The last body byte is consumed but EndOfMessage not yet returned.
_DONE_PENDING = 9


def validate_header_field(name: str, value: str) -> None:
    """Refuse a header a handler or client wants to send if it could split the message.

    Raises:
        ValueError: the name is not a token, or the value holds a control
            character other than HTAB (CR, LF, NUL, %x01-1F, DEL).
    """
    if not _TOKEN_STR.fullmatch(name):
        raise ValueError(f"invalid header name {name!r}")
    if _FORBIDDEN_OUT.search(value):
        raise ValueError(f"unsafe header value {value!r} (a control character: CR, LF, NUL or another CTL)")


def field_value_is_safe(value: str) -> bool:
    """True when ``value`` holds no control character but HTAB (RFC 9110 5.5).

    The public face of the check ``validate_header_field`` makes, for layers
    that want to answer differently (a 400 rather than a ``ValueError``).
    """
    return _FORBIDDEN_OUT.search(value) is None


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


_DISPLAY_NAMES: dict[str, str] = {}
_DISPLAY_NAMES_MAX = 1000


def field_display_name(key: str) -> str:
    """``content-type`` -> ``Content-Type``, cached (bounded): the same few names recur."""
    name = _DISPLAY_NAMES.get(key)
    if name is None:
        name = "-".join(part.capitalize() for part in key.split("-"))
        if len(_DISPLAY_NAMES) < _DISPLAY_NAMES_MAX:
            _DISPLAY_NAMES[key] = name
    return name


def parse_fields(lines: list[bytes], start: int = 0) -> Headers:
    """Parse ``field-name ":" OWS field-value OWS`` lines (RFC 9112 5).

    The caller already refused forbidden characters in the whole block.

    Raises:
        ProtocolError: obsolete line folding, or a line that is not a field.
    """
    return _parse_field_lines([line.decode("latin-1") for line in lines[start:]])[0]


# Field names already found to be tokens. Speed (bench_inprocess, 3 fields
# 1.6 -> 1.0 µs): clients send the same few names on every request, and a set
# lookup per line is cheaper than one regex over the joined names. Bounded,
# so a client inventing names cannot grow it.
_KNOWN_NAMES: set[str] = set()
_KNOWN_NAMES_MAX = 1000


def _parse_field_lines(lines: list[str]) -> tuple[Headers, dict[str, list[str]]]:
    """Fields as a list of pairs and as a dict by lower-case name, in one pass.

    RFC 9112 5: field-line = field-name ":" OWS field-value OWS, where
    field-name = token (RFC 9110 5.1).
    """
    headers: Headers = []
    fields: dict[str, list[str]] = {}
    known = _KNOWN_NAMES
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or name not in known:
            if not colon or not _TOKEN_STR.fullmatch(name):
                raise ProtocolError(_field_error(line))
            if len(known) < _KNOWN_NAMES_MAX:
                known.add(name)
        value = value.strip(" \t")
        headers.append((name, value))
        key = name.lower()
        existing = fields.get(key)
        if existing is None:
            fields[key] = [value]
        else:
            existing.append(value)
    return headers, fields


def _field_error(line: str) -> str:
    if line[:1] in (" ", "\t"):
        # RFC 9112 5.2: obs-fold is rejected with 400.
        return "obsolete line folding in header"
    return f"malformed header line {line[:40].encode('latin-1')!r}"


def _comma_tokens(values: list[str]) -> list[str]:
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def _content_length(values: list[str]) -> int | None:
    """RFC 9110 8.6: identical repeated values may be merged; anything else is 400."""
    if not values:
        return None
    parts = {p.strip() for v in values for p in v.split(",")}
    if len(parts) != 1:
        raise ProtocolError("conflicting Content-Length values")
    (text,) = parts
    if not _DIGITS.fullmatch(text.encode("latin-1")):
        if text.isascii() and text.isdigit():
            raise ProtocolError("Content-Length larger than the body limit", 413)
        raise ProtocolError(f"invalid Content-Length {text[:20]!r}")
    return int(text)


def _is_chunked(values: list[str]) -> bool:
    """Decide a Transfer-Encoding: only ``chunked`` is understood (RFC 9112 6.1)."""
    codings = _comma_tokens(values)
    if not codings:
        raise ProtocolError("empty Transfer-Encoding")
    unknown = [c for c in codings if c != "chunked"]
    if unknown:
        raise ProtocolError(f"unsupported transfer coding {unknown[0]!r}", 501)
    if len(codings) != 1:
        raise ProtocolError("chunked applied more than once")
    return True


def _keep_alive(version: str, connection: list[str]) -> bool:
    tokens = _comma_tokens(connection)
    if "close" in tokens:
        return False
    return version == "HTTP/1.1" or "keep-alive" in tokens


# RFC 9112 3: request-line = method SP request-target SP HTTP-version, with
# method = token and the two versions served. The parser tries this first;
# anything else takes _parse_request_line, which names what is wrong (speed:
# one regex instead of a split and two, bench_inprocess).
_COMMON_REQUEST_LINE = re.compile(r"([-!#$%&'*+.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) (HTTP/1\.[01])")


# RFC 9112 3.2.2: absolute-form = absolute-URI; for the schemes a server
# answers (RFC 9110 4.2): "http" / "https" "://" authority path-abempty [ "?" query ]
# RFC 3986 3.2: authority = [ userinfo "@" ] host [ ":" port ], with
#   host = IP-literal / IPv4address / reg-name
#   reg-name = *( unreserved / pct-encoded / sub-delims ), port = *DIGIT
# and RFC 9110 4.2.4: userinfo in an http(s) URI is an error (so no "@" here);
# RFC 9110 4.2.1: an empty host is invalid (so reg-name is 1* here).
_ABSOLUTE_FORM = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://"
    r"((?:\[[0-9A-Fa-f:.]+\]|[-A-Za-z0-9._~!$&'()*+,;=%]+)(?::[0-9]*)?)"
    r"([/?][^#]*)?"
)


def _origin_form(target: str, headers: Headers, fields: dict[str, list[str]]) -> str:
    """Turn an absolute-form target into origin-form, its authority becoming the Host.

    RFC 9112 3.2.2: a server MUST accept the absolute-form, and MUST then
    ignore any received Host header field and use the target's authority
    instead (the Host field is still required of HTTP/1.1 requests, and is
    checked before this). Asterisk- and authority-form targets (``OPTIONS *``,
    ``CONNECT host:port``) are left as they are.

    Raises:
        ProtocolError: a target that is neither origin-form nor a valid
            http(s) absolute-form (another scheme, userinfo, no host).
    """
    if target == "*" or "://" not in target:
        return target
    match = _ABSOLUTE_FORM.fullmatch(target)
    if match is None:
        raise ProtocolError(f"invalid absolute-form request target {target[:60].encode('latin-1')!r}")
    authority, rest = match.groups()
    headers[:] = [pair for pair in headers if pair[0].lower() != "host"]
    headers.append(("Host", authority))
    fields["host"] = [authority]
    if not rest:
        return "/"
    return rest if rest[0] == "/" else "/" + rest


def _parse_request_line(line: str, limits: Limits) -> tuple[str, str, str]:
    # RFC 9112 3: request-line = method SP request-target SP HTTP-version
    parts = line.split(" ")
    if len(parts) != 3:
        raise ProtocolError(f"malformed request line {line[:60].encode('latin-1')!r}")
    method, target, version = parts
    if len(target) > limits.max_target_bytes:
        raise ProtocolError("request target too long", 414)
    if not _TOKEN_STR.fullmatch(method) or not _REQUEST_TARGET_STR.fullmatch(target):
        raise ProtocolError(f"malformed request line {line[:60].encode('latin-1')!r}")
    if version in _SUPPORTED_VERSIONS:
        return method, target, version
    return method, target, _parse_version(version.encode("latin-1"))


def parse_request_line(line: str, limits: Limits | None = None) -> tuple[str, str, str]:
    """Split a request line into ``(method, target, version)``, as the parser reads one.

    For callers holding a start line outside a parser (``httputil.
    parse_request_start_line``); the target is returned as sent (no
    absolute-form rewrite: there is no Host to update).

    Raises:
        ProtocolError: the line is malformed (400), the target too long
            (414) or the version not served (505).
    """
    return _parse_request_line(line, limits or _DEFAULT_LIMITS)


_DEFAULT_LIMITS = Limits()


def parse_status_line(line: str, status_on_error: int = 502) -> tuple[str, int, str]:
    """Split a status line into ``(version, status, reason)``.

    RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ],
    status-code = 3DIGIT. A missing SP before an empty reason is accepted, as
    RFC 9112 4 asks of a robust client.

    Raises:
        ProtocolError: with ``status_on_error`` (502: a client reading a bad
            upstream answer reports a bad gateway).
    """
    raw = line.encode("latin-1")
    parts = raw.split(b" ", 2)
    if len(parts) < 2 or not _STATUS_CODE.fullmatch(parts[1]) or _FORBIDDEN_IN_HEAD.search(raw):
        raise ProtocolError(f"malformed status line {raw[:60]!r}", status_on_error)
    try:
        version = _parse_version(parts[0])
    except ProtocolError as exc:
        raise ProtocolError(f"malformed status line: {exc.message}", status_on_error) from None
    return version, int(parts[1]), parts[2].decode("latin-1") if len(parts) == 3 else ""


def _parse_version(version: bytes) -> str:
    match = _HTTP_VERSION.fullmatch(version)
    if match is None:
        raise ProtocolError(f"malformed HTTP version {version[:20]!r}")
    text = version.decode("ascii")
    if text not in _SUPPORTED_VERSIONS:
        raise ProtocolError(f"HTTP version {text} not supported", 505)
    return text

_REASONS: dict[int, str] = {s.value: s.phrase for s in HTTPStatus}


def reason_phrase(status: int) -> str:
    """The standard reason phrase for ``status``, or "Unknown"."""
    return _REASONS.get(status, "Unknown")


def response_has_body(status: int, request_method: str) -> bool:
    """RFC 9110 6.4.1: no body after HEAD, or in 1xx, 204 and 304 responses."""
    return not (request_method == "HEAD" or status < 200 or status in (204, 304))

"""The message head's grammar: start lines, field lines, and what the fields decide about framing.

Part of the sans-IO ``framework.http1`` package; the pull parsers of ``parser``
read every head through it.

Strategy: a head arrives here complete (the parser has found the blank line
that ends it), so everything in this module is a pure function of text already
in hand, with no buffer and no state: split the head into its start line and
fields, read the request line or the status line, and decide what
Content-Length, Transfer-Encoding and Connection say. That keeps the grammar
apart from the parser's buffering and body state machine, serves callers that
hold a start line or a header block without a parser (``httputil``'s
``parse_request_start_line`` and ``HTTPHeaders.parse``), and makes
``split_request_head`` the plain reference that the compiled
``speedups.read_request_head`` is tested against.
"""

from __future__ import annotations

import re

from framework.http1.grammar import (
    FORBIDDEN_IN_HEAD,
    REQUEST_TARGET,
    TOKEN,
    TOKEN_PATTERN,
    Headers,
    Limits,
    ProtocolError,
)

# RFC 9112 2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT
_HTTP_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
# RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
_STATUS_CODE = re.compile(rb"[0-9]{3}")
# grammar.FORBIDDEN_IN_HEAD split in two for a complete head (speed: bench_inprocess, its
# lookaround alternation above costs ~1.7 µs on a 70-byte head, this class
# ~0.3 µs): control characters other than HTAB, CR and LF here, and CR/LF
# only as CRLF checked by counting (every CR and every LF is part of a CRLF
# exactly when the three counts agree).
_CTL_IN_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# RFC 9110 8.6: Content-Length = 1*DIGIT
_DIGITS = re.compile(rb"[0-9]{1,18}")

_SUPPORTED_VERSIONS = ("HTTP/1.1", "HTTP/1.0")


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
            if not colon or not TOKEN.fullmatch(name):
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


def comma_tokens(values: list[str]) -> list[str]:
    """The lower-cased elements of a comma-separated list field, empty ones dropped (RFC 9110 5.6.1)."""
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def content_length(values: list[str]) -> int | None:
    """RFC 9110 8.6: identical repeated values may be merged; anything else is 400."""
    if not values:
        return None
    if len(values) == 1:  # the usual one plain value, without the set (speed: form workload)
        text = values[0]
        if 0 < len(text) <= 18 and text.isdigit() and text.isascii():
            return int(text)
    parts = {p.strip() for v in values for p in v.split(",")}
    if len(parts) != 1:
        raise ProtocolError("conflicting Content-Length values")
    (text,) = parts
    if not _DIGITS.fullmatch(text.encode("latin-1")):
        if text.isascii() and text.isdigit():
            raise ProtocolError("Content-Length larger than the body limit", 413)
        raise ProtocolError(f"invalid Content-Length {text[:20]!r}")
    return int(text)


def is_chunked(values: list[str]) -> bool:
    """Decide a Transfer-Encoding: only ``chunked`` is understood (RFC 9112 6.1)."""
    codings = comma_tokens(values)
    if not codings:
        raise ProtocolError("empty Transfer-Encoding")
    unknown = [c for c in codings if c != "chunked"]
    if unknown:
        raise ProtocolError(f"unsupported transfer coding {unknown[0]!r}", 501)
    if len(codings) != 1:
        raise ProtocolError("chunked applied more than once")
    return True


def keep_alive(version: str, connection: list[str]) -> bool:
    """Whether the connection outlives the message: not with ``close``, else HTTP/1.1 or ``keep-alive`` (RFC 9112 9.3)."""
    tokens = comma_tokens(connection)
    if "close" in tokens:
        return False
    return version == "HTTP/1.1" or "keep-alive" in tokens


# RFC 9112 3: request-line = method SP request-target SP HTTP-version, with
# method = token and the two versions served. The parser tries this first;
# anything else takes _parse_request_line, which names what is wrong (speed:
# one regex instead of a split and two, bench_inprocess).
_COMMON_REQUEST_LINE = re.compile(rf"({TOKEN_PATTERN}) ([\x21-\x7e]+) (HTTP/1\.[01])")


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


# RFC 9110 7.2: Host = uri-host [ ":" port ], uri-host as in RFC 3986 3.2.2
# (IP-literal / IPv4address / reg-name; reg-name = *( unreserved /
# pct-encoded / sub-delims )), loosened as Tornado loosens it: "[", "]" and
# ":" may stand anywhere (IPv6 literals and the port need no rule of their
# own); and tightened as Tornado tightens it: no "," (a sub-delim, but what a
# proxy makes of two Host fields joined). One character class with the
# escapes between its runs, so a usual host is one scan. Read with fullmatch.
_HOST_CHAR = r"[A-Za-z0-9\-._~!$&'()*+;=\[\]:]"
HOST_VALUE = re.compile(rf"{_HOST_CHAR}*(?:%[0-9A-Fa-f]{{2}}{_HOST_CHAR}*)*")


def origin_form(target: str, headers: Headers, fields: dict[str, list[str]]) -> str:
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
    if not TOKEN.fullmatch(method) or not REQUEST_TARGET.fullmatch(target):
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
    if len(parts) < 2 or not _STATUS_CODE.fullmatch(parts[1]) or FORBIDDEN_IN_HEAD.search(raw):
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


def split_head(head: bytearray, max_headers: int) -> tuple[str, Headers, dict[str, list[str]]]:
    """A complete head's start line, and its fields as pairs and by lower-case name.

    Raises:
        ProtocolError: a forbidden character (400), too many fields (431) or
            a malformed field line (400).
    """
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    crlf = len(lines) - 1
    if _CTL_IN_HEAD.search(head) or text.count("\r") != crlf or text.count("\n") != crlf:
        raise ProtocolError("forbidden character in message head (bare CR/LF, NUL or control)")
    if crlf > max_headers:
        raise ProtocolError("too many header fields", 431)
    start_line = lines[0]
    del lines[0]
    headers, fields = _parse_field_lines(lines)
    return start_line, headers, fields


RequestParts = tuple[str, str, str, Headers, dict[str, list[str]]]
"""A request head split: method, target, version, the fields as pairs and by lower-case name."""


def split_request_head(head: bytearray, limits: Limits) -> RequestParts:
    """The pure-Python reference of ``speedups.parse_request_head``, which raises where that declines.

    Raises:
        ProtocolError: as ``split_head`` and ``_parse_request_line``.
    """
    start_line, headers, fields = split_head(head, limits.max_headers)
    # _parse_request_line's fast path, inlined (a call less per request, bench_inprocess).
    common = _COMMON_REQUEST_LINE.fullmatch(start_line)
    if common is not None and len(common[2]) <= limits.max_target_bytes:
        method, target, version = common.groups()
    else:
        method, target, version = _parse_request_line(start_line, limits)
    return method, target, version, headers, fields

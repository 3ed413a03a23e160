"""The pull parsers: ``RequestParser`` (server) and ``ResponseParser`` (client).

Part of the sans-IO ``framework.http1`` package; its docstring has the
strategy (one bytearray, a head search that remembers how far it looked,
``PAUSED`` as the pipelining queue).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from framework.http1.grammar import (
    FORBIDDEN_IN_HEAD,
    NEED_DATA,
    PAUSED,
    PURE_PYTHON,
    REQUEST_TARGET,
    TOKEN,
    TOKEN_PATTERN,
    Body,
    EndOfMessage,
    Event,
    Headers,
    Limits,
    ProtocolError,
    RequestHead,
    ResponseHead,
    response_has_body,
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
# RFC 9112 2.2: a line ends with CRLF; a bare LF (not preceded by CR) in an
# unfinished head already condemns it, wherever it sits.
_BARE_LF = re.compile(rb"(?<!\r)\n")
# RFC 9112 7.1: chunk-size = 1*HEXDIG
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
# RFC 9110 8.6: Content-Length = 1*DIGIT
_DIGITS = re.compile(rb"[0-9]{1,18}")
# The end of a message without trailers, the usual one, is one shared event:
# a new event and list per request cost more than the rest of a bodiless
# request's framing (loadtest/instructions.py). Its empty list is never filled.
_NO_TRAILERS = EndOfMessage()

_SUPPORTED_VERSIONS = ("HTTP/1.1", "HTTP/1.0")

# Parser states.
_HEAD, _BODY_LENGTH, _CHUNK_SIZE_LINE, _CHUNK_DATA, _CHUNK_END = 0, 1, 2, 3, 4
_TRAILERS, _UNTIL_CLOSE, _DONE, _ERROR = 5, 6, 7, 8
# The last body byte is consumed but EndOfMessage not yet returned.
_DONE_PENDING = 9


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


def _comma_tokens(values: list[str]) -> list[str]:
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def _content_length(values: list[str]) -> int | None:
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


def _split_head(head: bytearray, max_headers: int) -> tuple[str, Headers, dict[str, list[str]]]:
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


def _split_request_head(head: bytearray, limits: Limits) -> RequestParts:
    """The pure-Python reference of ``speedups.parse_request_head``, which raises where that declines.

    Raises:
        ProtocolError: as ``_split_head`` and ``_parse_request_line``.
    """
    start_line, headers, fields = _split_head(head, limits.max_headers)
    # _parse_request_line's fast path, inlined (a call less per request, bench_inprocess).
    common = _COMMON_REQUEST_LINE.fullmatch(start_line)
    if common is not None and len(common[2]) <= limits.max_target_bytes:
        method, target, version = common.groups()
    else:
        method, target, version = _parse_request_line(start_line, limits)
    return method, target, version, headers, fields


# The compiled twin of _split_request_head (speedups.c's read_request_head), or
# None where it is not built or FRAMEWORK_HTTP1_PURE=1. It answers only for the
# plain common head and declines (None) the rest, which _split_request_head then
# reads and refuses with its usual errors. Speed (bench_inprocess, this one alone
# against none): the server alone 18.0 -> 13.7 µs per request, the full stack
# 33.2 -> 26.9. Where the head leaves nothing for _begin_request to decide (an
# HTTP/1.1 request with no body or one plain Content-Length: the usual GET and
# form POST) it answers with the RequestHead itself: 0.99 -> 0.74 µs per head
# (timeit of _read_head).
_fast_read_request_head: Callable[[bytearray, int, int], RequestHead | RequestParts | None] | None = None
# What builds a RequestHead from its nine fields in order: the class itself,
# or the accelerator's make_request_head, which fills the instance's slots
# without the dataclass's Python __init__ (2.5k instructions less per request,
# loadtest/instructions.py).
_new_request_head: Callable[..., RequestHead] = RequestHead
if not PURE_PYTHON:
    try:
        from framework.http1 import speedups
    except ImportError:  # not built (no C compiler where it was installed): pure Python
        pass
    else:
        _fast_read_request_head = speedups.read_request_head
        try:
            speedups.bind_request_head(RequestHead)
        except TypeError:  # RequestHead changed shape and speedups.c did not follow: its own __init__
            pass
        else:
            _new_request_head = speedups.make_request_head


class _MessageParser:
    """Shared machinery: the buffer, head location and the body state machine.

    Subclasses parse their start line and decide the framing of the body.
    """

    __slots__ = (
        "limits",
        "_buf",
        "_state",
        "_scanned",
        "_remaining",
        "_body_seen",
        "_max_body",
        "_eof",
        "_trailer_lines",
        "_trailer_bytes",
    )

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buf = bytearray()
        self._state = _HEAD
        self._scanned = 0
        self._remaining = 0
        self._body_seen = 0
        self._max_body = self.limits.max_body_bytes
        self._eof = False
        # Made by _begin_body for a chunked body only: an idle keep-alive
        # connection holds no list (loadtest/conn_memory.py).
        self._trailer_lines: list[bytes] | None = None
        self._trailer_bytes = 0

    # -- input -----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Append bytes received from the peer.

        Raises:
            RuntimeError: bytes arrive after ``feed_eof()``.
        """
        if self._eof:
            raise RuntimeError("feed() after feed_eof()")
        self._buf += data

    def feed_eof(self) -> None:
        """Record that the peer closed its sending side."""
        self._eof = True

    def take_buffer(self) -> bytes:
        """Remove and return the unparsed bytes (for a protocol taking over after 101)."""
        data = bytes(self._buf)
        self._buf.clear()
        return data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet turned into events."""
        return len(self._buf)

    @property
    def eof_seen(self) -> bool:
        """True once ``feed_eof()`` was called: the peer will send nothing more."""
        return self._eof

    @property
    def reusable(self) -> bool:
        """True when the parser is as good as new: between messages, nothing buffered, no EOF seen.

        What a server asks before lending the parser to another connection
        (one property rather than three, once per response).
        """
        return self._state == _HEAD and not self._buf and not self._eof

    @property
    def at_message_start(self) -> bool:
        """True between messages, before any byte of the next head is parsed."""
        return self._state == _HEAD

    @property
    def in_message(self) -> bool:
        """True while the message being read has more to come (its body, or anything after an error).

        False between messages and once a message is complete (``PAUSED``):
        then only ``buffered`` bytes are unread.
        """
        return self._state not in (_HEAD, _DONE, _DONE_PENDING)

    @property
    def max_body_size(self) -> int:
        """The body limit of the message being parsed (``set_max_body_size`` changes it)."""
        return self._max_body

    def set_max_body_size(self, max_body_bytes: int) -> None:
        """Change the body limit of the message being parsed (per-request override)."""
        self._max_body = max_body_bytes

    @property
    def declared_body_too_large(self) -> bool:
        """True when the Content-Length of the message being parsed is over the body limit.

        ``next_event()`` will raise the 413 without waiting for a body byte; a
        server asks first so that it never invites such a body with a
        ``100 Continue`` (RFC 9110 10.1.1 lets it answer the final status instead).
        """
        return self._state == _BODY_LENGTH and self._body_seen == 0 and self._remaining > self._max_body

    # -- pulling events --------------------------------------------------

    def next_event(self) -> Event:
        """Return the next event, ``NEED_DATA`` or ``PAUSED``.

        Raises:
            ProtocolError: the input is not valid HTTP/1.1; the parser stays
                broken afterwards and the connection should be closed.
        """
        state = self._state
        try:
            if state == _HEAD:
                return self._next_head()
            if state == _BODY_LENGTH:
                return self._next_length_body()
            if state == _DONE:
                return PAUSED
            if state == _DONE_PENDING:
                self._state = _DONE
                return _NO_TRAILERS
            if state == _UNTIL_CLOSE:
                return self._next_until_close()
            if state == _ERROR:
                raise ProtocolError("parser already failed", 400)
            return self._next_chunked()
        except ProtocolError:
            self._state = _ERROR
            raise

    def start_next(self) -> None:
        """Begin the next message after the previous one was answered.

        Nothing to do for a parser already at a message start (one a server
        took for bytes that arrived while it answered the previous message
        on another parser).

        Raises:
            RuntimeError: the current message is not complete yet.
        """
        if self._state == _HEAD:
            return
        if self._state != _DONE:
            raise RuntimeError("start_next() before the message was complete")
        self._state = _HEAD
        self._scanned = 0
        self._max_body = self.limits.max_body_bytes

    # -- head ------------------------------------------------------------

    def _next_head(self) -> Event:
        buf = self._buf
        if not buf:
            return NEED_DATA
        if self._scanned == 0 and buf[0] == 13:  # CR: maybe empty lines first
            self._skip_leading_crlf()
        end = buf.find(b"\r\n\r\n", self._scanned)
        if end < 0:
            self._check_incomplete_head()
            self._scanned = max(0, len(buf) - 3)
            return NEED_DATA
        if end + 4 > self.limits.max_header_bytes:
            self._raise_head_too_large()
        head = buf[:end]
        del buf[: end + 4]
        self._scanned = 0
        return self._read_head(head)

    def _skip_leading_crlf(self) -> None:
        # RFC 9112 2.2: a server SHOULD ignore at least one empty line (CRLF)
        # received before the request-line.
        buf = self._buf
        while buf[:2] == b"\r\n":
            del buf[:2]

    def _check_incomplete_head(self) -> None:
        buf = self._buf
        if self._eof and buf:
            raise ProtocolError("connection closed inside the message head")
        if _BARE_LF.search(buf, max(0, self._scanned - 1)):
            raise ProtocolError("bare LF line terminator in message head")
        if len(buf) > self.limits.max_header_bytes:
            self._raise_head_too_large()

    def _raise_head_too_large(self) -> None:
        raise ProtocolError("message head larger than the limit", 431)

    def _read_head(self, head: bytearray) -> Event:
        """Parse a complete head (without the blank line that ends it) and decide the body's framing."""
        raise NotImplementedError

    # -- framing ---------------------------------------------------------

    def _begin_body(self, chunked: bool, length: int | None) -> None:
        self._body_seen = 0
        if chunked:
            self._state = _CHUNK_SIZE_LINE
            self._trailer_lines = []
            self._trailer_bytes = 0
        elif length is None:
            self._state = _UNTIL_CLOSE
        else:
            self._remaining = length
            self._state = _BODY_LENGTH if length else _DONE_PENDING

    def _count_body(self, n: int) -> None:
        self._body_seen += n
        if self._body_seen > self._max_body:
            raise ProtocolError("body larger than the limit", 413)

    # -- Content-Length bodies --------------------------------------------

    def _next_length_body(self) -> Event:
        if self._body_seen == 0 and self._remaining > self._max_body:
            raise ProtocolError("Content-Length larger than the body limit", 413)
        if not self._buf:
            return self._need_more("body")
        return self._take_body(_DONE_PENDING)

    def _take_body(self, state_when_done: int) -> Event:
        """Up to ``_remaining`` buffered body bytes as a ``Body``; ``state_when_done`` once all arrived."""
        buf = self._buf
        n = min(len(buf), self._remaining)
        data = bytes(buf[:n])
        del buf[:n]
        self._remaining -= n
        self._count_body(n)
        if self._remaining == 0:
            self._state = state_when_done
        return Body(data)

    # -- bodies delimited by the connection closing (responses only) ------

    def _next_until_close(self) -> Event:
        buf = self._buf
        if buf:
            data = bytes(buf)
            buf.clear()
            self._count_body(len(data))
            return Body(data)
        if self._eof:
            self._state = _DONE
            return _NO_TRAILERS
        return NEED_DATA

    # -- chunked bodies ---------------------------------------------------

    def _next_chunked(self) -> Event:
        while True:
            state = self._state
            if state == _CHUNK_SIZE_LINE:
                if not self._read_chunk_size():
                    return self._need_more("chunk size")
            elif state == _CHUNK_DATA:
                return self._read_chunk_data()
            elif state == _CHUNK_END:
                if not self._read_chunk_end():
                    return self._need_more("chunk")
            elif state == _TRAILERS:
                trailers = self._read_trailers()
                if trailers is None:
                    return self._need_more("trailers")
                self._state = _DONE
                return EndOfMessage(trailers)
            else:
                raise RuntimeError(f"chunked reader in state {state}")

    def _need_more(self, where: str) -> Event:
        if self._eof:
            raise ProtocolError(f"connection closed inside the {where}")
        return NEED_DATA

    def _read_chunk_size(self) -> bool:
        # RFC 9112 7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
        #   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
        # Extensions carry nothing we use; they are skipped but capped.
        buf = self._buf
        limit = self.limits.max_chunk_line_bytes
        end = buf.find(b"\r\n", 0, limit)
        if end < 0:
            if len(buf) >= limit:
                raise ProtocolError("chunk-size line too long")
            return False
        line = bytes(buf[:end])
        del buf[: end + 2]
        size_part, _, ext = line.partition(b";")
        size_part = size_part.rstrip(b" \t")
        if not _CHUNK_SIZE.fullmatch(size_part) or FORBIDDEN_IN_HEAD.search(ext) or b"\n" in ext:
            raise ProtocolError(f"invalid chunk-size line {line[:40]!r}")
        size = int(size_part, 16)
        if size == 0:
            self._state = _TRAILERS
        else:
            if self._body_seen + size > self._max_body:
                raise ProtocolError("body larger than the limit", 413)
            self._remaining = size
            self._state = _CHUNK_DATA
        return True

    def _read_chunk_data(self) -> Event:
        if not self._buf:
            return self._need_more("chunk")
        return self._take_body(_CHUNK_END)

    def _read_chunk_end(self) -> bool:
        buf = self._buf
        if len(buf) < 2:
            if buf and buf[:1] != b"\r":
                raise ProtocolError("chunk data not followed by CRLF")
            return False
        if buf[:2] != b"\r\n":
            raise ProtocolError("chunk data not followed by CRLF")
        del buf[:2]
        self._state = _CHUNK_SIZE_LINE
        return True

    def _read_trailers(self) -> Headers | None:
        # RFC 9112 7.1.2: trailer-section = *( field-line CRLF ), then CRLF.
        buf = self._buf
        limit = self.limits.max_trailer_bytes
        while True:
            end = buf.find(b"\r\n", 0, limit + 2)
            if end < 0:
                if len(buf) > limit:
                    raise ProtocolError("trailer section larger than the limit", 431)
                return None
            line = bytes(buf[:end])
            del buf[: end + 2]
            lines = self._trailer_lines
            if lines is None:  # cannot happen: trailers follow a chunked body, which made the list
                raise RuntimeError("trailers read before a chunked body began")
            if not line:
                return parse_fields(lines, 0)
            self._trailer_bytes += end + 2
            if self._trailer_bytes > limit:
                raise ProtocolError("trailer section larger than the limit", 431)
            if FORBIDDEN_IN_HEAD.search(line):
                raise ProtocolError("forbidden character in trailer field")
            lines.append(line)


class RequestParser(_MessageParser):
    """Server side: request heads and bodies from one connection, pipelining included.

    Typical use::

        parser.feed(data)
        while (event := parser.next_event()) not in (NEED_DATA, PAUSED):
            ...
        # after answering a complete request:
        parser.start_next()
    """

    __slots__ = ()

    def _raise_head_too_large(self) -> None:
        if self._buf.find(b"\r\n", 0, self.limits.max_header_bytes) < 0:
            raise ProtocolError("request target too long", 414)
        super()._raise_head_too_large()

    def _read_head(self, head: bytearray) -> Event:
        limits = self.limits
        found = None
        if _fast_read_request_head is not None:
            found = _fast_read_request_head(head, limits.max_headers, limits.max_target_bytes)
        if found is None:
            found = _split_request_head(head, limits)
        request = found if isinstance(found, RequestHead) else self._begin_request(*found)
        if request.chunked or request.content_length:
            self._begin_body(request.chunked, request.content_length or 0)
        else:  # no body, the usual GET: what _begin_body(False, 0) would do
            self._body_seen = 0
            self._remaining = 0
            self._state = _DONE_PENDING
        return request

    def _begin_request(
        self, method: str, target: str, version: str, headers: Headers, fields: dict[str, list[str]]
    ) -> RequestHead:
        """Check what a request's fields decide (Host, framing, expectations), and build its head."""
        if version == "HTTP/1.1" and len(fields.get("host", ())) != 1:
            raise ProtocolError("HTTP/1.1 request needs exactly one Host header")
        if target[0] != "/":
            target = _origin_form(target, headers, fields)
        te = fields.get("transfer-encoding")
        cl = fields.get("content-length")
        chunked = False
        length: int | None = None
        if te is not None:
            if cl is not None:
                raise ProtocolError("both Content-Length and Transfer-Encoding (smuggling)")
            if version == "HTTP/1.0":
                raise ProtocolError("Transfer-Encoding in an HTTP/1.0 request")
            chunked = _is_chunked(te)
        elif cl is not None:
            length = _content_length(cl)
        connection = fields.get("connection")
        # Without a Connection field only the version decides (RFC 9112 9.3).
        keep_alive = version == "HTTP/1.1" if connection is None else _keep_alive(version, connection)
        expect = fields.get("expect")
        expect_continue = False
        if expect is not None and version == "HTTP/1.1":
            if _comma_tokens(expect) != ["100-continue"]:
                raise ProtocolError("unsupported expectation", 417)
            expect_continue = chunked or bool(length)
        # Built once, positionally, with every decision made (speed: bench_inprocess).
        return _new_request_head(method, target, version, headers, keep_alive, expect_continue, chunked, length, fields)


class ResponseParser(_MessageParser):
    """Client side: one response per ``start_response(method)``.

    1xx interim responses are returned as ``ResponseHead`` events and parsing
    continues with the next head of the same exchange. Bodies are framed as
    RFC 9112 6.3 says: none for HEAD, 1xx, 204 and 304; chunked; Content-Length;
    otherwise until the server closes the connection.
    """

    __slots__ = ("_method",)

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._method = "GET"
        self._state = _DONE

    def start_response(self, method: str) -> None:
        """Expect the response to a request made with ``method``."""
        if self._state not in (_DONE, _HEAD):
            raise RuntimeError("start_response() while a response is in progress")
        self._method = method.upper()
        self._state = _HEAD
        self._scanned = 0
        self._max_body = self.limits.max_body_bytes

    def next_event(self) -> Event:
        """See ``_MessageParser.next_event``; EOF before any byte is an error here."""
        if self._state == _HEAD and not self._buf and self._eof:
            raise ProtocolError("connection closed before a response")
        return super().next_event()

    def _read_head(self, head: bytearray) -> Event:
        start_line, headers, fields = _split_head(head, self.limits.max_headers)
        version, status, reason = parse_status_line(start_line)
        lowered = fields
        keep_alive = _keep_alive(version, lowered.get("connection", []))
        response = ResponseHead(status, reason, version, headers, keep_alive)
        if 100 <= status < 200:
            self._state = _HEAD  # the final response follows
            return response
        if not response_has_body(status, self._method):
            self._state = _DONE_PENDING
            return response
        te = lowered.get("transfer-encoding")
        if te is not None:
            if lowered.get("content-length") is not None:
                raise ProtocolError("both Content-Length and Transfer-Encoding", 502)
            self._begin_body(_is_chunked(te), None)
        else:
            length = _content_length(lowered.get("content-length", []))
            self._begin_body(False, length)
            if length is None:
                response.keep_alive = False
        return response

"""Sans-IO HTTP/1.1: the only home of the message grammar (RFC 9110, RFC 9112).

Contract: no sockets, no asyncio, no imports from the rest of ``framework``.
Bytes go in through ``feed()``; events come out of ``next_event()``; errors are
``ProtocolError(message, status)`` carrying the status a server should answer.

Strategy: a pull parser over one ``bytearray``. The head is located with a
single ``find`` that remembers how far it already looked, so a client trickling
one byte at a time costs linear time; consumed bytes are deleted from the front
of the bytearray, which CPython does without copying the rest. Once a message
is complete the parser reports ``PAUSED`` and keeps any pipelined bytes in its
buffer until the server, having answered, calls ``start_next()``: the buffer is
the pipelining queue. Validation of a whole head is one regex pass for
forbidden characters plus a ``partition`` per header line: no pattern here can
backtrack.

The same body machinery (Content-Length, chunked with extensions and trailers,
read-until-close) serves ``RequestParser`` on the server and ``ResponseParser``
in the client. Response heads and chunks are serialised here too, with header
names and values checked so that nothing a handler sets can split a response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

__all__ = [
    "Body",
    "EndOfMessage",
    "Event",
    "Limits",
    "NEED_DATA",
    "PAUSED",
    "ProtocolError",
    "RequestHead",
    "RequestParser",
    "ResponseHead",
    "ResponseParser",
    "encode_chunk",
    "frame_response",
    "parse_fields",
    "ResponseFraming",
    "LAST_CHUNK",
    "reason_phrase",
    "response_has_body",
    "serialize_request_head",
    "serialize_response_head",
    "validate_header_field",
]


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
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_TOKEN_STR = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
# RFC 9112 3.2: request-target in origin-, absolute-, authority- or
# asterisk-form; all are visible ASCII without spaces.
_REQUEST_TARGET = re.compile(rb"[\x21-\x7e]+")
# RFC 9112 2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT
_HTTP_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
# RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
_STATUS_CODE = re.compile(rb"[0-9]{3}")
# RFC 9110 5.5: field-value = *field-content; field-vchar = VCHAR / obs-text,
# with SP and HTAB allowed inside. So any CTL other than HTAB is forbidden, and
# CR or LF may appear only as the CRLF that ends a line.
_FORBIDDEN_IN_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n")
# RFC 9112 2.2: a line ends with CRLF; a bare LF (not preceded by CR) in an
# unfinished head already condemns it, wherever it sits.
_BARE_LF = re.compile(rb"(?<!\r)\n")
# On the way out: CR, LF or NUL in a name or value would split the message.
_FORBIDDEN_OUT = re.compile(r"[\x00\r\n]")
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
        ValueError: the name is not a token, or either part holds CR, LF or NUL.
    """
    if not _TOKEN_STR.fullmatch(name):
        raise ValueError(f"invalid header name {name!r}")
    if _FORBIDDEN_OUT.search(value):
        raise ValueError(f"unsafe header value {value!r} (CR, LF or NUL)")


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
        self._trailer_lines: list[bytes] = []
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

    @property
    def buffered(self) -> int:
        """Bytes received but not yet turned into events."""
        return len(self._buf)

    @property
    def at_message_start(self) -> bool:
        """True between messages, before any byte of the next head is parsed."""
        return self._state == _HEAD

    def set_max_body_size(self, max_body_bytes: int) -> None:
        """Change the body limit of the message being parsed (per-request override)."""
        self._max_body = max_body_bytes

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
                return EndOfMessage()
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

        Raises:
            RuntimeError: the current message is not complete yet.
        """
        if self._state != _DONE:
            raise RuntimeError("start_next() before the message was complete")
        self._state = _HEAD
        self._scanned = 0
        self._max_body = self.limits.max_body_bytes

    # -- head ------------------------------------------------------------

    def _next_head(self) -> Event:
        buf = self._buf
        if self._scanned == 0:
            self._skip_leading_crlf()
        end = buf.find(b"\r\n\r\n", self._scanned)
        if end < 0:
            self._check_incomplete_head()
            self._scanned = max(0, len(buf) - 3)
            return NEED_DATA
        if end + 4 > self.limits.max_header_bytes:
            self._raise_head_too_large()
        head = bytes(buf[:end])
        del buf[: end + 4]
        self._scanned = 0
        if _FORBIDDEN_IN_HEAD.search(head):
            raise ProtocolError("forbidden character in message head (bare CR/LF, NUL or control)")
        lines = head.split(b"\r\n")
        if len(lines) - 1 > self.limits.max_headers:
            raise ProtocolError("too many header fields", 431)
        return self._parse_head(lines[0], parse_fields(lines, 1))

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

    def _parse_head(self, start_line: bytes, headers: Headers) -> Event:
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
        buf = self._buf
        if not buf:
            if self._eof:
                raise ProtocolError("connection closed inside the body")
            return NEED_DATA
        n = min(len(buf), self._remaining)
        data = bytes(buf[:n])
        del buf[:n]
        self._remaining -= n
        self._count_body(n)
        if self._remaining == 0:
            self._state = _DONE_PENDING
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
            return EndOfMessage()
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
        if not _CHUNK_SIZE.fullmatch(size_part) or _FORBIDDEN_IN_HEAD.search(ext) or b"\n" in ext:
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
        buf = self._buf
        if not buf:
            return self._need_more("chunk")
        n = min(len(buf), self._remaining)
        data = bytes(buf[:n])
        del buf[:n]
        self._remaining -= n
        self._count_body(n)
        if self._remaining == 0:
            self._state = _CHUNK_END
        return Body(data)

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
            if not line:
                return parse_fields(self._trailer_lines, 0)
            self._trailer_bytes += end + 2
            if self._trailer_bytes > limit:
                raise ProtocolError("trailer section larger than the limit", 431)
            if _FORBIDDEN_IN_HEAD.search(line):
                raise ProtocolError("forbidden character in trailer field")
            self._trailer_lines.append(line)


def parse_fields(lines: list[bytes], start: int = 0) -> Headers:
    """Parse ``field-name ":" OWS field-value OWS`` lines (RFC 9112 5).

    The caller already refused forbidden characters in the whole block.
    """
    headers: Headers = []
    for i in range(start, len(lines)):
        line = lines[i]
        if line[:1] in (b" ", b"\t"):
            # RFC 9112 5.2: obs-fold is rejected with 400.
            raise ProtocolError("obsolete line folding in header")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise ProtocolError(f"malformed header line {line[:40]!r}")
        headers.append((name.decode("ascii"), value.strip(b" \t").decode("latin-1")))
    return headers


def _header_values(headers: Headers, lname: str) -> list[str]:
    return [v for n, v in headers if n.lower() == lname]


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

    def _parse_head(self, start_line: bytes, headers: Headers) -> Event:
        method, target, version = _parse_request_line(start_line, self.limits)
        head = RequestHead(method, target, version, headers, keep_alive=False)
        lowered: dict[str, list[str]] = {}
        for name, value in headers:
            lowered.setdefault(name.lower(), []).append(value)
        if version == "HTTP/1.1" and len(lowered.get("host", ())) != 1:
            raise ProtocolError("HTTP/1.1 request needs exactly one Host header")
        te = lowered.get("transfer-encoding")
        cl = lowered.get("content-length")
        if te is not None:
            if cl is not None:
                raise ProtocolError("both Content-Length and Transfer-Encoding (smuggling)")
            if version == "HTTP/1.0":
                raise ProtocolError("Transfer-Encoding in an HTTP/1.0 request")
            head.chunked = _is_chunked(te)
        else:
            head.content_length = _content_length(cl or [])
        head.keep_alive = _keep_alive(version, lowered.get("connection", []))
        expect = lowered.get("expect")
        if expect is not None and version == "HTTP/1.1":
            if _comma_tokens(expect) != ["100-continue"]:
                raise ProtocolError("unsupported expectation", 417)
            head.expect_continue = head.chunked or bool(head.content_length)
        self._begin_body(head.chunked, head.content_length or 0)
        return head


def _parse_request_line(line: bytes, limits: Limits) -> tuple[str, str, str]:
    # RFC 9112 3: request-line = method SP request-target SP HTTP-version
    parts = line.split(b" ")
    if len(parts) != 3:
        raise ProtocolError(f"malformed request line {line[:60]!r}")
    method, target, version = parts
    if len(target) > limits.max_target_bytes:
        raise ProtocolError("request target too long", 414)
    if not _TOKEN.fullmatch(method) or not _REQUEST_TARGET.fullmatch(target):
        raise ProtocolError(f"malformed request line {line[:60]!r}")
    return method.decode("ascii"), target.decode("ascii"), _parse_version(version)


def _parse_version(version: bytes) -> str:
    match = _HTTP_VERSION.fullmatch(version)
    if match is None:
        raise ProtocolError(f"malformed HTTP version {version[:20]!r}")
    text = version.decode("ascii")
    if text not in _SUPPORTED_VERSIONS:
        raise ProtocolError(f"HTTP version {text} not supported", 505)
    return text


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

    def _parse_head(self, start_line: bytes, headers: Headers) -> Event:
        parts = start_line.split(b" ", 2)
        if len(parts) < 2 or not _STATUS_CODE.fullmatch(parts[1]):
            raise ProtocolError(f"malformed status line {start_line[:60]!r}", 502)
        try:
            version = _parse_version(parts[0])
        except ProtocolError as exc:
            raise ProtocolError(f"malformed status line: {exc.message}", 502) from None
        status = int(parts[1])
        reason = parts[2].decode("latin-1") if len(parts) == 3 else ""
        lowered: dict[str, list[str]] = {}
        for name, value in headers:
            lowered.setdefault(name.lower(), []).append(value)
        keep_alive = _keep_alive(version, lowered.get("connection", []))
        head = ResponseHead(status, reason, version, headers, keep_alive)
        if 100 <= status < 200:
            self._state = _HEAD  # the final response follows
            return head
        if not response_has_body(status, self._method):
            self._state = _DONE_PENDING
            return head
        te = lowered.get("transfer-encoding")
        if te is not None:
            if lowered.get("content-length") is not None:
                raise ProtocolError("both Content-Length and Transfer-Encoding", 502)
            self._begin_body(_is_chunked(te), None)
        else:
            length = _content_length(lowered.get("content-length", []))
            self._begin_body(False, length)
            if length is None:
                head.keep_alive = False
        return head


# -- serialising ----------------------------------------------------------

LAST_CHUNK: Final = b"0\r\n\r\n"
"""The chunk that ends a chunked body, with an empty trailer section."""

_REASONS: dict[int, str] = {s.value: s.phrase for s in HTTPStatus}


def reason_phrase(status: int) -> str:
    """The standard reason phrase for ``status``, or "Unknown"."""
    return _REASONS.get(status, "Unknown")


def response_has_body(status: int, request_method: str) -> bool:
    """RFC 9110 6.4.1: no body after HEAD, or in 1xx, 204 and 304 responses."""
    return not (request_method == "HEAD" or status < 200 or status in (204, 304))


@dataclass(frozen=True, slots=True)
class ResponseFraming:
    """How a response body is delimited, and whether the connection stays open.

    Attributes:
        has_body: False for HEAD, 1xx, 204 and 304 (RFC 9110 6.4.1).
        chunked: the body is sent with chunked transfer coding.
        length: body bytes promised by Content-Length (0 without a body);
            None when the body is chunked or ends when the connection closes.
        keep_alive: the connection may carry another request afterwards.
        extra_headers: framing headers to add (Transfer-Encoding, Connection).
    """

    has_body: bool
    chunked: bool
    length: int | None
    keep_alive: bool
    extra_headers: Headers


def frame_response(
    request: RequestHead,
    status: int,
    *,
    content_length: str | None,
    transfer_encoding: str | None,
    connection: str | None,
    keep_alive: bool,
) -> ResponseFraming:
    """Decide a response's framing from the request and the headers the application set.

    RFC 9112 6.3 and 9.3: a known length is sent as is; otherwise HTTP/1.1
    gets chunked coding and HTTP/1.0 a body that ends with the connection.
    ``keep_alive`` is the server's own wish (False while draining, or when the
    request body was not read); the request's and the response's
    ``Connection`` can only turn it off.

    Raises:
        ValueError: ``content_length`` is not a non-negative integer.
    """
    has_body = response_has_body(status, request.method)
    extra: Headers = []
    keep = keep_alive and request.keep_alive and "close" not in (connection or "").lower()
    chunked = False
    length: int | None = None
    if content_length is not None:
        if not content_length.isdigit() or not content_length.isascii():
            raise ValueError(f"invalid Content-Length {content_length!r}")
        length = int(content_length) if has_body else 0
    elif not has_body:
        length = 0
    elif transfer_encoding is None:
        if request.version == "HTTP/1.1":
            chunked = True
            extra.append(("Transfer-Encoding", "chunked"))
        else:
            keep = False  # HTTP/1.0: the body ends when the connection closes
    if keep:
        if request.version == "HTTP/1.0":
            extra.append(("Connection", "keep-alive"))
    elif connection is None:
        extra.append(("Connection", "close"))
    return ResponseFraming(has_body, chunked, length, keep, extra)


def serialize_response_head(
    status: int,
    headers: Headers,
    *,
    reason: str | None = None,
    version: str = "HTTP/1.1",
) -> bytes:
    """Render a status line and header block, ending with the blank line.

    Raises:
        ValueError: a header name is not a token, or a name, value or reason
            holds CR, LF or NUL.
    """
    if reason is None:
        reason = reason_phrase(status)
    elif _FORBIDDEN_OUT.search(reason):
        raise ValueError(f"unsafe reason phrase {reason!r}")
    lines = [f"{version} {status} {reason}\r\n"]
    for name, value in headers:
        validate_header_field(name, value)
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def serialize_request_head(method: str, target: str, headers: Headers) -> bytes:
    """Render a request line and header block for the client.

    Raises:
        ValueError: the method is not a token, the target holds spaces or
            controls, or a header is unsafe.
    """
    if not _TOKEN_STR.fullmatch(method):
        raise ValueError(f"invalid method {method!r}")
    if not _REQUEST_TARGET.fullmatch(target.encode("latin-1", "replace")):
        raise ValueError(f"invalid request target {target!r}")
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    for name, value in headers:
        validate_header_field(name, value)
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def encode_chunk(data: bytes) -> bytes:
    """Frame ``data`` as one chunk; empty data yields nothing (it would end the body)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)

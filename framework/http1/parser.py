"""The pull parsers: ``RequestParser`` (server) and ``ResponseParser`` (client).

Part of the sans-IO ``framework.http1`` package; its docstring has the
strategy (one bytearray, a head search that remembers how far it looked,
``PAUSED`` as the pipelining queue). The grammar of a complete head (start
lines, field lines, what the fields decide about framing) is in ``head``; here
are the buffer, the search for the end of the head and the body's state machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from framework.http1.grammar import (
    FORBIDDEN_IN_HEAD,
    NEED_DATA,
    PAUSED,
    PURE_PYTHON,
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
from framework.http1.head import RequestParts, parse_fields, parse_status_line
from framework.http1.head import comma_tokens as _comma_tokens
from framework.http1.head import content_length as _content_length
from framework.http1.head import is_chunked as _is_chunked
from framework.http1.head import keep_alive as _keep_alive
from framework.http1.head import origin_form as _origin_form
from framework.http1.head import split_head as _split_head
from framework.http1.head import split_request_head as _split_request_head

# RFC 9112 2.2: a line ends with CRLF; a bare LF (not preceded by CR) in an
# unfinished head already condemns it, wherever it sits.
_BARE_LF = re.compile(rb"(?<!\r)\n")
# RFC 9112 7.1: chunk-size = 1*HEXDIG
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
# The end of a message without trailers, the usual one, is one shared event:
# a new event and list per request cost more than the rest of a bodiless
# request's framing (loadtest/instructions.py). Its empty list is never filled.
_NO_TRAILERS = EndOfMessage()

# Parser states.
_HEAD, _BODY_LENGTH, _CHUNK_SIZE_LINE, _CHUNK_DATA, _CHUNK_END = 0, 1, 2, 3, 4
_TRAILERS, _UNTIL_CLOSE, _DONE, _ERROR = 5, 6, 7, 8
# The last body byte is consumed but EndOfMessage not yet returned.
_DONE_PENDING = 9


# The compiled twin of _split_request_head (speedups_head.c's read_request_head), or
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
        except TypeError:  # RequestHead changed shape and speedups_requesthead.c did not follow: its own __init__
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

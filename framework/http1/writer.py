"""Serialising: response and request heads, chunks, and how a response is framed.

Part of the sans-IO ``framework.http1`` package. Names and values are checked
on the way out, so nothing an application sets can split a message.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Final, NamedTuple

from framework.http1.grammar import (
    CTL_OUT,
    DISPLAY_NAMES,
    FORBIDDEN_OUT,
    PURE_PYTHON,
    REQUEST_TARGET,
    TOKEN,
    Headers,
    field_display_name,
    reason_phrase,
    validate_header_field,
)

LAST_CHUNK: Final = b"0\r\n\r\n"
"""The chunk that ends a chunked body, with an empty trailer section."""


class ResponseFraming(NamedTuple):
    """How a response body is delimited, and whether the connection stays open.

    A named tuple rather than a frozen dataclass: made once per response, and
    a frozen dataclass's ``__init__`` costs five ``object.__setattr__`` calls
    (bench_inprocess).

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
    extra_headers: Sequence[tuple[str, str]]


_new_tuple = tuple.__new__
# The usual response's framing headers: none, and no list made for them.
_NO_EXTRA: Final[tuple[()]] = ()


def frame_response(
    method: str,
    version: str,
    status: int,
    content_length: str | None,
    transfer_encoding: str | None,
    connection: str | None,
    keep_alive: bool,
) -> ResponseFraming:
    """Decide a response's framing from the request and the headers the application set.

    RFC 9112 6.3 and 9.3: a known length is sent as is; otherwise HTTP/1.1
    gets chunked coding and HTTP/1.0 a body that ends with the connection.
    ``method`` and ``version`` are the request's. ``keep_alive`` is whether
    the connection may stay open: the request's head allowed it
    (``RequestHead.keep_alive``) and so does the server (False while
    draining, or when the request body was not read); the response's
    ``Connection`` can only turn it off.

    Every argument may be given by position: the server's one call does so,
    since CPython 3.11 runs a call with keywords on its generic, unspecialised
    path (loadtest/longpoll_fanout.py --instructions: about 2.5k instructions
    per response).

    Raises:
        ValueError: ``content_length`` is not a non-negative integer.
    """
    # response_has_body(), inlined: this runs once per response.
    has_body = not (method == "HEAD" or status < 200 or status == 204 or status == 304)
    keep = keep_alive and (connection is None or "close" not in connection.lower())
    if content_length is not None:
        if not content_length.isdigit() or not content_length.isascii():
            raise ValueError(f"invalid Content-Length {content_length!r}")
        if keep and version == "HTTP/1.1":  # the usual response: nothing to add
            # tuple.__new__ skips the named tuple's Python-level __new__
            # (0.4 -> 0.2 µs, bench_inprocess).
            return _new_tuple(ResponseFraming, (has_body, False, int(content_length) if has_body else 0, True, _NO_EXTRA))
        chunked, length = False, int(content_length) if has_body else 0
    elif not has_body:
        chunked, length = False, 0
    elif transfer_encoding is not None:
        chunked, length = False, None
    elif version == "HTTP/1.1":
        chunked, length = True, None
    else:  # HTTP/1.0: the body ends when the connection closes
        chunked, length, keep = False, None, False
    extra = [("Transfer-Encoding", "chunked")] if chunked else []
    if keep:
        if version == "HTTP/1.0":
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
        ValueError: a header name is not a token, or a value or the reason
            holds a control character other than HTAB (RFC 9110 5.5).
    """
    if reason is None:
        reason = reason_phrase(status)
    # The reason is checked with the rest of the block.
    return _render_head(f"{version} {status} {reason}\r\n", headers)


# The compiled twin of serialize_response_fields (speedups_response.c), or None where it
# is not built or FRAMEWORK_HTTP1_PURE=1. It answers only when every name is a
# token and no text holds a control character or anything beyond Latin-1, and
# declines (None) the rest, which the Python code below then validates and
# refuses with its usual ValueError. Speed (bench_inprocess, this one alone against
# none): the server alone 18.0 -> 13.6 µs per request, the full stack 33.2 -> 29.0.
_fast_serialize_response_fields: (
    Callable[[int, Mapping[str, list[str]], Sequence[tuple[str, str]], str, str], bytes | None] | None
) = None
if not PURE_PYTHON:
    try:
        from framework.http1.speedups import serialize_response_fields as _fast_serialize_response_fields
    except ImportError:  # not built (no C compiler where it was installed): pure Python
        pass


def serialize_response_fields(
    status: int,
    fields: Mapping[str, list[str]],
    *,
    extra: Sequence[tuple[str, str]] = (),
    reason: str | None = None,
    version: str = "HTTP/1.1",
) -> bytes:
    """``serialize_response_head`` for fields kept as ``{lower-case name: [values]}`` (``HTTPHeaders``' storage).

    Names are written as ``field_display_name`` shows them, then ``extra``
    (framing fields) as given. Speed (bench_inprocess, 5 fields 2.2 -> 1.4
    µs): no list of pairs is built, and the lower-case names are checked
    against the known tokens straight from the dict's keys (a name is a
    token exactly when its lower-case form is). Anything unusual goes
    through ``serialize_response_head``, which names the culprit.

    Raises:
        ValueError: as ``serialize_response_head``.
    """
    if reason is None:
        reason = reason_phrase(status)
    if _fast_serialize_response_fields is not None:
        head = _fast_serialize_response_fields(status, fields, extra, reason, version)
        if head is not None:
            return head
    names = DISPLAY_NAMES
    block = "".join(
        [
            f"{names[key] if key in names else field_display_name(key)}: {value}\r\n"
            for key, values in fields.items()
            for value in values
        ]
    )
    if extra:
        block += "".join([f"{name}: {value}\r\n" for name, value in extra])
    text = f"{version} {status} {reason}\r\n{block}\r\n"
    lines = sum(map(len, fields.values())) + len(extra) + 2
    if (
        text.count("\n") != lines
        or text.count("\r") != lines
        or CTL_OUT.search(text)
        or not _TOKEN_NAMES.issuperset(fields)
        or (extra and not _TOKEN_NAMES.issuperset(map(_name_of, extra)))
    ):
        pairs = [(field_display_name(key), value) for key, values in fields.items() for value in values]
        return serialize_response_head(status, pairs + list(extra), reason=reason, version=version)
    return text.encode("latin-1")


class PreparedFields:
    """Header fields checked and serialised once, for the many responses that send them unchanged.

    A response that sets no header of its own sends the application's
    defaults (``Server``, ``Content-Type``, this second's ``Date``, the
    security headers): made into one block of lines here once a second, such
    a response is framed without a header map or a serialiser pass of its own
    (``serialize_prepared_response``; loadtest/longpoll_fanout.py
    --instructions).

    Attributes:
        fields: the fields as given, ``{lower-case name: [values]}``
            (``HTTPHeaders``' storage): what the block says, for a reader
            that wants a header map after all.
        block: their lines, as ``serialize_response_fields`` writes them.

    Raises:
        ValueError: as ``serialize_response_head``.
    """

    __slots__ = ("fields", "block")

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields: Mapping[str, list[str]] = dict(fields)
        head = serialize_response_fields(200, self.fields)
        self.block: bytes = head[head.index(b"\r\n") + 2 : -2]


# Status lines already checked, by (status, reason): bounded, as reasons may be an application's own.
_STATUS_LINES: dict[tuple[int, str], bytes] = {(200, "OK"): b"HTTP/1.1 200 OK\r\n"}
_STATUS_LINES_MAX = 256


def serialize_prepared_response(
    status: int,
    reason: str,
    prepared: PreparedFields,
    fields: Sequence[tuple[str, str]],
    content_length: str,
    extra: Sequence[tuple[str, str]],
) -> bytes:
    """A response head: the status line, ``prepared``'s block, ``fields``, ``Content-Length``, ``extra``.

    The same head as ``serialize_response_fields`` makes of all of them in
    that order, checked as strictly.

    Args:
        status: the status code, three digits.
        reason: its phrase, already chosen.
        prepared: the fields checked and serialised beforehand.
        fields: this response's own, (lower-case name, value) pairs (an
            ``ETag``, a request id), names written as ``serialize_response_fields``
            writes them.
        content_length: the body's length, in decimal.
        extra: the framing fields ``frame_response`` decided, written as given.

    Returns:
        The head, ending with the blank line.

    Raises:
        ValueError: the status is not three digits, the reason, a name or a
            value is unsafe, or ``content_length`` is not a decimal number.
    """
    line = _STATUS_LINES.get((status, reason))
    if line is None:
        line = _status_line(status, reason)
    text = ""
    names = DISPLAY_NAMES
    for name, value in fields:
        if name not in _TOKEN_NAMES or not value.isascii() or not value.isprintable():
            validate_header_field(name, value)  # (a name not seen before, a tab, or Latin-1 beyond ASCII)
            if len(_TOKEN_NAMES) < _TOKEN_NAMES_MAX:
                _TOKEN_NAMES.add(name)  # (the name itself was checked: a token)
        display = names[name] if name in names else field_display_name(name)
        text += f"{display}: {value}\r\n"
    if not content_length.isdigit() or not content_length.isascii():
        raise ValueError(f"invalid Content-Length {content_length!r}")
    text += f"Content-Length: {content_length}\r\n"
    for name, value in extra:
        validate_header_field(name, value)
        text += f"{name}: {value}\r\n"
    return line + prepared.block + (text + "\r\n").encode("latin-1")


# The compiled twin of prepared_response (speedups_response.c) for the usual response
# (kept open, HTTP/1.1, not HEAD, a status with a body), or None where it is
# not built or FRAMEWORK_HTTP1_PURE=1; it declines (None) anything else, as
# _fast_serialize_response_fields does. Speed (longpoll_fanout.py
# --instructions): framing and serialising in Python cost about 14k
# instructions a response, this about 1k.
_fast_prepared_response: Callable[[str, str, int, str, bytes, Sequence[tuple[str, str]], bytes, bool], bytes | None] | None = None
if not PURE_PYTHON:
    try:
        from framework.http1.speedups import prepared_response as _fast_prepared_response
    except ImportError:  # not built: pure Python
        pass


def _declines_usual_response(*_arguments: object) -> None:
    """Pure Python's ``usual_prepared_response``: declines, and ``prepared_response`` frames each one."""
    return None


#: The whole message of the usual response on prepared fields, or None for
#: any other (then ``prepared_response`` frames it). The usual one is HTTP/1.1,
#: not HEAD, a status with a body, the connection kept open, so its framing
#: needs no asking: a body, not chunked, ``len(body)`` long, kept alive. The
#: compiled twin itself where it is built (a server calls it for each prepared
#: response it keeps open, with no Python call in between); else it declines
#: all. Takes ``prepared.block``. Bound at import: tests that swap
#: ``_fast_prepared_response`` change ``prepared_response`` only.
usual_prepared_response = _fast_prepared_response if _fast_prepared_response is not None else _declines_usual_response


def prepared_response(
    method: str,
    version: str,
    status: int,
    reason: str,
    prepared: PreparedFields,
    fields: Sequence[tuple[str, str]],
    body: bytes,
    keep_alive: bool,
) -> tuple[bytes, ResponseFraming]:
    """A whole response on prepared fields (head and body, one bytes object) and its framing.

    ``frame_response`` frames it with ``body``'s length as its
    ``Content-Length``; ``serialize_prepared_response`` writes the head.
    For a status that has a body: a 1xx, 204 or 304 response carries no
    ``Content-Length`` of a body (RFC 9110 8.6), so it has no place here.
    Every argument may be given by position (see ``frame_response``).

    Args:
        method, version: the request's, as ``frame_response`` takes them.
        status, reason: as ``serialize_prepared_response`` takes them.
        prepared, fields: the prepared fields, then this response's own.
        body: the whole body; left out of the message where the response
            has none (a HEAD request's), its length still sent.
        keep_alive: whether the connection may stay open (``frame_response``).

    Returns:
        The message, head and body in one bytes object, and its framing.

    Raises:
        ValueError: a status without a body, or as ``serialize_prepared_response``.
    """
    if _fast_prepared_response is not None:
        message = _fast_prepared_response(method, version, status, reason, prepared.block, fields, body, keep_alive)
        if message is not None:
            return message, _new_tuple(ResponseFraming, (True, False, len(body), True, _NO_EXTRA))
    if status < 200 or status == 204 or status == 304:
        raise ValueError(f"a {status} response has no body to prepare: serialise its head with serialize_response_fields")
    length = str(len(body))
    framing = frame_response(method, version, status, length, None, None, keep_alive)
    head = serialize_prepared_response(status, reason, prepared, fields, length, framing.extra_headers)
    return (head + body if framing.has_body else head), framing


def _status_line(status: int, reason: str) -> bytes:
    """``HTTP/1.1 <status> <reason>``, checked, and remembered while there is room."""
    if not 100 <= status <= 999:
        raise ValueError(f"invalid status code {status}")
    line = _render_head(f"HTTP/1.1 {status} {reason}\r\n", [])[:-2]
    if len(_STATUS_LINES) < _STATUS_LINES_MAX:
        _STATUS_LINES[(status, reason)] = line
    return line


# Header names already found to be tokens. Speed (bench_inprocess): the same
# few names recur on every response, and a set lookup per name is cheaper
# than joining the names for one regex. Bounded, so odd names cannot grow it.
_TOKEN_NAMES: set[str] = set()
_TOKEN_NAMES_MAX = 1000


def _render_head(start_line: str, headers: Headers) -> bytes:
    """Join a start line and fields, refusing any name or value that could split them.

    Validated as a whole (speed: one check per response, not per field): the
    block may hold exactly one CR and one LF per line and no other control
    character but HTAB, and every name must be a known token. Only when that fails is each part looked at,
    to name the culprit.
    """
    block = start_line + "".join([f"{name}: {value}\r\n" for name, value in headers]) + "\r\n"
    lines = len(headers) + 2
    if (
        block.count("\n") != lines
        or block.count("\r") != lines
        or CTL_OUT.search(block)
        or not (_TOKEN_NAMES.issuperset(map(_name_of, headers)) or _remember_tokens([n for n, _ in headers]))
    ):
        if FORBIDDEN_OUT.search(start_line, 0, len(start_line) - 2):
            raise ValueError(f"unsafe start line {start_line[:-2]!r} (a control character)")
        for name, value in headers:
            validate_header_field(name, value)
    return block.encode("latin-1")


_name_of = operator.itemgetter(0)


def _remember_tokens(names: list[str]) -> bool:
    """True if every name is a token; remembers them (and their lower-case forms) for next time."""
    for name in names:
        if not TOKEN.fullmatch(name):
            return False
    if len(_TOKEN_NAMES) < _TOKEN_NAMES_MAX:
        _TOKEN_NAMES.update(names)
        _TOKEN_NAMES.update([name.lower() for name in names])
    return True


def serialize_request_head(method: str, target: str, headers: Headers) -> bytes:
    """Render a request line and header block for the client.

    Raises:
        ValueError: the method is not a token, the target holds spaces or
            controls, or a header is unsafe.
    """
    if not TOKEN.fullmatch(method):
        raise ValueError(f"invalid method {method!r}")
    if not REQUEST_TARGET.fullmatch(target):
        raise ValueError(f"invalid request target {target!r}")
    return _render_head(f"{method} {target} HTTP/1.1\r\n", headers)


def encode_chunk(data: bytes) -> bytes:
    """Frame ``data`` as one chunk; empty data yields nothing (it would end the body)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)

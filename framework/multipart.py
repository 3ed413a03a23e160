"""Sans-IO streaming ``multipart/form-data`` decoder (RFC 7578, RFC 2046 5.1).

Contract: no sockets, no asyncio, and nothing from the rest of ``framework``
but the sans-IO ``framework.http1`` (itself importing nothing): its
``NEED_DATA``, so every decoder's "feed me more" is one object, and its token
rule, so the header grammar has one home. It has the shape of ``framework.http1``: bytes go in through ``feed()``, and
``next_event()`` returns ``PartStart``, ``PartData``, ``PartEnd``,
``MultipartEnd`` or ``NEED_DATA``. Errors are ``MultipartError(message,
status)``: 400 for malformed input, 413 for a limit. ``parse_multipart`` (for
``request.files``) and ``@stream_request_body`` handlers that write parts to
disk share this one grammar.

Strategy: a pull parser over one ``bytearray``. The decoder acts as if the
body began with CRLF, so every delimiter, the first one included, is the same
byte string ``CRLF "--" boundary`` and one ``find`` locates it. Inside a part
body the decoder hands out every byte except a tail that could be the start
of a delimiter: the tail begins at the first CR among the last
``len(delimiter) - 1`` bytes. So the buffer stays smaller than one delimiter
plus one ``feed()``, and the next search starts where a delimiter could still
begin, never from the start of the part. However the input is split (one
byte at a time, or a body full of partial delimiters), each byte is searched
a bounded number of times: linear time. A part's header block is found by a
search for CRLF CRLF that remembers how far it already looked, and it is
capped. Consumed bytes are deleted from the front of the bytearray, which
CPython does without moving the rest.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from framework.http1 import FORBIDDEN_IN_HEAD, TCHAR, Sentinel
from framework.http1 import (
    NEED_DATA as NEED_DATA,  # re-exported: multipart.NEED_DATA is http1's
)


class MultipartError(Exception):
    """A multipart body is malformed or over a limit.

    Args:
        message: what was wrong, for logs and the error body.
        status: the status a server should answer with: 400, or 413 for a limit.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class MultipartLimits:
    """Every limit of the decoder, travelling as one immutable value.

    Attributes:
        max_parts: number of parts (413 beyond it).
        max_part_header_bytes: one part's header block (413 beyond it).
        max_field_bytes: the body of one part without a filename (413).
        max_file_bytes: the body of one file part; ``None`` for no limit (413).
        max_total_bytes: every byte fed to the decoder; ``None`` for no limit (413).
    """

    max_parts: int = 1000
    max_part_header_bytes: int = 8 * 1024
    max_field_bytes: int = 1024 * 1024
    max_file_bytes: int | None = None
    max_total_bytes: int | None = None


@dataclass(slots=True)
class PartStart:
    """The header block of a part: a form field when ``filename`` is None, else a file.

    ``content_type`` defaults to ``text/plain`` for a field and
    ``application/octet-stream`` for a file; ``headers`` are all of the part's
    header fields as ``(name, value)`` pairs, in order.
    """

    name: str
    filename: str | None
    content_type: str
    headers: list[tuple[str, str]]


@dataclass(slots=True)
class PartData:
    """A piece of the current part's body; a part may arrive in many pieces."""

    data: bytes


@dataclass(slots=True)
class PartEnd:
    """The current part's body is complete."""


@dataclass(slots=True)
class MultipartEnd:
    """The close delimiter was read; anything after it (the epilogue) is ignored."""


Event = PartStart | PartData | PartEnd | MultipartEnd | Sentinel

# RFC 2046 5.1.1: boundary := 0*69<bchars> bcharsnospace
#   bchars := bcharsnospace / " "
#   bcharsnospace := DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_" / "," / "-" /
#                    "." / "/" / ":" / "=" / "?"
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
# RFC 2045 5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
#   tspecials := "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / "\" / <"> /
#                "/" / "[" / "]" / "?" / "="
# That is RFC 9110's tchar (HTTP's Content-Type, from the one home of the HTTP
# grammar) plus "{" and "}", which RFC 2045 does not count among its tspecials:
# one rule serves both.
_TOKEN = rf"[{TCHAR}{{}}]+"
# RFC 822 3.3: quoted-string = <"> *(qtext/quoted-pair) <">; quoted-pair = "\" CHAR
# (qtext may be UTF-8 here, RFC 7578 5.1.) Only \" and \\ are unescaped: browsers
# send other backslashes as they are (C:\Users\a.txt), and those must survive.
_QUOTED_STRING = r'"(?:[^"\\]|\\.)*"'
_QUOTED_PAIR = re.compile(r'\\([\\"])')
# RFC 2183 2: disposition := disposition-type *( ";" disposition-parm );
# RFC 9110 8.3.1: media-type = type "/" subtype parameters
_TYPE = re.compile(rf"({_TOKEN}(?:/{_TOKEN})?)[ \t]*")
# RFC 2045 5.1: parameter := attribute "=" value; value := token / quoted-string
# RFC 9110 5.6.6: parameters = *( OWS ";" OWS [ parameter ] ) -- empty ones allowed.
_PARAMETER = re.compile(rf";[ \t]*(?:({_TOKEN})[ \t]*=[ \t]*({_TOKEN}|{_QUOTED_STRING})[ \t]*)?")
# RFC 5987 3.2.1: ext-value = charset "'" [ language ] "'" value-chars
#   charset = "UTF-8" / "ISO-8859-1" / mime-charset; mime-charset = 1*mime-charsetc
#   mime-charsetc = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "+" / "-" /
#                   "^" / "_" / "`" / "{" / "}" / "~"
#   language = <Language-Tag, RFC 5646>, here only its characters
#   value-chars = *( pct-encoded / attr-char ); pct-encoded = "%" HEXDIG HEXDIG
#   attr-char = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." /
#               "^" / "_" / "`" / "|" / "~"
_EXT_VALUE = re.compile(r"([!#$%&+\-^_`{}~0-9A-Za-z]+)'([0-9A-Za-z\-]*)'((?:%[0-9A-Fa-f]{2}|[!#$&+\-.^_`|~0-9A-Za-z])*)")
_EXT_CHARSETS = {"utf-8": "utf-8", "iso-8859-1": "latin-1"}
# RFC 2231 3: name*0=, name*1*= ... continuations; never sent by browsers, refused
# rather than silently turning a file into a field.
_CONTINUATION = re.compile(r"(?:file)?name\*[0-9]+\*?")
# RFC 5322 3.6.8: field-name = 1*ftext; ftext = %d33-57 / %d59-126
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# RFC 2046 5.1.1: transport-padding := *LWSP-char; LWSP-char = SP / HTAB
_TRANSPORT_PADDING = re.compile(rb"[ \t]*")
# A filename decoded from filename*= obeys the same rule (CR, LF, NUL: header injection).
_FORBIDDEN_IN_FILENAME = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_PATH_SEPARATOR = re.compile(r"[/\\]")

# What may follow "--" boundary: transport padding, the CRLF, or "--" (close).
_AFTER_BOUNDARY: Final = b" \t\r-"

# Decoder states.
_PREAMBLE, _HEAD, _BODY, _DONE, _ERROR = 0, 1, 2, 3, 4


def parse_boundary(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type header value.

    Args:
        content_type: e.g. ``multipart/form-data; boundary="a b"``.

    Returns:
        The boundary (1 to 70 characters, RFC 2046 5.1.1), without quotes or dashes.

    Raises:
        MultipartError: not multipart/form-data, or the boundary is missing or invalid (400).
    """
    media_type, params = _parse_parameters(content_type.strip(" \t"), "Content-Type")
    if media_type != "multipart/form-data":
        raise MultipartError(f"Content-Type {media_type!r} is not multipart/form-data")
    boundary = params.get("boundary")
    if boundary is None:
        raise MultipartError("multipart/form-data without a boundary")
    if not _BOUNDARY.fullmatch(boundary):
        raise MultipartError(f"invalid multipart boundary {boundary[:80]!r}")
    return boundary.encode("ascii")


def _parse_parameters(value: str, what: str) -> tuple[str, dict[str, str]]:
    """Split ``type; name=value; ...`` into the lower-cased type and parameters.

    Raises:
        MultipartError: the value does not follow the grammar, or a parameter repeats.
    """
    match = _TYPE.match(value)
    if match is None:
        raise MultipartError(f"malformed {what} {value[:80]!r}")
    kind = match.group(1).lower()
    params: dict[str, str] = {}
    pos, end = match.end(), len(value)
    while pos < end:
        match = _PARAMETER.match(value, pos)
        if match is None:
            raise MultipartError(f"malformed {what} {value[:80]!r}")
        pos = match.end()
        name, raw = match.group(1, 2)
        if name is None:
            continue
        name = name.lower()
        # Two parsers picking different copies of a repeated name is a
        # smuggling vector (a filter sees one file, the handler another).
        if name in params:
            raise MultipartError(f"parameter {name!r} repeated in {what}")
        params[name] = _QUOTED_PAIR.sub(r"\1", raw[1:-1]) if raw[0] == '"' else raw
    return kind, params


def _decode_ext_value(value: str) -> str:
    """Decode an RFC 5987 ``charset'language'pct-encoded`` value.

    Raises:
        MultipartError: malformed, an unknown charset, or bytes invalid in it.
    """
    match = _EXT_VALUE.fullmatch(value)
    if match is None:
        raise MultipartError(f"malformed filename* {value[:80]!r}")
    codec = _EXT_CHARSETS.get(match.group(1).lower())
    if codec is None:
        raise MultipartError(f"unsupported charset in filename* {match.group(1)[:40]!r}")
    try:
        return urllib.parse.unquote_to_bytes(match.group(3)).decode(codec)
    except UnicodeDecodeError:
        raise MultipartError(f"filename* is not valid {match.group(1)}") from None


def _filename(params: dict[str, str]) -> str | None:
    """The part's filename, ``filename*`` first, reduced to its last path segment.

    RFC 7578 4.2 forbids senders to use ``filename*``, but some do, and where
    both are present the extended one is the exact name. A filename is kept as
    sent otherwise: browsers' ``%22``/``%0D%0A`` escapes are not decoded.

    Raises:
        MultipartError: a control character (CR, LF, NUL: header injection) or a
            name that is only ``.`` or ``..`` once the path is stripped.
    """
    if "filename*" in params:
        name = _decode_ext_value(params["filename*"])
    elif "filename" in params:
        name = params["filename"]
    else:
        return None
    if _FORBIDDEN_IN_FILENAME.search(name):
        raise MultipartError("control character (CR, LF or NUL) in a filename")
    base = _PATH_SEPARATOR.split(name)[-1]
    if base in (".", ".."):
        raise MultipartError(f"invalid filename {name[:80]!r}")
    return base


def _parse_part_head(block: bytes) -> PartStart:
    """Turn the bytes between a boundary and the blank line into a ``PartStart``.

    ``block`` starts with the transport padding that followed the boundary;
    each of its other lines is one header field.

    Raises:
        MultipartError: malformed padding, header fields or Content-Disposition.
    """
    if FORBIDDEN_IN_HEAD.search(block):
        raise MultipartError("forbidden character in part headers (bare CR/LF, NUL or control)")
    padding, *lines = block.split(b"\r\n")
    if not _TRANSPORT_PADDING.fullmatch(padding):
        raise MultipartError("boundary followed by something other than CRLF")
    try:
        text = [line.decode("utf-8") for line in lines]
    except UnicodeDecodeError:
        raise MultipartError("part headers are not UTF-8") from None
    headers: list[tuple[str, str]] = []
    for line in text:
        name, colon, value = line.partition(":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            raise MultipartError(f"malformed part header line {line[:80]!r}")
        headers.append((name, value.strip(" \t")))
    return _part_start(headers)


def _part_start(headers: list[tuple[str, str]]) -> PartStart:
    """Read name, filename and content type from a part's header fields (RFC 7578 4.2, 4.4).

    Raises:
        MultipartError: no single ``Content-Disposition: form-data`` with a name,
            or a repeated Content-Type.
    """
    dispositions = [v for n, v in headers if n.lower() == "content-disposition"]
    types = [v for n, v in headers if n.lower() == "content-type"]
    if len(dispositions) != 1 or len(types) > 1:
        raise MultipartError("a part needs one Content-Disposition and at most one Content-Type")
    kind, params = _parse_parameters(dispositions[0], "Content-Disposition")
    if kind != "form-data":
        raise MultipartError(f"Content-Disposition {kind!r} is not form-data")
    if any(_CONTINUATION.fullmatch(key) for key in params):
        raise MultipartError("RFC 2231 parameter continuations are not supported")
    name = params.get("name")
    if name is None:
        raise MultipartError("form-data part without a name")
    filename = _filename(params)
    default = "text/plain" if filename is None else "application/octet-stream"
    return PartStart(name, filename, types[0] if types else default, headers)


class MultipartDecoder:
    """Pull decoder for one ``multipart/form-data`` body.

    Typical use::

        decoder = MultipartDecoder(parse_boundary(content_type))
        for chunk in body_chunks:
            decoder.feed(chunk)
            while (event := decoder.next_event()) is not NEED_DATA:
                ...  # PartStart, PartData..., PartEnd, ..., MultipartEnd
        decoder.feed_eof()
        decoder.next_event()  # raises if the body was truncated

    Args:
        boundary: from ``parse_boundary``.
        limits: the decoder's limits; defaults to ``MultipartLimits()``.

    Raises:
        ValueError: ``boundary`` is not a valid RFC 2046 boundary.
    """

    __slots__ = (
        "limits",
        "_delimiter",
        "_buf",
        "_state",
        "_scanned",
        "_eof",
        "_fed",
        "_parts",
        "_part",
        "_part_size",
        "_part_limit",
    )

    def __init__(self, boundary: bytes, *, limits: MultipartLimits | None = None) -> None:
        if not _BOUNDARY.fullmatch(boundary.decode("latin-1")):
            raise ValueError(f"invalid multipart boundary {boundary[:80]!r}")
        self.limits = limits or MultipartLimits()
        # RFC 2046 5.1.1: delimiter := CRLF dash-boundary; dash-boundary := "--" boundary
        self._delimiter = b"\r\n--" + boundary
        # The CRLF that lets the first dash-boundary match the delimiter too.
        self._buf = bytearray(b"\r\n")
        self._state = _PREAMBLE
        # Where the current search already looked: the header block's CRLF CRLF
        # search resumes there; in a body, the tail length the last search failed on.
        self._scanned = 0
        self._eof = False
        self._fed = 0
        self._parts = 0
        self._part = ""
        self._part_size = 0
        self._part_limit: int | None = None

    # -- input -------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Append the next bytes of the body.

        Raises:
            MultipartError: ``max_total_bytes`` exceeded (413).
            RuntimeError: bytes arrive after ``feed_eof()``.
        """
        if self._eof:
            raise RuntimeError("feed() after feed_eof()")
        self._fed += len(data)
        limit = self.limits.max_total_bytes
        if limit is not None and self._fed > limit:
            self._state = _ERROR
            raise MultipartError("multipart body larger than the limit", 413)
        if self._state == _DONE:
            return  # the epilogue is ignored, not kept
        self._buf += data

    def feed_eof(self) -> None:
        """Record that the body is complete; a later ``NEED_DATA`` becomes an error."""
        self._eof = True

    @property
    def buffered(self) -> int:
        """Bytes held by the decoder, not yet returned as events."""
        return len(self._buf)

    @property
    def finished(self) -> bool:
        """True once ``MultipartEnd`` was returned."""
        return self._state == _DONE

    # -- pulling events ----------------------------------------------------

    def next_event(self) -> Event:
        """Return the next event, or ``NEED_DATA`` (also after ``MultipartEnd``).

        Raises:
            MultipartError: the body is malformed, truncated (after ``feed_eof()``)
                or over a limit; the decoder stays broken afterwards.
        """
        try:
            state = self._state
            if state == _BODY:
                return self._next_body()
            if state == _HEAD:
                return self._next_head()
            if state == _PREAMBLE:
                return self._next_preamble()
            if state == _DONE:
                return NEED_DATA
            raise MultipartError("multipart decoder already failed")
        except MultipartError:
            self._state = _ERROR
            raise

    def _need_data(self, where: str) -> Event:
        if self._eof:
            raise MultipartError(f"multipart body ended {where}")
        return NEED_DATA

    def _releasable(self) -> int:
        """How many leading bytes cannot belong to a delimiter that is still arriving."""
        buf = self._buf
        cr = buf.find(b"\r", max(0, len(buf) - len(self._delimiter) + 1))
        return len(buf) if cr < 0 else cr

    def _next_preamble(self) -> Event:
        # RFC 2046 5.1.1: multipart-body := [preamble CRLF] dash-boundary ...
        buf = self._buf
        at = buf.find(self._delimiter)
        if at < 0:
            del buf[: self._releasable()]
            return self._need_data("before the first boundary (wrong boundary?)")
        del buf[: at + len(self._delimiter)]
        self._state = _HEAD
        return self._next_head()

    def _next_head(self) -> Event:
        # RFC 2046 5.1.1: encapsulation := delimiter transport-padding CRLF body-part
        #   close-delimiter := delimiter "--"; body-part := MIME-part-headers [CRLF *OCTET]
        buf = self._buf
        if buf[:2] == b"--":
            self._state = _DONE
            buf.clear()
            return MultipartEnd()
        if buf and (buf[0] not in _AFTER_BOUNDARY or buf[:1] == b"-" and len(buf) > 1):
            raise MultipartError("boundary followed by something other than CRLF or '--'")
        # Counted from the end of the boundary: padding, CRLF, then the fields.
        limit = self.limits.max_part_header_bytes
        end = buf.find(b"\r\n\r\n", self._scanned, limit + 4)
        if end < 0:
            if len(buf) >= limit + 4:
                raise MultipartError("part headers larger than the limit", 413)
            self._scanned = max(0, len(buf) - 3)
            return self._need_data("inside part headers")
        block = bytes(buf[:end])
        del buf[: end + 4]
        self._scanned = 0
        self._parts += 1
        if self._parts > self.limits.max_parts:
            raise MultipartError("too many parts in multipart body", 413)
        start = _parse_part_head(block)
        self._state, self._part, self._part_size = _BODY, start.name, 0
        limits = self.limits
        self._part_limit = limits.max_field_bytes if start.filename is None else limits.max_file_bytes
        return start

    def _next_body(self) -> Event:
        buf = self._buf
        if len(buf) == self._scanned:  # no byte arrived since the last search failed
            return self._need_data("before the closing boundary")
        at = buf.find(self._delimiter)
        if at == 0:
            del buf[: len(self._delimiter)]
            self._state, self._scanned = _HEAD, 0
            return PartEnd()
        end = at if at > 0 else self._releasable()
        self._scanned = 0 if at > 0 else len(buf) - end
        if end == 0:
            return self._need_data("before the closing boundary")
        self._part_size += end
        if self._part_limit is not None and self._part_size > self._part_limit:
            raise MultipartError(f"part {self._part[:80]!r} larger than the limit", 413)
        data = bytes(buf[:end])
        del buf[:end]
        return PartData(data)


def iter_parts(content_type: str, body: bytes, *, limits: MultipartLimits | None = None) -> Iterator[tuple[PartStart, bytes]]:
    """Each part of a whole ``multipart/form-data`` body held in memory, with its data, in body order.

    Parts are decoded as the caller asks for them: one that stops early
    (a count of its own, ``framework.httputil.forms``) decodes no further.

    Raises:
        MultipartError: malformed, truncated or over a limit.
    """
    decoder = MultipartDecoder(parse_boundary(content_type), limits=limits)
    decoder.feed(body)
    decoder.feed_eof()
    start = PartStart("", None, "", [])  # replaced before any PartEnd: the decoder's order
    chunks: list[bytes] = []
    while True:
        event = decoder.next_event()
        if isinstance(event, PartData):
            chunks.append(event.data)
        elif isinstance(event, PartStart):
            start, chunks = event, []
        elif isinstance(event, PartEnd):
            yield start, b"".join(chunks)
        elif isinstance(event, MultipartEnd):
            return
        else:  # NEED_DATA after feed_eof() means a decoder bug, not bad input
            raise RuntimeError("multipart decoder stalled after feed_eof()")


def parse_multipart(
    content_type: str, body: bytes, *, limits: MultipartLimits | None = None
) -> tuple[dict[str, list[bytes]], dict[str, list[tuple[str, str, bytes]]]]:
    """Decode a whole ``multipart/form-data`` body held in memory.

    Args:
        content_type: the request's Content-Type header value.
        body: the complete request body.
        limits: the decoder's limits; defaults to ``MultipartLimits()``.

    Returns:
        ``(fields, files)``: field values by name, and ``(filename,
        content_type, body)`` for each file by field name, in body order.

    Raises:
        MultipartError: malformed, truncated or over a limit.
    """
    fields: dict[str, list[bytes]] = {}
    files: dict[str, list[tuple[str, str, bytes]]] = {}
    for start, data in iter_parts(content_type, body, limits=limits):
        if start.filename is None:
            fields.setdefault(start.name, []).append(data)
        else:
            files.setdefault(start.name, []).append((start.filename, start.content_type, data))
    return fields, files

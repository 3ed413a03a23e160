"""Sans-IO WebSocket framing (RFC 6455 section 5): bytes in, messages out.

Contract: no sockets, no asyncio, nothing from the rest of ``framework``
(only the sibling sans-IO module ``deflate``). ``FrameReader.feed(data)``
takes bytes as they arrive; ``next_event()`` returns a ``Message``, ``Ping``,
``Pong`` or ``Close``, or ``NEED_DATA``. A violation raises
``FrameError(message, code)`` carrying the close code to fail the connection
with: 1002 (protocol error), 1007 (invalid UTF-8 or compressed data) or 1009
(message too big). ``FrameWriter`` encodes frames for either side.

Strategy: one ``bytearray`` buffer. A control frame (125 bytes at most) is
decoded once it is whole; a data frame's payload is consumed as it arrives,
unmasked from the right key offset, and checked at once: the size budget
(a declared length beyond ``max_message_size`` fails before any payload is
read, so a hostile length cannot make anything grow) and UTF-8 through an
incremental decoder, so a character split across fragments or reads is fine
and invalid text fails as soon as its bytes are in. Control frames may come
between fragments and are returned at once. (Un)masking XORs the payload as
one big integer: linear, and in C.
"""

from __future__ import annotations

import codecs
import dataclasses
import enum
import os
from collections.abc import Callable
from typing import Final

from framework.http1 import NEED_DATA, Sentinel
from framework.websocket.deflate import DecompressionError, Deflater, Inflater

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "NEED_DATA",
    "Close",
    "CloseCode",
    "Event",
    "FrameError",
    "FrameReader",
    "FrameWriter",
    "Message",
    "Opcode",
    "Ping",
    "Pong",
    "apply_mask",
    "encode_close_payload",
    "encode_frame",
    "is_valid_close_code",
    "parse_close_payload",
]

DEFAULT_MAX_MESSAGE_SIZE: Final = 10 * 1024 * 1024
"""Tornado's default ``websocket_max_message_size``: 10 MiB."""

MAX_CONTROL_PAYLOAD: Final = 125


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 5.2); 0x3-0x7 and 0xB-0xF are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """Status codes of a Close frame (RFC 6455 7.4.1, and IANA's 1012-1014)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005  # never sent: "no code was in the frame"
    ABNORMAL = 1006  # never sent: "closed without a Close frame"
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014


_SENDABLE_CODES: Final = frozenset(range(1000, 1004)) | frozenset(range(1007, 1015))
_DATA_OPCODES: Final = frozenset({Opcode.TEXT, Opcode.BINARY})
_KNOWN_OPCODES: Final = frozenset(int(op) for op in Opcode)


class FrameError(Exception):
    """The peer broke the protocol; ``code`` is the close code to fail with.

    Args:
        message: what was wrong, for logs and the close reason.
        code: 1002, 1007 or 1009.
    """

    def __init__(self, message: str, code: int = CloseCode.PROTOCOL_ERROR) -> None:
        super().__init__(message, code)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} (close code {self.code})"


# -- events ---------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Message:
    """A complete data message: ``str`` for text, ``bytes`` for binary."""

    data: str | bytes


@dataclasses.dataclass(slots=True)
class Ping:
    """A Ping frame; the receiver owes a Pong with the same ``data``."""

    data: bytes


@dataclasses.dataclass(slots=True)
class Pong:
    """A Pong frame (an answer to our ping, or unsolicited)."""

    data: bytes


@dataclasses.dataclass(slots=True)
class Close:
    """A Close frame: ``code`` is None when the frame had no payload."""

    code: int | None
    reason: str


# NEED_DATA (``next_event()``'s answer when no complete frame is buffered) is
# http1's: one sentinel for every sans-IO decoder in framework.
Event = Message | Ping | Pong | Close | Sentinel


# -- masking and close payloads ---------------------------------------------


def apply_mask(data: bytes, key: bytes) -> bytes:
    """XOR ``data`` with the 4-byte masking ``key`` repeated (RFC 6455 5.3); its own inverse."""
    n = len(data)
    if n == 0:
        return b""
    stream = key * (n // 4) + key[: n % 4]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def is_valid_close_code(code: int) -> bool:
    """True for a code a Close frame may carry (RFC 6455 7.4): 1000-1003, 1007-1014, 3000-4999."""
    return code in _SENDABLE_CODES or 3000 <= code <= 4999


def parse_close_payload(payload: bytes) -> Close:
    """Read a Close frame's body: nothing, or a 2-byte code and a UTF-8 reason.

    Raises:
        FrameError: a 1-byte body or a code that may not be sent (1002);
            a reason that is not UTF-8 (1007, as for any invalid text, RFC 6455 8.1).
    """
    if not payload:
        return Close(None, "")
    if len(payload) == 1:
        raise FrameError("close frame with a 1-byte payload")
    code = int.from_bytes(payload[:2], "big")
    if not is_valid_close_code(code):
        raise FrameError(f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError("close reason is not valid UTF-8", CloseCode.INVALID_DATA) from None
    return Close(code, reason)


def encode_close_payload(code: int | None, reason: str = "") -> bytes:
    """A Close frame's body; no code means an empty body.

    Raises:
        ValueError: a reason without a code, a code that may not be sent, or
            a reason over 123 bytes of UTF-8 (control frames carry 125).
    """
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code")
        return b""
    if not is_valid_close_code(code):
        raise ValueError(f"close code {code} may not be sent")
    encoded = reason.encode("utf-8")
    if len(encoded) > MAX_CONTROL_PAYLOAD - 2:
        raise ValueError(f"close reason is {len(encoded)} bytes; at most 123 fit in a close frame")
    return code.to_bytes(2, "big") + encoded


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False, mask: bytes | None = None) -> bytes:
    """One frame on the wire (RFC 6455 5.2), with the shortest length encoding.

    Args:
        opcode: an ``Opcode``.
        payload: the application data (unmasked).
        fin: this is the last frame of its message.
        rsv1: the "compressed" bit of permessage-deflate.
        mask: a 4-byte masking key (clients must mask; servers must not).
    """
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    mask_bit = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes((first, mask_bit | n))
    elif n < 65536:
        head = bytes((first, mask_bit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, mask_bit | 127)) + n.to_bytes(8, "big")
    if mask is None:
        return head + payload
    if len(mask) != 4:
        raise ValueError("a masking key is 4 bytes")
    return head + mask + apply_mask(payload, mask)


# -- reading ----------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Header:
    fin: bool
    rsv1: bool
    opcode: int
    mask: bytes | None
    length: int
    size: int  # bytes of header on the wire


class FrameReader:
    """Frames in, messages out, for one direction of one connection.

    Args:
        masked: True on the server (client frames must be masked), False on
            the client (server frames must not be).
        max_message_size: largest message, in bytes after decompression;
            None for no limit.
        inflater: the permessage-deflate decoder, when that was negotiated
            (RSV1 is refused without it).
    """

    __slots__ = (
        "_buf",
        "_masked",
        "_max",
        "_inflater",
        "_frame",
        "_remaining",
        "_offset",
        "_opcode",
        "_compressed",
        "_parts",
        "_size",
        "_decoder",
        "_closed",
        "_error",
    )

    def __init__(
        self, *, masked: bool, max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE, inflater: Inflater | None = None
    ) -> None:
        self._buf = bytearray()
        self._masked = masked
        self._max = max_message_size
        self._inflater = inflater
        self._frame: _Header | None = None  # the data frame whose payload is arriving
        self._remaining = 0  # of its payload
        self._offset = 0  # into its payload, for the mask
        self._opcode: int | None = None  # of the message being assembled
        self._compressed = False
        self._parts: list[bytes] | list[str] = []
        self._size = 0
        self._decoder: codecs.IncrementalDecoder | None = None
        self._closed = False
        self._error: FrameError | None = None

    def feed(self, data: bytes) -> None:
        """Append received bytes; ignored once a Close frame was read or an error raised."""
        if not self._closed and self._error is None:
            self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet turned into events."""
        return len(self._buf)

    def next_event(self) -> Event:
        """The next control frame or complete message, or ``NEED_DATA``.

        After a ``Close`` every call returns ``NEED_DATA`` (RFC 6455 5.5.1:
        nothing follows a Close frame).

        Raises:
            FrameError: the peer broke the protocol; every later call raises
                it again.
        """
        if self._error is not None:
            raise self._error
        try:
            return self._next_event()
        except FrameError as exc:
            self._error = exc
            self._buf.clear()
            raise

    def _next_event(self) -> Event:
        """Control frames whole; data frames' payloads as they arrive, so bad text fails early."""
        while not self._closed:
            if self._frame is None:
                header = self._parse_header()
                if header is None:
                    return NEED_DATA
                if header.opcode >= Opcode.CLOSE:
                    if len(self._buf) < header.size + header.length:
                        return NEED_DATA
                    del self._buf[: header.size]
                    return self._on_control(header.opcode, self._take(header.length, header.mask, 0))
                del self._buf[: header.size]
                self._start_frame(header)
            if not self._continue_frame():
                return NEED_DATA
            frame, self._frame = self._frame, None
            if frame is not None and frame.fin:
                return self._end_message()
        return NEED_DATA

    def _parse_header(self) -> _Header | None:
        """Decode and check the header at the front of the buffer, or None if incomplete."""
        buf = self._buf
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        header = _Header(bool(first & 0x80), bool(first & 0x40), first & 0x0F, None, second & 0x7F, 2)
        self._check_bits(header, first & 0x30, bool(second & 0x80))
        if header.length == 126:
            if len(buf) < 4:
                return None
            header.length, header.size = int.from_bytes(buf[2:4], "big"), 4
            if header.length < 126:
                raise FrameError("frame length not minimally encoded")
        elif header.length == 127:
            if len(buf) < 10:
                return None
            header.length, header.size = int.from_bytes(buf[2:10], "big"), 10
            if header.length >> 63:
                raise FrameError("frame length has its most significant bit set")
            if header.length < 65536:
                raise FrameError("frame length not minimally encoded")
        self._check_length(header)  # before the mask arrives: fail as early as possible
        if second & 0x80:
            if len(buf) < header.size + 4:
                return None
            header.mask = bytes(buf[header.size : header.size + 4])
            header.size += 4
        return header

    def _check_bits(self, header: _Header, rsv23: int, masked: bool) -> None:
        """Opcode, reserved bits, masking and fragmentation rules (RFC 6455 5.2, 5.4, 5.5)."""
        opcode = header.opcode
        if opcode not in _KNOWN_OPCODES:
            raise FrameError(f"reserved opcode {opcode:#x}")
        if rsv23:
            raise FrameError("reserved bits set without an extension that defines them")
        if masked != self._masked:
            raise FrameError("client frame not masked" if self._masked else "server frame masked")
        if opcode >= Opcode.CLOSE:
            if not header.fin:
                raise FrameError("fragmented control frame")
            if header.rsv1:
                raise FrameError("RSV1 set on a control frame")
            return
        if header.rsv1 and (self._inflater is None or opcode == Opcode.CONTINUATION):
            raise FrameError("RSV1 set without permessage-deflate on a first frame")
        if opcode == Opcode.CONTINUATION and self._opcode is None:
            raise FrameError("continuation frame without a message to continue")
        if opcode != Opcode.CONTINUATION and self._opcode is not None:
            raise FrameError("new data frame before the fragmented message ended")

    def _check_length(self, header: _Header) -> None:
        if header.opcode >= Opcode.CLOSE:
            if header.length > MAX_CONTROL_PAYLOAD:
                raise FrameError(f"control frame payload of {header.length} bytes (at most 125)")
            return
        if self._max is not None and self._size + header.length > self._max:
            raise FrameError(f"message larger than {self._max} bytes", CloseCode.MESSAGE_TOO_BIG)

    def _take(self, n: int, mask: bytes | None, offset: int) -> bytes:
        """Remove ``n`` payload bytes from the buffer, unmasked (``offset`` into the frame's payload)."""
        with memoryview(self._buf) as view:
            payload = bytes(view[:n])  # one copy, not two
        del self._buf[:n]
        if mask is None:
            return payload
        turn = offset % 4
        return apply_mask(payload, mask[turn:] + mask[:turn])

    def _on_control(self, opcode: int, payload: bytes) -> Event:
        if opcode == Opcode.PING:
            return Ping(payload)
        if opcode == Opcode.PONG:
            return Pong(payload)
        close = parse_close_payload(payload)
        self._closed = True
        self._buf.clear()
        return close

    def _start_frame(self, header: _Header) -> None:
        self._frame, self._remaining, self._offset = header, header.length, 0
        if header.opcode == Opcode.CONTINUATION:
            return
        self._opcode = header.opcode
        self._compressed = header.rsv1
        self._parts = []
        self._size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")() if header.opcode == Opcode.TEXT else None

    def _continue_frame(self) -> bool:
        """Consume what has arrived of the current data frame; True once all of it has."""
        frame = self._frame
        n = min(len(self._buf), self._remaining)
        if frame is not None and n:
            chunk = self._take(n, frame.mask, self._offset)
            self._remaining -= n
            self._offset += n
            self._add_data(chunk, final=False)
        return self._remaining == 0

    def _add_data(self, data: bytes, *, final: bool) -> None:
        """Inflate, size-check and UTF-8-check one piece of the message; ``final`` ends it."""
        if self._compressed and self._inflater is not None:
            budget = None if self._max is None else self._max - self._size
            try:
                data = self._inflater.decompress(data, budget, final=final)
            except DecompressionError as exc:
                code = CloseCode.MESSAGE_TOO_BIG if exc.too_big else CloseCode.INVALID_DATA
                raise FrameError(str(exc), code) from None
        self._size += len(data)
        if self._max is not None and self._size > self._max:
            raise FrameError(f"message larger than {self._max} bytes", CloseCode.MESSAGE_TOO_BIG)
        if self._decoder is None:
            if data:
                self._parts.append(data)  # type: ignore[arg-type]
            return
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError:
            raise FrameError("text message is not valid UTF-8", CloseCode.INVALID_DATA) from None
        if text:
            self._parts.append(text)  # type: ignore[arg-type]

    def _end_message(self) -> Message:
        self._add_data(b"", final=True)
        parts = self._parts
        data: str | bytes = "".join(parts) if self._decoder is not None else b"".join(parts)  # type: ignore[arg-type]
        self._opcode = None
        self._parts = []
        self._size = 0
        self._decoder = None
        return Message(data)


# -- writing ------------------------------------------------------------------


class FrameWriter:
    """Encodes frames for one side: a client masks each frame with a fresh key.

    Args:
        client: mask every frame (RFC 6455 5.3).
        deflater: compress data messages (permessage-deflate), if negotiated.
        mask_key: source of masking keys, ``os.urandom(4)`` by default
            (tests pass a fixed one).
    """

    __slots__ = ("_client", "_deflater", "_mask_key")

    def __init__(self, *, client: bool, deflater: Deflater | None = None, mask_key: Callable[[], bytes] | None = None) -> None:
        self._client = client
        self._deflater = deflater
        self._mask_key = mask_key or _random_mask

    def message(self, data: bytes, *, text: bool) -> bytes:
        """A complete message as one frame (compressed if negotiated)."""
        opcode = Opcode.TEXT if text else Opcode.BINARY
        if self._deflater is not None:
            return self._frame(opcode, self._deflater.compress(data), rsv1=True)
        return self._frame(opcode, data)

    def ping(self, data: bytes = b"") -> bytes:
        """A Ping frame.

        Raises:
            ValueError: ``data`` is over 125 bytes.
        """
        return self._frame(Opcode.PING, _control_payload(data))

    def pong(self, data: bytes = b"") -> bytes:
        """A Pong frame (answering a Ping with its data).

        Raises:
            ValueError: ``data`` is over 125 bytes.
        """
        return self._frame(Opcode.PONG, _control_payload(data))

    def close(self, code: int | None = None, reason: str = "") -> bytes:
        """A Close frame; see ``encode_close_payload`` for what may be sent.

        Raises:
            ValueError: as ``encode_close_payload``.
        """
        return self._frame(Opcode.CLOSE, encode_close_payload(code, reason))

    def _frame(self, opcode: int, payload: bytes, *, rsv1: bool = False) -> bytes:
        mask = self._mask_key() if self._client else None
        return encode_frame(opcode, payload, rsv1=rsv1, mask=mask)


def _random_mask() -> bytes:
    return os.urandom(4)


def _control_payload(data: bytes) -> bytes:
    if len(data) > MAX_CONTROL_PAYLOAD:
        raise ValueError(f"control frame data is {len(data)} bytes (at most 125)")
    return data

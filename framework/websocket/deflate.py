"""Sans-IO permessage-deflate (RFC 7692): negotiation and the per-message codec.

Contract: no sockets, no asyncio, nothing from the rest of ``framework``.

Strategy: a message is compressed with a raw DEFLATE stream flushed with
``Z_SYNC_FLUSH``, whose trailing ``00 00 ff ff`` is dropped on the wire and
put back before inflating (RFC 7692 7.2). Without "no context takeover" the
compressor and decompressor live as long as the connection, so later messages
refer back to earlier ones. Inflating is bounded by the reader's remaining
message budget, so a small compressed frame cannot expand without limit.
zlib cannot compress with an 8-bit window (``wbits=-8`` is refused), so an
offer or answer that demands one is declined rather than violated.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = [
    "DecompressionError",
    "DeflateParams",
    "Deflater",
    "Inflater",
    "client_accept",
    "client_offer",
    "parse_extensions",
    "read_params",
    "server_negotiate",
]

EXTENSION_NAME: Final = "permessage-deflate"
_TAIL: Final = b"\x00\x00\xff\xff"

# RFC 9110 5.6.2:  token = 1*tchar
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# RFC 9110 5.6.4:  quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
_QUOTED = r'"(?:[^"\\]|\\.)*"'
# RFC 6455 9.1:
#   extension-list = 1#extension
#   extension = extension-token *( ";" extension-param )
#   extension-param = token [ "=" (token | quoted-string) ]
_EXTENSION_TOKEN = re.compile(rf"[ \t]*({_TOKEN})")
_EXTENSION_PARAM = re.compile(rf"[ \t]*;[ \t]*({_TOKEN})(?:[ \t]*=[ \t]*({_TOKEN}|{_QUOTED}))?")
_LIST_SEPARATOR = re.compile(r"[ \t]*(?:,|$)")

Extension = tuple[str, list[tuple[str, str | None]]]


def parse_extensions(values: Iterable[str]) -> list[Extension]:
    """Parse ``Sec-WebSocket-Extensions`` field values into ``(name, [(param, value)])``.

    Empty list elements are skipped (RFC 9110 5.6.1); quoted values are unquoted.

    Raises:
        ValueError: a value does not follow the grammar.
    """
    found: list[Extension] = []
    for value in values:
        pos = 0
        while pos < len(value):
            separator = _LIST_SEPARATOR.match(value, pos)
            if separator is not None and separator.end() > pos:
                pos = separator.end()  # an empty element
                continue
            name = _EXTENSION_TOKEN.match(value, pos)
            if name is None:
                raise ValueError(f"malformed Sec-WebSocket-Extensions {value!r}")
            pos, params = _parse_params(value, name.end())
            separator = _LIST_SEPARATOR.match(value, pos)
            if separator is None:
                raise ValueError(f"malformed Sec-WebSocket-Extensions {value!r}")
            pos = separator.end()
            found.append((name.group(1), params))
    return found


def _parse_params(value: str, pos: int) -> tuple[int, list[tuple[str, str | None]]]:
    params: list[tuple[str, str | None]] = []
    while (param := _EXTENSION_PARAM.match(value, pos)) is not None:
        raw = param.group(2)
        if raw is not None and raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.append((param.group(1).lower(), raw))
        pos = param.end()
    return pos, params


@dataclasses.dataclass(frozen=True, slots=True)
class DeflateParams:
    """The parameters of one permessage-deflate offer or answer (RFC 7692 7.1).

    ``client_max_window_bits`` is 0 when an offer names it without a value
    ("the client can take a window size hint").
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None


def _window_bits(name: str, value: str | None, *, optional: bool) -> int:
    if value is None:
        if optional:
            return 0
        raise ValueError(f"{name} needs a value")
    if not (value.isascii() and value.isdigit() and 8 <= int(value) <= 15 and not value.startswith("0")):
        raise ValueError(f"{name}={value!r} is not 8-15")
    return int(value)


def read_params(params: list[tuple[str, str | None]], *, answer: bool) -> DeflateParams:
    """Check one offer's (or, with ``answer``, the server's reply's) parameters.

    Raises:
        ValueError: an unknown or repeated parameter, or a bad value.
    """
    names = [name for name, _ in params]
    if len(set(names)) != len(names):
        raise ValueError("repeated permessage-deflate parameter")
    fields: dict[str, Any] = {}
    for name, value in params:
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                raise ValueError(f"{name} takes no value")
            fields[name] = True
        elif name == "server_max_window_bits":
            fields[name] = _window_bits(name, value, optional=False)
        elif name == "client_max_window_bits":
            fields[name] = _window_bits(name, value, optional=not answer)
        else:
            raise ValueError(f"unknown permessage-deflate parameter {name!r}")
    return DeflateParams(**fields)


# -- the codec ----------------------------------------------------------------


class DecompressionError(Exception):
    """A compressed message was corrupt, or inflated beyond the budget (``too_big``)."""

    def __init__(self, message: str, *, too_big: bool = False) -> None:
        super().__init__(message)
        self.too_big = too_big


class Deflater:
    """Compresses whole messages for one side of a connection.

    Args:
        window_bits: 9-15, the window the peer agreed to inflate with.
        no_context_takeover: start every message with a fresh compressor.
        level: zlib compression level (Tornado's ``compression_level``).
        mem_level: zlib memory level (Tornado's ``mem_level``).
    """

    __slots__ = ("_window_bits", "_reset", "_level", "_mem_level", "_zlib")

    def __init__(
        self,
        *,
        window_bits: int = 15,
        no_context_takeover: bool = False,
        level: int = zlib.Z_DEFAULT_COMPRESSION,
        mem_level: int = 8,
    ) -> None:
        self._window_bits = window_bits
        self._reset = no_context_takeover
        self._level = level
        self._mem_level = mem_level
        self._zlib = self._new()

    def _new(self) -> Any:
        return zlib.compressobj(self._level, zlib.DEFLATED, -self._window_bits, self._mem_level)

    def compress(self, data: bytes) -> bytes:
        """One message's compressed payload, without the ``00 00 ff ff`` tail."""
        out: bytes = self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._reset:
            self._zlib = self._new()
        return out[:-4] if out.endswith(_TAIL) else out


class Inflater:
    """Decompresses the frames of compressed messages, fragment by fragment.

    Args:
        no_context_takeover: the peer resets its compressor per message, so
            the window is dropped after each message.
    """

    __slots__ = ("_reset", "_zlib")

    def __init__(self, *, no_context_takeover: bool = False) -> None:
        self._reset = no_context_takeover
        self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)

    def decompress(self, data: bytes, budget: int | None, *, final: bool) -> bytes:
        """Inflate one fragment; ``final`` marks a message's last fragment.

        Raises:
            DecompressionError: corrupt data, or more than ``budget`` bytes out.
        """
        if final:
            data += _TAIL
        try:
            out: bytes = self._zlib.decompress(data) if budget is None else self._zlib.decompress(data, budget + 1)
        except zlib.error as exc:
            raise DecompressionError(f"invalid compressed data: {exc}") from None
        if budget is not None and len(out) > budget:
            raise DecompressionError("message inflates beyond the size limit", too_big=True)
        if final and self._reset:
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        return out


# -- negotiation --------------------------------------------------------------


def _codec_options(options: Mapping[str, Any]) -> dict[str, int]:
    """Tornado's ``compression_level`` and ``mem_level`` as ``Deflater`` arguments."""
    unknown = set(options) - {"compression_level", "mem_level"}
    if unknown:
        raise ValueError(f"unknown compression options {sorted(unknown)}")
    return {
        "level": int(options.get("compression_level", zlib.Z_DEFAULT_COMPRESSION)),
        "mem_level": int(options.get("mem_level", 8)),
    }


def server_negotiate(offers: Iterable[Extension], options: Mapping[str, Any]) -> tuple[str, Deflater, Inflater] | None:
    """Accept the first usable permessage-deflate offer (RFC 7692 5).

    Args:
        offers: the request's ``Sec-WebSocket-Extensions``, from ``parse_extensions``.
        options: ``get_compression_options()``'s dict.

    Returns:
        The response's ``Sec-WebSocket-Extensions`` value and the codec, or
        None when nothing usable was offered.

    Raises:
        ValueError: ``options`` holds an unknown key.
    """
    codec_options = _codec_options(options)
    for name, params in offers:
        if name.lower() != EXTENSION_NAME:
            continue
        try:
            offer = read_params(params, answer=False)
        except ValueError:
            continue  # RFC 7692 5: decline an offer we do not understand
        if offer.server_max_window_bits == 8:
            continue
        answer = [EXTENSION_NAME]
        if offer.server_no_context_takeover:
            answer.append("server_no_context_takeover")
        if offer.client_no_context_takeover:
            answer.append("client_no_context_takeover")
        if offer.server_max_window_bits:
            answer.append(f"server_max_window_bits={offer.server_max_window_bits}")
        deflater = Deflater(
            window_bits=offer.server_max_window_bits or 15,
            no_context_takeover=offer.server_no_context_takeover,
            **codec_options,
        )
        return "; ".join(answer), deflater, Inflater(no_context_takeover=offer.client_no_context_takeover)
    return None


def client_offer() -> str:
    """The client's offer: plain permessage-deflate, taking a window hint."""
    return f"{EXTENSION_NAME}; client_max_window_bits"


def client_accept(answers: Iterable[str], options: Mapping[str, Any]) -> tuple[Deflater, Inflater] | None:
    """Read the server's answer to ``client_offer()``.

    Returns:
        The codec, or None when the server declined compression.

    Raises:
        ValueError: the server named another extension, or parameters the
            offer did not allow.
    """
    extensions = parse_extensions(answers)
    if not extensions:
        return None
    if len(extensions) != 1 or extensions[0][0].lower() != EXTENSION_NAME:
        raise ValueError(f"server accepted extensions that were not offered: {extensions!r}")
    answer = read_params(extensions[0][1], answer=True)
    bits = answer.client_max_window_bits or 15
    if bits == 8:
        raise ValueError("server asked for client_max_window_bits=8, which zlib cannot produce")
    deflater = Deflater(window_bits=bits, no_context_takeover=answer.client_no_context_takeover, **_codec_options(options))
    return deflater, Inflater(no_context_takeover=answer.server_no_context_takeover)

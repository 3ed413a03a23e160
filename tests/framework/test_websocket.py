"""Tests for framework/websocket: the sans-IO codec, the protocol on a fake transport, and real sockets.

The codec is checked against frames built by hand here (``client_frame``, an
encoder independent of the one under test), including RFC 6455's own
examples. Server tests run the application on the test's own event loop
(``app.listen(0, "127.0.0.1")``) and talk to it with ``websocket_connect`` or
a raw socket client that can send anything at all. Each handler a test needs
is declared beside it. Everything is closed before a test ends (warnings are
errors), and no test asserts a duration: waits are on events, bounded by
pytest-timeout.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework import websocket
from framework.httpclient import HTTPClientError, HTTPRequest
from framework.testing import serve
from framework.web import Application
from framework.websocket import (
    WebSocketClosedError,
    WebSocketError,
    WebSocketHandler,
    WebSocketProtocol,
    websocket_connect,
)
from framework.websocket import deflate, handshake
from framework.websocket.frames import (
    NEED_DATA,
    Close,
    Event,
    FrameError,
    FrameReader,
    FrameWriter,
    Message,
    Ping,
    Pong,
    apply_mask,
    encode_frame,
    parse_close_payload,
)

KEY = b"\x37\xfa\x21\x3d"  # the masking key of RFC 6455 5.7's examples


def client_frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, masked: bool = True, key: bytes = KEY
) -> bytes:
    """A frame built by hand, byte by byte, as a client would send it."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, mask_bit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    if not masked:
        return head + payload
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


def events_of(reader: FrameReader, data: bytes = b"") -> list[Event]:
    reader.feed(data)
    found = []
    while (event := reader.next_event()) is not NEED_DATA:
        found.append(event)
    return found


def fails_with(data: bytes, *, masked: bool = True, max_message_size: int | None = 1 << 20) -> int:
    reader = FrameReader(masked=masked, max_message_size=max_message_size)
    with pytest.raises(FrameError) as caught:
        events_of(reader, data)
    return caught.value.code


# == the codec, without sockets ===============================================


def test_rfc_6455_examples() -> None:
    # RFC 6455 5.7: a single-frame masked "Hello" from a client ...
    masked_hello = bytes.fromhex("818537fa213d7f9f4d5158")
    assert events_of(FrameReader(masked=True), masked_hello) == [Message("Hello")]
    assert client_frame(0x1, b"Hello") == masked_hello
    # ... an unmasked one from a server, and the same text in two fragments.
    client = FrameReader(masked=False)
    assert events_of(client, bytes.fromhex("810548656c6c6f")) == [Message("Hello")]
    assert events_of(client, bytes.fromhex("010348656c") + bytes.fromhex("80026c6f")) == [Message("Hello")]
    # An unmasked ping and a masked pong with a body of "Hello".
    assert events_of(client, bytes.fromhex("890548656c6c6f")) == [Ping(b"Hello")]
    assert events_of(FrameReader(masked=True), bytes.fromhex("8a8537fa213d7f9f4d5158")) == [Pong(b"Hello")]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_payload_lengths_7_16_and_64_bit(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frame = client_frame(0x2, payload)
    assert events_of(FrameReader(masked=True), frame) == [Message(payload)]
    assert encode_frame(0x2, payload, mask=KEY) == frame
    assert FrameWriter(client=True, mask_key=lambda: KEY).message(payload, text=False) == frame
    assert FrameWriter(client=False).message(payload, text=False) == client_frame(0x2, payload, masked=False)


def test_apply_mask_is_its_own_inverse() -> None:
    data = b"any payload at all, of odd length"
    assert apply_mask(apply_mask(data, KEY), KEY) == data
    assert apply_mask(b"\x00\x00\x00\x00\x00", KEY) == KEY + KEY[:1]


def test_writer_masks_each_frame_with_a_fresh_key() -> None:
    writer = FrameWriter(client=True)
    first, second = writer.message(b"x" * 16, text=False), writer.message(b"x" * 16, text=False)
    assert first[1] & 0x80 and second[1] & 0x80
    assert first[2:6] != second[2:6]  # 2**-32 chance of a false failure
    assert events_of(FrameReader(masked=True), first + second) == [Message(b"x" * 16)] * 2


def test_fragments_split_inside_a_character() -> None:
    text = "κόσμε €𝄞"
    data = text.encode("utf-8")
    frames = (
        client_frame(0x1, data[:1], fin=False)  # half of kappa
        + client_frame(0x0, data[1:9], fin=False)
        + client_frame(0x0, b"", fin=False)  # an empty fragment is allowed
        + client_frame(0x0, data[9:], fin=True)
    )
    assert events_of(FrameReader(masked=True), frames) == [Message(text)]


def test_control_frames_may_come_between_fragments() -> None:
    frames = (
        client_frame(0x2, b"ab", fin=False)
        + client_frame(0x9, b"ping")
        + client_frame(0x0, b"cd", fin=False)
        + client_frame(0xA, b"pong")
        + client_frame(0x0, b"ef")
    )
    assert events_of(FrameReader(masked=True), frames) == [Ping(b"ping"), Pong(b"pong"), Message(b"abcdef")]


def test_byte_at_a_time() -> None:
    frames = client_frame(0x1, "héllo".encode(), fin=False) + client_frame(0x0, b"!") + client_frame(0x8, close_payload(1000, b"ok"))
    reader = FrameReader(masked=True)
    found: list[Event] = []
    for byte in frames:
        found += events_of(reader, bytes([byte]))
    assert found == [Message("héllo!"), Close(1000, "ok")]


def test_invalid_text_fails_before_its_frame_is_complete() -> None:
    frame = client_frame(0x1, "κόσμε".encode() + b"\xf4\x90\x80\x80" + b"x" * 1000)
    reader = FrameReader(masked=True)
    assert events_of(reader, frame[:19]) == []  # header, "κόσμε" and 0xF4: valid so far
    with pytest.raises(FrameError) as caught:
        events_of(reader, frame[19:20])  # 0xF4 0x90 is beyond U+10FFFF; 1000 bytes are still to come
    assert caught.value.code == 1007


def test_nothing_is_read_after_a_close_frame() -> None:
    reader = FrameReader(masked=True)
    assert events_of(reader, client_frame(0x8) + client_frame(0x1, b"late")) == [Close(None, "")]
    assert events_of(reader, client_frame(0x1, b"later")) == []


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        pytest.param(client_frame(0x1, b"hi", masked=False), 1002, id="unmasked-client-frame"),
        pytest.param(client_frame(0x3, b"x"), 1002, id="reserved-opcode-3"),
        pytest.param(client_frame(0x7), 1002, id="reserved-opcode-7"),
        pytest.param(client_frame(0xB), 1002, id="reserved-control-opcode-b"),
        pytest.param(client_frame(0xF), 1002, id="reserved-control-opcode-f"),
        pytest.param(client_frame(0x1, b"x", rsv=1), 1002, id="rsv1-without-extension"),
        pytest.param(client_frame(0x1, b"x", rsv=2), 1002, id="rsv2"),
        pytest.param(client_frame(0x1, b"x", rsv=4), 1002, id="rsv3"),
        pytest.param(client_frame(0x9, b"x" * 126), 1002, id="ping-over-125-bytes"),
        pytest.param(client_frame(0x8, close_payload(1000, b"x" * 124)), 1002, id="close-over-125-bytes"),
        pytest.param(client_frame(0x9, b"x", fin=False), 1002, id="fragmented-ping"),
        pytest.param(client_frame(0x0, b"x"), 1002, id="continuation-without-message"),
        pytest.param(client_frame(0x1, b"a", fin=False) + client_frame(0x1, b"b"), 1002, id="text-inside-text"),
        pytest.param(client_frame(0x1, b"\xce\xba\xff"), 1007, id="invalid-utf8"),
        pytest.param(client_frame(0x1, b"\xed\xa0\x80"), 1007, id="utf8-surrogate"),
        pytest.param(client_frame(0x1, b"\xce", fin=False) + client_frame(0x0, b""), 1007, id="utf8-cut-short"),
        pytest.param(client_frame(0x2, b"x" * 2000), 1009, id="too-big"),
        pytest.param(client_frame(0x2, b"x" * 600, fin=False) + client_frame(0x0, b"x" * 600), 1009, id="too-big-in-fragments"),
        pytest.param(b"\x82\xff" + (1 << 40).to_bytes(8, "big"), 1009, id="huge-length-before-any-payload"),
        pytest.param(b"\x82\xff" + (1 << 63).to_bytes(8, "big") + KEY, 1002, id="64-bit-length-msb-set"),
        pytest.param(b"\x82\xfe\x00\x05" + KEY + b"12345", 1002, id="16-bit-length-not-minimal"),
        pytest.param(b"\x82\xff" + (200).to_bytes(8, "big") + KEY, 1002, id="64-bit-length-not-minimal"),
    ],
)
def test_protocol_violations_carry_their_close_code(frames: bytes, code: int) -> None:
    assert fails_with(frames, max_message_size=1000) == code


def test_client_refuses_masked_server_frames() -> None:
    assert fails_with(client_frame(0x1, b"hi"), masked=False) == 1002


def test_an_error_is_sticky() -> None:
    reader = FrameReader(masked=True)
    reader.feed(client_frame(0x3))
    for _ in range(2):
        with pytest.raises(FrameError):
            reader.next_event()


def test_no_size_limit() -> None:
    big = b"x" * 70000
    assert events_of(FrameReader(masked=True, max_message_size=None), client_frame(0x2, big)) == [Message(big)]


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])
def test_valid_close_codes(code: int) -> None:
    assert parse_close_payload(close_payload(code, "fin €".encode())) == Close(code, "fin €")


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
def test_invalid_close_codes(code: int) -> None:
    assert fails_with(client_frame(0x8, close_payload(code))) == 1002


def test_close_payload_edge_cases() -> None:
    assert parse_close_payload(b"") == Close(None, "")
    assert fails_with(client_frame(0x8, b"\x03")) == 1002  # a 1-byte body
    assert fails_with(client_frame(0x8, close_payload(1000, b"\xff"))) == 1007
    writer = FrameWriter(client=False)
    assert writer.close(1000, "bye") == b"\x88\x05\x03\xe8bye"
    assert writer.close() == b"\x88\x00"
    for bad in [(1005, ""), (999, ""), (1000, "x" * 124), (None, "reason")]:
        with pytest.raises(ValueError):
            writer.close(*bad)
    with pytest.raises(ValueError):
        writer.ping(b"x" * 126)


_message = st.one_of(st.text(max_size=40), st.binary(max_size=200))


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(_message, max_size=5), data=st.data())
def test_any_fragmentation_fed_in_any_pieces(messages: list[str | bytes], data: st.DataObject) -> None:
    """Messages cut into fragments anywhere, pings anywhere between, bytes fed in pieces cut anywhere."""
    stream = b""
    expected: list[Event] = []
    for message in messages:
        payload = message.encode("utf-8") if isinstance(message, str) else message
        cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=3)))
        pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)])]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            stream += client_frame((0x1 if isinstance(message, str) else 0x2) if i == 0 else 0x0, piece, fin=last)
            if last:
                expected.append(Message(message))
            if data.draw(st.booleans()):
                stream += client_frame(0x9, b"p%d" % i)
                expected.append(Ping(b"p%d" % i))
    splits = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    reader = FrameReader(masked=True)
    found: list[Event] = []
    for a, b in zip([0, *splits], [*splits, len(stream)]):
        found += events_of(reader, stream[a:b])
    assert found == expected


# -- permessage-deflate ---------------------------------------------------------------


def test_deflate_round_trip_with_and_without_context_takeover() -> None:
    for takeover in (False, True):
        writer = FrameWriter(client=True, deflater=deflate.Deflater(no_context_takeover=takeover))
        reader = FrameReader(masked=True, inflater=deflate.Inflater(no_context_takeover=takeover))
        messages: list[str | bytes] = ["hello " * 50, b"\x00" * 1000, "", "hello " * 50]
        frames = b"".join(writer.message(m.encode() if isinstance(m, str) else m, text=isinstance(m, str)) for m in messages)
        assert all(frame for frame in frames[:1]) and frames[0] & 0x40  # RSV1: compressed
        assert events_of(reader, frames) == [Message(m) for m in messages]


def test_deflate_in_fragments_and_limits() -> None:
    compressed = deflate.Deflater().compress(b"a" * 100_000)
    frames = client_frame(0x2, compressed[:5], fin=False, rsv=4) + client_frame(0x0, compressed[5:])
    assert events_of(FrameReader(masked=True, inflater=deflate.Inflater()), frames) == [Message(b"a" * 100_000)]
    bomb = FrameReader(masked=True, max_message_size=50_000, inflater=deflate.Inflater())
    with pytest.raises(FrameError) as caught:
        events_of(bomb, frames)
    assert caught.value.code == 1009
    corrupt = FrameReader(masked=True, inflater=deflate.Inflater())
    with pytest.raises(FrameError) as caught:
        events_of(corrupt, client_frame(0x2, b"\xff\xff\xff\xff", rsv=4))
    assert caught.value.code == 1007
    assert fails_with(client_frame(0x2, b"x", fin=False) + client_frame(0x0, b"y", rsv=4)) == 1002


def test_extension_negotiation() -> None:
    offers = deflate.parse_extensions(
        ['x-unknown, permessage-deflate; server_max_window_bits=8', 'permessage-deflate; client_max_window_bits; server_no_context_takeover']
    )
    assert offers[2] == ("permessage-deflate", [("client_max_window_bits", None), ("server_no_context_takeover", None)])
    negotiated = deflate.server_negotiate(offers, {})
    assert negotiated is not None and negotiated[0] == "permessage-deflate; server_no_context_takeover"
    assert deflate.server_negotiate(deflate.parse_extensions(["permessage-deflate; bogus=1"]), {}) is None
    assert deflate.parse_extensions(['permessage-deflate; client_max_window_bits="10"']) == [
        ("permessage-deflate", [("client_max_window_bits", "10")])
    ]
    with pytest.raises(ValueError):
        deflate.parse_extensions(["permessage-deflate; =="])
    assert deflate.client_accept([], {}) is None
    assert deflate.client_accept(["permessage-deflate; client_max_window_bits=10"], {}) is not None
    for bad in ["x-other", "permessage-deflate; client_max_window_bits=8", "permessage-deflate; server_max_window_bits"]:
        with pytest.raises(ValueError):
            deflate.client_accept([bad], {})


# -- the opening handshake ---------------------------------------------------------


class Fields(dict[str, list[str]]):
    def get_list(self, name: str) -> list[str]:
        return self.get(name.lower(), [])


def request_fields(**overrides: str | None) -> Fields:
    fields = {
        "upgrade": "websocket",
        "connection": "keep-alive, Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    fields.update({k.replace("_", "-"): v for k, v in overrides.items()})  # type: ignore[misc]
    return Fields({k: [v] for k, v in fields.items() if v is not None})


def test_handshake_keys() -> None:
    # RFC 6455 1.3's example.
    assert handshake.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert handshake.check_request("HTTP/1.1", request_fields()) == "dGhlIHNhbXBsZSBub25jZQ=="
    assert len(handshake.new_key()) == 24


@pytest.mark.parametrize(
    ("version", "overrides", "status"),
    [
        ("HTTP/1.0", {}, 400),
        ("HTTP/1.1", {"upgrade": None}, 400),
        ("HTTP/1.1", {"upgrade": "h2c"}, 400),
        ("HTTP/1.1", {"connection": "keep-alive"}, 400),
        ("HTTP/1.1", {"sec_websocket_version": "8"}, 426),
        ("HTTP/1.1", {"sec_websocket_version": None}, 426),
        ("HTTP/1.1", {"sec_websocket_key": None}, 400),
        ("HTTP/1.1", {"sec_websocket_key": "c2hvcnQ="}, 400),
        ("HTTP/1.1", {"sec_websocket_key": "not base64!!!!!!!!!!!!=="}, 400),
    ],
)
def test_handshake_request_errors(version: str, overrides: dict[str, str | None], status: int) -> None:
    with pytest.raises(handshake.HandshakeError) as caught:
        handshake.check_request(version, request_fields(**overrides))
    assert caught.value.status == status
    if status == 426:
        assert caught.value.headers == [("Sec-WebSocket-Version", "13")]


def test_handshake_response_checks() -> None:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    good = {"upgrade": ["websocket"], "connection": ["Upgrade"], "sec-websocket-accept": ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]}
    assert handshake.check_response(Fields(good), key, []) is None
    assert handshake.check_response(Fields({**good, "sec-websocket-protocol": ["b"]}), key, ["a", "b"]) == "b"
    variants: list[dict[str, list[str]]] = [{"sec-websocket-accept": ["wrong"]}, {"upgrade": []}, {"sec-websocket-protocol": ["c"]}]
    for broken in variants:
        with pytest.raises(handshake.HandshakeError):
            handshake.check_response(Fields({**good, **broken}), key, ["a"])


@pytest.mark.parametrize("module", ["frames", "deflate", "handshake"])
def test_the_codec_is_sans_io(module: str) -> None:
    """No sockets, no asyncio, nothing from the framework but sans-IO siblings and http1 (its NEED_DATA)."""
    source = Path(websocket.__file__).with_name(f"{module}.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not imported & {"asyncio", "socket", "ssl", "selectors"}
    framework_modules = {name for name in imported if name.startswith("framework")}
    # http1 is sans-IO too and imports nothing from framework (tests/test_layout.py).
    assert framework_modules <= {"framework.websocket.deflate", "framework.http1"}


def test_public_names() -> None:
    for name in ["WebSocketHandler", "WebSocketClientConnection", "WebSocketClosedError", "WebSocketError", "websocket_connect"]:
        assert name in websocket.__all__ and getattr(websocket, name) is not None
    assert issubclass(WebSocketClosedError, WebSocketError)


# == the protocol on a fake transport ==========================================


class FakeTransport(asyncio.Transport):
    """Records what the protocol does to its transport."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.eof = self.closed = self.aborted = self.reading_paused = False
        self.protocol: WebSocketProtocol | None = None
        self.backlog = 0  # what a real transport would still hold for the peer

    def get_write_buffer_size(self) -> int:
        return self.backlog

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return 16 * 1024, 64 * 1024

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.eof, "write after write_eof"
        self.written += data

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True
        if self.protocol is not None:
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def is_closing(self) -> bool:
        return self.eof or self.closed or self.aborted

    def pause_reading(self) -> None:
        self.reading_paused = True

    def resume_reading(self) -> None:
        self.reading_paused = False

    def sent(self) -> list[Event]:
        """What the server side wrote, decoded as a client would."""
        return events_of(FrameReader(masked=False), bytes(self.written))


class Sink:
    """A minimal message sink: records everything."""

    def __init__(self) -> None:
        self.messages: list[str | bytes] = []
        self.pings: list[bytes] = []
        self.pongs: list[bytes] = []
        self.closed: list[tuple[int | None, str | None]] = []
        self.result: Awaitable[None] | None = None

    def _ws_message(self, message: str | bytes) -> Awaitable[None] | None:
        self.messages.append(message)
        return self.result

    def _ws_ping(self, data: bytes) -> None:
        self.pings.append(data)

    def _ws_pong(self, data: bytes) -> None:
        self.pongs.append(data)

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        self.closed.append((code, reason))


def on_fake(test: Callable[[FakeTransport, Sink, WebSocketProtocol], Awaitable[None]], **kwargs: Any) -> None:
    async def main() -> None:
        transport, sink = FakeTransport(), Sink()
        protocol = WebSocketProtocol(transport, sink, client=False, **kwargs)
        transport.protocol = protocol
        await test(transport, sink, protocol)

    asyncio.run(main())


async def until(condition: Callable[[], bool]) -> None:
    """Wait for something the loop will make true (bounded by pytest-timeout, not timed)."""
    while not condition():
        await asyncio.sleep(0.005)


def test_events_wait_for_start_then_ping_is_answered() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.receive(client_frame(0x1, b"early") + client_frame(0x9, b"are you there"))
        assert sink.messages == [] and transport.written == b""
        protocol.start()
        assert sink.messages == ["early"] and sink.pings == [b"are you there"]
        assert transport.sent() == [Pong(b"are you there")]

    on_fake(test)


def test_close_frame_is_echoed_and_on_close_runs_once() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.data_received(client_frame(0x8, close_payload(1000, b"bye")) + client_frame(0x1, b"ignored"))
        assert transport.sent() == [Close(1000, "")]
        assert transport.eof and protocol.is_closing()
        assert sink.messages == []
        with pytest.raises(WebSocketClosedError):
            protocol.write_message(b"too late", text=False)
        protocol.connection_lost(None)
        protocol.connection_lost(None)
        assert sink.closed == [(1000, "bye")]

    on_fake(test)


def test_close_waits_a_bounded_time_for_the_peer() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.close(4000, "going")
        assert transport.sent() == [Close(4000, "going")]
        await until(lambda: bool(sink.closed))
        assert transport.aborted and sink.closed == [(None, None)]

    on_fake(test, close_timeout=0.01)


def test_protocol_error_fails_the_connection() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.data_received(client_frame(0x1, b"ok") + client_frame(0x1, b"\xff") + client_frame(0x1, b"never"))
        assert sink.messages == ["ok"]
        assert transport.sent() == [Close(1007, "text message is not valid UTF-8")]
        assert transport.eof  # half-closed; lingering until the peer's FIN
        protocol.data_received(client_frame(0x1, b"discarded"))
        assert sink.messages == ["ok"]

    on_fake(test)


def test_a_peer_already_gone_when_half_closing_is_dropped() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        def write_eof() -> None:
            raise OSError(107, "Transport endpoint is not connected")

        transport.write_eof = write_eof  # type: ignore[method-assign]
        protocol.start()
        protocol.data_received(client_frame(0x8, close_payload(1016)))  # an invalid code: fail
        assert transport.aborted
        await until(lambda: bool(sink.closed))

    on_fake(test)


def test_async_on_message_holds_back_the_next_message() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sink.result = gate
        protocol.start()
        protocol.data_received(client_frame(0x1, b"one") + client_frame(0x1, b"two"))
        assert sink.messages == ["one"]
        protocol.data_received(client_frame(0x2, b"x" * 70000))
        assert transport.reading_paused  # a little is buffered meanwhile, then TCP pushes back
        sink.result = None
        gate.set_result(None)
        await until(lambda: len(sink.messages) == 3)
        assert sink.messages == ["one", "two", b"x" * 70000] and not transport.reading_paused

    on_fake(test)


def test_write_flow_control() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        assert protocol.write_message(b"a", text=False).done()
        protocol.pause_writing()
        first = protocol.write_message(b"b", text=False)
        assert not first.done()
        protocol.resume_writing()
        assert first.done()
        protocol.pause_writing()
        second = protocol.write_message(b"c", text=False)
        protocol.connection_lost(None)
        with pytest.raises(WebSocketClosedError):
            await second

    on_fake(test)


def test_backed_up_writes_stop_reading_and_dispatching() -> None:
    # A peer that sends pings but never reads: every pong is a write, so
    # while the transport is over its high-water mark nothing more is read
    # or answered; the held pings are answered once it drains.
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.pause_writing()
        assert transport.reading_paused
        protocol.data_received(client_frame(0x9, b"one") + client_frame(0x9, b"two"))
        assert transport.sent() == [] and sink.pings == []
        protocol.resume_writing()
        assert transport.sent() == [Pong(b"one"), Pong(b"two")] and sink.pings == [b"one", b"two"]
        assert not transport.reading_paused

    on_fake(test)


def test_reading_stays_paused_while_writes_are_backed_up() -> None:
    # Reaching NEED_DATA (which normally resumes reading) must not undo it.
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.data_received(client_frame(0x9, b"a"))
        protocol.pause_writing()
        protocol.data_received(b"")
        assert transport.reading_paused
        protocol.start()
        assert transport.reading_paused

    on_fake(test)


def test_a_backlog_over_the_limit_drops_a_peer_that_does_not_read() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        protocol.pause_writing()
        transport.backlog = 1000
        protocol.write_message(b"fits", text=False)  # at the limit: queued
        transport.backlog = 1001
        with pytest.raises(WebSocketClosedError):
            protocol.write_message(b"one too many", text=False)
        assert transport.aborted
        await until(lambda: bool(sink.closed))

    on_fake(test, max_write_backlog=1000)


def test_a_transport_already_backed_up_at_the_upgrade_counts_as_paused() -> None:
    async def main() -> None:
        transport, sink = FakeTransport(), Sink()
        transport.backlog = 100 * 1024  # over the 64 KiB high-water mark
        protocol = WebSocketProtocol(transport, sink, client=False)
        protocol.start()
        protocol.data_received(client_frame(0x9, b"held"))
        assert transport.sent() == []
        protocol.resume_writing()
        assert transport.sent() == [Pong(b"held")]

    asyncio.run(main())


def test_keepalive_ping_timeout_closes() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        await until(lambda: transport.eof)
        sent = transport.sent()
        assert sent[0] == Ping(b"") and sent[-1] == Close(1001, "ping timeout")

    on_fake(test, ping_interval=0.01, ping_timeout=0.02)


def test_keepalive_pong_keeps_the_connection() -> None:
    async def test(transport: FakeTransport, sink: Sink, protocol: WebSocketProtocol) -> None:
        protocol.start()
        for _ in range(3):
            count = len(transport.sent())
            await until(lambda: len(transport.sent()) > count)
            assert transport.sent()[-1] == Ping(b"")
            protocol.data_received(client_frame(0xA))
        assert not transport.eof and len(sink.pongs) == 3
        protocol.abort()
        await until(lambda: bool(sink.closed))

    on_fake(test, ping_interval=0.01, ping_timeout=5.0)


# == real sockets ===============================================================


class Log:
    """What a handler saw; shared by the test and its handler (same loop)."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        self.handler: WebSocketHandler | None = None

    def messages(self) -> list[Any]:
        return [e[1] for e in self.events if e[0] == "message"]


class EchoHandler(WebSocketHandler):
    """Echoes every message, and records its life in ``log``."""

    def initialize(self, log: Log) -> None:
        self.log = log

    def open(self, *args: Any) -> Awaitable[None] | None:
        self.log.handler = self
        self.log.events.append(("open", args))
        self.log.opened.set()
        return None

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        self.log.events.append(("message", message))
        self.write_message(message, binary=isinstance(message, bytes))
        return None

    def on_ping(self, data: bytes) -> None:
        self.log.events.append(("ping", data))

    def on_pong(self, data: bytes) -> None:
        self.log.events.append(("pong", data))

    def on_close(self) -> None:
        self.log.events.append(("close", self.close_code, self.close_reason))
        self.log.closed.set()

    def on_finish(self) -> None:
        self.log.events.append(("finish",))


@contextlib.asynccontextmanager
async def running(handler: type[WebSocketHandler], log: Log | None = None, **settings: Any) -> AsyncIterator[int]:
    """Serve ``handler`` at ``/ws`` (and ``/ws/(.*)``) on this loop; yields the port."""
    kwargs = {"log": log} if log is not None else {}
    listen_options = settings.pop("listen_options", {})
    app = Application([(r"/ws", handler, kwargs), (r"/ws/(.*)", handler, kwargs)], **settings)
    server = app.listen(0, "127.0.0.1", **listen_options)
    await asyncio.sleep(0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.stop()
        await server.close_all_connections()


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


class RawClient:
    """A socket that speaks WebSocket by hand: sends any bytes, reads frames and responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""

    @classmethod
    async def connect(
        cls, port: int, *, path: str = "/ws", method: str = "GET", headers: dict[str, str | None] | None = None
    ) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        fields: dict[str, str | None] = {
            "Host": f"127.0.0.1:{port}",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
        }
        fields.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v is not None)
        writer.write(head.encode() + b"\r\n")
        await client._read_response()
        return client

    async def _read_response(self) -> None:
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        self.status = int(lines[0].split(" ")[1])
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()
        if self.status != 101:
            self.body = await self.reader.readexactly(int(self.headers.get("content-length", "0")))

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def frame(self) -> tuple[bool, int, bytes]:
        """The next frame from the server: (fin, opcode, payload); it must be unmasked."""
        first, second = await self.reader.readexactly(2)
        assert not second & 0x80, "server frames are never masked"
        n = second & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return bool(first & 0x80), first & 0x0F, await self.reader.readexactly(n)

    async def close_frame(self) -> tuple[int | None, bytes]:
        """Skip to the server's Close frame; its code and reason."""
        while True:
            _, opcode, payload = await self.frame()
            if opcode == 0x8:
                return (struct.unpack("!H", payload[:2])[0] if payload else None), payload[2:]

    async def server_closed(self) -> bool:
        """Read to EOF: True once the server has closed its side."""
        return await self.reader.read() == b""

    async def aclose(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


# -- messages ---------------------------------------------------------------------


def test_text_binary_and_json_echo_with_websocket_connect() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            await conn.write_message("héllo wörld")
            assert await conn.read_message() == "héllo wörld"
            await conn.write_message(b"\x00\xff binary", binary=True)
            assert await conn.read_message() == b"\x00\xff binary"
            await conn.write_message({"a": [1, 2], "b": "c"})
            assert await conn.read_message() == '{"a": [1, 2], "b": "c"}'
            await conn.write_message(b"bytes as text")
            assert await conn.read_message() == "bytes as text"
            with pytest.raises(ValueError):
                conn.write_message(b"\xff not utf-8")
            conn.close()
            assert await conn.read_message() is None
            await log.closed.wait()
        assert log.messages() == ["héllo wörld", b"\x00\xff binary", '{"a": [1, 2], "b": "c"}', "bytes as text"]
        # The web layer saw one finished request: on_finish ran once, at the upgrade.
        assert log.events[0] == ("finish",) and log.events.count(("finish",)) == 1

    run(main)


def test_a_one_megabyte_message_each_way() -> None:
    async def main() -> None:
        big = bytes(range(256)) * 4096
        async with running(EchoHandler, Log()) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            await conn.write_message(big, binary=True)
            assert await conn.read_message() == big
            await conn.write_message("é" * 500_000)
            assert await conn.read_message() == "é" * 500_000
            conn.close()
            assert await conn.read_message() is None

    run(main)


def test_route_arguments_reach_open() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws/room%201")
            await log.opened.wait()
            conn.close()
            await log.closed.wait()
        assert log.events[1] == ("open", ("room 1",))

    run(main)


def test_fragmented_message_from_a_raw_client() -> None:
    async def main() -> None:
        log = Log()
        data = "a κόσμε 𝄞".encode()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port)
            assert raw.status == 101 and raw.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
            # Cut inside "κ" (2 bytes) and inside the 4-byte clef.
            raw.send(client_frame(0x1, data[:3], fin=False))
            raw.send(client_frame(0x0, data[3:12], fin=False))
            raw.send(client_frame(0x0, data[12:]))
            assert await raw.frame() == (True, 0x1, data)
            raw.send(client_frame(0x8, close_payload(1000)))
            assert await raw.close_frame() == (1000, b"")
            assert await raw.server_closed()
            await raw.aclose()
            await log.closed.wait()
        assert log.messages() == [data.decode()]

    run(main)


def test_ping_between_fragments_is_answered_at_once() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port)
            raw.send(client_frame(0x2, b"first half ", fin=False))
            raw.send(client_frame(0x9, b"ping data"))
            assert await raw.frame() == (True, 0xA, b"ping data")  # before the message is complete
            raw.send(client_frame(0x0, b"second half"))
            assert await raw.frame() == (True, 0x2, b"first half second half")
            raw.send(client_frame(0x8))
            assert await raw.close_frame() == (None, b"")
            await raw.aclose()
            await log.closed.wait()
        assert ("ping", b"ping data") in log.events

    run(main)


class PingingHandler(EchoHandler):
    def open(self, *args: Any) -> None:
        super().open(*args)
        self.ping(b"from server")


def test_server_ping_gets_pong_and_on_pong_runs() -> None:
    async def main() -> None:
        log = Log()
        async with running(PingingHandler, log) as port:
            pongs: list[bytes] = []
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            conn.on_pong = pongs.append  # type: ignore[method-assign,assignment]
            conn.ping("from client")
            await conn.write_message("sync")  # the echo comes after the pong to our ping
            assert await conn.read_message() == "sync"
            assert pongs == [b"from client"]
            while ("pong", b"from server") not in log.events:
                await asyncio.sleep(0.005)
            conn.close()
            await log.closed.wait()

    run(main)


def test_keepalive_pings_from_settings() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log, websocket_ping_interval=0.01, websocket_ping_timeout=0.05) as port:
            raw = await RawClient.connect(port)
            assert await raw.frame() == (True, 0x9, b"")
            # Never answer: the server gives up and says why.
            assert await raw.close_frame() == (1001, b"ping timeout")
            await raw.aclose()
            await log.closed.wait()

    run(main)


# -- invalid frames close with the right code -------------------------------------


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        pytest.param(client_frame(0x2, b"x" * 1001), 1009, id="oversize"),
        pytest.param(client_frame(0x2, b"x" * 600, fin=False) + client_frame(0x0, b"x" * 600), 1009, id="oversize-fragments"),
        pytest.param(client_frame(0x1, "ok".encode() + b"\xc0\xaf"), 1007, id="bad-utf8"),
        pytest.param(client_frame(0x1, b"unmasked", masked=False), 1002, id="unmasked"),
        pytest.param(client_frame(0x5, b"x"), 1002, id="reserved-opcode"),
        pytest.param(client_frame(0x9, b"x" * 126), 1002, id="long-control-frame"),
        pytest.param(client_frame(0xA, b"x", fin=False), 1002, id="fragmented-control-frame"),
        pytest.param(client_frame(0x1, b"x", rsv=1), 1002, id="rsv-without-extension"),
        pytest.param(client_frame(0x0, b"x"), 1002, id="continuation-first"),
        pytest.param(client_frame(0x8, close_payload(1005)), 1002, id="close-code-1005"),
        pytest.param(client_frame(0x8, b"\x03"), 1002, id="one-byte-close"),
    ],
)
def test_invalid_frames_close_with_the_right_code(frames: bytes, code: int) -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log, websocket_max_message_size=1000) as port:
            raw = await RawClient.connect(port)
            raw.send(frames)
            received, _ = await raw.close_frame()
            assert received == code
            assert await raw.server_closed()
            await raw.aclose()
            await log.closed.wait()
        assert log.events[-1] == ("close", None, None) and log.events.count(log.events[-1]) == 1

    run(main)


def test_client_sees_1009_from_the_server() -> None:
    async def main() -> None:
        async with running(EchoHandler, Log(), websocket_max_message_size=100) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            await conn.write_message("x" * 101)
            assert await conn.read_message() is None
            assert conn.close_code == 1009
            with pytest.raises(WebSocketClosedError):
                conn.write_message("after")

    run(main)


def test_client_limits_what_it_accepts() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws", max_message_size=10)
            await conn.write_message("x" * 11)  # echoed back: too big for the client
            assert await conn.read_message() is None
            await log.closed.wait()
        assert ("close", 1009, "message larger than 10 bytes") in log.events

    run(main)


# -- closing ---------------------------------------------------------------------


def test_client_close_code_and_reason_reach_the_server() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            conn.close(1000, "goodbye ✓")
            assert await conn.read_message() is None
            assert conn.close_code == 1000  # the server echoed the code
            await log.closed.wait()
            await asyncio.sleep(0.01)  # give a second on_close a chance to (wrongly) happen
        assert [e for e in log.events if e[0] == "close"] == [("close", 1000, "goodbye ✓")]

    run(main)


class ClosingHandler(EchoHandler):
    def on_message(self, message: str | bytes) -> None:
        if message == "close":
            self.close(4001, "server says bye")
            with pytest.raises(WebSocketClosedError):
                self.write_message("too late")
        else:
            super().on_message(message)


def test_server_initiated_close() -> None:
    async def main() -> None:
        log = Log()
        async with running(ClosingHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            await conn.write_message("close")
            assert await conn.read_message() is None
            assert (conn.close_code, conn.close_reason) == (4001, "server says bye")
            await log.closed.wait()
        assert log.events[-1] == ("close", 4001, None)  # the client echoed the code alone

    run(main)


def test_abrupt_disconnect_runs_on_close() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port)
            raw.send(client_frame(0x1, b"hi"))
            assert await raw.frame() == (True, 0x1, b"hi")
            raw.writer.transport.abort()  # no Close frame, a reset
            await log.closed.wait()
            log.handler = None
        assert log.events[-1] == ("close", None, None)

    run(main)


def test_write_after_the_client_left_raises() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port)
            await log.opened.wait()
            await raw.aclose()
            await log.closed.wait()
            assert log.handler is not None
            with pytest.raises(WebSocketClosedError):
                log.handler.write_message("anyone?")
            with pytest.raises(WebSocketClosedError):
                log.handler.ping()

    run(main)


# -- the opening handshake --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {"Sec-WebSocket-Key": None}, 400),
        ("GET", {"Sec-WebSocket-Key": "dG9vIHNob3J0"}, 400),
        ("GET", {"Sec-WebSocket-Version": "8"}, 426),
        ("GET", {"Upgrade": None}, 400),
        ("GET", {"Connection": "keep-alive"}, 400),
        ("POST", {"Content-Length": "0"}, 405),
    ],
)
def test_handshake_errors(method: str, headers: dict[str, str | None], status: int) -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port, method=method, headers=headers)
            assert raw.status == status
            if status == 426:
                assert raw.headers["sec-websocket-version"] == "13"
            if status == 405:
                assert raw.headers["allow"] == "GET"
            await raw.aclose()
        assert not log.opened.is_set()

    run(main)


def test_check_origin_is_same_origin_by_default() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            cross = await RawClient.connect(port, headers={"Origin": "http://evil.example"})
            assert cross.status == 403 and b"Cross origin" in cross.body
            await cross.aclose()
            same = await RawClient.connect(port, headers={"Origin": f"http://127.0.0.1:{port}"})
            assert same.status == 101
            same.send(client_frame(0x8))
            await same.close_frame()
            await same.aclose()
            await log.closed.wait()

    run(main)


class AnyOriginHandler(EchoHandler):
    def check_origin(self, origin: str) -> bool:
        return origin.endswith(".example")


def test_check_origin_can_be_overridden() -> None:
    async def main() -> None:
        log = Log()
        async with running(AnyOriginHandler, log) as port:
            request = HTTPRequest(f"ws://127.0.0.1:{port}/ws", headers={"Origin": "https://friend.example"})
            conn = await websocket_connect(request)
            conn.close()
            await log.closed.wait()

    run(main)


class ChatHandler(EchoHandler):
    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        self.log.events.append(("offered", subprotocols))
        return "chat.v2" if "chat.v2" in subprotocols else None


def test_subprotocol_selection() -> None:
    async def main() -> None:
        log = Log()
        async with running(ChatHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["chat.v1", "chat.v2"])
            assert conn.selected_subprotocol == "chat.v2"
            await log.opened.wait()
            assert log.handler is not None and log.handler.selected_subprotocol == "chat.v2"
            conn.close()
            await log.closed.wait()
            plain = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            assert plain.selected_subprotocol is None
            plain.close()
            assert await plain.read_message() is None
        assert ("offered", ["chat.v1", "chat.v2"]) in log.events and ("offered", []) in log.events

    run(main)


class BadSubprotocolHandler(EchoHandler):
    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "not-offered"


def test_selecting_a_subprotocol_not_offered_is_a_server_error(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with running(BadSubprotocolHandler, Log()) as port:
            with pytest.raises(HTTPClientError) as caught:
                await websocket_connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["a"])
            assert caught.value.code == 500

    run(main)


# -- async open and on_message ------------------------------------------------------


class SlowOpenHandler(EchoHandler):
    async def open(self, *args: Any) -> None:
        for _ in range(20):
            await asyncio.sleep(0)
        self.log.events.append(("opened",))
        super().open(*args)


def test_messages_wait_for_an_async_open() -> None:
    async def main() -> None:
        log = Log()
        async with running(SlowOpenHandler, log) as port:
            raw = await RawClient.connect(port)
            raw.send(client_frame(0x1, b"sent at once"))
            assert await raw.frame() == (True, 0x1, b"sent at once")
            raw.send(client_frame(0x8))
            await raw.close_frame()
            await raw.aclose()
            await log.closed.wait()
        kinds = [e[0] for e in log.events]
        assert kinds.index("opened") < kinds.index("message")

    run(main)


class SlowMessageHandler(EchoHandler):
    async def on_message(self, message: str | bytes) -> None:
        # Earlier messages take longer: without ordering the replies would reverse.
        for _ in range(10 * (5 - int(message))):
            await asyncio.sleep(0)
        self.log.events.append(("message", message))
        await self.write_message(message)


def test_async_on_message_keeps_order() -> None:
    async def main() -> None:
        log = Log()
        async with running(SlowMessageHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            for i in range(5):
                await conn.write_message(str(i))
            assert [await conn.read_message() for _ in range(5)] == ["0", "1", "2", "3", "4"]
            conn.close()
            await log.closed.wait()
        assert log.messages() == ["0", "1", "2", "3", "4"]

    run(main)


class FailingHandler(EchoHandler):
    def on_message(self, message: str | bytes) -> None:
        raise RuntimeError("handler bug")


def test_exception_in_on_message_closes_with_1011(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        log = Log()
        async with running(FailingHandler, log) as port:
            raw = await RawClient.connect(port)
            raw.send(client_frame(0x1, b"boom"))
            assert await raw.close_frame() == (1011, b"internal error")
            await raw.aclose()
            await log.closed.wait()

    run(main)
    assert "handler bug" in caplog.text


# -- the client -----------------------------------------------------------------------


def test_on_message_callback_gets_messages_then_none() -> None:
    async def main() -> None:
        received: list[str | bytes | None] = []
        done = asyncio.Event()

        def on_message(message: str | bytes | None) -> None:
            received.append(message)
            if message is None:
                done.set()

        async with running(ClosingHandler, Log()) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws", on_message_callback=on_message)
            await conn.write_message("one")
            await conn.write_message("close")
            await done.wait()
        assert received == ["one", None]

    run(main)


def test_client_errors() -> None:
    async def main() -> None:
        async with running(EchoHandler, Log()) as port:
            with pytest.raises(HTTPClientError) as caught:
                await websocket_connect(f"ws://127.0.0.1:{port}/nowhere")
            assert caught.value.code == 404
            with pytest.raises(ValueError):
                await websocket_connect(f"ftp://127.0.0.1:{port}/ws")
        with pytest.raises(OSError):
            await websocket_connect(f"ws://127.0.0.1:{port}/ws")  # nobody listens any more

    run(main)


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handle: RawHandler) -> AsyncIterator[int]:
    """A misbehaving server written by hand; waits for its handlers (which read to EOF) on exit."""
    tasks: list[asyncio.Future[Any]] = []

    async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.append(task)
        try:
            await handle(reader, writer)
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve_one, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def switching_protocols(accept: str) -> bytes:
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
    )


def test_client_verifies_sec_websocket_accept() -> None:
    async def wrong_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(switching_protocols("bm90IHRoZSByaWdodCBrZXk="))

    async def main() -> None:
        async with raw_server(wrong_accept) as port:
            with pytest.raises(WebSocketError, match="Sec-WebSocket-Accept"):
                await websocket_connect(f"ws://127.0.0.1:{port}/")

    run(main)


def test_client_refuses_a_plain_http_answer() -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")

    async def main() -> None:
        async with raw_server(plain_http) as port:
            with pytest.raises(WebSocketError, match="Non-websocket response"):
                await websocket_connect(f"ws://127.0.0.1:{port}/")

    run(main)


def test_client_fails_on_a_masked_server_frame_and_reads_the_bytes_sent_with_the_101() -> None:
    seen = bytearray()

    async def masking_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        key = next(line.split(": ")[1] for line in head.split("\r\n") if line.lower().startswith("sec-websocket-key"))
        writer.write(
            switching_protocols(handshake.accept_key(key))
            + client_frame(0x1, b"hello", masked=False)  # in the same packet as the head
            + client_frame(0x1, b"masked!")  # servers must not mask
        )
        while data := await reader.read(65536):
            seen.extend(data)

    async def main() -> None:
        async with raw_server(masking_server) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/")
            assert await conn.read_message() == "hello"
            assert await conn.read_message() is None
        assert events_of(FrameReader(masked=True), bytes(seen)) == [Close(1002, "server frame masked")]

    run(main)


class CompressingHandler(EchoHandler):
    def get_compression_options(self) -> dict[str, Any]:
        return {"compression_level": 9}


def test_permessage_deflate_end_to_end() -> None:
    async def main() -> None:
        log = Log()
        async with running(CompressingHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws", compression_options={})
            assert conn.headers is not None and conn.headers["Sec-WebSocket-Extensions"] == "permessage-deflate"
            messages: list[str | bytes] = ["compress me " * 1000, b"\x00" * 100_000, "short", ""]
            for message in messages:
                await conn.write_message(message, binary=isinstance(message, bytes))
                assert await conn.read_message() == message
            conn.close()
            await log.closed.wait()
            # A raw client that offers it sees compressed frames (RSV1 set, small payload).
            extensions = "permessage-deflate; server_no_context_takeover"
            raw = await RawClient.connect(port, headers={"Sec-WebSocket-Extensions": extensions})
            assert raw.headers["sec-websocket-extensions"] == "permessage-deflate; server_no_context_takeover"
            raw.send(client_frame(0x1, deflate.Deflater().compress(b"a" * 5000), rsv=4))
            first, second = await raw.reader.readexactly(2)
            assert first == 0xC1 and second < 126  # FIN, RSV1, text; 5000 bytes compressed to a few
            await raw.reader.readexactly(second)
            await raw.aclose()

    run(main)


def test_compression_is_not_negotiated_unless_the_handler_allows_it() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws", compression_options={})
            assert conn.headers is not None and "Sec-WebSocket-Extensions" not in conn.headers
            await conn.write_message("plain")
            assert await conn.read_message() == "plain"
            conn.close()
            await log.closed.wait()

    run(main)


def test_wss(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log, listen_options={"ssl_options": context}) as port:
            conn = await websocket_connect(HTTPRequest(f"wss://127.0.0.1:{port}/ws", ca_certs=str(cert)))
            await conn.write_message("over TLS")
            assert await conn.read_message() == "over TLS"
            conn.close(1000, "done")
            assert await conn.read_message() is None
            await log.closed.wait()
            with pytest.raises(ssl.SSLCertVerificationError):
                await websocket_connect(f"wss://127.0.0.1:{port}/ws")
        assert log.events[-1] == ("close", 1000, "done")

    run(main)


def test_with_the_threaded_test_server() -> None:
    """``framework.testing.serve``: the server on its own loop in a thread, the client here."""
    closed = threading.Event()

    class ThreadedEcho(WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message)

        def on_close(self) -> None:
            closed.set()

    with serve(Application([(r"/ws", ThreadedEcho)])) as server:

        async def main() -> None:
            conn = await websocket_connect(f"ws://127.0.0.1:{server.port}/ws")
            await conn.write_message("across threads")
            assert await conn.read_message() == "across threads"
            conn.close()
            assert await conn.read_message() is None

        run(main)
        assert closed.wait(10)


def test_an_independent_client_websocket_client_library() -> None:
    """Interoperability: the ``websocket-client`` package (when installed) against the threaded server."""
    client = pytest.importorskip("websocket")
    closed = threading.Event()
    seen: list[tuple[int | None, str | None]] = []

    class InteropEcho(WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

        def on_close(self) -> None:
            seen.append((self.close_code, self.close_reason))
            closed.set()

    with serve(Application([(r"/ws", InteropEcho)])) as server:
        ws = client.create_connection(f"ws://127.0.0.1:{server.port}/ws", timeout=10)
        try:
            ws.send("interop ✓")
            assert ws.recv() == "interop ✓"
            ws.send_binary(b"\x00\x01" * 40000)
            assert ws.recv() == b"\x00\x01" * 40000
            ws.ping(b"are you there")
            opcode, frame = ws.recv_data_frame(control_frame=True)
            assert opcode == client.ABNF.OPCODE_PONG and frame.data == b"are you there"
        finally:
            ws.close(status=1000, reason=b"bye")
        assert closed.wait(10)
    assert seen == [(1000, "bye")]


def test_server_drain_closes_websockets_with_going_away() -> None:
    async def main() -> None:
        log = Log()
        app = Application([(r"/ws", EchoHandler, {"log": log})])
        server = app.listen(0, "127.0.0.1")
        await asyncio.sleep(0)
        port = server.sockets[0].getsockname()[1]
        conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
        await conn.write_message("before")
        assert await conn.read_message() == "before"
        server.stop()
        report = await server.drain(5)
        assert await conn.read_message() is None
        assert conn.close_code == 1001
        assert (report.finished, report.aborted) == (1, 0)
        await log.closed.wait()

    run(main)


# -- a peer that sends without reading (issue 12) -------------------------------------


def test_ping_flood_from_a_client_that_never_reads_keeps_the_server_backlog_bounded() -> None:
    # Before: every ping's pong was queued (40 MB of pings, +33 MB of server
    # memory). Now the server stops reading while its writes are backed up,
    # so the client's own send blocks and the server's queue stays small.
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            client = await RawClient.connect(port)
            sock = client.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await asyncio.wait_for(log.opened.wait(), 5)
            assert log.handler is not None and log.handler.ws_connection is not None
            server_side = log.handler.ws_connection
            pings = client_frame(0x9, b"p" * 125) * 512  # about 67 KB per write
            sent, peak = 0, 0
            for _ in range(16 * 1024 * 1024 // len(pings)):  # up to 16 MB
                client.send(pings)
                try:
                    await asyncio.wait_for(client.writer.drain(), 1.0)
                except TimeoutError:
                    break  # blocked: the server stopped reading, as it should
                sent += len(pings)
                if server_side.transport is not None:
                    peak = max(peak, server_side.transport.get_write_buffer_size())
            if server_side.transport is not None:
                peak = max(peak, server_side.transport.get_write_buffer_size())
            assert peak < 1024 * 1024, f"server queued {peak} bytes of pongs after {sent} bytes of pings"
            assert sent < 16 * 1024 * 1024  # the client was held back by TCP
            client.writer.transport.abort()
            await asyncio.wait_for(log.closed.wait(), 5)

    run(main)

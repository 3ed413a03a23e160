"""Tests for framework/websocket/frames.py: the sans-IO codec, without sockets.

Frames are built by hand (``peers.client_frame``), including RFC 6455's own
examples; fragmentation, control frames between fragments, byte-at-a-time
input, protocol violations with their close codes, and close payloads.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.websocket.frames import (
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
from tests.framework.websocket.peers import (
    KEY,
    client_frame,
    close_payload,
    events_of,
    fails_with,
)


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
    frames = (
        client_frame(0x1, "héllo".encode(), fin=False) + client_frame(0x0, b"!") + client_frame(0x8, close_payload(1000, b"ok"))
    )
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
        pieces = [payload[a:b] for a, b in itertools.pairwise([0, *cuts, len(payload)])]
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
    for a, b in itertools.pairwise([0, *splits, len(stream)]):
        found += events_of(reader, stream[a:b])
    assert found == expected

"""Tests for framework/websocket/deflate.py: permessage-deflate, alone and end to end."""

from __future__ import annotations

from typing import Any

import pytest

from framework.websocket import (
    deflate,
    websocket_connect,
)
from framework.websocket.frames import (
    FrameError,
    FrameReader,
    FrameWriter,
    Message,
)
from tests.framework.harness import run
from tests.framework.websocket.peers import (
    EchoHandler,
    Log,
    RawClient,
    client_frame,
    events_of,
    fails_with,
    running,
)


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
        [
            "x-unknown, permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; client_max_window_bits; server_no_context_takeover",
        ]
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

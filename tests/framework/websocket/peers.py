"""What the WebSocket tests share: frames built by hand, and the peers they talk to.

``client_frame`` is an encoder written here, independent of the one under
test, so the codec is checked against bytes it did not produce; ``events_of``
and ``fails_with`` run a ``FrameReader`` over such bytes. ``EchoHandler``
echoes and records its life in a ``Log`` the test reads (same loop, no locks);
``ClosingHandler`` closes when told to (the handler and client tests both use
it); ``running`` serves a handler on this loop's ephemeral port; ``RawClient``
speaks WebSocket by hand and can send anything at all. A handler only one test
needs is declared beside that test, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest

from framework.web import Application
from framework.websocket import (
    WebSocketClosedError,
    WebSocketHandler,
)
from framework.websocket.frames import (
    NEED_DATA,
    Event,
    FrameError,
    FrameReader,
)
from tests.framework.harness import serving

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


# -- peers over real sockets --------------------------------------------------------


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
    """Serve ``handler`` at ``/ws`` (and ``/ws/(.*)``) on this loop; yields the port.

    ``listen_options`` (a dict) go to the ``HTTPServer``, the other keywords
    are the application's settings.
    """
    kwargs = {"log": log} if log is not None else {}
    listen_options = settings.pop("listen_options", {})
    app = Application([(r"/ws", handler, kwargs), (r"/ws/(.*)", handler, kwargs)], **settings)
    async with serving(app, **listen_options) as (_, port):
        yield port


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


class ClosingHandler(EchoHandler):
    def on_message(self, message: str | bytes) -> None:
        if message == "close":
            self.close(4001, "server says bye")
            with pytest.raises(WebSocketClosedError):
                self.write_message("too late")
        else:
            super().on_message(message)

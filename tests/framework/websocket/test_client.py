"""Tests for framework/websocket/client.py: ``websocket_connect`` against our server and hostile ones.

Misbehaving servers (a wrong ``Sec-WebSocket-Accept``, a plain HTTP answer,
masked frames) are raw asyncio servers declared beside the test that needs
them; the rest talk to ``peers.EchoHandler``, over TLS too.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from framework.httpclient import HTTPClientError, HTTPRequest
from framework.netutil import Resolver
from framework.websocket import (
    WebSocketClosedError,
    WebSocketError,
    handshake,
    websocket_connect,
)
from framework.websocket.frames import (
    Close,
    FrameReader,
)
from tests.framework.harness import run
from tests.framework.websocket.peers import (
    ClosingHandler,
    EchoHandler,
    Log,
    client_frame,
    events_of,
    running,
)


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


# -- resolver= (Tornado 6.3) ----------------------------------------------------------


class Recording(Resolver):
    """Answers ``example.invalid`` with 127.0.0.1; remembers every question and whether it was closed."""

    def initialize(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.closed = False

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, Any]]:
        self.calls.append((host, port))
        if host != "example.invalid":
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not known here")
        return [(socket.AF_INET, ("127.0.0.1", port))]

    def close(self) -> None:
        self.closed = True


def test_a_given_resolver_finds_the_server_and_stays_open() -> None:
    async def main() -> None:
        log = Log()
        resolver = Recording()
        async with running(EchoHandler, log) as port:
            conn = await websocket_connect(f"ws://example.invalid:{port}/ws", resolver=resolver)
            await log.opened.wait()
            assert log.handler is not None
            assert log.handler.request.headers["Host"] == f"example.invalid:{port}"
            await conn.write_message("found")
            assert await conn.read_message() == "found"
            conn.close()
            assert await conn.read_message() is None
            with pytest.raises(socket.gaierror):
                await websocket_connect(f"ws://elsewhere.invalid:{port}/ws", resolver=resolver)
        assert resolver.calls == [("example.invalid", port), ("elsewhere.invalid", port)]
        assert not resolver.closed

    run(main)


def test_without_a_resolver_the_configured_one_serves_one_attempt() -> None:
    made: list[Recording] = []

    class Counted(Recording):
        def initialize(self) -> None:
            super().initialize()
            made.append(self)

    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            saved = Resolver._save_configuration()
            Resolver.configure(Counted)
            try:
                conn = await websocket_connect(f"ws://example.invalid:{port}/ws")
            finally:
                Resolver._restore_configuration(saved)
            await conn.write_message("configured")
            assert await conn.read_message() == "configured"
            conn.close()
            assert await conn.read_message() is None
        assert [r.calls for r in made] == [[("example.invalid", port)]]
        assert made[0].closed  # made for the attempt, closed after it

    run(main)

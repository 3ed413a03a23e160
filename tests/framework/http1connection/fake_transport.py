"""A fake transport for the connection protocol, and a connection made on it (``connect``).

As uvicorn's ``tests/protocols/test_http.py`` does: no socket, no server
listening. An ``HTTP1ServerProtocol`` is made on a real ``HTTPServer``'s
``state`` (its settings, and a real ``Application`` as the delegate); only the
transport is fake. It records what the protocol does to it (writes,
half-close, close, pause and resume of reading); the test plays the network,
feeding bytes through ``data_received`` and making the flow-control callbacks
a real transport would make. What was written is read back with the harness's
small response reader, not with the framework's own parser.
"""

from __future__ import annotations

import asyncio
from typing import Any

from framework.http1connection import HTTP1ServerProtocol
from framework.httpserver import HTTPServer
from tests.framework.harness import Response, read_response

PEER = ("192.0.2.7", 50123)


class FakeTransport(asyncio.Transport):
    """Records what the protocol does to its transport; the test plays the network."""

    def __init__(self) -> None:
        super().__init__()
        self.protocol: HTTP1ServerProtocol | None = None
        self.written = bytearray()
        self.writes = 0  # how many write() calls
        self.closed = False
        self.eof_written = False
        self.reading_paused = False
        self.pauses = 0  # how many times reading was paused

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": PEER, "sockname": ("127.0.0.1", 8888)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed and not self.eof_written, "write after close or write_eof"
        self.written += data
        self.writes += 1

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            protocol = self.protocol
            if protocol is not None:  # as asyncio does: connection_lost comes later, from the loop
                asyncio.get_running_loop().call_soon(protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closed

    @property
    def sending_done(self) -> bool:
        """The server will write nothing more: it closed, or shut its sending side (a lingering close)."""
        return self.closed or self.eof_written

    def peer_closes(self) -> None:
        """The client closes its side, as asyncio's socket transport reports it: EOF, then close unless kept."""
        assert self.protocol is not None
        if not self.protocol.eof_received():
            self.close()

    def pause_reading(self) -> None:
        assert not self.reading_paused, "paused twice"
        self.reading_paused = True
        self.pauses += 1

    def resume_reading(self) -> None:
        assert self.reading_paused, "resumed without a pause"
        self.reading_paused = False

    def is_reading(self) -> bool:
        return not self.reading_paused

    def get_write_buffer_size(self) -> int:
        return 0

    async def responses(self, *, method: str = "GET") -> list[Response]:
        """Every complete response written so far, in order."""
        reader = asyncio.StreamReader()
        reader.feed_data(bytes(self.written))
        reader.feed_eof()
        found = []
        while not reader.at_eof():
            found.append(await read_response(reader, method=method))
        return found


def connect(app: Any, **server_kwargs: Any) -> tuple[HTTPServer, HTTP1ServerProtocol, FakeTransport]:
    """A protocol for ``app`` as ``HTTPServer(app, **server_kwargs)`` makes one, on a fresh fake transport."""
    server = HTTPServer(app, **server_kwargs)
    protocol = HTTP1ServerProtocol(server.state)
    transport = FakeTransport()
    transport.protocol = protocol
    protocol.connection_made(transport)
    return server, protocol, transport


def count(transport: FakeTransport, marker: bytes = b"HTTP/1.1 ") -> int:
    """How many response heads were written (every test body here avoids the marker)."""
    return bytes(transport.written).count(marker)

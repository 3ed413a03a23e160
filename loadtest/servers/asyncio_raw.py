"""The ceiling: a bare asyncio Protocol that answers every request with fixed bytes.

No parsing beyond counting ``\\r\\n\\r\\n`` (requests without bodies, which is
all wrk sends), one ``transport.write`` per batch of requests, keep-alive
forever. Nothing written in Python on top of asyncio can answer faster, so
this bounds what the framework could reach on the same loop.
Run: ``python loadtest/servers/asyncio_raw.py --port 8888 [--uvloop]``.
"""

from __future__ import annotations

import asyncio
from typing import cast

import startup

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHello, world"
END_OF_HEAD = b"\r\n\r\n"


class HelloProtocol(asyncio.Protocol):
    """Counts request heads; keeps the last 3 bytes so a split terminator is still seen."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports do not subclass asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffered = self.tail + data
        count = buffered.count(END_OF_HEAD)
        if count:
            self.tail = buffered[buffered.rfind(END_OF_HEAD) + 4 :][-3:]
            assert self.transport is not None
            self.transport.write(RESPONSE * count)
        else:
            self.tail = buffered[-3:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HelloProtocol, startup.HOST, port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    args = startup.command_line(__doc__).parse_args()
    loop = startup.uvloop_module().new_event_loop() if args.uvloop else asyncio.new_event_loop()
    try:
        startup.run_until_signalled(lambda: loop.run_until_complete(serve(args.port)))
    finally:
        loop.close()


if __name__ == "__main__":
    main()

"""The floor for loadtest/longpoll_fanout.py: the same three URLs on a bare asyncio Protocol.

``GET /poll`` keeps the transport in a list; ``POST /notify`` writes one
fixed response to every waiting transport in a plain loop (no task, no
future, no parsing beyond the request line); ``GET /stats`` reports as
``longpoll.py`` does. One ``transport.write`` per waiter is the least any
server on asyncio can do, so the time from the notify to the last write here
is what the machine's send path costs, and the framework's fan-out is
measured against it in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import cast

import startup

MESSAGE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nmessage\n"
NOTIFIED = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnotified\n"
state = {"waiting": 0, "woken": 0, "notified_at": 0.0, "last_written_at": 0.0, "disconnected": 0}
waiters: list[asyncio.Transport] = []


def answer(transport: asyncio.Transport, body: bytes, content_type: str = "application/json") -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    transport.write(head.encode("latin-1") + body)


class LongPollProtocol(asyncio.Protocol):
    """One connection; a request is recognised by its first line only (the load generator's own)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer or self.transport is None:
            return
        line, self.buffer = self.buffer.split(b"\r\n", 1)[0], b""
        loop = asyncio.get_running_loop()
        if line.startswith(b"GET /poll"):
            waiters.append(self.transport)
            state["waiting"] += 1
        elif line.startswith(b"POST /notify"):
            state["notified_at"] = loop.time()
            startup.mark_for_callgrind()  # (--instructions: the window starts)
            woken, waiters[:] = list(waiters), []
            state["waiting"] = 0
            for transport in woken:
                if not transport.is_closing():
                    transport.write(MESSAGE)
                    state["woken"] += 1
            startup.mark_for_callgrind()  # (--instructions: the window ends)
            state["last_written_at"] = loop.time()
            self.transport.write(NOTIFIED)
        elif line.startswith(b"GET /stats"):
            report = dict(state, pid=os.getpid(), elapsed=state["last_written_at"] - state["notified_at"])
            answer(self.transport, json.dumps(report).encode())
        else:
            answer(self.transport, b"not found\n", "text/plain")

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport in waiters:
            state["disconnected"] += 1
        self.transport = None


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(LongPollProtocol, startup.HOST, port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    args = startup.command_line(__doc__).parse_args()
    loop = startup.uvloop_module().new_event_loop() if args.uvloop else asyncio.new_event_loop()
    startup.run_until_signalled(lambda: loop.run_until_complete(serve(args.port)))


if __name__ == "__main__":
    main()

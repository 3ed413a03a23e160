"""Hold many idle keep-alive connections to a local server: each sends one ``GET /``, reads the answer, then idles.

Strategy: one asyncio Protocol per connection, opened at most
``--concurrency`` at a time (a listen backlog of 128 would otherwise drop
SYNs and stall the ramp on one-second retransmits). A connection counts as
held once its whole response (head plus ``Content-Length`` body) has arrived.
When every connection has been tried, one JSON line ``{"event": "ready", ...}``
goes to stdout; the holder then idles until SIGTERM/SIGINT or ``--hold``
seconds, and prints ``{"event": "done", ...}`` with how many connections the
server closed meanwhile. Every phase is bounded in time; traffic goes to
127.0.0.1 only.

Usage: ``python loadtest/conn_holder.py --port 8888 --count 10000``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import cast

from serverproc import raise_nofile_limit

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: conn_holder\r\n\r\n"


class Held(asyncio.Protocol):
    """One connection: sends the request, resolves ``answered`` with the status once the body is in."""

    closed_by_server = 0

    def __init__(self, answered: asyncio.Future[int]) -> None:
        self.answered = answered
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports do not subclass asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(REQUEST)

    def data_received(self, data: bytes) -> None:
        if self.answered.done():
            return  # nothing more is expected; an idle connection stays quiet
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buffer) - head_end - 4 >= length:
            self.buffer = b""
            self.answered.set_result(int(head[0].split()[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.answered.done():
            self.answered.set_exception(ConnectionError(f"closed before the response: {exc}"))
        else:
            Held.closed_by_server += 1


async def open_one(port: int, gate: asyncio.Semaphore, timeout: float, held: list[asyncio.Transport]) -> int | str:
    """Open one connection and wait for its answer; returns the status or an error name."""
    loop = asyncio.get_running_loop()
    async with gate:
        answered: asyncio.Future[int] = loop.create_future()
        transport = None
        try:
            transport, _ = await asyncio.wait_for(loop.create_connection(lambda: Held(answered), "127.0.0.1", port), timeout)
            status = await asyncio.wait_for(answered, timeout)
        except (OSError, TimeoutError, ConnectionError) as exc:
            if transport is not None:
                transport.abort()
            return type(exc).__name__
        held.append(transport)
        return status


async def hold(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    gate = asyncio.Semaphore(args.concurrency)
    held: list[asyncio.Transport] = []
    started = time.monotonic()
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(open_one(args.port, gate, args.timeout, held) for _ in range(args.count))),
        args.connect_deadline,
    )
    tally: dict[str, int] = {}
    for outcome in outcomes:
        tally[str(outcome)] = tally.get(str(outcome), 0) + 1
    report = {
        "event": "ready",
        "held": len(held),
        "tried": args.count,
        "outcomes": tally,
        "seconds": round(time.monotonic() - started, 2),
    }
    print(json.dumps(report), flush=True)
    try:
        await asyncio.wait_for(stop.wait(), args.hold)
    except TimeoutError:
        pass
    print(json.dumps({"event": "done", "closed_by_server": Held.closed_by_server}), flush=True)
    for transport in held:
        transport.abort()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100, help="connections being opened at once")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for one connect, and for its answer")
    parser.add_argument("--connect-deadline", type=float, default=180.0, help="seconds for the whole ramp")
    parser.add_argument("--hold", type=float, default=300.0, help="most seconds to hold before exiting")
    args = parser.parse_args()
    hard = raise_nofile_limit()
    if args.count + 50 > hard:
        sys.exit(f"--count {args.count} needs more open files than the hard limit {hard} allows")
    asyncio.run(hold(args))


if __name__ == "__main__":
    main()

"""Per-request CPU cost of the server and web stack, without sockets or a load generator.

A fake transport feeds one keep-alive request at a time into the real
``HTTP1ServerProtocol`` and collects what it writes, so the figure is the
framework's own Python work per request (parse -> route -> handler -> write),
repeatable to a few percent on a quiet core. Used to guide the hot-path work
that ``loadtest/bench.py`` then confirms end to end against Tornado and aiohttp.
The figure is the fastest batch of 1,000 requests: on a shared machine a
neighbour's burst spoils some batches, rarely all of them, so the minimum is
the steadiest estimate of the code's own cost.

    .venv/bin/python loadtest/bench_inprocess.py [--requests 50000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from typing import Any

from framework.http1connection import HTTP1ServerProtocol
from framework.httpserver import HTTPServer
from framework.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from framework.web import Application, RequestHandler

BATCH = 1000
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"


class FakeTransport:
    """Just enough of ``asyncio.Transport`` for the protocol: collects writes."""

    def __init__(self) -> None:
        self.written = 0
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def can_write_eof(self) -> bool:
        return False


class MainHandler(RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")


def raw(request: HTTPServerRequest) -> None:
    headers = HTTPHeaders({"Content-Type": "text/plain", "Content-Length": "12"})
    request.connection.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), headers, b"Hello, world")
    request.connection.finish()


async def run(app: Any, count: int) -> float:
    server = HTTPServer(app)
    proto = HTTP1ServerProtocol(server.state)
    transport = FakeTransport()
    proto.connection_made(transport)  # type: ignore[arg-type]
    for _ in range(1000):  # warm-up
        proto.data_received(REQUEST)
    best = float("inf")
    for _ in range(max(1, count // BATCH)):
        started = time.perf_counter()
        for _ in range(BATCH):
            proto.data_received(REQUEST)
        best = min(best, time.perf_counter() - started)
    assert not transport.closed
    proto.connection_lost(None)
    return best / BATCH * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the web stack run")
    args = parser.parse_args()
    contenders = {"server + plain callback": raw, "server + Application": Application([(r"/", MainHandler)])}
    for name, app in contenders.items():
        if args.profile and name.endswith("Application"):
            profiler = cProfile.Profile()
            profiler.enable()
            asyncio.run(run(app, args.requests))
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        best = min(asyncio.run(run(app, args.requests)) for _ in range(3))
        print(f"{name:28s} {best:6.2f} µs/request")


if __name__ == "__main__":
    main()

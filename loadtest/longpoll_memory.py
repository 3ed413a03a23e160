"""Where a waiting long poll's memory goes: Python allocations per waiter, by the line that made them.

Strategy: ``longpoll_fanout.py`` measures a waiter's whole cost as server RSS,
which says how much but not what. This runs ``servers/longpoll.py``'s
application in this process under ``tracemalloc``, with the clients in a
child process (plain blocking sockets to 127.0.0.1, so none of their
memory is traced): they connect ``--count`` keep-alive connections and the
first snapshot is taken with every connection idle; then each sends one
``GET /poll`` and the second snapshot is taken once all of them wait on the
``Condition``. The difference, divided by the count, is what one waiting
request holds beyond its idle connection, listed by the source line that
allocated it (the asyncio ``Task``, the request, the handler, ...).

    .venv/bin/python loadtest/longpoll_memory.py [--count 2000] [--top 25]

Every wait is bounded (``--timeout``); the clients are killed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import linecache
import socket
import subprocess
import sys
import tracemalloc
from pathlib import Path

SERVERS = Path(__file__).resolve().parent / "servers"
sys.path.insert(0, str(SERVERS))

import longpoll  # noqa: E402  (servers/ first on the path, as the server scripts run)

from framework.httpserver import HTTPServer  # noqa: E402
from framework.web import Application  # noqa: E402

CLIENTS = r"""
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
conns = []
for number in range(count):
    conns.append(socket.create_connection(("127.0.0.1", port), timeout=30))
print("connected", flush=True)
sys.stdin.readline()
for conn in conns:
    conn.sendall(b"GET /poll HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
print("sent", flush=True)
sys.stdin.readline()
"""


async def until(condition: object, what: str, timeout: float) -> None:
    """Poll ``condition()`` every 50 ms until it holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def measure(count: int, timeout: float) -> list[tracemalloc.StatisticDiff]:
    """The snapshot difference between ``count`` idle connections and the same ``count`` waiting."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=max(count, 128))
    server = HTTPServer(Application([(r"/poll", longpoll.PollHandler)]))
    server.add_sockets([listener])
    port = listener.getsockname()[1]
    clients = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENTS, str(port), str(count), stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert clients.stdin is not None and clients.stdout is not None
    try:
        await asyncio.wait_for(clients.stdout.readline(), timeout)
        await until(lambda: server.stats.open >= count, "every connection to be accepted", timeout)
        gc.collect()
        tracemalloc.start()
        idle = tracemalloc.take_snapshot()
        clients.stdin.write(b"\n")
        await clients.stdin.drain()
        await asyncio.wait_for(clients.stdout.readline(), timeout)
        await until(lambda: longpoll.state["waiting"] >= count, "every poll to wait", timeout)
        await asyncio.sleep(0.2)  # the last tasks reach their wait
        gc.collect()
        waiting = tracemalloc.take_snapshot()
        tracemalloc.stop()
        return waiting.compare_to(idle, "lineno")
    finally:
        clients.kill()
        await clients.wait()
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="waiting long polls (default 2000)")
    parser.add_argument("--top", type=int, default=25, help="source lines to list (default 25)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds any one phase may take (default 60)")
    args = parser.parse_args()
    if not 10 <= args.count <= 10_000:
        parser.error("--count must be 10..10000")
    diffs = asyncio.run(measure(args.count, args.timeout))
    total = sum(diff.size_diff for diff in diffs)
    print(f"{total / args.count:,.0f} bytes per waiter beyond its idle connection ({args.count} waiters, Python allocations)")
    print(f"{'bytes':>8} {'objects':>8}  line")
    for diff in diffs[: args.top]:
        frame = diff.traceback[0]
        source = linecache.getline(frame.filename, frame.lineno).strip()
        where = f"{frame.filename}:{frame.lineno}"
        print(f"{diff.size_diff / args.count:8.1f} {diff.count_diff / args.count:8.2f}  {where}  {source[:70]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

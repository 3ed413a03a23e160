"""Instructions per request of each server, counted by valgrind: a figure the machine's noise cannot move.

Strategy: on a shared 2-core machine req/s and CPU time move by 10-20%
between runs, and which contender is ahead can flip. ``valgrind
--tool=callgrind`` counts the instructions a process executes, which is the
same for the same code and input whatever else runs. Each server starts
under callgrind; a client in this process (plain blocking sockets, a fixed
number of keep-alive connections used in turn, one request in flight) sends
a warm-up, then callgrind is told to dump and zero its counters
(``callgrind_control -d``), then the measured requests, then a second dump:
the second dump holds exactly the server's instructions for those requests
(the event loop, the syscalls' user-side wrappers, the framework, the
handler). Only the hello workload (``GET /``), which every contender serves.
Instructions are not time (a cache miss costs more than an add), so this
complements ``bench.py``'s CPU time per request rather than replacing it.

    .venv/bin/python loadtest/instructions.py [--only framework_web,tornado] [--requests 2000] [--baseline DIR]

Needs valgrind (``apt-get install valgrind``). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile

from serverproc import REFERENCE, SAYS_HELLO, Contender, ServerProcess, free_port, interrupt_on_signals, select

DEFAULT = [
    "framework_raw",
    "framework_web",
    "tornado_web",
    "aiohttp_web",
    "uvicorn_asgi",
    "starlette_uvicorn",
    "asyncio_raw",
]
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: instructions\r\nAccept: */*\r\n\r\n"
ANSWER = b"Hello, world"


def send(connections: list[socket.socket], count: int) -> None:
    """``count`` requests over the connections in turn, each read to the end of its answer."""
    for number in range(count):
        conn = connections[number % len(connections)]
        conn.sendall(REQUEST)
        received = b""
        while not received.endswith(ANSWER):
            chunk = conn.recv(65536)
            if not chunk:
                raise RuntimeError("the server closed a keep-alive connection")
            received += chunk


def dump(pid: int) -> None:
    """Ask callgrind to write its counters to a new file and zero them."""
    subprocess.run(["callgrind_control", "--dump", str(pid)], check=True, capture_output=True, timeout=120)


def total(path: pathlib.Path) -> int:
    """The instruction total of one callgrind output file."""
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def count(contender: Contender, requests: int, connections: int, warmup: int) -> int:
    """The server's instructions per request for ``requests`` hello-world requests."""
    with tempfile.TemporaryDirectory() as folder:
        out = pathlib.Path(folder) / "callgrind.out"
        port = free_port()
        server = contender.process(port=port, cpu=None)
        argv = ["valgrind", "--tool=callgrind", "--compress-strings=no", f"--callgrind-out-file={out}", *server.argv]
        process = ServerProcess(server.name, argv, port=port, cpu=None, env=contender.environment(), ready=SAYS_HELLO)
        process.start(timeout=180)  # under valgrind a server starts in seconds, not milliseconds
        try:
            sockets = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(connections)]
            try:
                send(sockets, warmup)
                dump(process.pid)
                send(sockets, requests)
                dump(process.pid)
            finally:
                for conn in sockets:
                    conn.close()
        finally:
            process.stop()
        parts = sorted(pathlib.Path(folder).glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
        if len(parts) < 2:
            raise RuntimeError(f"{contender.name}: callgrind wrote {len(parts)} dumps, expected 2")
        return total(parts[1]) // requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated contenders (default: {', '.join(DEFAULT)})")
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per server (default 2000)")
    parser.add_argument("--connections", type=int, default=10, help="keep-alive connections used in turn (default 10)")
    parser.add_argument("--warmup", type=int, default=200, help="uncounted requests first (default 200)")
    parser.add_argument("--baseline", type=pathlib.Path, help="another checkout whose framework contenders run too, as NAME@base")
    parser.add_argument("--json", dest="json_path", type=pathlib.Path, help="also write the counts to this file")
    args = parser.parse_args()
    interrupt_on_signals()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")
    if not 1 <= args.requests <= 100_000 or not 1 <= args.connections <= 100:
        parser.error("--requests must be 1..100000 and --connections 1..100")
    contenders = select(args.only, DEFAULT)
    if args.baseline is not None:
        contenders += [c.from_checkout(args.baseline.resolve(), "base") for c in contenders if c.name.startswith("framework_")]
    counts: dict[str, int] = {}
    for contender in contenders:
        counts[contender.name] = count(contender, args.requests, args.connections, args.warmup)
        print(f"-- {contender.name}: {counts[contender.name]:,} instructions per request", flush=True)
    reference = counts.get(REFERENCE)
    print(f"\nhello (GET /): instructions per request, {args.requests} requests over {args.connections} connections")
    print(f"{'contender':<28}{'instructions':>14}{'tornado / this':>16}")
    for name, value in counts.items():
        ratio = f"{reference / value:.2f}x" if reference else "-"
        print(f"{name:<28}{value:>14,}{ratio:>16}")
    if args.json_path is not None:
        args.json_path.write_text(json.dumps({"requests": args.requests, "instructions_per_request": counts}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

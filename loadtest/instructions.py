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
handler). ``--workload`` picks one of ``bench.py``'s workloads (the same
request, checked the same way): ``hello`` (the default, which every
contender serves), ``template`` or ``form`` (the contenders that serve it).
Instructions are not time (a cache miss costs more than an add), so this
complements ``bench.py``'s CPU time per request rather than replacing it.

    .venv/bin/python loadtest/instructions.py [--workload hello] [--only framework_web,tornado] [--requests 2000]
        [--baseline DIR]

Needs valgrind (``apt-get install valgrind``). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile

from bench import WORKLOAD_SPECS, Workload
from serverproc import (
    REFERENCE,
    SAYS_HELLO,
    Contender,
    ServerProcess,
    free_port,
    interrupt_on_signals,
    select,
    split_by_access_log,
    with_baseline,
)

DEFAULT = [
    "framework_raw",
    "framework_web",
    "tornado_web",
    "aiohttp_web",
    "uvicorn_asgi",
    "starlette_uvicorn",
    "asyncio_raw",
]


def request_bytes(workload: Workload) -> bytes:
    """The raw request of ``workload`` (bench.py's: the same path, method and body as wrk sends)."""
    method, body, headers = workload.request()
    lines = [f"{method} {workload.path} HTTP/1.1", "Host: 127.0.0.1", "User-Agent: instructions", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]+)", re.I)


def read_response(conn: socket.socket) -> bytes:
    """One whole response: its head, then the body its Content-Length or chunked coding delimits."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += receive(conn)
    head, _, body = received.partition(b"\r\n\r\n")
    length = _CONTENT_LENGTH.search(head)
    if length is not None:
        while len(body) < int(length[1]):
            body += receive(conn)
    else:  # chunked (every contender frames its answers one way or the other)
        while not body.endswith(b"0\r\n\r\n"):
            body += receive(conn)
    return head + b"\r\n\r\n" + body


def receive(conn: socket.socket) -> bytes:
    chunk = conn.recv(65536)
    if not chunk:
        raise RuntimeError("the server closed a keep-alive connection")
    return chunk


def send(connections: list[socket.socket], count: int, workload: Workload) -> None:
    """``count`` requests over the connections in turn, each read to the end of its answer."""
    request = request_bytes(workload)
    for number in range(count):
        conn = connections[number % len(connections)]
        conn.sendall(request)
        answer = read_response(conn)
        if workload.expect not in answer:
            raise RuntimeError(f"{workload.path} answered {answer[:300]!r}")


def dump(pid: int) -> None:
    """Ask callgrind to write its counters to a new file and zero them."""
    subprocess.run(["callgrind_control", "--dump", str(pid)], check=True, capture_output=True, timeout=120)


def total(path: pathlib.Path) -> int:
    """The instruction total of one callgrind output file."""
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def count(
    contender: Contender, workload: Workload, requests: int, connections: int, warmup: int, *, access_log: bool = False
) -> int:
    """The server's instructions per request for ``requests`` requests of ``workload`` (writing its access log, if asked)."""
    with tempfile.TemporaryDirectory() as folder:
        out = pathlib.Path(folder) / "callgrind.out"
        port = free_port()
        server = contender.process(port=port, cpu=None, access_log=access_log)
        argv = ["valgrind", "--tool=callgrind", "--compress-strings=no", f"--callgrind-out-file={out}", *server.argv]
        process = ServerProcess(server.name, argv, port=port, cpu=None, env=contender.environment(), ready=SAYS_HELLO)
        process.start(timeout=180)  # under valgrind a server starts in seconds, not milliseconds
        try:
            sockets = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(connections)]
            try:
                send(sockets, warmup, workload)
                dump(process.pid)
                send(sockets, requests, workload)
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
    parser.add_argument(
        "--workload", choices=sorted(WORKLOAD_SPECS), default="hello", help="bench.py's workload to count (default hello)"
    )
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per server (default 2000)")
    parser.add_argument("--connections", type=int, default=10, help="keep-alive connections used in turn (default 10)")
    parser.add_argument("--warmup", type=int, default=200, help="uncounted requests first (default 200)")
    parser.add_argument("--baseline", type=pathlib.Path, help="another checkout whose framework contenders run too, as NAME@base")
    parser.add_argument(
        "--access-log", action="store_true", help="servers write their access logs (only contenders that have one are counted)"
    )
    parser.add_argument("--json", dest="json_path", type=pathlib.Path, help="also write the counts to this file")
    args = parser.parse_args()
    interrupt_on_signals()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")
    if not 1 <= args.requests <= 100_000 or not 1 <= args.connections <= 100:
        parser.error("--requests must be 1..100000 and --connections 1..100")
    workload = WORKLOAD_SPECS[args.workload]
    chosen = [c for c in select(args.only, DEFAULT) if workload.name in c.workloads]
    if args.access_log:
        chosen = split_by_access_log(chosen)[0]
    contenders = with_baseline(chosen, args.baseline)
    if not contenders:
        parser.error("none of these contenders serves this workload" + (" with an access log" if args.access_log else ""))
    counts: dict[str, int] = {}
    for contender in contenders:
        counts[contender.name] = count(
            contender, workload, args.requests, args.connections, args.warmup, access_log=args.access_log
        )
        print(f"-- {contender.name}: {counts[contender.name]:,} instructions per request", flush=True)
    reference = counts.get(REFERENCE)
    method = workload.request()[0]
    print(
        f"\n{workload.name} ({method} {workload.path}): instructions per request"
        f"{', access log on' if args.access_log else ''}, "
        f"{args.requests} requests over {args.connections} connections"
    )
    print(f"{'contender':<28}{'instructions':>14}{'tornado / this':>16}")
    for name, value in counts.items():
        ratio = f"{reference / value:.2f}x" if reference else "-"
        print(f"{name:<28}{value:>14,}{ratio:>16}")
    if args.json_path is not None:
        result = {
            "workload": workload.name, "requests": args.requests, "access_log": args.access_log,
            "instructions_per_request": counts,
        }  # fmt: skip
        args.json_path.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

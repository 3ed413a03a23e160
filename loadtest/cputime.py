"""CPU time per request of each server, natively: side by side, rounds interleaved, medians.

Strategy: ``bench.py``'s req/s moves by up to 1.8x between rounds on this
shared 2-core machine, and ``instructions.py`` counts exactly but cannot see
what an instruction costs natively (a SHA-1 with the CPU's SHA extensions, a
cache miss). This counts each server's own time on a CPU, which the kernel
keeps per thread in nanoseconds (``/proc/PID/task/*/schedstat``), across a
fixed number of requests sent one at a time by this process (pinned to the
other CPU, the server to CPU 0). Time a server spends waiting for the client
is not on its clock, so a slow client does not blur it (the kernel brings
a thread's clock up to date when it blocks, as a server does once it has
answered, so the reading is exact there); other load on the
machine still can, which is why every round starts every contender afresh,
in turn, and the medians are compared. The client is ``instructions.py``'s
(the same requests, each answer checked).

    .venv/bin/python loadtest/cputime.py [--workload template] [--only framework_web,tornado]
        [--requests 2000] [--rounds 5] [--baseline DIR]

Traffic goes to 127.0.0.1 only; every run is bounded by ``--requests``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import statistics
import sys

from bench import WORKLOAD_SPECS, Workload
from instructions import DEFAULT, send
from serverproc import REFERENCE, Contender, cpu_seconds, free_port, interrupt_on_signals, select, with_baseline


def on_cpu_ns(pid: int) -> tuple[int, frozenset[str]]:
    """Nanoseconds the live threads of ``pid`` have run on a CPU so far, and which threads those are.

    The first field of each thread's ``schedstat``. A thread that has ended
    is no longer counted, so a caller compares the two sets of threads.
    """
    total = 0
    threads = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except FileNotFoundError:  # it ended between the listing and the read
            continue
        threads.append(task)
    return total, frozenset(threads)


def measure(contender: Contender, workload: Workload, requests: int, connections: int, warmup: int) -> float:
    """Microseconds of the server's CPU time per request, over ``requests`` requests of ``workload``.

    When one of the server's threads ended meanwhile (its time would drop
    out of the sum), the process's own user and system time is used
    instead, which keeps ended threads but counts in ticks of 10 ms.
    """
    port = free_port()
    with contender.process(port=port, cpu=0) as server:
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(connections)]
        try:
            send(sockets, warmup, workload)
            before, threads_before, ticks_before = *on_cpu_ns(server.pid), cpu_seconds(server.pid)
            send(sockets, requests, workload)
            after, threads_after, ticks_after = *on_cpu_ns(server.pid), cpu_seconds(server.pid)
        finally:
            for conn in sockets:
                conn.close()
    if not threads_before <= threads_after:
        print(f"-- {contender.name}: a thread ended while measured; counting in ticks", file=sys.stderr)
        return (ticks_after - ticks_before) * 1e6 / requests
    return (after - before) / requests / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated contenders (default: {', '.join(DEFAULT)})")
    parser.add_argument("--workload", choices=sorted(WORKLOAD_SPECS), default="hello", help="bench.py's workload (default hello)")
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per server and round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; medians are reported (default 5)")
    parser.add_argument("--connections", type=int, default=10, help="keep-alive connections used in turn (default 10)")
    parser.add_argument("--warmup", type=int, default=300, help="uncounted requests first (default 300)")
    parser.add_argument("--baseline", type=pathlib.Path, help="another checkout whose framework contenders run too, as NAME@base")
    parser.add_argument("--json", dest="json_path", type=pathlib.Path, help="also write every round's figures to this file")
    args = parser.parse_args()
    interrupt_on_signals()
    if not 1 <= args.requests <= 100_000 or not 1 <= args.rounds <= 50 or not 1 <= args.connections <= 100:
        parser.error("--requests must be 1..100000, --rounds 1..50 and --connections 1..100")
    workload = WORKLOAD_SPECS[args.workload]
    contenders = with_baseline([c for c in select(args.only, DEFAULT) if workload.name in c.workloads], args.baseline)
    os.sched_setaffinity(0, {1} if (os.cpu_count() or 1) > 1 else {0})
    rounds: dict[str, list[float]] = {c.name: [] for c in contenders}
    for number in range(args.rounds):
        for contender in contenders:
            rounds[contender.name].append(measure(contender, workload, args.requests, args.connections, args.warmup))
        print(f"-- round {number + 1}: " + ", ".join(f"{n} {v[-1]:.1f}" for n, v in rounds.items()), flush=True)
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    reference = medians.get(REFERENCE)
    method = workload.request()[0]
    print(f"\n{workload.name} ({method} {workload.path}): server CPU us per request, median of {args.rounds} rounds")
    print(f"{'contender':<28}{'cpu us/req':>12}{'spread':>16}{'tornado / this':>16}")
    for name, value in medians.items():
        spread = f"{min(rounds[name]):.1f}-{max(rounds[name]):.1f}"
        ratio = f"{reference / value:.2f}x" if reference else "-"
        print(f"{name:<28}{value:>12.1f}{spread:>16}{ratio:>16}")
    if args.json_path is not None:
        result = {"workload": workload.name, "requests": args.requests, "us_per_request": rounds}
        args.json_path.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

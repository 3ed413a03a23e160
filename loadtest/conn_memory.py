"""Server memory per idle keep-alive connection: the framework against Tornado and aiohttp.

Strategy: each server runs alone in turn. After a short warm-up (wrk, 1 s,
10 connections, so lazily built code paths and caches exist), its resident
set size is read; then ``conn_holder.py``, a separate client process, opens N
connections, each answering one ``GET /`` and then idling; once they are all
held and the server's RSS has stopped moving, RSS is read again. The figure
is ``(RSS_after - RSS_before) / held``: what the Python process pays per idle
connection (protocol object, transport, parser buffers, timers, allocator
slack). Kernel socket buffers are not in a process's RSS and are the same
for every contender. Both the servers and the client get their open-file
soft limit raised to the hard limit; when the hard limit is below N + 100, N
is scaled down and the report says so.

aiohttp closes idle connections after 75 s by default; it is started with
``--keepalive-timeout 3600`` here, like Tornado's and the framework's
one-hour idle timeout, so that every connection is still open when measured
(the script checks that by counting established sockets on the server port).

``--baseline DIR`` adds the framework's servers as another checkout (a
``git worktree``) has them, as ``framework_web@base``...: without it, a
copy of this script run from that checkout would measure the installed
framework (the editable install), not the checkout's.

Usage: ``python loadtest/conn_memory.py [--count 10000] [--only framework_web,tornado] [--baseline DIR] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from serverproc import (
    LOADTEST,
    REFERENCE,
    ServerProcess,
    established_connections,
    get,
    interrupt_on_signals,
    raise_nofile_limit,
    rss_bytes,
    select,
    wait_for_conntrack_room,
    with_baseline,
)

DEFAULT = ["framework_web", "tornado_web", "aiohttp_web", "framework_raw", "asyncio_raw"]
EXTRA_ARGS = {"aiohttp_web": ("--keepalive-timeout", "3600"), "aiohttp_web+uvloop": ("--keepalive-timeout", "3600")}
MiB = 1024 * 1024


def warm_up(port: int) -> None:
    """Exercise the request path before the baseline is read."""
    if shutil.which("wrk"):
        subprocess.run(
            ["wrk", "-t1", "-c10", "-d1s", f"http://127.0.0.1:{port}/"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    else:
        for _ in range(200):
            get(port)


def settled_rss(pid: int, *, interval: float = 0.5, quiet: int = 3, limit: float = 15.0) -> int:
    """RSS once it has moved less than 64 KiB across ``quiet`` consecutive readings (or after ``limit`` s)."""
    deadline = time.monotonic() + limit
    last = rss_bytes(pid)
    steady = 0
    while steady < quiet and time.monotonic() < deadline:
        time.sleep(interval)
        now = rss_bytes(pid)
        steady = steady + 1 if abs(now - last) < 64 * 1024 else 0
        last = now
    return last


def measure(server: ServerProcess, count: int) -> dict[str, Any]:
    """Baseline RSS, then RSS with ``count`` idle connections held by a separate process."""
    wait_for_conntrack_room(count)
    warm_up(server.port)
    server.check_alive()
    before = settled_rss(server.pid)
    holder = subprocess.Popen(
        [sys.executable, str(LOADTEST / "conn_holder.py"), "--port", str(server.port), "--count", str(count)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = holder.stdout.readline() if holder.stdout else ""
        if not line:
            raise RuntimeError(f"conn_holder exited ({holder.wait()}) before holding its connections")
        ready = json.loads(line)
        server.check_alive()
        after = settled_rss(server.pid)
        established = established_connections(server.port)
        holder.terminate()
        done_line = holder.stdout.readline() if holder.stdout else ""
        done = json.loads(done_line) if done_line else {}
    finally:
        if holder.poll() is None:
            holder.terminate()
        try:
            holder.wait(15)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
    held = int(ready["held"])
    if held == 0:
        raise RuntimeError(f"no connection was held: {ready['outcomes']}")
    return {
        "tried": count,
        "held": held,
        "established_at_measure": established,
        "closed_by_server_while_held": done.get("closed_by_server"),
        "outcomes": ready["outcomes"],
        "ramp_seconds": ready["seconds"],
        "rss_before": before,
        "rss_after": after,
        "bytes_per_connection": (after - before) / held if held else None,
    }


def print_table(results: dict[str, dict[str, Any]]) -> None:
    reference = results.get(REFERENCE, {}).get("bytes_per_connection")
    header = f"{'server':<22}{'held':>7}{'estab.':>8}{'RSS before':>12}{'RSS after':>11}{'bytes/conn':>12}{'vs tornado':>12}"
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        if "error" in row:
            print(f"{name:<22} FAILED: {row['error'].splitlines()[0]}")
            continue
        per = row["bytes_per_connection"]
        ratio = f"{per / reference:.2f}x" if reference and per is not None else "-"
        print(
            f"{name:<22}{row['held']:>7}{row['established_at_measure']:>8}"
            f"{row['rss_before'] / MiB:>10.1f}Mi{row['rss_after'] / MiB:>9.1f}Mi"
            f"{per:>12.0f}{ratio:>12}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="idle connections to hold (default 10000)")
    parser.add_argument("--only", help=f"comma-separated servers (default: {', '.join(DEFAULT)})")
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    parser.add_argument("--baseline", type=Path, help="another checkout whose framework servers run too, as NAME@base")
    args = parser.parse_args()
    interrupt_on_signals()
    if not 1 <= args.count <= 200_000:
        parser.error("--count must be 1..200000")
    hard = raise_nofile_limit()
    count = args.count
    if hard < count + 100:
        count = max(1, hard - 100)
        print(f"-- open-file hard limit is {hard} (ulimit -Hn), below {args.count} + 100: holding {count} instead")
    print(f"-- holding {count} idle keep-alive connections per server (open-file hard limit {hard})")

    results: dict[str, dict[str, Any]] = {}
    failed = False
    for contender in with_baseline(select(args.only, DEFAULT), args.baseline):
        server = contender.process(cpu=None, extra_args=EXTRA_ARGS.get(contender.name, ()))
        try:
            with server:
                results[contender.name] = row = measure(server, count)
                print(
                    f"   {contender.name:<22} held {row['held']}/{count} in {row['ramp_seconds']} s, "
                    f"{row['bytes_per_connection']:.0f} bytes/connection"
                )
        except (RuntimeError, ValueError, OSError) as exc:
            failed = True
            results[contender.name] = {"error": f"{exc}\n-- its log:\n{server.log_tail()}"}
            print(f"   {contender.name:<22} FAILED:\n{results[contender.name]['error']}", file=sys.stderr)
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
    print()
    print_table(results)
    if args.json_path:
        report = {
            "environment": {
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "nofile_hard_limit": hard,
                "soft_limit_here": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            },
            "count": count,
            "results": results,
        }
        with open(args.json_path, "w") as out:
            json.dump(report, out, indent=2)
        print(f"\nwrote {args.json_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

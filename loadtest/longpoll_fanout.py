"""Long-poll fan-out: memory per waiting client, and how fast one notify_all() reaches them all.

Starts ``loadtest/servers/longpoll.py`` pinned to CPU 0, opens ``--count``
connections from this process (pinned to CPU 1), each a ``GET /poll`` that
waits, measures the server's RSS before and after, then wakes every waiter
with one ``POST /notify`` and reports the time from the server's
``notify_all()`` to the last response written (server clock), and to the
last response received (client clock). Traffic goes to 127.0.0.1 only; every
phase is bounded in time.

    .venv/bin/python loadtest/longpoll_fanout.py --count 10000 [--rounds 3] [--baseline DIR]

Each round runs the framework's server (``servers/longpoll.py``) and then the
floor (``servers/longpoll_raw.py``: a bare asyncio Protocol writing one
response per waiter in a plain loop), so the two are compared in the same
run; ``--only framework`` skips the floor. ``--baseline DIR`` adds the
framework's server as another checkout has it (``framework@base``), in the
same interleaved rounds. ``--uvloop`` adds both servers on uvloop
(``framework+uvloop``, ``floor+uvloop``: requirements-bench.txt), uvloop's
own row as the other benchmarks have it. ``--contenders`` adds the same
fan-out on Tornado (``longpoll.py`` itself, its imports answered by Tornado)
and on aiohttp (one ``asyncio.Event``), also from requirements-bench.txt.

The framework's servers also say where the time went: from the notify to
the last handler finished (the handlers' Python, its responses corked), and
from there to the last response written (the writes, which cost about what
the floor's do: kernel time for the most part).

``--instructions`` runs each server under valgrind's callgrind instead and
reports the instructions it executes per waiter from the notify until every
waiter is answered and the loop has done what the wake left it (the tasks'
done-callbacks): dumps (``instructions.py``'s) after the waiters are parked
and after a ``/stats`` request sent once the last response arrived, which the
server reads only after that work. It also reports the part of those inside
the timed window, from the notify to where the server notes the last
response written: each server marks both points (``startup.mark_for_callgrind``)
and callgrind dumps there too. Work moved out of the window (after the last
write) shows in the second figure and not in the first. The same figures on
every run, however noisy the machine, where the times above move by 10 ms
between rounds; the summary then prints no memory or time (the JSON keeps
them, measured under valgrind: not comparable). A few thousand waiters are
enough (``--count 2000``): under valgrind each costs about fifty times as long.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from instructions import dump, total
from serverproc import (
    ROOT,
    SERVERS,
    ServerProcess,
    answers,
    check_baseline,
    free_port,
    raise_nofile_limit,
    rss_bytes,
    wait_for_conntrack_room,
)

POLL = b"GET /poll HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def stats(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


class Waiter(asyncio.Protocol):
    def __init__(self, done: asyncio.Future[float]) -> None:
        self.done = done
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(POLL)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if b"message\n" in self.buffer and not self.done.done():
            self.done.set_result(time.perf_counter())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(str(exc)))


async def run(port: int, count: int, server_pid: int, *, counted: bool = False) -> dict[str, Any]:
    """Park ``count`` waiters, wake them with one notify, and read the server's figures.

    ``counted``: the server runs under callgrind, which dumps its counters
    just before the notify and after the ``/stats`` that follows the last
    response (and is slower: its deadlines are longer).
    """
    loop = asyncio.get_running_loop()
    slower = 20 if counted else 1
    gate = asyncio.Semaphore(500)
    transports = []
    dones: list[asyncio.Future[float]] = []

    async def open_one() -> None:
        async with gate:
            done: asyncio.Future[float] = loop.create_future()
            connecting = loop.create_connection(lambda: Waiter(done), "127.0.0.1", port)
            transport, _ = await asyncio.wait_for(connecting, 30 * slower)
            transports.append(transport)
            dones.append(done)

    before = rss_bytes(server_pid)
    await asyncio.gather(*(open_one() for _ in range(count)))
    deadline = time.monotonic() + 60 * slower
    while (await asyncio.to_thread(stats, port))["waiting"] < count:
        if time.monotonic() > deadline:
            raise RuntimeError("waiters never all arrived")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)
    after = rss_bytes(server_pid)
    if counted:
        await asyncio.to_thread(dump, server_pid)
    sent = time.perf_counter()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/notify", method="POST", data=b"")
    await asyncio.to_thread(lambda: urllib.request.urlopen(request, timeout=30 * slower).read())
    received = await asyncio.wait_for(asyncio.gather(*dones), 120 * slower)
    server = await asyncio.to_thread(stats, port)
    if counted:
        await asyncio.to_thread(dump, server_pid)
    for transport in transports:
        transport.close()
    return {
        "count": count,
        "rss_before": before,
        "rss_with_waiters": after,
        "bytes_per_waiter": (after - before) / count,
        "notify_to_last_written_ms": server["elapsed"] * 1000,
        "notify_request_to_last_received_ms": (max(received) - sent) * 1000,
        "woken": server["woken"],
        "woken_by_then": server.get("woken_by_then"),  # (when the time was noted: all of them, or it is early)
        # Collections per generation between the notify and the last response
        # (the framework's server counts them; a full one can double the time).
        "gc_during_fanout": server.get("gc_during_fanout"),
        # Where the time went (longpoll.py's servers): the notify to the last
        # handler finished, and from there to the last response written.
        "handlers_ms": server.get("handlers_ms"),
        "after_handlers_ms": server.get("after_handlers_ms"),
    }


# Each server's script and its arguments.
SCRIPTS = {
    "framework": ("longpoll.py", ()),
    "floor": ("longpoll_raw.py", ()),
    "framework+uvloop": ("longpoll.py", ("--uvloop",)),
    "floor+uvloop": ("longpoll_raw.py", ("--uvloop",)),
    "tornado": ("longpoll_tornado.py", ()),
    "aiohttp": ("longpoll_aiohttp.py", ()),
}


BASE = "framework@base"


# The C function behind os.getppid(), which startup.mark_for_callgrind() calls
# at the notify and where the last response's time is noted.
MARK = "os_getppid"


def counted_per_waiter(name: str, totals: list[int], count: int) -> dict[str, int | None]:
    """The whole wake's and the timed window's instructions per waiter, from callgrind's dumps in order.

    Four dumps: start-up to the park, the park to the notify's mark, the
    window, and from its end to the last ``/stats``. Two, when the server
    has no marks (a baseline checkout older than them) or callgrind did not
    find them (a Python whose function for ``os.getppid`` has another name):
    the window is then unknown.
    """
    if len(totals) == 4:
        return {"instructions_per_waiter": sum(totals[1:]) // count, "window_instructions_per_waiter": totals[2] // count}
    if len(totals) == 2:
        return {"instructions_per_waiter": totals[1] // count, "window_instructions_per_waiter": None}
    raise RuntimeError(f"{name}: callgrind wrote {len(totals)} dumps, expected 4 (or 2 without the marks)")


def measure(name: str, port: int, count: int, baseline: Path | None = None, *, counted: bool = False) -> dict[str, Any]:
    """One run of one server: start it pinned to CPU 0, load it from CPU 1, stop it.

    ``framework@base`` is the framework's server as the ``baseline`` checkout
    has it. ``counted``: under callgrind, adding ``instructions_per_waiter``.
    """
    port = port or free_port()
    root = baseline.resolve() if name == BASE and baseline is not None else ROOT
    script, extra = SCRIPTS["framework" if name == BASE else name]
    argv = [sys.executable, str(root / SERVERS.relative_to(ROOT) / script), f"--port={port}", *extra]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        if counted:
            argv = [
                "valgrind",
                "--tool=callgrind",
                "--compress-strings=no",
                f"--callgrind-out-file={out}",
                f"--dump-before={MARK}",
                *argv,
            ]
        env = {"PYTHONPATH": str(root)}
        if counted:  # (the same string hashes every run: dict layouts, and so the count, repeat)
            env["PYTHONHASHSEED"] = "0"
        wait_for_conntrack_room(count)
        server = ServerProcess(name, argv, port=port, ready=answers("/stats"), cpu=0, env=env)
        server.start(timeout=180 if counted else 15)
        try:
            os.sched_setaffinity(0, {1})
            result = asyncio.run(run(port, count, server.pid, counted=counted))
        except Exception as exc:
            raise RuntimeError(f"{name}: the fan-out of {count} waiters failed") from exc
        finally:
            server.stop()
        if counted:
            dumps = sorted(Path(folder).glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
            result.update(counted_per_waiter(name, [total(dump) for dump in dumps], count))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=0, help="the servers' port (default: a free one each run)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; medians are reported")
    parser.add_argument("--only", choices=sorted(SCRIPTS), help="run one server only")
    parser.add_argument("--json", type=Path, help="also write every run's figures to this file")
    parser.add_argument("--baseline", type=Path, help="another checkout whose framework server runs too, as framework@base")
    parser.add_argument("--uvloop", action="store_true", help="also run both servers on uvloop")
    parser.add_argument("--contenders", action="store_true", help="also run the fan-out on Tornado and aiohttp")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions per waiter under callgrind instead of timing"
    )
    args = parser.parse_args()
    hard = raise_nofile_limit()
    if args.instructions and shutil.which("callgrind_control") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    if hard < args.count + 100:
        sys.exit(f"open-file hard limit {hard} is too low for {args.count} connections")
    names = [args.only] if args.only else ["framework", "floor"]
    if args.uvloop and not args.only:
        names += ["framework+uvloop", "floor+uvloop"]
    if args.contenders and not args.only:
        names += ["tornado", "aiohttp"]
    if args.baseline is not None:
        check_baseline(args.baseline)
        names.insert(1, BASE)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(args.rounds):
        for name in names:
            results[name].append(measure(name, args.port, args.count, args.baseline, counted=args.instructions))
    print(json.dumps(results, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    for name, runs in results.items():
        if args.instructions:
            counts = [r["instructions_per_waiter"] for r in runs]
            windows = [r["window_instructions_per_waiter"] for r in runs if r["window_instructions_per_waiter"] is not None]
            line = f"{name:14s} {args.count} waiters: {statistics.median(counts):,.0f} instructions per waiter {counts}"
            if windows:
                line += f"; {statistics.median(windows):,.0f} of them from the notify to the last written {windows}"
            print(line)
            continue
        written = statistics.median(r["notify_to_last_written_ms"] for r in runs)
        received = statistics.median(r["notify_request_to_last_received_ms"] for r in runs)
        memory = statistics.median(r["bytes_per_waiter"] for r in runs)
        full = [r["gc_during_fanout"][2] for r in runs if r["gc_during_fanout"] is not None]
        early = [r["woken_by_then"] for r in runs if r.get("woken_by_then") not in (None, r["count"])]
        if early:
            print(f"{name}: the time was noted with only {early} of {args.count} woken: the written figure is too early")
        phases = [(r["handlers_ms"], r["after_handlers_ms"]) for r in runs if r.get("handlers_ms") is not None]
        print(
            f"{name:14s} {args.count} waiters: {memory:.0f} bytes each (server RSS); "
            f"notify_all -> last response written {written:.1f} ms; "
            f"-> last response received by the client {received:.1f} ms (median of {len(runs)})"
            + (f"; full collections during the fan-out: {full}" if full else "")
        )
        if phases:
            handlers = statistics.median(h for h, _ in phases)
            after = statistics.median(a for _, a in phases)
            print(f"{'':14s} of which: to the last handler finished {handlers:.1f} ms, then to the last written {after:.1f} ms")


if __name__ == "__main__":
    main()

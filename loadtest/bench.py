"""Side-by-side throughput per workload: the framework against Tornado, aiohttp, uvicorn, Starlette and a bare asyncio ceiling.

Strategy: every contender server runs at once, pinned to CPU 0; wrk runs
pinned to CPU 1, so the server gets one whole core and the load generator
never competes with it. A run is one (workload, contender) pair: ``hello``
(``GET /``), ``template`` (``GET /page``, the shared Jinja2 page of
``servers/pages.py``) or ``form`` (``POST /form`` with ``form_post.lua``'s
urlencoded body); each contender serves the workloads its registry entry
lists. Rounds interleave the pairs (round 1: A B C D, round 2: B C D A, ...)
so that a slow drift of the machine (thermal, a neighbour) spreads over all
of them instead of landing on one. Before the first round every pair is
probed once and must answer 200 with the expected text. Each run is
preceded by a 1 s warm-up that is not counted. One table per workload shows
medians over rounds: requests per second, p50 and p99 latency, and the ratio
of req/s to Tornado's on the same workload. ``cpu us/req`` is the server's own
CPU time per request (a figure that does not depend on whether the server
reached 100% of its core, nor much on other work on the machine).

``--access-log`` measures each server as a program that turns logging on
runs it: the tutorial's ``parse_command_line()`` makes Tornado (and the
framework, with ``framework.options``) write an access line per request to
stderr; aiohttp gets ``basicConfig`` at INFO and uvicorn its default
``access_log=True``. Without the flag no server formats a line. The log
lines go to each server's log file (``results/logs/<contender>.log``), never
to a pipe. Contenders with no access log of their own (``framework_raw``,
``asyncio_raw``) are left out and the output says so; the tables' titles and
the JSON's ``settings.access_log`` say the run had access logs on.

Usage: ``scripts/bench [--rounds 3] [--duration 5] [--only framework_web,tornado]
[--workloads hello,template,form] [--access-log] [--json out.json]`` (or
``python loadtest/bench.py ...`` inside the venv). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import http.client
import importlib.metadata
import json
import os
import pathlib
import platform
import re
import shutil
import statistics
import subprocess
import sys
from typing import Any

from serverproc import (
    LOADTEST,
    REFERENCE,
    ROOT,
    WORKLOADS,
    Contender,
    ServerProcess,
    cpu_seconds,
    interrupt_on_signals,
    pinned,
    select,
    split_by_access_log,
    with_baseline,
)

DEFAULT = [
    "framework_raw",
    "framework_web",
    "framework_web+uvloop",
    "tornado_web",
    "aiohttp_web",
    "uvicorn_asgi",
    "starlette_uvicorn",
    "asyncio_raw",
]
WRK_CPU, SERVER_CPU = 1, 0
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclasses.dataclass(frozen=True)
class Workload:
    """What wrk sends for one workload, and what the probe expects back.

    ``script`` is a wrk Lua script under ``loadtest/`` (None: a plain GET);
    ``expect`` is text every contender's answer must contain.
    """

    name: str
    path: str
    expect: bytes
    script: str | None = None

    def request(self) -> tuple[str, bytes | None, dict[str, str]]:
        """Method, body and headers of the request the Lua script makes (a GET without one)."""
        if self.script is None:
            return "GET", None, {}
        text = (LOADTEST / self.script).read_text()
        return "POST", lua_body(text).encode(), {"Content-Type": "application/x-www-form-urlencoded"}


WORKLOAD_SPECS = {
    w.name: w
    for w in (
        Workload("hello", "/", b"Hello, world"),
        # The last of the 30 rows, escaped: the whole page was rendered.
        Workload("template", "/page", b"<td>30</td><td>Item &lt;30&gt; &amp; &#34;friends&#34;</td>"),
        Workload("form", "/form", b"Thanks, Ada Lovelace <ada@example.com>, age 36, about engines", "form_post.lua"),
    )
}


def lua_body(script: str) -> str:
    """The string a wrk Lua script assigns to ``wrk.body`` (one double-quoted literal, no escapes).

    Raises:
        ValueError: no such assignment.
    """
    match = re.search(r'^wrk\.body\s*=\s*"([^"\\]*)"\s*$', script, re.M)
    if match is None:
        raise ValueError('no wrk.body = "..." line in the script')
    return match[1]


@dataclasses.dataclass
class WrkResult:
    """What one wrk run reported. Latencies in milliseconds."""

    requests_per_sec: float
    requests: int
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    server_cpu_s: float = 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else float("nan")


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    """Read Requests/sec, request count, the 50% and 99% latency and the error lines of ``wrk --latency``.

    Raises:
        ValueError: a figure is missing (wrk failed, or its format changed).
    """
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (rps and total and p50 and p99):
        raise ValueError(f"could not parse wrk output:\n{output}")
    errors: dict[str, int] = {}
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        for key, value in zip(("connect", "read", "write", "timeout"), socket_errors.groups(), strict=True):
            if int(value):
                errors[key] = int(value)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors["non-2xx"] = int(non_2xx[1])
    return WrkResult(float(rps[1]), int(total[1]), _ms(p50[1]), _ms(p99[1]), errors)


def run_wrk(port: int, duration: float, workload: Workload = WORKLOAD_SPECS["hello"], *, connections: int = 100) -> str:
    script = ["-s", str(LOADTEST / workload.script)] if workload.script else []
    argv = pinned(
        WRK_CPU,
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            *script,
            f"http://127.0.0.1:{port}{workload.path}",
        ],
    )
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def probe(port: int, workload: Workload) -> None:
    """One request as wrk will send it, on a fresh connection.

    Raises:
        RuntimeError: not a 200 containing ``workload.expect``.
    """
    method, body, headers = workload.request()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, workload.path, body=body, headers=headers)
        response = conn.getresponse()
        status, answer = response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise RuntimeError(f"{method} {workload.path} failed: {exc}") from exc
    finally:
        conn.close()
    if status != 200 or workload.expect not in answer:
        raise RuntimeError(f"{method} {workload.path} answered {status}: {answer[:300]!r}")


def measure(server: ServerProcess, workload: Workload, duration: float, warmup: float) -> WrkResult:
    """A warm-up run (discarded), then a measured run with the server's CPU time around it."""
    if warmup > 0:
        run_wrk(server.port, warmup, workload)
    server.check_alive()
    cpu_before = cpu_seconds(server.pid)
    output = run_wrk(server.port, duration, workload)
    cpu_after = cpu_seconds(server.pid)
    server.check_alive()
    result = parse_wrk(output)
    result.server_cpu_s = cpu_after - cpu_before
    return result


def rotation(names: list[Any], rounds: int) -> list[list[Any]]:
    """Round r runs the names rotated left by r: A B C D, B C D A, C D A B, ..."""
    n = len(names)
    return [[names[(r + i) % n] for i in range(n)] for r in range(rounds)]


def environment() -> dict[str, Any]:
    """Versions and machine facts to keep beside the numbers."""
    info: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "loadavg_1m": os.getloadavg()[0],
    }
    for package in (
        "tornado",
        "aiohttp",
        "aiohttp-jinja2",
        "uvicorn",
        "httptools",
        "starlette",
        "python-multipart",
        "Jinja2",
        "uvloop",
        "psutil",
    ):
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = None
    try:
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        info["wrk"] = (wrk.stdout or wrk.stderr).split("\n", 1)[0].strip()
    except OSError:
        info["wrk"] = None
    git = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False)
    info["framework_commit"] = git.stdout.strip() or None
    return info


def summarise(runs: dict[str, list[WrkResult]]) -> dict[str, dict[str, Any]]:
    """Medians over rounds for each contender, with req/s relative to Tornado's."""
    summary: dict[str, dict[str, Any]] = {}
    for name, results in runs.items():
        rps = [r.requests_per_sec for r in results]
        errors: dict[str, int] = {}
        for r in results:
            for key, value in r.errors.items():
                errors[key] = errors.get(key, 0) + value
        summary[name] = {
            "req_per_sec": statistics.median(rps),
            "req_per_sec_min": min(rps),
            "req_per_sec_max": max(rps),
            "p50_ms": statistics.median(r.p50_ms for r in results),
            "p99_ms": statistics.median(r.p99_ms for r in results),
            "cpu_us_per_req": statistics.median(r.cpu_us_per_request for r in results),
            "errors": errors,
        }
    reference = summary.get(REFERENCE)
    for row in summary.values():
        row["vs_tornado"] = row["req_per_sec"] / reference["req_per_sec"] if reference else None
    return summary


def print_table(
    workload: Workload, summary: dict[str, dict[str, Any]], rounds: int, duration: float, *, access_log: bool = False
) -> None:
    """One workload's medians as a table, under a title that says how they were measured.

    Args:
        access_log: the servers wrote their access logs; the title says so, so these
            figures are never read as the plain run's.
    """
    how = ", ACCESS LOG ON (each framework's default, to a file)" if access_log else ""
    print(
        f"\n{workload.name} ({workload.request()[0]} {workload.path}){how}: medians of {rounds} round(s) of {duration:g} s,"
        f" wrk -t1 -c100, server on CPU {SERVER_CPU}, wrk on CPU {WRK_CPU}"
    )
    header = (
        f"{'contender':<22}{'req/s':>10}{'(min-max)':>18}{'p50 ms':>9}{'p99 ms':>9}{'cpu us/req':>11}{'vs tornado':>11}  errors"
    )
    print(header)
    print("-" * len(header))
    for name, row in summary.items():
        spread = f"{row['req_per_sec_min']:.0f}-{row['req_per_sec_max']:.0f}"
        ratio = f"{row['vs_tornado']:.2f}x" if row["vs_tornado"] is not None else "-"
        errors = ", ".join(f"{k} {v}" for k, v in row["errors"].items()) or "-"
        print(
            f"{name:<22}{row['req_per_sec']:>10.0f}{spread:>18}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            f"{row['cpu_us_per_req']:>11.1f}{ratio:>11}  {errors}"
        )


def run_settings(args: argparse.Namespace, workloads: list[str], left_out: list[Contender]) -> dict[str, Any]:
    """How the run was made, for the JSON report: what its figures may be compared with.

    Args:
        args: the parsed command line.
        workloads: the workloads run.
        left_out: contenders asked for but not run because they have no access log.
    """
    return {
        "rounds": args.rounds,
        "duration": args.duration,
        "warmup": args.warmup,
        "wrk": "-t1 -c100 --latency",
        "workloads": workloads,
        "access_log": args.access_log,
        "left_out_without_access_log": [c.name for c in left_out],
    }


def parse_names(text: str | None, known: tuple[str, ...]) -> list[str]:
    """The comma-separated names in ``text`` (all of ``known`` when empty), each checked.

    Raises:
        ValueError: a name not in ``known``.
    """
    names = [n.strip() for n in text.split(",") if n.strip()] if text else list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def label(pair: tuple[str, str]) -> str:
    """``contender/workload`` for a (workload, contender) pair."""
    workload, contender = pair
    return f"{contender}/{workload}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured run (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of uncounted warm-up per run (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--only", help=f"comma-separated contenders (default: all of {', '.join(DEFAULT)})")
    parser.add_argument("--workloads", help=f"comma-separated workloads (default: all of {', '.join(WORKLOADS)})")
    parser.add_argument("--json", dest="json_path", help="also write every run and the medians to this file")
    parser.add_argument(
        "--baseline",
        type=pathlib.Path,
        help="another checkout (git worktree) whose framework contenders run too, as NAME@base: before and after in one run",
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="every server writes its framework's default access log (to its log file); contenders without one are left out",
    )
    args = parser.parse_args()
    interrupt_on_signals()
    if not 1 <= args.rounds <= 20 or not 1 <= args.duration <= 120:
        parser.error("--rounds must be 1..20 and --duration 1..120")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (scripts/bench installs it with apt-get)")
    try:
        workloads = parse_names(args.workloads, WORKLOADS)
    except ValueError as exc:
        parser.error(f"--workloads: {exc}")
    contenders = select(args.only, DEFAULT)
    left_out: list[Contender] = []
    if args.access_log:
        contenders, left_out = split_by_access_log(contenders)
        if not contenders:
            parser.error("--access-log: none of these contenders has an access log of its own")
        if left_out:
            print(f"-- access log on; left out, having no access log of their own: {', '.join(c.name for c in left_out)}")
    if args.baseline is not None:
        if not (args.baseline / "loadtest" / "servers").is_dir() or not (args.baseline / "framework").is_dir():
            parser.error(f"--baseline {args.baseline}: not a checkout of this project")
        contenders = with_baseline(contenders, args.baseline)
    # Workload-major, so each table's rows keep the contenders' order.
    pairs = [(w, c.name) for w in workloads for c in contenders if w in c.workloads]
    if not pairs:
        parser.error("no contender serves the workloads asked for")

    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        print(f"-- note: load average is {load_before[0]:.2f}; other work on this machine skews the figures", file=sys.stderr)
    servers: dict[str, ServerProcess] = {}
    runs: dict[tuple[str, str], list[WrkResult]] = {pair: [] for pair in pairs}
    failures: dict[tuple[str, str], str] = {}
    try:
        for contender in contenders:
            if not any(c == contender.name for _, c in pairs):
                continue
            server = contender.process(cpu=SERVER_CPU, access_log=args.access_log)
            servers[contender.name] = server
            try:
                server.start()
            except RuntimeError as exc:
                for pair in pairs:
                    if pair[1] == contender.name:
                        failures[pair] = f"did not start: {exc}"
                print(f"-- {contender.name}: FAILED to start", file=sys.stderr)
                continue
            print(f"-- {contender.name}: pid {server.pid}, port {server.port}")
        for pair in pairs:
            if pair not in failures:
                try:
                    probe(servers[pair[1]].port, WORKLOAD_SPECS[pair[0]])
                except RuntimeError as exc:
                    failures[pair] = f"wrong answer to the probe: {exc}"
                    print(f"-- {label(pair)}: FAILED the probe", file=sys.stderr)
        for number, order in enumerate(rotation(pairs, args.rounds), 1):
            print(f"-- round {number}/{args.rounds}")
            for pair in order:
                if pair in failures:
                    continue
                workload, name = pair
                try:
                    result = measure(servers[name], WORKLOAD_SPECS[workload], args.duration, args.warmup)
                except (RuntimeError, ValueError) as exc:
                    # One contender failing must not cost the others' figures.
                    failures[pair] = f"failed under load: {exc}"
                    if isinstance(exc, ValueError):
                        failures[pair] += f"\n-- its log:\n{servers[name].log_tail()}"
                    print(f"   {label(pair):<31} FAILED (see the end of this report)", file=sys.stderr)
                    continue
                runs[pair].append(result)
                errors = f"  errors {result.errors}" if result.errors else ""
                print(
                    f"   {label(pair):<31}{result.requests_per_sec:>10.0f} req/s  p50 {result.p50_ms:.2f} ms"
                    f"  p99 {result.p99_ms:.2f} ms  {result.cpu_us_per_request:.1f} cpu us/req{errors}"
                )
    except KeyboardInterrupt:
        print("\ninterrupted; stopping servers", file=sys.stderr)
        return 130
    finally:
        for server in servers.values():
            server.stop()
        failed = {c for _, c in failures}
        for name, server in servers.items():
            if args.access_log:
                # The log is every request's line: where it is and how big, not its tail.
                size = server.log_path.stat().st_size if server.log_path.exists() else 0
                print(f"-- {name}: access log {server.log_path} ({size / 1e6:.1f} MB)", file=sys.stderr)
            elif name not in failed and server.log_text().strip():
                print(f"\n-- {name} wrote to its log ({server.log_path}):\n{server.log_tail()}", file=sys.stderr)

    load_after = os.getloadavg()
    summaries: dict[str, dict[str, dict[str, Any]]] = {}
    for workload in workloads:
        measured = {name: results for (w, name), results in runs.items() if w == workload and results}
        if measured:
            summaries[workload] = summarise(measured)
            print_table(WORKLOAD_SPECS[workload], summaries[workload], args.rounds, args.duration, access_log=args.access_log)
    print(
        f"\nload average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)};"
        f" after {', '.join(f'{x:.2f}' for x in load_after)} (on {os.cpu_count()} CPUs)"
    )
    for pair, reason in failures.items():
        print(f"\n!! {label(pair)} {reason}", file=sys.stderr)
    if args.json_path:
        report = {
            "environment": dict(environment(), loadavg_before=load_before, loadavg_after=load_after),
            "settings": run_settings(args, workloads, left_out),
            "runs": {
                workload: {name: [dataclasses.asdict(r) for r in results] for (w, name), results in runs.items() if w == workload}
                for workload in workloads
            },
            "summary": summaries,
            "failures": {label(pair): reason for pair, reason in failures.items()},
        }
        with open(args.json_path, "w") as out:
            json.dump(report, out, indent=2)
        print(f"\nwrote {args.json_path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Every demo page through nginx: requests per second, each as a share of /healthz's.

What a visitor of the suite loads goes through the engine's port proxy, nginx
and a service in its container; the pages should cost little more than the
health check on that same path (the issue's target: at least half its rate).
With ``--compare`` a second stack (say, the previous commit's, started with
``docker compose -p before`` on another port) is measured in the same run:
rounds interleave the two stacks and the paths, and medians are reported.

    python loadtest/stack_pages.py                              # the stack on 127.0.0.1:8080
    python loadtest/stack_pages.py --compare http://127.0.0.1:8090 --rounds 3
    python loadtest/stack_pages.py --json loadtest/results/pages.json

wrk (Debian's package) generates the load: ``-t1 -c50`` keep-alive
connections for ``--duration`` seconds per path and round. Traffic goes to
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import urllib.parse

PATHS = ("/healthz", "/", "/forms/", "/uploads/", "/chat/", "/redirects/", "/forms/shared/suite.css")
_RATE = re.compile(r"Requests/sec:\s+([0-9.]+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def wrk(url: str, *, connections: int, duration: int) -> float:
    """Requests per second wrk measured for ``url``; non-2xx answers are an error.

    Raises:
        RuntimeError: wrk failed, or some responses were not 2xx/3xx.
    """
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30, check=False)
    found = _RATE.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed on {url}: {done.stderr or done.stdout}")
    bad = _NON_2XX.search(done.stdout)
    if bad is not None:
        raise RuntimeError(f"{bad.group(1)} responses to {url} were not 2xx/3xx")
    return float(found.group(1))


def check_local(url: str) -> None:
    """Refuse any target but this machine's loopback (load goes nowhere else)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host not in ("127.0.0.1", "localhost") and not host.startswith("127."):
        raise SystemExit(f"stack_pages: {url} is not on 127.0.0.1; load goes to this machine only")


def measure(
    stacks: dict[str, str], paths: tuple[str, ...], *, rounds: int, connections: int, duration: int
) -> dict[str, dict[str, float]]:
    """Median req/s per stack and path over ``rounds`` interleaved rounds."""
    samples: dict[str, dict[str, list[float]]] = {name: {path: [] for path in paths} for name in stacks}
    names = list(stacks)
    for round_no in range(rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for path in paths:
            for name in order:
                rate = wrk(stacks[name] + path, connections=connections, duration=duration)
                samples[name][path].append(rate)
                print(f"round {round_no + 1} {name:>8} {path:<24} {rate:9.0f} req/s", file=sys.stderr)
    return {name: {path: statistics.median(rates) for path, rates in by_path.items()} for name, by_path in samples.items()}


def table(results: dict[str, dict[str, float]], paths: tuple[str, ...]) -> str:
    """A markdown table: req/s and share of /healthz per stack, and the ratio between stacks."""
    names = list(results)
    head = "| path | " + " | ".join(f"{n} req/s | {n} % of /healthz" for n in names)
    if len(names) == 2:
        head += f" | {names[0]} / {names[1]}"
    lines = [head + " |", "|---" * (1 + 2 * len(names) + (len(names) == 2)) + "|"]
    for path in paths:
        cells = []
        for name in names:
            rate, health = results[name][path], results[name]["/healthz"]
            cells += [f"{rate:,.0f}", f"{100 * rate / health:.0f}%"]
        if len(names) == 2:
            cells.append(f"{results[names[0]][path] / results[names[1]][path]:.2f}x")
        lines.append(f"| `{path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure, print the table (and write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the stack (through nginx)")
    parser.add_argument("--compare", help="a second stack measured in the same run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per path and round")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated; /healthz is always measured")
    parser.add_argument("--names", default="after,before", help="the two stacks' names in the table (with --compare)")
    parser.add_argument("--json", help="write the medians here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("stack_pages: needs wrk (apt-get install wrk)")
    stacks = {"stack": args.url.rstrip("/")}
    if args.compare:
        first, second = args.names.split(",", 1)
        stacks = {first: args.url.rstrip("/"), second: args.compare.rstrip("/")}
    for url in stacks.values():
        check_local(url)
    paths = tuple(dict.fromkeys(["/healthz", *args.paths.split(",")]))
    results = measure(stacks, paths, rounds=args.rounds, connections=args.connections, duration=args.duration)
    print(table(results, paths))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"stacks": stacks, "medians": results, "rounds": args.rounds, "duration": args.duration}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

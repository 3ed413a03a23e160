"""Plots and a table from a locust run's CSV files (``--csv PREFIX --csv-full-history``).

Strategy: ``PREFIX_stats_history.csv`` has a row a second per request name
and one for all of them ("Aggregated"), each with the users running then,
cumulative counts, and percentiles over the last ~10 s (with
``--csv-full-history``; without it, percentiles since the start). The run
is cut into plateaus, stretches of at least ``--min-hold`` seconds at one
user count (the ramps between them are left out). Per plateau:

- requests/s: the growth of the cumulative request count over the plateau,
  divided by its length; the chat's delivery-latency events (type ``CHAT``)
  are not requests and are taken out;
- p50/p95/p99: the median over the plateau's rows of the windowed
  percentiles, leaving out the first window (its samples started in the ramp)
  when the plateau is long enough. They are the Aggregated row's, which
  locust computes over requests and delivery events together;
- failures: the growth of the cumulative failure count;
- chat delivery latency p50/p95/p99 the same way, from the ``CHAT`` rows.

Drawn (PNG, into ``--out``, default the prefix's folder):

- ``throughput_latency.png``: requests/s and p50/p95/p99 against concurrent users;
- ``timeline.png``: users, requests/s and p50/p95/p99 over the run;
- ``chat_delivery.png``: delivery latency against users and over the run (if any);
- ``summary.md``: the plateau table and, from ``PREFIX_stats.csv``, each request
  name's count, failures and percentiles over the whole run. Printed as well.

Usage: ``python loadtest/plots.py loadtest/results/mixed/locust [--title mixed] [--out DIR]``
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import statistics
import sys
from collections.abc import Iterable, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

__all__ = ["Plateau", "Sample", "main", "plateaus", "read_history"]

AGGREGATED = ("", "Aggregated")
DELIVERY = ("CHAT", "delivery latency")
PERCENTILES = ("50%", "95%", "99%")
WINDOW_SECONDS = 10  # locust's window for the "current" percentiles


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """One row of the history: a series (type, name) at one second."""

    time: int
    users: int
    rate: float
    percentiles: tuple[float | None, ...]  # PERCENTILES, None when locust had none
    total: int
    failures: int


@dataclasses.dataclass(frozen=True, slots=True)
class Plateau:
    """A stretch of the run at one user count, summarised."""

    users: int
    seconds: int
    rate: float
    percentiles: tuple[float | None, ...]
    failures: int
    count: int


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # "N/A"


def read_history(path: str) -> dict[tuple[str, str], list[Sample]]:
    """Every series of a ``*_stats_history.csv``, by (type, name), in time order."""
    series: dict[tuple[str, str], list[Sample]] = {}
    with open(path, newline="") as history:
        for row in csv.DictReader(history):
            rate = _number(row["Requests/s"]) or 0.0
            values = tuple(_number(row[p]) for p in PERCENTILES)
            # A window without a request reads as 0 ms: no measurement, not a fast one.
            if rate == 0 and all(v in (None, 0) for v in values):
                values = (None,) * len(PERCENTILES)
            sample = Sample(
                int(row["Timestamp"]),
                int(row["User Count"]),
                rate,
                values,
                int(row["Total Request Count"]),
                int(row["Total Failure Count"]),
            )
            series.setdefault((row["Type"], row["Name"]), []).append(sample)
    for samples in series.values():
        samples.sort(key=lambda s: s.time)
    return series


def _runs(samples: Sequence[Sample]) -> Iterable[tuple[int, int]]:
    """(start, end) index ranges of consecutive samples at one user count (end exclusive)."""
    start = 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i].users != samples[start].users:
            yield start, i
            start = i


def plateaus(samples: Sequence[Sample], *, min_hold: float, minus: Sequence[Sample] = ()) -> list[Plateau]:
    """The plateaus of one series; ``minus`` is a series whose counts are taken out of the rate."""
    taken = {s.time: s.total for s in minus}
    found = []
    for start, end in _runs(samples):
        first, last = samples[start], samples[end - 1]
        seconds = last.time - first.time
        if first.users == 0 or seconds < min_hold:
            continue
        before = samples[start - 1] if start else first
        elapsed = max(last.time - before.time, 1)
        requests = (last.total - taken.get(last.time, 0)) - (before.total - taken.get(before.time, 0))
        rows = samples[start:end]
        if seconds > 2 * WINDOW_SECONDS:
            rows = [s for s in rows if s.time >= first.time + WINDOW_SECONDS]
        medians = tuple(_median(s.percentiles[i] for s in rows) for i in range(len(PERCENTILES)))
        found.append(Plateau(first.users, seconds, requests / elapsed, medians, last.failures - before.failures, requests))
    return found


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def plateau_table(requests: Sequence[Plateau], delivery: Sequence[Plateau]) -> list[str]:
    """The markdown table of the plateaus (delivery latency columns when the run had chat)."""
    head = "| users | seconds | req/s | p50 ms | p95 ms | p99 ms | failures |"
    rule = "|---:|---:|---:|---:|---:|---:|---:|"
    by_users = {p.users: p for p in delivery}
    if delivery:
        head += " delivery p50 ms | delivery p95 ms | delivery p99 ms |"
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for p in requests:
        line = (
            f"| {p.users:,} | {p.seconds} | {p.rate:,.1f} | {_ms(p.percentiles[0])} | {_ms(p.percentiles[1])} "
            f"| {_ms(p.percentiles[2])} | {p.failures:,} |"
        )
        if delivery:
            d = by_users.get(p.users)
            line += " - | - | - |" if d is None else " " + " | ".join(_ms(v) for v in d.percentiles) + " |"
        lines.append(line)
    return lines


def names_table(stats_path: str) -> list[str]:
    """Per request name over the whole run, from ``*_stats.csv``."""
    lines = ["| type | name | requests | failures | p50 ms | p95 ms | p99 ms |", "|---|---|---:|---:|---:|---:|---:|"]
    with open(stats_path, newline="") as stats:
        for row in csv.DictReader(stats):
            lines.append(
                f"| {row['Type']} | {row['Name']} | {int(row['Request Count']):,} "
                f"| {int(row['Failure Count']):,} | {row['50%']} | {row['95%']} | {row['99%']} |"
            )
    return lines


def _percentile_lines(axis: plt.Axes, xs: Sequence[float], rows: Sequence[tuple[float | None, ...]]) -> None:
    for i, label in enumerate(("p50", "p95", "p99")):
        points = [(x, r[i]) for x, r in zip(xs, rows, strict=True) if r[i] is not None]
        if points:
            axis.plot(*zip(*points, strict=True), marker="o" if len(points) < 30 else None, label=label)
    axis.set_ylabel("latency (ms)")
    axis.set_yscale("log")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()


def draw_against_users(path: str, title: str, requests: Sequence[Plateau]) -> None:
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    users = [p.users for p in requests]
    top.plot(users, [p.rate for p in requests], marker="o")
    top.set_ylabel("requests / s")
    top.grid(True, alpha=0.3)
    top.set_title(f"{title}: throughput and latency against concurrent users")
    _percentile_lines(bottom, users, [p.percentiles for p in requests])
    bottom.set_xlabel("concurrent users")
    if len(users) > 1 and max(users) / max(min(users), 1) >= 20:
        bottom.set_xscale("log")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_timeline(path: str, title: str, samples: Sequence[Sample], delivery: Sequence[Sample]) -> None:
    start = samples[0].time
    delivered = {s.time: s.rate for s in delivery}
    xs = [s.time - start for s in samples]
    figure, (users, rate, latency) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    users.plot(xs, [s.users for s in samples])
    users.set_ylabel("users")
    users.set_title(f"{title}: the run over time")
    rate.plot(xs, [max(s.rate - delivered.get(s.time, 0.0), 0.0) for s in samples])
    rate.set_ylabel("requests / s")
    _percentile_lines(latency, xs, [s.percentiles for s in samples])
    latency.set_xlabel("seconds since start")
    for axis in (users, rate):
        axis.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_delivery(path: str, title: str, levels: Sequence[Plateau], samples: Sequence[Sample]) -> None:
    figure, (against, over) = plt.subplots(2, 1, figsize=(8, 7))
    against.set_title(f"{title}: chat delivery latency (post sent -> poller has it)")
    _percentile_lines(against, [p.users for p in levels], [p.percentiles for p in levels])
    against.set_xlabel("concurrent users")
    start = samples[0].time
    _percentile_lines(over, [s.time - start for s in samples], [s.percentiles for s in samples])
    over.set_xlabel("seconds since start")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefix", help="the --csv prefix of the run, e.g. loadtest/results/mixed/locust")
    parser.add_argument("--out", help="folder for the PNGs and summary.md (default: the prefix's folder)")
    parser.add_argument("--title", help="title of the plots (default: the folder's name)")
    parser.add_argument("--min-hold", type=float, default=5.0, help="shortest plateau, seconds (default 5)")
    args = parser.parse_args(argv)
    out = args.out or os.path.dirname(os.path.abspath(args.prefix))
    title = args.title or os.path.basename(out)
    os.makedirs(out, exist_ok=True)

    series = read_history(f"{args.prefix}_stats_history.csv")
    aggregated, delivery = series.get(AGGREGATED, []), series.get(DELIVERY, [])
    if not aggregated or aggregated[-1].total == 0:
        print(f"plots: no requests in {args.prefix}_stats_history.csv", file=sys.stderr)
        return 1
    levels = plateaus(aggregated, min_hold=args.min_hold, minus=delivery)
    delivery_levels = plateaus(delivery, min_hold=args.min_hold) if delivery else []
    lines = [
        f"## {title}",
        "",
        "Per plateau (ramps left out; percentiles over ~10 s windows, median over the plateau):",
        "",
        *plateau_table(levels, delivery_levels),
    ]
    if os.path.exists(f"{args.prefix}_stats.csv"):
        lines += ["", "Per request over the whole run:", "", *names_table(f"{args.prefix}_stats.csv")]
    with open(os.path.join(out, "summary.md"), "w") as summary:
        summary.write("\n".join(lines) + "\n")
    print("\n".join(lines))

    if levels:
        draw_against_users(os.path.join(out, "throughput_latency.png"), title, levels)
    draw_timeline(os.path.join(out, "timeline.png"), title, aggregated, delivery)
    if delivery and delivery_levels:
        draw_delivery(os.path.join(out, "chat_delivery.png"), title, delivery_levels, delivery)
    print(f"plots: PNGs and summary.md in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What ``c10k.py`` makes of a run: memory per connection, the verdict, a table, a PNG.

Memory per connection is ``(reading while held - reading before) / connections
held``, for each container (or process) and each memory kind. The readings are
taken at the client's marks: ``before``/``held`` for the idle keep-alive
phase, ``polls_before``/``polls_held`` for the long-poll fan-out.
matplotlib is imported only to draw, so the client half runs without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["per_connection", "render_table", "verdict", "write_plot"]

#: (phase, mark before, mark while held, the client-info key holding the count)
PHASES = (("hold", "before", "held"), ("fanout", "polls_before", "polls_held"))
KINDS = ("anon", "usage", "kernel")


def per_connection(memory: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Bytes per held connection, ``{phase: {group: {kind: bytes}}}``, from the marks' readings.

    ``memory`` maps a mark to ``{"connections": n, "groups": {group: sample dict}}``.
    """
    result: dict[str, dict[str, dict[str, float | None]]] = {}
    for phase, first, second in PHASES:
        if first not in memory or second not in memory:
            continue
        count = memory[second].get("connections") or 0
        before, held = memory[first]["groups"], memory[second]["groups"]
        result[phase] = {
            group: {kind: growth(before[group].get(kind), held[group].get(kind), count) for kind in KINDS}
            for group in held
            if group in before
        }
    return result


def growth(before: int | None, held: int | None, count: int) -> float | None:
    if before is None or held is None or count <= 0:
        return None
    return round((held - before) / count, 1)


def verdict(result: dict[str, Any]) -> dict[str, bool]:
    """The goals: every held connection answered its second request, every poller got the message."""
    goals: dict[str, bool] = {"finished": result.get("phase") == "done"}
    hold = result.get("hold")
    if hold is not None:
        goals["all_held"] = hold["held"] == hold["tried"]
        goals["nothing_dropped"] = hold["second_request"]["answered"] == hold["tried"]
    fanout = result.get("fanout")
    if fanout is not None:
        goals["all_delivered"] = fanout.get("delivered") == fanout.get("tried")
    return goals


def kib(value: float | None) -> str:
    return "-" if value is None else f"{value / 1024:.2f}"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def errors_text(errors: dict[str, int]) -> str:
    return ", ".join(f"{name}: {count}" for name, count in sorted(errors.items())) or "none"


def render_table(result: dict[str, Any]) -> str:
    """The run as a few aligned lines for a person."""
    lines = [f"c10k against {result['url']} ({result.get('mode', 'direct')})"]
    hold = result.get("hold")
    if hold is not None:
        probe, second = hold["probe"], hold["second_request"]
        lines += [
            f"phase 1: {hold['tried']:,} keep-alive connections to {result['config']['path']}",
            (
                f"  held                 {hold['held']:,} / {hold['tried']:,} (ramp {hold['ramp_seconds']} s;"
                f" errors: {errors_text(hold['open_errors'])})"
            ),
            (
                f"  probes while held    {probe['count']} fresh: p50 {ms(probe['p50_ms'])}, p99 {ms(probe['p99_ms'])},"
                f" max {ms(probe['max_ms'])} (errors: {errors_text(probe['errors'])})"
            ),
            (
                f"  second request       {second['answered']:,} / {hold['tried']:,} answered"
                f" (closed while idle: {second['closed_while_idle']}; errors: {errors_text(second['errors'])})"
            ),
        ]
    fanout = result.get("fanout")
    if fanout is not None:
        lines.append(f"phase 2: {fanout['tried']:,} long-polls in one chat room")
        if "delivery" in fanout:
            delivery = fanout["delivery"]
            lines += [
                f"  waiting at the post  {fanout['waiting_at_post']:,} / {fanout['tried']:,}",
                (
                    f"  delivered            {fanout['delivered']:,} / {fanout['tried']:,}: p50 {ms(delivery['p50_ms'])},"
                    f" p99 {ms(delivery['p99_ms'])}, last {ms(delivery['max_ms'])}"
                    f" (errors: {errors_text(fanout['errors'])})"
                ),
            ]
        else:
            lines.append(f"  failed: {fanout.get('failure')}")
    if "failure" in result:
        lines.append(f"{result['failure']}: the figures above are what was finished")
    lines += memory_lines(result.get("per_connection", {}), result.get("memory", {}))
    lines.append("goals: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result.get("verdict", {}).items()))
    return "\n".join(lines)


def memory_lines(per_conn: dict[str, dict[str, dict[str, float | None]]], memory: dict[str, dict[str, Any]]) -> list[str]:
    """One row per container and phase: anon, kernel and everything charged, in KiB per connection."""
    if not any(per_conn.values()):
        return ["memory per connection: not measured (--pid, or the stack's containers via --via-compose)"]
    source = next((s.get("source") for mark in memory.values() for s in mark["groups"].values()), "?")
    lines = [
        f"memory per connection, KiB ({source}; anon: heap and stacks, kernel: sockets and the like)",
        f"  {'':<10} {'':<16} {'anon':>8} {'kernel':>8} {'charged':>8}",
    ]
    for group in sorted({group for phase in per_conn.values() for group in phase}):
        for phase, label in (("hold", "idle keep-alive"), ("fanout", "long-poll")):
            figures = per_conn.get(phase, {}).get(group)
            if figures is not None:
                cells = " ".join(f"{kib(figures.get(kind)):>8}" for kind in ("anon", "kernel", "usage"))
                lines.append(f"  {group:<10} {label:<16} {cells}")
    lines.append(
        "  (anon grows only past a process's earlier peak: a fresh stack gives first-touch figures;"
        " long-polls count beyond what phase 1 left resident)"
    )
    return lines


def write_plot(result: dict[str, Any], path: Path) -> None:
    """Three panels: memory per connection, fan-out delivery, probe latency while held."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (memory, delivery, probes) = plt.subplots(1, 3, figsize=(15, 4.5))
    plot_memory(memory, result.get("per_connection", {}))
    plot_delivery(delivery, result.get("fanout", {}))
    plot_probes(probes, result.get("hold", {}))
    figure.suptitle(
        f"c10k through {result['url']}: {result['config']['connections']:,} idle connections, "
        f"{result['config']['pollers']:,} long-polls"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_memory(axes: Any, per_conn: dict[str, dict[str, dict[str, float | None]]]) -> None:
    groups = sorted({group for phase in per_conn.values() for group in phase})
    width = 0.38
    for offset, (phase, label) in enumerate((("hold", "idle keep-alive"), ("fanout", "long-poll"))):
        values = [(per_conn.get(phase, {}).get(g, {}).get("anon") or 0) / 1024 for g in groups]
        axes.bar([i + offset * width for i in range(len(groups))], values, width, label=label)
    axes.set_xticks([i + width / 2 for i in range(len(groups))], groups)
    axes.set_ylabel("KiB per connection (anon)")
    axes.set_title("memory per connection")
    axes.legend(loc="upper left", fontsize="small")


def plot_delivery(axes: Any, fanout: dict[str, Any]) -> None:
    times = fanout.get("delivery_ms", [])
    if times:
        axes.plot(times, [100 * (i + 1) / fanout["tried"] for i in range(len(times))])
    axes.set_xlabel("ms after the message was sent")
    axes.set_ylabel("% of pollers that have it")
    axes.set_ylim(0, 105)
    axes.set_title(f"fan-out: {fanout.get('delivered', 0):,} / {fanout.get('tried', 0):,} delivered")


def plot_probes(axes: Any, hold: dict[str, Any]) -> None:
    latencies = hold.get("probe", {}).get("latencies_ms", [])
    axes.plot(range(1, len(latencies) + 1), latencies, ".", markersize=3)
    axes.set_xlabel("probe (spaced over the hold)")
    axes.set_ylabel("ms, new connection + request")
    axes.set_title(f"fresh requests while {hold.get('held', 0):,} are held")

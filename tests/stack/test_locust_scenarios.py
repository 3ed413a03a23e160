"""Every locust scenario (loadtest/) runs headless for a few seconds against the stack, failure-free.

Each run is locust as a subprocess from the host (``--headless -u N -r N -t 5s
--csv``), with short think times so a few seconds hold many tasks; its
``_stats.csv`` must show no failure and a request for each thing the scenario
is there to do (a scenario that silently did nothing would pass otherwise).
The step load runs locally with a miniature shape (two steps of seconds);
its 10,000-user form runs distributed through ``scripts/loadtest step``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THINK = {"LOCUST_THINK_MIN": "0.05", "LOCUST_THINK_MAX": "0.2"}

# scenario -> (locustfile, user classes (none: all), users, request names that must appear)
SCENARIOS: dict[str, tuple[str, tuple[str, ...], int, set[str]]] = {
    "browse": (
        "locustfile.py",
        ("BrowsingUser",),
        10,
        {"portal /", "/forms/", "/uploads/", "/chat/", "/redirects/", "/forms/recent", "/healthz"},
    ),
    "forms": (
        "locustfile.py",
        ("FormsUser",),
        10,
        {"/forms/", "/forms/ POST valid", "/forms/done/[id]", "/forms/ POST invalid", "/forms/search?q=[name]"},
    ),
    "uploads": (
        "locustfile.py",
        ("UploadsUser",),
        8,
        {"/uploads/upload (multipart)", "/uploads/?uploaded=[ids]", "/uploads/put/[name]"},
    ),
    "chat": ("locustfile.py", ("ChatPoller", "ChatPoster"), 12, {"/chat/a/message/new", "delivery latency"}),
    "redirects": (
        "locustfile.py",
        ("RedirectsUser",),
        10,
        {
            "/redirects/chain/[n]",
            "/redirects/landed",
            "/redirects/to/[kind]",
            "/redirects/go?next=[hostile]",
            "/redirects/go?next=[local]",
        },
    ),
    "mixed": (
        "locustfile.py",
        (),
        60,
        {"portal /", "/forms/ POST valid", "/uploads/upload (multipart)", "delivery latency", "/redirects/chain/[n]"},
    ),
}


def run_locust(
    stack_url: str, prefix: Path, locustfile: str, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "loadtest" / locustfile),
            "--headless",
            "--host",
            stack_url,
            "--csv",
            str(prefix),
            "--csv-full-history",
            "--only-summary",
            "--loglevel",
            "WARNING",
            *args,
        ],
        cwd=prefix.parent,
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )


def stats(prefix: Path) -> dict[str, dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as table:
        return {row["Name"]: row for row in csv.DictReader(table)}


def assert_clean(result: subprocess.CompletedProcess[str], rows: dict[str, dict[str, str]], names: set[str]) -> None:
    failed = {name: row["Failure Count"] for name, row in rows.items() if int(row["Failure Count"])}
    assert not failed, f"failures: {failed}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    missing = {name for name in names if int(rows.get(name, {}).get("Request Count", 0)) == 0}
    assert not missing, f"never requested: {missing}; requested: {sorted(rows)}"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_runs_without_failures(scenario: str, stack_url: str, tmp_path: Path) -> None:
    locustfile, classes, users, names = SCENARIOS[scenario]
    prefix = tmp_path / scenario
    result = run_locust(
        stack_url, prefix, locustfile, "--users", str(users), "--spawn-rate", str(users), "--run-time", "5s", *classes, env=THINK
    )
    assert_clean(result, stats(prefix), names)


def test_step_shape_runs_without_failures(stack_url: str, tmp_path: Path) -> None:
    prefix = tmp_path / "step"
    env = {
        "LOCUST_STEP_STAGES": "5:3,20:4",
        "LOCUST_STEP_SPAWN_RATE": "20",
        "LOCUST_STEP_THINK_MIN": "0.05",
        "LOCUST_STEP_THINK_MAX": "0.2",
    }
    result = run_locust(stack_url, prefix, "step.py", env=env)
    assert_clean(result, stats(prefix), {"portal /", "/chat/a/message/new"})
    with open(f"{prefix}_stats_history.csv", newline="") as history:
        user_counts = {int(row["User Count"]) for row in csv.DictReader(history)}
    assert {5, 20} <= user_counts, user_counts  # both steps were reached

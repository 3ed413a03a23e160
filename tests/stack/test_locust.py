"""A short headless locust run (loadtest/locustfile.py) from the host against the stack."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(90)
def test_keepalive_scenario_runs_without_failures(stack_url: str, tmp_path: Path) -> None:
    prefix = tmp_path / "keepalive"
    env = dict(os.environ, LOCUST_THINK_MIN="0.05", LOCUST_THINK_MAX="0.2")
    result = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py"),
         "--headless", "--host", stack_url, "--users", "20", "--spawn-rate", "20",
         "--run-time", "10s", "--stop-timeout", "5", "--csv", str(prefix),
         "--html", str(tmp_path / "keepalive.html"), "--only-summary", "--loglevel", "WARNING"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    assert {"portal /", "/healthz", "Aggregated"} <= rows.keys(), rows.keys()
    for name in ("portal /", "/healthz", "Aggregated"):
        assert int(rows[name]["Request Count"]) > 0, rows[name]
        assert int(rows[name]["Failure Count"]) == 0, rows[name]
    assert int(rows["Aggregated"]["Request Count"]) >= 200
    assert (tmp_path / "keepalive.html").stat().st_size > 0

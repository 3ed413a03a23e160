"""loadtest/conn_memory.py end to end, on a few connections: each server holds them, and a baseline runs its own code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.loadtest.scripts import LOADTEST, run_script


@pytest.mark.slow
def test_idle_connections_are_held_and_measured_for_each_server_and_the_baseline(tmp_path: Path) -> None:
    out = tmp_path / "memory.json"
    # This checkout as its own baseline: the option's mechanism, not a comparison.
    run_script(
        "conn_memory.py",
        "--count",
        "20",
        "--only",
        "framework_web,asyncio_raw",
        "--baseline",
        str(LOADTEST.parent),
        "--json",
        str(out),
        timeout=180,
    )
    results = json.loads(out.read_text())["results"]
    assert sorted(results) == ["asyncio_raw", "framework_web", "framework_web@base"]
    for row in results.values():
        assert row["held"] == 20 and row["established_at_measure"] == 20
        assert isinstance(row["bytes_per_connection"], (int, float))

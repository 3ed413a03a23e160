"""loadtest/longpoll_fanout.py end to end, on a few waiters: both servers answer every one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LOADTEST = Path(__file__).resolve().parents[2] / "loadtest"


@pytest.mark.slow
def test_every_waiter_of_both_servers_is_answered_after_one_notify(tmp_path: Path) -> None:
    out = tmp_path / "fanout.json"
    child = subprocess.run(
        [sys.executable, str(LOADTEST / "longpoll_fanout.py"), "--count", "20", "--port", "0", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    results = json.loads(out.read_text())
    assert sorted(results) == ["floor", "framework"]
    for runs in results.values():
        (run,) = runs
        assert run["woken"] == 20
        assert run["notify_to_last_written_ms"] > 0

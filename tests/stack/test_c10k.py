"""loadtest/c10k.py against the stack, from a container on the compose network through nginx.

A short run (2,000 idle keep-alive connections, 500 long-polls): every held
connection answers its second request, every poller gets the message, and the
results carry each container's memory per connection. Timing goals stay in the
benchmark itself, never here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 2_000
POLLERS = 500


@pytest.mark.timeout(300)
def test_c10k_through_nginx_drops_nothing(stack_url: str, tmp_path: Path) -> None:
    if shutil.which("docker") is None:
        pytest.skip("c10k.py runs its client in a container: no docker CLI here")
    results = tmp_path / "c10k.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "loadtest" / "c10k.py"),
            "--via-compose",
            "--url",
            stack_url,
            "-n",
            str(CONNECTIONS),
            "-m",
            str(POLLERS),
            "--hold",
            "5",
            "--probes",
            "50",
            "--deadline",
            "200",
            "--json",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=270,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(results.read_text())

    hold = result["hold"]
    assert hold["held"] == CONNECTIONS, hold["open_errors"]
    assert hold["second_request"]["answered"] == CONNECTIONS, hold["second_request"]
    assert hold["probe"]["count"] == 50, hold["probe"]["errors"]
    fanout = result["fanout"]
    assert fanout["delivered"] == POLLERS, fanout["errors"]
    assert result["verdict"] == {"finished": True, "all_held": True, "nothing_dropped": True, "all_delivered": True}

    for phase in ("hold", "fanout"):
        for container in ("nginx", "chat"):
            figures = result["per_connection"][phase][container]
            assert isinstance(figures["usage"], float), (phase, container, figures)
    if importlib.util.find_spec("matplotlib") is not None:
        assert results.with_suffix(".png").stat().st_size > 0

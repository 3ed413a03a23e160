"""loadtest/cputime.py end to end on the smallest server: the kernel's run-time clock gives a plausible figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loadtest.scripts import LOADTEST, run_script


@pytest.mark.slow
def test_the_bare_server_is_timed_over_interleaved_rounds(tmp_path: Path) -> None:
    out = tmp_path / "cpu.json"
    child = run_script(
        "cputime.py",
        "--only",
        "asyncio_raw",
        "--requests",
        "200",
        "--warmup",
        "20",
        "--rounds",
        "2",
        "--json",
        str(out),
        timeout=120,
    )
    rounds = json.loads(out.read_text())["us_per_request"]["asyncio_raw"]
    # A recv and a send through asyncio's loop: microseconds each, not nothing and not milliseconds.
    assert len(rounds) == 2 and all(1 < value < 5_000 for value in rounds)
    assert "asyncio_raw" in child.stdout and "median of 2 rounds" in child.stdout


def test_on_cpu_time_counts_what_another_process_ran() -> None:
    """The clock is read from a process that worked, then blocked, as a server waits for its next request."""
    sys.path.insert(0, str(LOADTEST))
    try:
        import cputime
    finally:
        sys.path.remove(str(LOADTEST))
    work = "import sys; sum(range(3_000_000)); print('done', flush=True); sys.stdin.readline()"
    with subprocess.Popen([sys.executable, "-c", work], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == b"done\n"
            # Tens of milliseconds of Python, counted at least up to its last scheduler tick.
            total, threads = cputime.on_cpu_ns(child.pid)
            assert 20_000_000 < total < 60_000_000_000 and threads == {str(child.pid)}
        finally:
            child.kill()

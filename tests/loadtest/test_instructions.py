"""loadtest/instructions.py end to end on the smallest server: callgrind counts a real, plausible figure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LOADTEST = Path(__file__).resolve().parents[2] / "loadtest"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("callgrind_control") is None, reason="valgrind is not installed (a benchmark tool)")
def test_the_bare_server_is_counted_between_two_dumps(tmp_path: Path) -> None:
    out = tmp_path / "counts.json"
    child = subprocess.run(
        [sys.executable, str(LOADTEST / "instructions.py"), "--only", "asyncio_raw", "--requests", "50", "--warmup", "10"]
        + ["--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    counts = json.loads(out.read_text())["instructions_per_request"]
    # A recv, a count of the head terminator and a send, through asyncio's loop: thousands, not
    # millions (the interpreter's start-up was left out by the first dump).
    assert 2_000 < counts["asyncio_raw"] < 500_000

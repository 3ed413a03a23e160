"""Running a ``loadtest/`` script as its README does, for the end-to-end tests of this folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LOADTEST = Path(__file__).resolve().parents[2] / "loadtest"


def run_script(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python loadtest/<script> <args>`` in a child process, bounded by ``timeout`` seconds.

    Fails the calling test, with the end of the child's stderr, unless it
    exits 0; returns it for its output to be checked.
    """
    argv = [sys.executable, str(LOADTEST / script), *args]
    child = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert child.returncode == 0, child.stderr[-2000:]
    return child

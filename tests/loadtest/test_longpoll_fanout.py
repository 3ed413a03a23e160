"""loadtest/longpoll_fanout.py end to end, on a few waiters: every server answers every one."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from tests.loadtest.scripts import LOADTEST, run_script


@pytest.mark.slow
def test_every_waiter_of_both_servers_is_answered_after_one_notify(tmp_path: Path) -> None:
    out = tmp_path / "fanout.json"
    # This checkout as its own baseline: the option's mechanism, not a comparison.
    run_script("longpoll_fanout.py", "--count", "20", "--json", str(out), "--baseline", str(LOADTEST.parent), timeout=120)
    results = json.loads(out.read_text())
    assert sorted(results) == ["floor", "framework", "framework@base"]
    for runs in results.values():
        (run,) = runs
        assert run["woken"] == 20
        assert run["notify_to_last_written_ms"] > 0
    for name in ("framework", "framework@base"):  # collections during the fan-out, by generation
        (run,) = results[name]
        assert len(run["gc_during_fanout"]) == 3 and min(run["gc_during_fanout"]) >= 0
        assert run["woken_by_then"] == 20  # the written time was noted once all were answered
        # The two phases, on one clock: they add up to about the written time.
        assert run["handlers_ms"] > 0 and run["after_handlers_ms"] > 0
        assert abs(run["handlers_ms"] + run["after_handlers_ms"] - run["notify_to_last_written_ms"]) < 50
    assert results["floor"][0]["handlers_ms"] is None
    assert results["floor"][0]["gc_during_fanout"] is None


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tornado", "aiohttp"])
def test_the_contenders_answer_every_waiter_after_one_notify(tmp_path: Path, name: str) -> None:
    if importlib.util.find_spec(name) is None:  # (found, not imported: tests/tornado_app checks nothing loads Tornado)
        pytest.skip(f"{name} is not installed (requirements-bench.txt)")
    out = tmp_path / "fanout.json"
    run_script("longpoll_fanout.py", "--count", "20", "--only", name, "--json", str(out), timeout=120)
    ((run,),) = json.loads(out.read_text()).values()
    assert run["woken"] == 20 and run["woken_by_then"] == 20
    assert run["notify_to_last_written_ms"] > 0


@pytest.mark.slow
@pytest.mark.timeout(600)  # (two servers under valgrind: 40 s on a quiet machine)
@pytest.mark.skipif(shutil.which("callgrind_control") is None, reason="valgrind is not installed (a benchmark tool)")
def test_instructions_per_waiter_are_counted_between_two_dumps_and_within_the_timed_window(tmp_path: Path) -> None:
    out = tmp_path / "fanout.json"
    child = run_script("longpoll_fanout.py", "--count", "20", "--instructions", "--json", str(out), timeout=600)
    results = json.loads(out.read_text())
    assert sorted(results) == ["floor", "framework"]
    for runs in results.values():
        (run,) = runs
        assert run["woken"] == 20
    # A woken waiter costs its server thousands of instructions (a response
    # written at the least), and the framework's handler more than the floor's loop.
    floor, framework = results["floor"][0]["instructions_per_waiter"], results["framework"][0]["instructions_per_waiter"]
    assert 1_000 < floor < framework < 10_000_000
    # The timed window, between the servers' marks, is a part of that: the
    # floor writes every response inside it; the framework's tasks end after it.
    floor_window = results["floor"][0]["window_instructions_per_waiter"]
    framework_window = results["framework"][0]["window_instructions_per_waiter"]
    assert 1_000 < floor_window <= floor
    assert floor_window < framework_window < framework
    assert "instructions per waiter" in child.stdout
    assert "from the notify to the last written" in child.stdout

"""loadtest/longpoll_memory.py end to end, on a few waiters: a plausible figure and the lines behind it."""

from __future__ import annotations

import re

from tests.loadtest.scripts import run_script


def test_a_waiters_bytes_are_counted_and_traced_to_their_lines() -> None:
    child = run_script("longpoll_memory.py", "--count", "50", "--top", "40", "--timeout", "30", timeout=120)
    first = child.stdout.splitlines()[0]
    match = re.match(r"([\d,]+) bytes per waiter beyond its idle connection \(50 waiters", first)
    assert match is not None, first
    # A request, its handler and its task: kilobytes, neither nothing nor a leak's worth.
    assert 500 < int(match[1].replace(",", "")) < 50_000
    assert "tasks.Task(" in child.stdout  # the method's asyncio task is among the lines named

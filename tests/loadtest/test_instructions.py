"""loadtest/instructions.py end to end on the smallest server: callgrind counts a real, plausible figure."""

from __future__ import annotations

import importlib
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.loadtest.scripts import LOADTEST, run_script


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("callgrind_control") is None, reason="valgrind is not installed (a benchmark tool)")
def test_the_bare_server_is_counted_between_two_dumps(tmp_path: Path) -> None:
    out = tmp_path / "counts.json"
    run_script("instructions.py", "--only", "asyncio_raw", "--requests", "50", "--warmup", "10", "--json", str(out), timeout=300)
    counts = json.loads(out.read_text())["instructions_per_request"]
    # A recv, a count of the head terminator and a send, through asyncio's loop: thousands, not
    # millions (the interpreter's start-up was left out by the first dump).
    assert 2_000 < counts["asyncio_raw"] < 500_000


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("callgrind_control") is None, reason="valgrind is not installed (a benchmark tool)")
def test_with_the_access_log_on_a_request_costs_the_line_more(tmp_path: Path) -> None:
    counts = {}
    for flags in ((), ("--access-log",)):
        out = tmp_path / "counts.json"
        args = ("--only", "framework_web", "--requests", "100", "--warmup", "20", "--json", str(out), *flags)
        run_script("instructions.py", *args, timeout=300)
        result = json.loads(out.read_text())
        counts[result["access_log"]] = result["instructions_per_request"]["framework_web"]
    # A record, its formatting and its write: tens of thousands of instructions more, not millions.
    assert 10_000 < counts[True] - counts[False] < 1_000_000


def test_the_access_log_is_asked_only_of_servers_that_have_one() -> None:
    child = subprocess.run(
        [sys.executable, str(LOADTEST / "instructions.py"), "--only", "asyncio_raw", "--access-log"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert child.returncode == 2 and "with an access log" in child.stderr


def load_instructions() -> ModuleType:
    """loadtest/instructions.py as a module (its folder first on the path, as when it runs)."""
    sys.path.insert(0, str(LOADTEST))
    try:
        return importlib.import_module("instructions")
    finally:
        sys.path.remove(str(LOADTEST))


def test_each_workload_sends_benchs_request_with_its_body() -> None:
    instructions = load_instructions()
    specs = instructions.WORKLOAD_SPECS
    hello = instructions.request_bytes(specs["hello"])
    assert hello.startswith(b"GET / HTTP/1.1\r\n") and hello.endswith(b"\r\n\r\n")
    form = instructions.request_bytes(specs["form"])
    head, _, body = form.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /form HTTP/1.1\r\n") and b"application/x-www-form-urlencoded" in head
    assert f"Content-Length: {len(body)}".encode() in head and body.startswith(b"name=Ada+Lovelace&")


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ncontent-length:5\r\n\r\nhel",  # the rest arrives later
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ],
)
def test_a_response_is_read_to_the_end_of_its_body(answer: bytes) -> None:
    # One request in flight at a time: the answer's framing says where it ends.
    instructions = load_instructions()
    server, client = socket.socketpair()
    with server, client:
        client.settimeout(10)
        server.sendall(answer)
        if answer.endswith(b"hel"):
            server.sendall(b"lo")
        got = instructions.read_response(client)
    assert got == (answer + b"lo" if answer.endswith(b"hel") else answer)

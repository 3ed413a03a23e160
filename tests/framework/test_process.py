"""framework.process: forked children share a port, are restarted when they die, and drain together."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from framework import process
from framework.iostream import PipeIOStream
from tests.framework.harness import free_port, run

REPO = Path(__file__).resolve().parents[2]

# The shape a multi-process service takes: bind in the parent, fork, serve in
# each child until SIGTERM, then drain and exit 0.
SERVER = textwrap.dedent(
    """
    import asyncio, logging, os, sys
    from framework import process
    from framework.httpserver import HTTPServer
    from framework.lifecycle import Lifecycle, serve_forever
    from framework.web import Application, RequestHandler

    class Who(RequestHandler):
        def get(self):
            self.write({"task": process.task_id(), "pid": os.getpid()})

    class Slow(RequestHandler):
        async def get(self):
            await asyncio.sleep(1.0)
            self.write("slow done")

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server = HTTPServer(Application([(r"/who", Who), (r"/slow", Slow)]))
    server.bind(int(sys.argv[1]), "127.0.0.1")
    server.start(2, max_restarts=3)
    print("child", process.task_id(), os.getpid(), flush=True)
    reports = serve_forever([server], lifecycle=Lifecycle(), drain_timeout=10)
    sys.exit(1 if reports[0].aborted else 0)
    """
)


@pytest.fixture
def forked(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
        for pid in children_of(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def children_of(pid: int) -> list[int]:
    try:
        found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, timeout=5, check=False).stdout
    except FileNotFoundError:
        return []
    return [int(line) for line in found.split()]


def who(port: int) -> dict[str, int]:
    """One request on a fresh connection: the answering child's task id and pid."""
    deadline = time.monotonic() + 15
    while True:
        try:
            with requests.Session() as session:
                return dict(session.get(f"http://127.0.0.1:{port}/who", timeout=5).json())
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def tasks_seen(port: int, want: set[int], tries: int = 400) -> dict[int, int]:
    """task id -> pid, for every child that answered, until ``want`` have answered."""
    seen: dict[int, int] = {}
    for _ in range(tries):
        answer = who(port)
        seen[answer["task"]] = answer["pid"]
        if want <= set(seen):
            break
    return seen


def test_without_forking_there_is_no_task_id() -> None:
    assert process.task_id() is None
    assert process.cpu_count() >= 1


def test_children_share_the_port_are_restarted_and_drain_on_sigterm(forked: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = forked
    first = tasks_seen(port, {0, 1})
    assert set(first) == {0, 1}, first  # both children accept on the one socket
    assert proc.pid not in first.values()  # the parent only supervises

    os.kill(first[0], signal.SIGKILL)  # a crash: child 0 comes back with a new pid
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        again = tasks_seen(port, {0, 1}, tries=50)
        if again.get(0) not in (None, first[0]):
            break
    assert again[0] != first[0] and again[1] == first[1]

    # A request in flight when the parent is told to stop still gets its answer.
    with requests.Session() as session:
        answers: list[str] = []
        slow = threading.Thread(target=lambda: answers.append(session.get(f"http://127.0.0.1:{port}/slow", timeout=10).text))
        slow.start()
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        slow.join(15)
    out, _ = proc.communicate(timeout=20)
    assert answers == ["slow done"], out
    assert proc.returncode == 0, out
    assert "restarting" in out and "SIGTERM received: stopping 2 processes" in out
    assert children_of(proc.pid) == []


PLAIN = textwrap.dedent(
    """
    import os, sys, time
    from framework import process

    task = process.fork_processes(2)
    if task == 1 and sys.argv[1] == "fail":
        import signal
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(3))  # stops, but reports a failure
    os.write(1, b"child %d\\n" % task)  # one write: the children share the pipe
    time.sleep(30)
    """
)


@pytest.mark.parametrize(("mode", "code"), [("plain", 0), ("fail", 1)])
def test_children_without_a_handler_stop_with_the_signal_and_failures_count(tmp_path: Path, mode: str, code: int) -> None:
    script = tmp_path / "plain.py"
    script.write_text(PLAIN)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(script), mode],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        started = [proc.stdout.readline(), proc.stdout.readline()]
        assert sorted(started) == ["child 0\n", "child 1\n"]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # our own session: the children too, if left behind
        except ProcessLookupError:
            pass
        proc.communicate(timeout=10)
    assert proc.returncode == code


# -- Subprocess --------------------------------------------------------------

STREAM = process.Subprocess.STREAM


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_subprocess_streams_carry_stdin_stdout_and_stderr() -> None:
    async def test() -> None:
        code = "import sys; data = sys.stdin.read(); sys.stdout.write(data.upper()); sys.stderr.write(data[::-1])"
        child = process.Subprocess(python(code), stdin=STREAM, stdout=STREAM, stderr=STREAM)
        assert isinstance(child.stdin, PipeIOStream) and isinstance(child.stdout, PipeIOStream)
        assert isinstance(child.stderr, PipeIOStream) and child.pid == child.proc.pid
        await child.stdin.write(b"abc")
        child.stdin.close()
        out, err = await asyncio.gather(child.stdout.read_until_close(), child.stderr.read_until_close())
        assert (out, err) == (b"ABC", b"cba")
        assert await child.wait_for_exit() == 0
        assert child.returncode == 0

    run(test)


def test_a_non_zero_exit_raises_called_process_error_unless_told_not_to() -> None:
    async def test() -> None:
        failing = process.Subprocess(python("raise SystemExit(3)"))
        with pytest.raises(process.CalledProcessError) as info:
            await failing.wait_for_exit()
        assert info.value.returncode == 3 and info.value.cmd == failing.proc.args
        assert issubclass(process.CalledProcessError, subprocess.CalledProcessError)
        assert await process.Subprocess(python("raise SystemExit(4)")).wait_for_exit(raise_error=False) == 4

    run(test)


def test_the_exit_callback_gets_the_status_even_for_a_signal_and_after_the_exit() -> None:
    async def test() -> None:
        child = process.Subprocess(python("import time; time.sleep(60)"), stdout=subprocess.DEVNULL)
        seen: asyncio.Queue[int] = asyncio.Queue()
        child.set_exit_callback(seen.put_nowait)
        child.proc.terminate()
        assert await seen.get() == -signal.SIGTERM
        child.set_exit_callback(seen.put_nowait)  # the exit is known: called at once
        assert await seen.get() == -signal.SIGTERM

    run(test)


def test_exits_are_seen_without_pidfd_and_without_a_sigchld_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    before = signal.getsignal(signal.SIGCHLD)
    process.Subprocess.initialize()
    monkeypatch.delattr(os, "pidfd_open", raising=False)  # as on macOS: a thread waits

    async def test() -> None:
        assert await process.Subprocess(python("pass")).wait_for_exit() == 0

    run(test)
    process.Subprocess.uninitialize()
    assert signal.getsignal(signal.SIGCHLD) == before


def test_a_program_that_cannot_start_leaves_no_pipe_open() -> None:
    def open_fds() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    async def test() -> None:
        before = open_fds()
        with pytest.raises(FileNotFoundError):
            process.Subprocess(["/nonexistent/program"], stdin=STREAM, stdout=STREAM, stderr=STREAM)
        assert open_fds() <= before

    run(test)

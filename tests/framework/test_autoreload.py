"""``framework.autoreload``: a real program restarts when its module or a watched file changes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from framework import autoreload
from framework.ioloop import IOLoop
from tests.framework.harness import free_port

REPO = Path(__file__).resolve().parents[2]

# The program under test: serves the value of a module the test rewrites,
# logs each start to a file, and runs a reload hook that the test sees.
PROGRAM = """
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from framework import autoreload
from framework.ioloop import IOLoop
from framework.web import Application, RequestHandler
import served

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "starts.log"), "a") as log:
    log.write(f"{os.getpid()}\\n")

class Value(RequestHandler):
    def get(self):
        self.write({"value": served.VALUE, "pid": os.getpid()})

autoreload.watch(os.path.join(here, "config.txt"))
autoreload.add_reload_hook(lambda: open(os.path.join(here, "hooks.log"), "a").write("hook\\n"))
app = Application([("/", Value)], SETTINGS)
app.listen(int(sys.argv[1]), "127.0.0.1")
IOLoop.current().start()
"""


def write_module(directory: Path, value: str) -> None:
    path = directory / "served.py"
    before = path.stat().st_mtime if path.exists() else 0.0
    path.write_text(f"VALUE = {value!r}\n")
    os.utime(path, (before + 5, before + 5))  # a change the mtime check sees at once, whatever the clock resolution


def get(port: int) -> dict[str, object] | None:
    try:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=2).json()  # type: ignore[no-any-return]
    except requests.ConnectionError:
        return None


def wait_for(port: int, value: str, timeout: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = get(port)
        if answer is not None and answer["value"] == value:
            return answer
        time.sleep(0.1)
    raise AssertionError(f"the program never served {value!r}")


@pytest.fixture
def program(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, int]]:
    settings = getattr(request, "param", "debug=True")
    (tmp_path / "app.py").write_text(PROGRAM.replace("SETTINGS", settings))
    (tmp_path / "config.txt").write_text("a")
    write_module(tmp_path, "one")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, str(tmp_path / "app.py"), str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(port, "one")
        time.sleep(1.0)  # the first check (after 500 ms) records the files' times; changes count after it
        yield tmp_path, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def starts(directory: Path) -> list[str]:
    return (directory / "starts.log").read_text().split()


def test_debug_restarts_when_an_imported_module_changes(program: tuple[Path, int]) -> None:
    directory, port = program
    first = wait_for(port, "one")
    write_module(directory, "two")
    second = wait_for(port, "two")
    assert second["pid"] == first["pid"]  # replaced in place by execv: same process, same port
    assert len(starts(directory)) == 2
    assert (directory / "hooks.log").read_text() == "hook\n"


def test_a_watched_file_restarts_too(program: tuple[Path, int]) -> None:
    directory, port = program
    config = directory / "config.txt"
    config.write_text("b")
    os.utime(config, (config.stat().st_mtime + 5,) * 2)
    deadline = time.monotonic() + 20
    while len(starts(directory)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(starts(directory)) == 2
    wait_for(port, "one")


@pytest.mark.parametrize("program", ["autoreload=True"], indirect=True)
def test_autoreload_alone_restarts(program: tuple[Path, int]) -> None:
    directory, port = program
    write_module(directory, "three")
    wait_for(port, "three")


@pytest.mark.parametrize("program", ["debug=False", "debug=True, autoreload=False"], indirect=True)
def test_production_settings_never_restart(program: tuple[Path, int]) -> None:
    directory, port = program
    write_module(directory, "two")
    time.sleep(1.5)  # three check periods
    answer = get(port)
    assert answer is not None and answer["value"] == "one"
    assert len(starts(directory)) == 1


def test_start_twice_on_one_loop_checks_once() -> None:
    loop = IOLoop()
    calls: list[object] = []

    async def start_twice() -> None:
        autoreload.start(check_time=60_000)
        autoreload.start(check_time=60_000)
        calls.extend(h for h in asyncio.get_running_loop()._scheduled if not h.cancelled())  # type: ignore[attr-defined]

    try:
        loop.run_sync(start_twice)
        assert loop in autoreload._io_loops
        assert len(calls) == 1  # one periodic check, not two
    finally:
        autoreload._io_loops.discard(loop)
        loop.close(all_fds=True)


def test_changed_file_records_first_then_reports_a_change(tmp_path: Path) -> None:
    watched = tmp_path / "settings.cfg"
    watched.write_text("x")
    autoreload.watch(str(watched))
    try:
        times: dict[str, float] = {}
        assert autoreload._changed_file(times) is None
        assert str(watched) in times
        os.utime(watched, (watched.stat().st_mtime + 5,) * 2)
        assert autoreload._changed_file(times) == str(watched)
        watched.unlink()
        assert autoreload._changed_file(times) is None  # a vanished file is not a change
    finally:
        autoreload._watched_files.discard(str(watched))


def test_program_text_is_valid_python() -> None:
    compile(textwrap.dedent(PROGRAM.replace("SETTINGS", "debug=True")), "app.py", "exec")


# -- python -m framework.autoreload ------------------------------------------------------

SCRIPT = """
import json, os, sys
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs.log"), "a") as log:
    log.write(json.dumps({"argv": sys.argv, "run": RUN}) + "\\n")
"""


def write_script(path: Path, text: str) -> None:
    before = path.stat().st_mtime if path.exists() else 0.0
    path.write_text(text)
    os.utime(path, (before + 5, before + 5))  # seen as a change whatever the clock resolution


def runs(directory: Path, count: int, timeout: float = 20.0) -> list[dict[str, object]]:
    """The first ``count`` runs the script logged, waiting (bounded) for them."""
    log = directory / "runs.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines[:count]]
        time.sleep(0.1)
    raise AssertionError(f"the script did not run {count} time(s)")


@pytest.fixture
def wrapper(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """``python -m framework.autoreload script.py hello`` running in ``tmp_path``; stopped after."""
    script = tmp_path / "script.py"
    write_script(script, SCRIPT.replace("RUN", "1"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with open(tmp_path / "wrapper.err", "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "framework.autoreload", str(script), "hello"], env=env,
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
    try:
        yield tmp_path, script
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_wrapper_runs_a_script_again_when_it_changes(wrapper: tuple[Path, Path]) -> None:
    directory, script = wrapper
    [first] = runs(directory, 1)
    assert first == {"argv": [str(script), "hello"], "run": 1}  # the script sees its own argv
    time.sleep(1.0)  # the first check records the files' times; changes count after it
    write_script(script, SCRIPT.replace("RUN", "2"))
    assert runs(directory, 2)[1] == {"argv": [str(script), "hello"], "run": 2}


def test_a_script_that_fails_to_start_runs_once_fixed(wrapper: tuple[Path, Path]) -> None:
    directory, script = wrapper
    runs(directory, 1)
    time.sleep(1.0)
    write_script(script, "def broken(:\n")
    deadline = time.monotonic() + 20
    while "SyntaxError" not in (directory / "wrapper.err").read_text():  # it restarted and failed
        assert time.monotonic() < deadline, "the wrapper did not report the broken script"
        time.sleep(0.1)
    time.sleep(1.0)  # the restarted wrapper's first check records the files' times
    assert len((directory / "runs.log").read_text().splitlines()) == 1
    write_script(script, SCRIPT.replace("RUN", "3"))
    assert runs(directory, 2)[1]["run"] == 3


def test_the_wrapper_explains_itself_without_a_program() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "framework.autoreload"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "python -m framework.autoreload -m module.to.run" in result.stderr

"""loadtest/servers/: what every server shares (startup.py), the framework's servers started and stopped for real,
and every contender's ``--access-log`` writing a line per request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

LOADTEST = Path(__file__).resolve().parents[2] / "loadtest"
# loadtest/ is a folder of scripts, not a package; the servers import startup.py from their own folder.
sys.path.insert(0, str(LOADTEST))
sys.path.insert(0, str(LOADTEST / "servers"))

import startup

import serverproc


def test_every_server_takes_a_port_and_may_offer_uvloop() -> None:
    args = startup.command_line("A server.\n\nMore.").parse_args(["--port", "8888"])
    assert (args.port, args.uvloop) == (8888, False)
    assert startup.command_line("A server.").parse_args(["--port", "1", "--uvloop"]).uvloop
    assert startup.command_line("A server.").description == "A server."
    with pytest.raises(SystemExit):
        startup.command_line("A server.").parse_args([])  # --port is required
    with pytest.raises(SystemExit):
        startup.command_line("A server.", uvloop=False).parse_args(["--port", "1", "--uvloop"])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_run_and_the_script_goes_on_to_exit_0(sig: signal.Signals) -> None:
    # In a child: the handlers are the process's, not this test's to change.
    code = f"import os, startup\nstartup.run_until_signalled(lambda: os.kill(os.getpid(), {int(sig)}))\nprint('after the run')\n"
    child = subprocess.run(
        [sys.executable, "-c", code],
        cwd=LOADTEST / "servers",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (child.returncode, child.stdout) == (0, "after the run\n"), child.stderr


def test_a_signal_landing_where_a_caller_swallows_exceptions_still_ends_the_run() -> None:
    # uvloop calls a protocol's methods from C and reports what they raise as a
    # transport error; a KeyboardInterrupt raised where the signal landed would be
    # lost there. Here a callback stands in for that caller; a timer ends the run
    # after 10 s should the signal be lost.
    code = (
        "import asyncio, os, signal, startup\n"
        "loop = asyncio.new_event_loop()\n"
        "def caller():\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        sum(range(1000))\n"
        "    except BaseException as exc:\n"
        "        print('swallowed', type(exc).__name__)\n"
        "loop.call_soon(caller)\n"
        "loop.call_later(10, lambda: print('the timer ended it') or loop.stop())\n"
        "startup.run_until_signalled(loop.run_forever)\n"
        "print('after the run')\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], cwd=LOADTEST / "servers", capture_output=True, text=True, timeout=30, check=False
    )
    assert (child.returncode, child.stdout) == (0, "after the run\n"), child.stderr


@pytest.mark.parametrize(
    ("script", "probe", "sig"),
    [
        ("framework_raw.py", serverproc.SAYS_HELLO, signal.SIGTERM),
        ("framework_web.py", serverproc.SAYS_HELLO, signal.SIGINT),  # what profile_server.py sends
        ("asyncio_raw.py", serverproc.SAYS_HELLO, signal.SIGTERM),
        ("longpoll.py", serverproc.answers("/stats"), signal.SIGTERM),
        ("longpoll_raw.py", serverproc.answers("/stats"), signal.SIGTERM),
    ],
)
def test_a_server_listens_on_its_port_and_exits_0_when_signalled(
    tmp_path: Path, script: str, probe: serverproc.Probe, sig: signal.Signals
) -> None:
    port = serverproc.free_port()
    argv = [sys.executable, str(serverproc.SERVERS / script), "--port", str(port)]
    server = serverproc.ServerProcess(script, argv, port=port, ready=probe, log_dir=tmp_path)
    with server:
        assert server.alive()  # started: its probe passed
        assert server.stop(sig) == 0, server.log_text()


# -- --access-log ---------------------------------------------------------------------------


def test_only_a_server_with_an_access_log_offers_the_flag() -> None:
    assert startup.command_line("A server.", access_log=True).parse_args(["--port", "1", "--access-log"]).access_log
    assert not startup.command_line("A server.", access_log=True).parse_args(["--port", "1"]).access_log
    with pytest.raises(SystemExit):
        startup.command_line("A server.").parse_args(["--port", "1", "--access-log"])


LOGGING = [name for name, contender in serverproc.CONTENDERS.items() if contender.access_log]
PLAIN = ["framework_web", "tornado_web", "aiohttp_web", "uvicorn_asgi", "starlette_uvicorn"]


def log_after_one_request(contender: serverproc.Contender, tmp_path: Path, *, access_log: bool) -> tuple[str, str]:
    """Start ``contender``, send it one ``GET /?access-log-test=<mark>``, stop it: the mark and its log.

    With the access log on, waits (up to 5 s) for the mark to reach the log
    before stopping; either way a second request follows the marked one, so
    a line written after its response is written before the stop.

    Stopped with SIGKILL: every server here writes each log line as it goes
    (no buffer a kill could lose), and a SIGTERM that lands while uvloop runs
    a callback is taken by uvloop for a transport's error, leaving the server
    running until ``stop`` escalates ten seconds later. Clean exits are
    tested above, on asyncio's loop.
    """
    if not contender.available():
        pytest.skip(f"{contender.needs} is not installed")
    mark = f"access-log-test={os.getpid()}"
    with contender.process(cpu=None, access_log=access_log, log_dir=tmp_path) as server:
        assert serverproc.get(server.port, f"/?{mark}") == (200, b"Hello, world")
        assert serverproc.get(server.port)[0] == 200
        deadline = time.monotonic() + 5
        while access_log and mark not in server.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        server.stop(signal.SIGKILL)
    return mark, server.log_text()


@pytest.mark.parametrize("name", LOGGING)
def test_a_server_started_with_the_flag_writes_an_access_line_to_its_log(tmp_path: Path, name: str) -> None:
    mark, log = log_after_one_request(serverproc.CONTENDERS[name], tmp_path, access_log=True)
    lines = [line for line in log.splitlines() if mark in line]
    assert len(lines) == 1, log
    assert "GET /?" in lines[0] and " 200 " in f"{lines[0]} ", lines[0]


@pytest.mark.parametrize("name", PLAIN)
def test_a_server_started_without_the_flag_writes_no_access_line(tmp_path: Path, name: str) -> None:
    mark, log = log_after_one_request(serverproc.CONTENDERS[name], tmp_path, access_log=False)
    assert mark not in log

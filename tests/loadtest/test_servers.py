"""loadtest/servers/: what every server shares (startup.py), and the framework's servers started and stopped for real."""

from __future__ import annotations

import signal
import subprocess
import sys
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

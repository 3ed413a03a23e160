"""loadtest/serverproc.py: servers as child processes, their readiness, and what /proc says of a process."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

LOADTEST = Path(__file__).resolve().parents[2] / "loadtest"
sys.path.insert(0, str(LOADTEST))  # loadtest/ is a folder of scripts, not a package

import serverproc

# A server that answers any GET with ``sys.argv[2]`` on 127.0.0.1:``sys.argv[1]`` until it is signalled.
TINY_SERVER = textwrap.dedent("""
    import http.server, os, sys

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = sys.argv[2].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    print("serving", os.environ.get("MARK", ""), flush=True)
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
""")


def tiny_server(tmp_path: Path, body: str, **kwargs: object) -> serverproc.ServerProcess:
    port = serverproc.free_port()
    argv = [sys.executable, "-c", TINY_SERVER, str(port), body]
    return serverproc.ServerProcess("tiny", argv, port=port, log_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


# -- the process ---------------------------------------------------------------------------


def test_a_server_is_started_once_it_passes_its_probe_and_stopped_with_its_group(tmp_path: Path) -> None:
    with tiny_server(tmp_path, "Hello, world") as server:
        assert server.alive()
        assert serverproc.get(server.port) == (200, b"Hello, world")
        pid = server.pid
    assert not server.alive()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the whole session is gone
    assert "serving" in server.log_text()


def test_a_server_that_writes_more_than_a_pipe_holds_before_serving_still_starts(tmp_path: Path) -> None:
    # Its output goes to a file: a pipe nobody reads would fill at 64 KB and block it before it listens.
    port = serverproc.free_port()
    loud = "import sys\nsys.stderr.write('.' * 4 * 65536)\nsys.stderr.flush()\n" + TINY_SERVER
    argv = [sys.executable, "-c", loud, str(port), "Hello, world"]
    with serverproc.ServerProcess("loud", argv, port=port, log_dir=tmp_path) as server:
        assert server.alive()  # started: it got past the write and passed its probe
    assert server.log_path.stat().st_size >= 4 * 65536


def test_the_tail_of_a_long_log_is_its_last_lines(tmp_path: Path) -> None:
    server = serverproc.ServerProcess("long", ["true"], port=1, log_dir=tmp_path)
    server.log_path.write_text("".join(f"200 GET /?n={n} (127.0.0.1) 0.10ms\n" for n in range(100_000)))
    assert server.log_tail(3) == "\n".join(f"200 GET /?n={n} (127.0.0.1) 0.10ms" for n in (99_997, 99_998, 99_999))
    assert len(server.log_tail().splitlines()) == 40
    server.log_path.write_text("one line\n")
    assert server.log_tail() == "one line"


def test_a_server_that_exits_is_an_error_with_the_end_of_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('no such option'); sys.exit(3)"]
    server = serverproc.ServerProcess("exits", argv, port=serverproc.free_port(), log_dir=tmp_path)
    with pytest.raises(RuntimeError, match="exits exited with 3") as failure:
        server.start()
    assert "no such option" in str(failure.value)


def test_a_server_that_fails_its_probe_is_stopped_and_the_error_says_what_it_answered(tmp_path: Path) -> None:
    server = tiny_server(tmp_path, "Goodbye")
    with pytest.raises(RuntimeError, match=r"not ready after 2s \(answered 200 b'Goodbye'\)"):
        server.start(timeout=2)
    assert not server.alive()


def test_the_probe_path_and_the_environment_are_the_callers(tmp_path: Path) -> None:
    server = tiny_server(tmp_path, "anything", ready=serverproc.answers("/healthz"), env={"MARK": "from-the-caller"})
    with server:
        pass
    assert "serving from-the-caller" in server.log_text()


def test_a_contender_runs_its_script_on_its_port_with_its_arguments() -> None:
    contender = serverproc.Contender("x", "framework_web.py", ("--uvloop",))
    server = contender.process(port=1234, cpu=None, extra_args=("--more",), python_args=("-X", "dev"))
    assert server.argv == [
        sys.executable,
        "-X",
        "dev",
        str(serverproc.SERVERS / "framework_web.py"),
        "--port",
        "1234",
        "--uvloop",
        "--more",
    ]
    assert server.name == "x" and server.port == 1234 and server.proc is None  # not started


def test_a_contender_with_an_access_log_gets_the_flag_and_one_without_refuses_it(tmp_path: Path) -> None:
    contender = serverproc.CONTENDERS["framework_web+uvloop"]
    server = contender.process(port=1234, cpu=None, extra_args=("--more",), access_log=True, log_dir=tmp_path)
    assert server.argv[-4:] == ["1234", "--uvloop", "--access-log", "--more"]
    assert server.log_path == tmp_path / "framework_web+uvloop.log"
    assert "--access-log" not in contender.process(port=1234, cpu=None).argv  # the plain run, as before
    with pytest.raises(ValueError, match="asyncio_raw has no access log of its own"):
        serverproc.CONTENDERS["asyncio_raw"].process(port=1234, cpu=None, access_log=True)


def test_every_contender_with_a_web_layer_has_an_access_log_and_no_raw_one_does() -> None:
    logging = {name for name, contender in serverproc.CONTENDERS.items() if contender.access_log}
    assert logging == {
        "framework_web", "framework_web+uvloop", "tornado_web", "tornado_web+uvloop",
        "aiohttp_web", "aiohttp_web+uvloop", "uvicorn_asgi", "starlette_uvicorn",
    }  # fmt: skip


def test_a_baseline_contender_runs_the_other_checkouts_script_and_framework(tmp_path: Path) -> None:
    contender = serverproc.CONTENDERS["framework_web"].from_checkout(tmp_path, "base")
    server = contender.process(port=1234, cpu=None)
    assert server.name == "framework_web@base"
    assert server.argv[1] == str(tmp_path / "loadtest" / "servers" / "framework_web.py")
    assert server.env is not None and server.env["PYTHONPATH"] == str(tmp_path)
    assert serverproc.CONTENDERS["framework_web"].process(port=1234, cpu=None).env is None  # this checkout's own


def test_a_baseline_with_the_accelerators_source_unbuilt_is_refused(tmp_path: Path) -> None:
    built = sorted((serverproc.ROOT / "framework" / "http1").glob("speedups*.so"))
    if not built:
        pytest.skip("this checkout has no compiled accelerator to compare against")
    serverproc.check_baseline(tmp_path)  # from before the accelerator: accepted as it was
    (tmp_path / "framework" / "http1").mkdir(parents=True)
    (tmp_path / "framework" / "http1" / "speedups.c").write_text("/* the source, not built */\n")
    with pytest.raises(SystemExit, match="build_ext --inplace"):
        serverproc.check_baseline(tmp_path)
    shutil.copy(built[0], tmp_path / "framework" / "http1")
    serverproc.check_baseline(tmp_path)  # built there too: accepted


def test_pinning_needs_a_cpu_that_exists() -> None:
    argv = ["python", "server.py"]
    assert serverproc.pinned(None, argv) == argv
    assert serverproc.pinned(os.cpu_count() or 1, argv) == argv
    if shutil.which("taskset"):
        assert serverproc.pinned(0, argv) == ["taskset", "-c", "0", *argv]


def test_select_takes_aliases_and_refuses_unknown_names() -> None:
    assert [c.name for c in serverproc.select("framework_raw, asyncio_raw", [])] == ["framework_raw", "asyncio_raw"]
    assert [c.name for c in serverproc.select(None, ["framework_web"])] == ["framework_web"]
    if serverproc.CONTENDERS["tornado_web"].available():
        assert [c.name for c in serverproc.select("tornado", [])] == ["tornado_web"]
    with pytest.raises(SystemExit, match="unknown contender 'nginx'"):
        serverproc.select("nginx", [])


# -- open files and /proc ----------------------------------------------------------------------


def test_raising_the_open_file_limit_lifts_the_soft_limit_to_the_hard_one() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard < 64:
        pytest.skip(f"a hard limit of {hard} leaves nothing to raise")
    code = "import resource, serverproc; print(serverproc.raise_nofile_limit(), *resource.getrlimit(resource.RLIMIT_NOFILE))"
    child = subprocess.run(
        [sys.executable, "-c", code],
        cwd=LOADTEST,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (32, hard)),
    )
    assert child.stdout.split() == [str(hard)] * 3


def test_memory_lines_of_a_process_are_read_in_bytes() -> None:
    status = serverproc.proc_status(os.getpid())
    assert status["VmRSS"] > 0 and status["VmRSS"] % 1024 == 0
    assert status["VmHWM"] >= status["VmRSS"]  # the peak is never below the current
    assert serverproc.rss_bytes(os.getpid()) > 0
    with pytest.raises(OSError):
        serverproc.proc_status(2**22 + 1)  # above the kernel's largest pid


def test_cpu_time_only_grows() -> None:
    before = serverproc.cpu_seconds(os.getpid())
    sum(i * i for i in range(200_000))
    assert serverproc.cpu_seconds(os.getpid()) >= before >= 0


def test_established_connections_are_counted_on_the_listening_port() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert serverproc.established_connections(port) == 0
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            accepted, _ = listener.accept()
            with accepted:
                assert serverproc.established_connections(port) == 1


# -- the host's connection-tracking table ------------------------------------------------------


def conntrack_table(folder: Path, used: int, limit: int) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "nf_conntrack_max").write_text(f"{limit}\n")
    (folder / "nf_conntrack_count").write_text(f"{used}\n")
    return folder


class FakeClock:
    """Stands for the ``time`` module in serverproc: ``sleep`` moves ``monotonic`` on, and runs ``on_sleep``."""

    def __init__(self, on_sleep: Callable[[float], None] = lambda now: None) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        self.on_sleep(self.now)


def test_a_host_without_connection_tracking_does_not_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(serverproc, "time", clock)
    monkeypatch.setattr(serverproc, "_CONNTRACK", tmp_path / "absent")
    serverproc.wait_for_conntrack_room(10_000, timeout=30)
    assert clock.sleeps == 0


def test_a_table_with_room_does_not_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(serverproc, "time", clock)
    monkeypatch.setattr(serverproc, "_CONNTRACK", conntrack_table(tmp_path / "nf", used=100_000, limit=262_144))
    serverproc.wait_for_conntrack_room(10_000, timeout=30)
    assert clock.sleeps == 0 and capsys.readouterr().err == ""


def test_a_full_table_is_waited_for_until_its_entries_expire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    table = conntrack_table(tmp_path / "nf", used=255_000, limit=262_144)

    def expire(now: float) -> None:
        if now >= 3:  # entries leave the table three seconds in
            (table / "nf_conntrack_count").write_text("240000\n")

    clock = FakeClock(expire)
    monkeypatch.setattr(serverproc, "time", clock)
    monkeypatch.setattr(serverproc, "_CONNTRACK", table)
    serverproc.wait_for_conntrack_room(10_000, timeout=30)
    assert clock.now == 3  # returned once the entries had gone, not before, not after
    assert "255,000 of 262,144 used" in capsys.readouterr().err


def test_a_table_that_stays_full_is_waited_for_no_longer_than_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(serverproc, "time", clock)
    monkeypatch.setattr(serverproc, "_CONNTRACK", conntrack_table(tmp_path / "nf", used=262_140, limit=262_144))
    serverproc.wait_for_conntrack_room(10, timeout=5)
    assert 5 <= clock.now <= 6  # gave up at the timeout

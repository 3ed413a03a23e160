"""Servers under test as child processes: the contender registry, start, wait, measure, stop.

Shared by ``bench.py``, ``conn_memory.py``, ``profile_server.py``,
``longpoll_fanout.py`` and ``upload_memory.py`` (``conn_holder.py`` takes its
open-file limit from here too). Each server runs in its own session (so it and
anything it forks die together with one ``killpg``), optionally pinned to one
CPU with ``taskset``, with its open-file limit raised to the hard limit, and
its output (stdout and stderr) going to a log file that is shown when it
fails: a file, never a pipe, since a server writing an access line per
request would fill a pipe nobody reads and block. It is ready when a
probe (by default ``GET /`` answering ``Hello, world``) says so.

The C10K scripts (``c10k*.py``) keep their own small copies of the ``/proc``
and open-file readers: their client also runs in a container whose image holds
only those files (``.dockerignore``).
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

LOADTEST = Path(__file__).resolve().parent
ROOT = LOADTEST.parent
SERVERS = LOADTEST / "servers"
LOGS = LOADTEST / "results" / "logs"


@dataclasses.dataclass(frozen=True)
class Contender:
    """One server under test: a script in ``servers/``, its arguments and the workloads it serves.

    ``workloads`` names bench.py's workloads the script answers (``hello`` is
    ``GET /``; ``template`` and ``form`` are ``servers/pages.py``'s page and form).
    ``access_log`` says the script takes ``--access-log``: its framework has an
    access log of its own, which the flag turns on the way that framework's
    users do (``bench.py --access-log`` runs only such contenders).
    """

    name: str
    script: str
    args: tuple[str, ...] = ()
    needs: str | None = None  # a module that must be importable, else the contender is skipped
    workloads: tuple[str, ...] = ("hello",)
    access_log: bool = False
    # Another checkout to run the script and its ``framework`` from (a baseline), else this one.
    root: Path | None = None

    def from_checkout(self, root: Path, suffix: str) -> Contender:
        """This contender as another checkout runs it (its ``servers/`` script, its ``framework``), named ``name@suffix``."""
        return dataclasses.replace(self, name=f"{self.name}@{suffix}", root=root)

    def available(self) -> bool:
        if self.needs is None:
            return True
        import importlib.util

        return importlib.util.find_spec(self.needs) is not None

    def process(
        self,
        *,
        port: int | None = None,
        cpu: int | None = 0,
        extra_args: tuple[str, ...] = (),
        python_args: tuple[str, ...] = (),
        access_log: bool = False,
        log_dir: Path = LOGS,
    ) -> ServerProcess:
        """This contender's script as a (not yet started) ``ServerProcess`` on ``port`` (default: a free one).

        Args:
            cpu: the CPU to pin it to (None: not pinned).
            extra_args: more arguments for the script, after the registry's.
            python_args: arguments for the interpreter, before the script (``-m cProfile ...``).
            access_log: run it with ``--access-log``; its access lines go to its log file.
            log_dir: where its log file goes.

        Raises:
            ValueError: ``access_log`` for a contender that has none of its own.
        """
        if access_log and not self.access_log:
            raise ValueError(f"{self.name} has no access log of its own")
        port = port or free_port()
        servers = SERVERS if self.root is None else self.root / "loadtest" / "servers"
        argv = [
            sys.executable,
            *python_args,
            str(servers / self.script),
            "--port",
            str(port),
            *self.args,
            *(["--access-log"] if access_log else []),
            *extra_args,
        ]
        return ServerProcess(self.name, argv, port=port, cpu=cpu, env=self.environment(), log_dir=log_dir)

    def environment(self) -> dict[str, str] | None:
        """What this contender adds to the server's environment: a baseline's framework first on the path."""
        return None if self.root is None else {"PYTHONPATH": str(self.root)}


WORKLOADS = ("hello", "template", "form")
_PAGES = WORKLOADS  # a framework with templates and form parsing serves all three
# The raw servers (framework_raw, asyncio_raw) have no web layer, so no access log.

CONTENDERS: dict[str, Contender] = {
    c.name: c
    for c in (
        Contender("framework_raw", "framework_raw.py"),
        Contender("framework_web", "framework_web.py", workloads=_PAGES, access_log=True),
        Contender("framework_web+uvloop", "framework_web.py", ("--uvloop",), needs="uvloop", workloads=_PAGES, access_log=True),
        Contender("tornado_web", "tornado_web.py", needs="tornado", workloads=_PAGES, access_log=True),
        Contender("aiohttp_web", "aiohttp_web.py", needs="aiohttp_jinja2", workloads=_PAGES, access_log=True),
        # uvicorn's fastest setup (httptools + uvloop) under a raw ASGI app and under Starlette.
        Contender("uvicorn_asgi", "uvicorn_asgi.py", needs="httptools", workloads=_PAGES, access_log=True),
        Contender("starlette_uvicorn", "starlette_uvicorn.py", needs="starlette", workloads=_PAGES, access_log=True),
        Contender("asyncio_raw", "asyncio_raw.py"),
        # Not in the default runs; ``--only`` picks them.
        Contender("framework_raw+uvloop", "framework_raw.py", ("--uvloop",), needs="uvloop"),
        Contender("tornado_web+uvloop", "tornado_web.py", ("--uvloop",), needs="uvloop", workloads=_PAGES, access_log=True),
        Contender("aiohttp_web+uvloop", "aiohttp_web.py", ("--uvloop",), needs="uvloop", workloads=_PAGES, access_log=True),
        Contender("asyncio_raw+uvloop", "asyncio_raw.py", ("--uvloop",), needs="uvloop"),
    )
}
ALIASES = {
    "tornado": "tornado_web",
    "aiohttp": "aiohttp_web",
    "uvicorn": "uvicorn_asgi",
    "starlette": "starlette_uvicorn",
}
REFERENCE = "tornado_web"


def select(only: str | None, default: list[str]) -> list[Contender]:
    """Contenders named in a comma-separated ``only`` (aliases allowed), else ``default``."""
    names = [n.strip() for n in only.split(",") if n.strip()] if only else default
    chosen = []
    for name in names:
        name = ALIASES.get(name, name)
        if name not in CONTENDERS:
            raise SystemExit(f"unknown contender {name!r}; known: {', '.join(CONTENDERS)}")
        contender = CONTENDERS[name]
        if not contender.available():
            print(f"-- skipping {name}: {contender.needs} is not installed", file=sys.stderr)
            continue
        chosen.append(contender)
    return chosen


def split_by_access_log(contenders: list[Contender]) -> tuple[list[Contender], list[Contender]]:
    """The contenders an ``--access-log`` run measures (those with an access log of their own), and those it leaves out.

    Left out rather than run without one: a figure without logging in a
    table of figures with it would read as the cheap logger it is not.
    """
    measured = [c for c in contenders if c.access_log]
    return measured, [c for c in contenders if not c.access_log]


def with_baseline(contenders: list[Contender], baseline: Path | None) -> list[Contender]:
    """``contenders``, then the framework's ones again as ``baseline`` (another checkout) runs them, as ``NAME@base``."""
    if baseline is None:
        return contenders
    check_baseline(baseline)
    ours = [c for c in contenders if c.name.startswith("framework_")]
    return contenders + [c.from_checkout(baseline.resolve(), "base") for c in ours]


def check_baseline(baseline: Path) -> None:
    """Refuse a baseline checkout that has the compiled accelerator's source but not its build.

    The build is not tracked (``.gitignore``), so a fresh ``git worktree``
    would run the pure-Python parser and writer: an unfair comparison. A
    checkout from before the accelerator (no ``speedups.c``) is what it was.

    Raises:
        SystemExit: this checkout has ``framework/http1/speedups`` built and ``baseline`` has its source unbuilt.
    """
    pattern = "framework/http1/speedups*.so"
    has_source = (baseline / "framework/http1/speedups.c").exists()
    if any(ROOT.glob(pattern)) and has_source and not any(baseline.glob(pattern)):
        raise SystemExit(
            f"{baseline} has no compiled framework/http1/speedups while this checkout has: build it there first "
            f"(cd {baseline} && {sys.executable} setup.py build_ext --inplace)"
        )


def interrupt_on_signals() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt, so ``finally`` blocks stop the servers.

    Set explicitly: a shell starts background jobs with SIGINT ignored, and
    SIGTERM would otherwise end the driver without cleaning up.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Linux's connection tracking (netfilter, which Docker's rules switch on) keeps
# an entry for every loopback connection, closed ones for two minutes more
# (TIME_WAIT); once its table is full it drops new connections' SYNs, and a
# connect then times out. Four runs of 10,000 connections each within those
# two minutes fill the 262,144 entries a 2-core host gets.
_CONNTRACK = Path("/proc/sys/net/netfilter")


def wait_for_conntrack_room(connections: int, timeout: float = 180.0) -> None:
    """Wait until the host's connection-tracking table has room for ``connections`` more.

    Does nothing where there is no such table (no netfilter), or where it
    cannot be read. Waits at most ``timeout`` seconds, saying so on stderr,
    and then lets the run go on (its connects may then time out).
    """
    try:
        limit = int((_CONNTRACK / "nf_conntrack_max").read_text())
    except (OSError, ValueError):
        return
    wanted = connections + connections // 10 + 100  # (a margin for the run's own requests)
    deadline = time.monotonic() + timeout
    said = False
    while True:
        try:
            used = int((_CONNTRACK / "nf_conntrack_count").read_text())
        except (OSError, ValueError):
            return
        if used + wanted <= limit or time.monotonic() > deadline:
            return
        if not said:
            print(f"waiting for room in the connection-tracking table ({used:,} of {limit:,} used)", file=sys.stderr)
            said = True
        time.sleep(1)


def pinned(cpu: int | None, argv: list[str]) -> list[str]:
    """``argv`` run under ``taskset -c cpu`` when there is such a CPU and taskset exists."""
    if cpu is None or shutil.which("taskset") is None or cpu >= (os.cpu_count() or 1):
        return argv
    return ["taskset", "-c", str(cpu), *argv]


def raise_nofile_limit() -> int:
    """Raise this process's open-file soft limit to the hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# -- readiness probes --------------------------------------------------------------------

#: Whether a server on a port is ready: None when it is, else what it answered instead.
Probe = Callable[[int], str | None]


def get(port: int, path: str = "/") -> tuple[int, bytes]:
    """One ``GET path`` to 127.0.0.1 on a fresh connection (http.client: no proxy settings apply)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def answers(path: str = "/", body: bytes | None = None) -> Probe:
    """A probe: ``GET path`` answers 200, with exactly ``body`` when one is given."""

    def probe(port: int) -> str | None:
        status, answer = get(port, path)
        if status == 200 and (body is None or answer == body):
            return None
        return f"answered {status} {answer[:80]!r}"

    return probe


#: Every contender answers ``GET /`` with this.
SAYS_HELLO = answers("/", b"Hello, world")


# -- the process --------------------------------------------------------------------------

_TAIL_BYTES = 64 * 1024  # what log_tail reads from the end of a log


class ServerProcess:
    """A server started from ``argv``, listening on 127.0.0.1:``port``. Use as a context manager: it is always stopped.

    Args:
        name: names its log file (``results/logs/<name>.log``) and its errors.
        argv: the command; it must listen on ``port``.
        ready: the probe ``start`` waits for.
        cpu: the CPU to pin it to with taskset (None: not pinned).
        env: variables added to this process's environment for it.
        log_dir: where its log goes.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        port: int,
        ready: Probe = SAYS_HELLO,
        cpu: int | None = None,
        env: dict[str, str] | None = None,
        log_dir: Path = LOGS,
    ) -> None:
        self.name = name
        self.port = port
        self.argv = pinned(cpu, argv)
        self.ready = ready
        self.env = dict(os.environ, **env) if env else None
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 15.0) -> None:
        """Start the server and wait until its ``ready`` probe passes.

        Raises:
            RuntimeError: it exited, or did not pass the probe in time
                (it is stopped then; the message includes the end of its log).
        """
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=raise_nofile_limit,
            )
        deadline = time.monotonic() + timeout
        last_error: str | None = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                last_error = self.ready(self.port)
            except (OSError, http.client.HTTPException) as exc:
                last_error = str(exc)
            if last_error is None:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s ({last_error}):\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            code = self.proc.returncode if self.proc else None
            raise RuntimeError(f"{self.name} died (exit {code}):\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Signal the server's process group, escalate to SIGKILL, and reap it; its exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        return proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of its log, read from the file's last 64 KB only.

        Only the end: with an access log on, the file holds a line per request served
        (hundreds of megabytes after a long run), and the tail is what tells why it failed.
        """
        try:
            with open(self.log_path, "rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - _TAIL_BYTES))
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(log empty)"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


# -- what a running process uses, from /proc ---------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """The ``kB`` lines of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``, ...), in bytes.

    Raises:
        OSError: no such process.
    """
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if rest.rstrip().endswith(" kB"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (``VmRSS``), in bytes."""
    rss = proc_status(pid).get("VmRSS")
    if rss is None:  # a zombie has no memory lines
        raise RuntimeError(f"no VmRSS for pid {pid}")
    return rss


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time ``pid`` has used so far (from ``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def established_connections(port: int) -> int:
    """Established TCP connections whose local port is ``port`` (from ``/proc/net/tcp``)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                        count += 1
        except FileNotFoundError:
            pass
    return count

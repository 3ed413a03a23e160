"""Several processes on one port (Tornado's ``process``): fork, supervise, drain together.

Strategy: the parent binds the listening sockets (``netutil.bind_sockets``),
then ``fork_processes(n)`` forks ``n`` children that inherit them; each child
returns from the call with its task id and serves. The parent never returns:
it supervises. A child that dies abnormally (a signal, a non-zero exit) is
forked again with the same id, up to ``max_restarts`` times. A child that
exits 0 is done. On SIGTERM or SIGINT the parent stops restarting, forwards
the signal to every child (each drains: finishes in-flight requests, answers
long-polls, closes idle connections) and exits once they have all exited: 0
when every child exited 0 (or was ended by that very signal, before it had a
handler for it). Unlike Tornado's, the parent forwards signals, so
``docker stop`` or a process manager signalling only the parent still drains
every child.

No event loop may exist before the fork: each child makes its own.

``Subprocess`` is Tornado's other half of this module: ``subprocess.Popen``
whose pipes can be ``PipeIOStream``s and whose exit is a callback or a future.
Where Tornado reaps children from a process-wide SIGCHLD handler, this one
watches each child on its own: a pidfd on the event loop on Linux (readable
when the child exits), else a thread waiting for that child alone. No signal
handler is installed, so none is taken from other libraries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import IO, Any, ClassVar

from framework.ioloop import IOLoop
from framework.iostream import PipeIOStream

__all__ = ["CalledProcessError", "Subprocess", "cpu_count", "fork_processes", "task_id"]

CalledProcessError = subprocess.CalledProcessError
"""What ``Subprocess.wait_for_exit`` raises for a non-zero exit (Tornado's alias too)."""

gen_log = logging.getLogger("framework.general")

_task_id: int | None = None
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask, else the machine's; at least 1)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def task_id() -> int | None:
    """This child's id (0 to n-1) from ``fork_processes``; None in a process that did not fork."""
    return _task_id


def fork_processes(num_processes: int | None, max_restarts: int | None = None) -> int:
    """Fork ``num_processes`` children (one per CPU for None or <= 0); returns the child's task id.

    Mirrors Tornado's ``fork_processes``: only children return; the parent
    supervises and leaves through ``sys.exit`` (0 when every child exited 0,
    else 1) once all children are gone. It also forwards SIGTERM/SIGINT to
    the children, which Tornado's does not.

    Args:
        num_processes: how many children.
        max_restarts: how many abnormal exits are restarted in all (100 if None).

    Raises:
        RuntimeError: an event loop already runs in this thread, or more
            than ``max_restarts`` children died.
    """
    if _task_id is not None:
        raise RuntimeError("fork_processes() already ran in this process")
    _refuse_running_loop()
    count = num_processes if num_processes and num_processes > 0 else cpu_count()
    limit = 100 if max_restarts is None else max_restarts
    gen_log.info("starting %d processes", count)
    supervisor = _Supervisor(limit)
    supervisor.listen_for_stop()
    for child_id in range(count):
        if supervisor.stopping:
            break  # told to stop while starting: no more children
        if supervisor.fork(child_id) == 0:
            return _become_child(child_id)
    code = supervisor.run()  # returns only in the parent, once every child is gone
    if code is None:
        return _become_child(supervisor.restarted_id)
    sys.exit(code)


def _refuse_running_loop() -> None:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError("fork_processes() must run before any event loop starts")


def _become_child(child_id: int) -> int:
    global _task_id
    _task_id = child_id
    # Children forked from one parent share its random state: reseed each.
    random.seed(int.from_bytes(os.urandom(16), "big"))
    return child_id


class _Supervisor:
    """The parent's side: which pid is which child, restarts, forwarded signals."""

    def __init__(self, max_restarts: int) -> None:
        self.children: dict[int, int] = {}  # pid -> task id
        self.max_restarts = max_restarts
        self.restarts = 0
        self.stopping = False
        self.stop_signal = 0
        self.failed = False  # a child exited abnormally after the stop signal
        self.restarted_id = -1
        self.previous: dict[int, Any] = {}

    def listen_for_stop(self) -> None:
        """Forward SIGTERM/SIGINT from now on: before the first fork, so no signal finds the
        parent without its handler (it would die and leave its children behind)."""
        self.previous = {sig: signal.signal(sig, self._forward) for sig in _STOP_SIGNALS}

    def fork(self, child_id: int) -> int:
        """Fork one child; returns 0 in the child, the child's pid in the parent."""
        pid = os.fork()
        if pid == 0:
            for sig, handler in self.previous.items():  # the child handles its own signals
                signal.signal(sig, handler)
            return 0
        self.children[pid] = child_id
        if self.stopping:  # the stop signal came while this child was being forked
            os.kill(pid, self.stop_signal)
        return pid

    def run(self) -> int | None:
        """Wait for the children; the exit code once all are gone, or None in a restarted child."""
        try:
            while self.children:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                if self._reap(pid, status) == 0:
                    return None  # a restarted child: fork() gave it the old handlers back
        finally:
            for sig, handler in self.previous.items():
                signal.signal(sig, handler)
        return 1 if self.failed else 0

    def _reap(self, pid: int, status: int) -> int | None:
        """Account for a dead child, forking it again if it died abnormally. Returns 0 in that new child.

        Raises:
            RuntimeError: more than ``max_restarts`` restarts.
        """
        child_id = self.children.pop(pid, None)
        if child_id is None:
            return None
        code = os.waitstatus_to_exitcode(status)
        if code == 0:
            gen_log.info("child %d (pid %d) exited normally", child_id, pid)
            return None
        how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
        if self.stopping:
            if -code == self.stop_signal:
                # The signal we passed on ended it: it had no handler (yet), so it was
                # not serving a drain-aware loop; that is how such a child stops.
                gen_log.info("child %d (pid %d) stopped by the forwarded signal", child_id, pid)
                return None
            gen_log.warning("child %d (pid %d) %s while stopping", child_id, pid, how)
            self.failed = True
            return None
        self.restarts += 1
        if self.restarts > self.max_restarts:
            raise RuntimeError(f"too many child restarts ({self.restarts - 1}); giving up")
        gen_log.warning("child %d (pid %d) %s; restarting", child_id, pid, how)
        if self.fork(child_id) == 0:
            self.restarted_id = child_id
            return 0
        return None

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            gen_log.info("%s received: stopping %d processes", signal.Signals(signum).name, len(self.children))
        self.stopping = True
        self.stop_signal = signum
        for pid in list(self.children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass


class Subprocess:
    """``subprocess.Popen`` with streams and an exit callback (Tornado's ``Subprocess``).

    Takes ``Popen``'s arguments; ``stdin``, ``stdout`` and ``stderr`` may also
    be ``Subprocess.STREAM``, which makes that attribute a ``PipeIOStream``
    (the caller closes it when done). ``proc`` is the ``Popen``; ``pid``,
    ``stdin``, ``stdout``, ``stderr`` are its, or the streams; ``returncode``
    is set once the exit has been seen. Unix only, as Tornado's.

    Raises:
        OSError: the program could not be started (as ``Popen``).
    """

    STREAM: ClassVar[object] = object()
    """Pass as ``stdin``, ``stdout`` or ``stderr`` for a ``PipeIOStream``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        children, ours = _stream_pipes(kwargs)
        try:
            self.proc = subprocess.Popen(*args, **kwargs)
        except BaseException:
            for fd in ours.values():
                os.close(fd)
            raise
        finally:
            for fd in children:
                os.close(fd)  # the child has its copies
        self.stdin: PipeIOStream | IO[Any] | None = PipeIOStream(ours["stdin"]) if "stdin" in ours else self.proc.stdin
        self.stdout: PipeIOStream | IO[Any] | None = PipeIOStream(ours["stdout"]) if "stdout" in ours else self.proc.stdout
        self.stderr: PipeIOStream | IO[Any] | None = PipeIOStream(ours["stderr"]) if "stderr" in ours else self.proc.stderr
        self.pid = self.proc.pid
        self.returncode: int | None = None
        self._exit_callback: Callable[[int], object] | None = None
        self._io_loop: IOLoop | None = None

    def set_exit_callback(self, callback: Callable[[int], object]) -> None:
        """Call ``callback(returncode)`` on the current ``IOLoop`` when the process exits.

        Mirrors ``Subprocess.set_exit_callback``: a second call replaces the
        callback. Differences: no SIGCHLD handler is involved (see the
        module), and a process whose exit was already seen calls the new
        callback at once (Tornado's would never be called).
        """
        self._exit_callback = callback
        if self.returncode is not None:
            IOLoop.current().add_callback(self._report_exit)
        elif self._io_loop is None:
            self._io_loop = IOLoop.current()
            _watch_exit(self.proc, self._io_loop, self._report_exit)

    def wait_for_exit(self, raise_error: bool = True) -> asyncio.Future[int]:
        """A future for the exit status, the awaitable form of :meth:`set_exit_callback`.

        Mirrors ``Subprocess.wait_for_exit`` (and replaces any exit callback,
        as Tornado's does).

        Args:
            raise_error: a non-zero status fails the future with
                ``CalledProcessError`` (its ``cmd`` is the command; Tornado
                puts ``"unknown"`` there); False returns the status.
        """
        future: asyncio.Future[int] = IOLoop.current().asyncio_loop.create_future()

        def exited(code: int) -> None:
            if future.done():
                return
            if raise_error and code != 0:
                future.set_exception(CalledProcessError(code, self.proc.args))
            else:
                future.set_result(code)

        self.set_exit_callback(exited)
        return future

    @classmethod
    def initialize(cls) -> None:
        """Nothing to install: Tornado sets its SIGCHLD handler up here; exits are watched per process.

        Kept so that Tornado code calling it runs; exit callbacks work without it.
        """

    @classmethod
    def uninitialize(cls) -> None:
        """Nothing to remove: no SIGCHLD handler was installed (see :meth:`initialize`)."""

    def _report_exit(self) -> None:
        code = self.proc.wait()  # reaped already: returns at once
        self.returncode = code
        callback, self._exit_callback = self._exit_callback, None
        if callback is not None:
            callback(code)


def _stream_pipes(kwargs: dict[str, Any]) -> tuple[list[int], dict[str, int]]:
    """Replace ``Subprocess.STREAM`` in ``kwargs`` with pipe ends: (the child's ends, ours by name)."""
    children: list[int] = []
    ours: dict[str, int] = {}
    for name in ("stdin", "stdout", "stderr"):
        if kwargs.get(name) is Subprocess.STREAM:
            read_end, write_end = os.pipe()
            child, mine = (read_end, write_end) if name == "stdin" else (write_end, read_end)
            kwargs[name] = child
            children.append(child)
            ours[name] = mine
    return children, ours


def _watch_exit(proc: subprocess.Popen[Any], io_loop: IOLoop, exited: Callable[[], None]) -> None:
    """Reap ``proc`` when it exits, then call ``exited()`` on ``io_loop``."""
    if proc.poll() is not None:
        io_loop.add_callback(exited)
        return
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux, or an old kernel: a thread waits instead
        threading.Thread(target=_wait_in_thread, args=(proc, io_loop, exited), daemon=True).start()
        return

    def readable(fd: int, events: int) -> None:
        io_loop.remove_handler(fd)
        os.close(fd)
        proc.wait()  # the child has exited: this reaps it at once
        exited()

    io_loop.add_handler(pidfd, readable, IOLoop.READ)


def _wait_in_thread(proc: subprocess.Popen[Any], io_loop: IOLoop, exited: Callable[[], None]) -> None:
    proc.wait()
    io_loop.add_callback(exited)

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
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
from types import FrameType
from typing import Any

__all__ = ["cpu_count", "fork_processes", "task_id"]

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

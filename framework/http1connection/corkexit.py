"""Corked answers a stopped loop left behind, written when the program exits.

Strategy: the connection module holds the answers of a loop iteration after
its first write and writes them at the start of the next (its corked
writes). ``IOLoop.current().stop()`` from a handler ends the loop after that
iteration; a program that then exits without running the loop again would
lose those answers, where Tornado's would already be in the kernel. So each
server that corks is noted here with the process and thread it corked in,
and an ``atexit`` hook (registered at the first note, so it runs before
hooks registered earlier, such as ``log_in_background``'s flush) writes what
such a server still holds, for the servers of the exiting thread and
process only: a loop in another thread writes its own answers, and a forked
child never writes its parent's. A closed loop's transports, or a loop that
is still running, are left alone. Failures are logged in one line each;
nothing is aborted at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import weakref
from typing import Protocol, cast

from framework.serverstate import ConnectionContext, ServerState

__all__ = ["note_corking"]

gen_log = logging.getLogger("framework.general")


class _Corked(Protocol):
    """What is read of a connection holding corked bytes (the connection module's protocol)."""

    transport: asyncio.Transport | None
    loop: asyncio.AbstractEventLoop
    context: ConnectionContext


_corkers: weakref.WeakSet[ServerState] = weakref.WeakSet()  # (each noted once per thread it corks in)
_pid = os.getpid()  # (this process's, kept: no system call per note)
_hooked = False


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def note_corking(state: ServerState) -> None:
    """Remember that ``state``'s server corks in this thread and process (called once per iteration that corks).

    Only a server's first corking, or one in another thread or process, is
    stored; the others cost a comparison.
    """
    global _hooked
    owner = (_pid, threading.get_ident())
    if state.corked_by == owner:
        return
    state.corked_by = owner
    _corkers.add(state)
    if not _hooked:
        _hooked = True
        atexit.register(write_left_corked)


def write_left_corked() -> None:
    """Write what the exiting thread's stopped servers still hold corked."""
    me = (os.getpid(), threading.get_ident())
    for _ in range(3):  # (another thread may note a server meanwhile)
        try:
            states = [state for state in list(_corkers) if state.corked_by == me]
            break
        except RuntimeError:
            continue
    else:
        return
    for state in states:
        # (only the connection module's protocols cork)
        pending = cast(list[tuple[_Corked, bytes]], list(state.corked.items()))
        if not pending:
            continue
        loop = pending[0][0].loop
        if loop.is_running() or loop.is_closed():
            continue
        state.corked.clear()
        state.corking = False
        for proto, data in pending:
            _write_at_exit(proto, data)


def _write_at_exit(proto: _Corked, data: bytes) -> None:
    transport = proto.transport
    if transport is None or transport.is_closing():
        return
    try:
        transport.write(data)
    except Exception as exc:  # noqa: BLE001 - at exit: said, not raised, and the others still written
        gen_log.warning("at exit, %d corked bytes for %s were not written: %r", len(data), proto.context.remote_ip, exc)

"""Restart the process when its source changes (Tornado's ``tornado.autoreload``), for development.

``Application(debug=True)`` or ``Application(autoreload=True)`` calls
:func:`start`; a program may call it itself. Production settings (neither
key) never start it, and a process forked by ``fork_processes`` never
restarts (a child that re-ran the program would fork again), as in Tornado.

Strategy: a ``PeriodicCallback`` every ``check_time`` milliseconds asks a
worker thread to ``stat`` the file of every imported module and every
:func:`watch`-ed file, so neither the stat calls (a round trip each on a
network or FUSE file system) nor the walk over ``sys.modules`` run on the
event loop; the first look at a file only records its modification time.
When one has changed, the reload hooks run, standard output and error are
flushed, and the process replaces itself with ``os.execv``: same process id,
same interpreter and the same command line (``sys.orig_argv``: interpreter
options, ``-m module`` or the script path, and the arguments).

Listening sockets: Python creates every socket non-inheritable
(close-on-exec), so ``execv`` closes them, as Tornado's restart does; the
new process binds the same port again at start-up, and ``bind_sockets``
sets ``SO_REUSEADDR`` so that connections of the old process lingering in
TIME_WAIT do not make that bind fail. Clients see refused connections for
the second or so the restart takes; open connections are dropped.

``python -m framework.autoreload [-m module | script.py] [args...]`` runs a
program with this on (Tornado's wrapper, :func:`main`): when the program
ends, or fails at start-up (a syntax error included), the wrapper keeps
watching what it had imported, and the script, and runs it again once one
of them changes.

Differences from Tornado: the stat calls run off the event loop; a module
file that disappears is ignored rather than restarting the process (an
editor saving by rename would otherwise restart twice).
"""

from __future__ import annotations

import functools
import logging
import os
import runpy
import signal
import sys
import traceback
import weakref
from collections.abc import Callable

from framework import process
from framework.ioloop import IOLoop, PeriodicCallback

__all__ = ["add_reload_hook", "main", "start", "wait", "watch"]

gen_log = logging.getLogger("framework.general")

_watched_files: set[str] = set()
_reload_hooks: list[Callable[[], object]] = []
_io_loops: weakref.WeakSet[IOLoop] = weakref.WeakSet()
_reload_attempted = False


def start(check_time: int = 500) -> None:
    """Check for changed source files every ``check_time`` ms on the current IOLoop; restart on one.

    Starting twice on one loop does nothing more; mirrors Tornado's ``start``.
    """
    io_loop = IOLoop.current()
    if io_loop in _io_loops:
        return
    _io_loops.add(io_loop)
    if len(_io_loops) > 1:
        gen_log.warning("autoreload started on more than one IOLoop in this process")
    modify_times: dict[str, float] = {}
    PeriodicCallback(functools.partial(_check_off_the_loop, io_loop, modify_times), check_time).start()


def wait() -> None:
    """Wait on a new IOLoop for a watched or imported file to change, then restart.

    For the end of a script such as a test runner, so that it runs again
    after each change (Tornado's ``wait``). Never returns.
    """
    io_loop = IOLoop()
    io_loop.add_callback(start)
    io_loop.start()


def watch(filename: str) -> None:
    """Restart also when ``filename`` (a config file, a template) changes."""
    _watched_files.add(os.path.abspath(filename))


def add_reload_hook(fn: Callable[[], object]) -> None:
    """Call ``fn()`` just before restarting (to close what ``execv`` would not)."""
    _reload_hooks.append(fn)


async def _check_off_the_loop(io_loop: IOLoop, modify_times: dict[str, float]) -> None:
    if _reload_attempted or process.task_id() is not None:
        return
    changed = await io_loop.run_in_executor(None, _changed_file, modify_times)
    if changed is not None:
        gen_log.info("%s modified; restarting", changed)
        _reload()


def _changed_file(modify_times: dict[str, float]) -> str | None:
    """The first source or watched file modified since it was first seen, or None (runs in a thread)."""
    for path in _source_files():
        try:
            modified = os.stat(path).st_mtime
        except OSError:
            continue
        previous = modify_times.setdefault(path, modified)
        if modified != previous:
            return path
    return None


def _source_files() -> list[str]:
    files = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            files.append(path[:-1] if path.endswith((".pyc", ".pyo")) else path)
    files.extend(_watched_files)
    return files


def _reload() -> None:
    """Run the hooks and replace this process with a fresh run of the same command line."""
    global _reload_attempted
    _reload_attempted = True
    for hook in _reload_hooks:
        hook()
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, 0, 0)  # a pending alarm must not kill the new program
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


_USAGE = """Usage:
  python -m framework.autoreload -m module.to.run [args...]
  python -m framework.autoreload path/to/script.py [args...]
"""


def main() -> None:
    """Run a script or module with autoreload on, and run it again when a file it used changes.

    Mirrors Tornado's ``tornado.autoreload.main``: the program sees its own
    name and arguments in ``sys.argv``; however it ends (normally, with
    ``SystemExit``, with an exception or a syntax error at start-up), the
    wrapper says so and waits for a change (:func:`wait`), then restarts
    the whole command line. A failing program's file from the traceback is
    watched too, so fixing a syntax error restarts it.
    """
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "-m":
        mode, target, rest = "module", args[1], args[2:]
    elif args and not args[0].startswith("-"):
        mode, target, rest = "script", args[0], args[1:]
    else:
        sys.stderr.write(_USAGE)
        sys.exit(1)
    sys.argv = [target, *rest]
    if mode == "script":
        watch(target)
    try:
        if mode == "module":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        gen_log.info("Script exited with status %s", exc.code)
    except Exception as exc:
        gen_log.warning("Script exited with uncaught exception", exc_info=True)
        _watch_where_it_failed(exc)
    else:
        gen_log.info("Script exited normally")
    wait()


def _watch_where_it_failed(exc: BaseException) -> None:
    """Watch the files of the failure: a syntax error's file, every frame's file."""
    filename = getattr(exc, "filename", None)
    if isinstance(exc, SyntaxError) and isinstance(filename, str):
        watch(filename)
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        watch(frame.f_code.co_filename)


if __name__ == "__main__":
    # As a script this file is a second copy of the module (``__main__``): run the
    # imported one, whose state the program's own ``framework.autoreload`` shares.
    from framework.autoreload import main as _main

    _main()

"""How every server here starts: its command line, its address, its event loop, its signals.

Strategy: each script in this folder keeps only what is specific to its
framework (its handlers, and how that framework listens and runs); what they
must all do alike, to be measured alike, lives here: ``--port`` (and
``--uvloop`` where the framework can run on it, ``--access-log`` where it
has an access log of its own), binding to 127.0.0.1 only,
uvloop when asked for (the script exits rather than silently measuring
asyncio's loop), and SIGINT/SIGTERM ending the run normally, so that
``finally`` blocks run and a profiler wrapped around the script
(``python -m cProfile -o out.prof ...``) gets to write its file.

Imported by the scripts in ``servers/`` (their directory is first on
``sys.path``); imports nothing outside the standard library at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any

HOST = "127.0.0.1"  # the servers take load from this machine only
NO_UVLOOP = "uvloop requested but not importable"


def command_line(doc: str, *, uvloop: bool = True, access_log: bool = False) -> argparse.ArgumentParser:
    """The parser every server starts from: the first line of its docstring, ``--port``, ``--uvloop``.

    A script adds its own options to it before ``parse_args()``.

    Args:
        doc: the script's ``__doc__``.
        uvloop: offer ``--uvloop`` (False for a server that only runs on the framework's default).
        access_log: offer ``--access-log``, for a server whose framework writes one; a server
            without one refuses the flag rather than pretend (``bench.py --access-log`` leaves it out).
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    if uvloop:
        parser.add_argument("--uvloop", action="store_true", help="use uvloop as the reactor")
    if access_log:
        parser.add_argument(
            "--access-log",
            action="store_true",
            help="log every request as the framework does by default once a program turns logging on",
        )
    return parser


def mark_for_callgrind() -> None:
    """A point in a server's run where ``longpoll_fanout.py --instructions`` splits its count.

    It calls ``os.getppid()``, which nothing else in these servers calls:
    callgrind, started with ``--dump-before=os_getppid`` (CPython's C function
    for it), writes its counters to a new file just before. So the count of
    exactly the timed window (from the notify to where the last response's
    time is noted) comes apart from the work before and after it. One system
    call, well under a microsecond: nothing the timings see.
    """
    os.getppid()


def uvloop_module() -> ModuleType:
    """uvloop, imported; exits with a message when it is not installed."""
    try:
        import uvloop
    except ImportError:
        sys.exit(NO_UVLOOP)
    return uvloop


def run_until_signalled(run: Callable[[], object]) -> None:
    """Call ``run()`` (a loop's ``start``) until SIGINT or SIGTERM, then return: the script exits 0.

    The signals raise ``KeyboardInterrupt`` in the loop. Installed explicitly:
    a shell starts background jobs with SIGINT ignored. While a loop runs,
    the exception is raised from a callback the signal handler schedules
    rather than wherever the signal landed: raised inside a protocol method
    that uvloop called from C, it would be reported as a transport error and
    the server would run on.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # (not serving yet, or no more)
            raise KeyboardInterrupt from None
        loop.call_soon_threadsafe(_raise_interrupt)

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        run()
    except KeyboardInterrupt:
        pass


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def run_on_uvicorn(app: Any, doc: str) -> None:
    """``--port N [--access-log]``, then serve the ASGI ``app`` on uvicorn as both uvicorn contenders do.

    One place for the settings, so the raw ASGI app and Starlette are measured
    alike: httptools and uvloop, no lifespan. No access log and warnings only
    by default (the other contenders log nothing unless asked); with
    ``--access-log``, uvicorn's own defaults: its logging config at INFO and
    ``access_log=True``, one line per request on stdout.
    uvicorn handles SIGINT and SIGTERM itself.
    """
    import uvicorn

    args = command_line(doc, uvloop=False, access_log=True).parse_args()
    uvicorn.run(
        app,
        host=HOST,
        port=args.port,
        http="httptools",
        loop="uvloop",
        lifespan="off",
        access_log=args.access_log,
        log_level=None if args.access_log else "warning",  # None: uvicorn's default config, INFO
    )

"""Serving until a signal, then draining: the graceful shutdown every service needs.

Strategy: ``serve_forever(servers)`` runs the IOLoop until SIGTERM or SIGINT.
On the first signal it tells the application (``Lifecycle.draining`` turns
true, so health checks answer 503 and long-poll handlers can answer their
waiters), stops accepting, lets in-flight requests finish while idle
keep-alive connections are closed, and returns once every connection is gone
or the drain timeout has passed. A second signal aborts the drain. The exit is
then the program's: 0 after a clean drain.

This is what makes ``docker compose stop`` lose no accepted request (with
``init: true`` so the signal reaches Python, and a ``stop_grace_period``
longer than the drain timeout).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable

from framework.httpserver import DrainReport, HTTPServer
from framework.ioloop import IOLoop

__all__ = ["Lifecycle", "serve_forever"]

gen_log = logging.getLogger("framework.general")


class Lifecycle:
    """Whether the process is serving or draining, and who wants to know.

    Handlers read ``draining`` (a health check answers 503 while it is true);
    code holding long-lived requests registers ``on_drain`` callbacks to
    answer them so clients reconnect elsewhere.
    """

    def __init__(self) -> None:
        self.draining = False
        self._callbacks: list[Callable[[], None]] = []

    def on_drain(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once when draining begins."""
        self._callbacks.append(callback)

    def begin_drain(self) -> None:
        """Mark the process as draining and run the callbacks (once)."""
        if self.draining:
            return
        self.draining = True
        for callback in self._callbacks:
            try:
                callback()
            except Exception:
                gen_log.error("drain callback %r failed", callback, exc_info=True)


async def _drain(servers: list[HTTPServer], lifecycle: Lifecycle, timeout: float) -> list[DrainReport]:
    lifecycle.begin_drain()
    for server in servers:
        server.stop()
    return list(await asyncio.gather(*(server.drain(timeout) for server in servers)))


def serve_forever(
    servers: Iterable[HTTPServer],
    *,
    lifecycle: Lifecycle | None = None,
    drain_timeout: float = 10.0,
    signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> list[DrainReport]:
    """Run the current IOLoop until a signal, then drain ``servers`` and return.

    Args:
        servers: servers already listening on the current IOLoop.
        lifecycle: told when draining begins (health checks, long-polls).
        drain_timeout: seconds in-flight requests get before being aborted.
        signals: the signals that start the drain.

    Returns:
        One ``DrainReport`` per server.
    """
    servers = list(servers)
    lifecycle = lifecycle or Lifecycle()
    loop = IOLoop.current().asyncio_loop
    stopping: asyncio.Future[list[DrainReport]] | None = None
    wanted = list(signals)

    def on_signal(signum: int) -> None:
        nonlocal stopping
        if stopping is not None:
            gen_log.warning("second %s: aborting the drain", signal.Signals(signum).name)
            for server in servers:
                server.abort_all_connections()
            return
        gen_log.info("%s received: draining (up to %.0fs)", signal.Signals(signum).name, drain_timeout)
        stopping = asyncio.ensure_future(_drain(servers, lifecycle, drain_timeout))
        stopping.add_done_callback(lambda _: loop.stop())

    for sig in wanted:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        loop.run_forever()
    finally:
        for sig in wanted:
            loop.remove_signal_handler(sig)
    if stopping is None or not stopping.done():
        return []
    reports = stopping.result()
    for report in reports:
        gen_log.info(
            "drained: %d idle closed, %d requests finished, %d aborted",
            report.idle_closed,
            report.finished,
            report.aborted,
        )
    return reports

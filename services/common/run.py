"""``run(make_app)``: the ``main()`` of every service.

Reads ``--port``, ``--address``, ``--debug``, ``--prefix``, ``--processes``
(several processes on the one port: bound once, then forked and supervised)
and ``--drain_timeout``; behind the proxy, ``--xheaders`` with ``--trusted_proxies``
takes the client's address and scheme from the proxy's headers; on
SIGTERM or SIGINT drains (stop accepting, finish in-flight requests, close
idle keep-alive connections) and exits 0 within the drain timeout.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from framework import options as opts
from framework.httpserver import HTTPServer
from framework.lifecycle import Lifecycle, serve_forever
from framework.log import BackgroundLogging, access_log, log_in_background
from framework.netutil import bind_sockets
from framework.process import fork_processes, task_id
from framework.web import Application

__all__ = ["run"]

log = logging.getLogger("services")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
APP_OPTIONS = "app"
"""The option group a service's own options go in (``run(define_app_options=...)``)."""


def define_options(parser: opts.OptionParser, *, default_port: int, default_prefix: str) -> None:
    """The options every service understands."""
    parser.define("port", default=default_port, type=int, help="port to listen on", group="service")
    parser.define("address", default="127.0.0.1", type=str, help="address to bind (0.0.0.0 in containers)", group="service")
    parser.define("debug", default=False, type=bool, help="tracebacks in error pages, template reloading", group="service")
    parser.define("prefix", default=default_prefix, type=str, help="public path prefix, e.g. /forms/", group="service")
    parser.define("processes", default=1, type=int, help="processes serving the port (0: one per CPU)", group="service")
    parser.define("drain_timeout", default=10.0, type=float, help="seconds to finish requests on SIGTERM", group="service")
    parser.define("access_log", default=True, type=bool, help="log every request (off: only 4xx/5xx; nginx logs them all)", group="service")
    parser.define("xheaders", default=False, type=bool, help="use X-Forwarded-*/X-Real-Ip from --trusted_proxies", group="service")
    parser.define("trusted_proxies", default=[], type=str, multiple=True, help="proxy addresses or CIDR networks whose X-headers are believed", group="service")


def run(
    make_app: Callable[..., Application],
    *,
    default_port: int = 8001,
    default_prefix: str = "/",
    define_app_options: Callable[[opts.OptionParser], None] | None = None,
    argv: list[str] | None = None,
) -> int:
    """Parse options, serve ``make_app(prefix=..., debug=..., lifecycle=...)``, drain on a signal.

    Args:
        make_app: the service's application factory.
        default_port: ``--port`` unless given.
        default_prefix: ``--prefix`` unless given.
        define_app_options: defines the service's own options, in the group
            ``"app"``; each is passed to ``make_app`` as a setting of its name
            (chat's ``--redis_url`` arrives as ``make_app(redis_url=...)``).
        argv: the command line (``sys.argv`` if None).

    Returns:
        The exit status: 0 after a clean drain, 1 if requests had to be aborted.
    """
    parser = opts.OptionParser()
    define_options(parser, default_port=default_port, default_prefix=default_prefix)
    if define_app_options is not None:
        define_app_options(parser)
    parser.parse_command_line(argv if argv is not None else sys.argv)
    sockets = bind_sockets(parser.port, parser.address)
    if parser.processes != 1:
        # The parent only supervises, logging the children's exits as they come.
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stdout)
        fork_processes(parser.processes)  # returns in each child; the parent exits with them
    logs = _log_to_stdout(access=parser.access_log)
    lifecycle = Lifecycle()
    settings: dict[str, Any] = {"prefix": parser.prefix, "debug": parser.debug, "lifecycle": lifecycle}
    settings.update(parser.group_dict(APP_OPTIONS))
    app = make_app(**settings)
    server = HTTPServer(app, xheaders=parser.xheaders, trusted_proxies=parser.trusted_proxies)
    server.add_sockets(sockets)
    log.info("serving %s on http://%s:%d%s", make_app.__module__, parser.address, parser.port, app.settings["prefix"])
    reports = serve_forever([server], lifecycle=lifecycle, drain_timeout=parser.drain_timeout)
    aborted = sum(report.aborted for report in reports)
    log.info("stopped%s", f" ({aborted} connections aborted)" if aborted else "")
    logs.stop()
    return 1 if aborted else 0


def _log_to_stdout(*, access: bool) -> BackgroundLogging:
    """Log to stdout from a thread (after any fork: threads do not survive one).

    stdout is a pipe to the engine's log collector: written from a thread, a
    collector that falls behind never stalls the event loop. Each line of a
    forked child names its task id.
    """
    stdout = logging.StreamHandler(sys.stdout)
    task = task_id()
    stdout.setFormatter(logging.Formatter(LOG_FORMAT if task is None else f"[{task}] {LOG_FORMAT}"))
    if not access:
        access_log.setLevel(logging.WARNING)  # errors (4xx/5xx) are still logged
    return log_in_background(stdout)

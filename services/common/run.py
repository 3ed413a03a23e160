"""``run_service(name)``: what ``python -m services.<name>`` runs; ``run(make_app)`` beneath it.

``run_service`` finds the service's entry in ``services/catalog.py`` (its port
and prefix: the defaults of ``--port`` and ``--prefix``) and its package's
``app.py``: ``make_app(**settings)``, and ``define_options(parser)`` if the
service has options of its own.

Reads ``--port``, ``--address``, ``--debug``, ``--prefix``, ``--processes``
(several processes on the one port: bound once, then forked and supervised)
and ``--drain_timeout``; behind the proxy, ``--xheaders`` with ``--trusted_proxies``
takes the client's address and scheme from the proxy's headers; on
SIGTERM or SIGINT drains (stop accepting, finish in-flight requests, close
idle keep-alive connections) and exits 0 within the drain timeout.

``--metrics_port`` (default ``--port`` + 1000, 0: none) serves ``/metrics``
on an internal listener of its own, bound like the service's port before
any fork, so whichever child takes a scrape answers it for all
(``services.common.metrics``). ``--log_format=json`` writes every log line,
the access log included, as one JSON object.
"""

from __future__ import annotations

import importlib
import logging
import socket
import sys
from collections.abc import Callable
from typing import Any

from framework import options as opts
from framework.httpserver import HTTPServer
from framework.ioloop import IOLoop
from framework.lifecycle import Lifecycle, serve_forever
from framework.log import (
    BackgroundLogging,
    JSONFormatter,
    access_log,
    log_in_background,
)
from framework.netutil import bind_sockets
from framework.process import fork_processes, task_id
from framework.web import Application
from services.catalog import service_named
from services.common import metrics as service_metrics

__all__ = ["run", "run_service"]

log = logging.getLogger("services")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")
METRICS_PORT_OFFSET = 1000
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
    parser.define(
        "access_log", default=True, type=bool, help="log every request (off: only 4xx/5xx; nginx logs them all)", group="service"
    )
    parser.define(
        "xheaders", default=False, type=bool, help="use X-Forwarded-*/X-Real-Ip from --trusted_proxies", group="service"
    )
    parser.define(
        "trusted_proxies",
        default=[],
        type=str,
        multiple=True,
        help="proxy addresses or CIDR networks whose X-headers are believed",
        group="service",
    )
    parser.define(
        "metrics_port",
        default=None,
        type=int,
        help=f"internal port serving /metrics on --address (default: --port + {METRICS_PORT_OFFSET}; 0: none)",
        group="service",
    )
    parser.define(
        "log_format", default="text", type=str, help="log lines as text, or json (one object per line)", group="service"
    )


def run_service(name: str, *, argv: list[str] | None = None) -> int:
    """Run the catalog's service ``name`` until SIGTERM or SIGINT: ``python -m services.<name>``.

    Returns:
        ``run()``'s exit status.

    Raises:
        LookupError: ``name`` is not in the catalog.
    """
    service = service_named(name)
    if service is None:
        raise LookupError(f"no service {name!r} in services/catalog.py")
    app = importlib.import_module(f"services.{name}.app")
    return run(
        app.make_app,
        default_port=service.port,
        default_prefix=service.prefix,
        define_app_options=getattr(app, "define_options", None),
        argv=argv,
    )


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
    if parser.log_format not in LOG_FORMATS:
        raise SystemExit(f"--log_format must be one of {', '.join(LOG_FORMATS)}, not {parser.log_format!r}")
    service = make_app.__module__.removesuffix(".app").rpartition(".")[2]
    sockets = bind_sockets(parser.port, parser.address)
    metrics_port = _metrics_port(parser.port, parser.metrics_port)
    metrics_sockets = bind_sockets(metrics_port, parser.address) if metrics_port else []
    if parser.processes != 1:
        if metrics_sockets:
            port = sockets[0].getsockname()[1]
            service_metrics.use_multiprocess_directory(service_metrics.multiprocess_directory(f"{service}-{port}"))
        # The parent only supervises, logging the children's exits as they come.
        logging.basicConfig(level=logging.INFO, handlers=[_stdout_handler(parser.log_format, service)])
        fork_processes(parser.processes)  # returns in each child; the parent exits with them
    logs = _log_to_stdout(access=parser.access_log, log_format=parser.log_format, service=service)
    try:  # (whatever ends the run, the lines queued so far are written)
        lifecycle = Lifecycle()
        settings: dict[str, Any] = {"prefix": parser.prefix, "debug": parser.debug, "lifecycle": lifecycle}
        settings.update(parser.group_dict(APP_OPTIONS))
        app = make_app(**settings)
        server = HTTPServer(app, xheaders=parser.xheaders, trusted_proxies=parser.trusted_proxies)
        server.add_sockets(sockets)
        log.info("serving %s on http://%s:%d%s", make_app.__module__, parser.address, parser.port, app.settings["prefix"])
        metrics = _serve_metrics(app, server, metrics_sockets) if metrics_sockets else None
        reports = serve_forever([server], lifecycle=lifecycle, drain_timeout=parser.drain_timeout)
        if metrics is not None:
            metrics.stop()
        aborted = sum(report.aborted for report in reports)
        log.info("stopped%s", f" ({aborted} connections aborted)" if aborted else "")
        return 1 if aborted else 0
    finally:
        logs.stop()


def _metrics_port(port: int, metrics_port: int | None) -> int:
    """``--metrics_port``, else ``--port`` + 1000; none for an ephemeral ``--port=0``."""
    if metrics_port is not None:
        return metrics_port
    if port == 0:
        return 0
    if port + METRICS_PORT_OFFSET > 65535:
        raise SystemExit(f"--port={port}: the default metrics port would be past 65535; give --metrics_port")
    return port + METRICS_PORT_OFFSET


class _MetricsListener:
    """The internal ``/metrics`` server of one process and what it reports."""

    def __init__(self, metrics: service_metrics.Metrics, server: HTTPServer) -> None:
        self.metrics = metrics
        self.server = server

    def stop(self) -> None:
        """After the service's drain: stop answering scrapes, close their connections."""
        self.server.stop()
        IOLoop.current().run_sync(self.server.close_all_connections, timeout=5)
        self.metrics.close()


def _serve_metrics(app: Application, server: HTTPServer, sockets: list[socket.socket]) -> _MetricsListener:
    """Count ``app``'s requests and ``server``'s connections; answer scrapes on ``sockets``.

    Scrapes are still answered while the service drains: the listener stops after it.
    """
    metrics = service_metrics.Metrics(app)
    metrics.watch(server)
    metrics.start()
    internal = HTTPServer(service_metrics.make_metrics_app(metrics))
    internal.add_sockets(sockets)
    host, port = sockets[0].getsockname()[:2]
    log.info(
        "metrics on http://%s:%d/metrics%s",
        host,
        port,
        f" (summed over processes in {metrics.multiprocess_dir})" if metrics.multiprocess_dir else "",
    )
    return _MetricsListener(metrics, internal)


def _log_to_stdout(*, access: bool, log_format: str = "text", service: str = "") -> BackgroundLogging:
    """Log to stdout from a thread (after any fork: threads do not survive one).

    stdout is a pipe to the engine's log collector: written from a thread, a
    collector that falls behind never stalls the event loop. Each line of a
    forked child names its task id.
    """
    if not access:
        access_log.setLevel(logging.WARNING)  # errors (4xx/5xx) are still logged
    return log_in_background(_stdout_handler(log_format, service))


def _stdout_handler(log_format: str, service: str) -> logging.Handler:
    """A handler writing to stdout as text or JSON, naming this process's task id if it is a forked child."""
    stdout = logging.StreamHandler(sys.stdout)
    task = task_id()
    if log_format == "json":
        fields: dict[str, object] = {"service": service, "host": socket.gethostname()}
        if task is not None:
            fields["task"] = task
        stdout.setFormatter(JSONFormatter(fields=fields))
    else:
        stdout.setFormatter(logging.Formatter(LOG_FORMAT if task is None else f"[{task}] {LOG_FORMAT}"))
    return stdout

"""``/metrics`` of every service: requests by route and status, latency, connections, demo hooks.

Strategy: ``run()`` serves a service's metrics on an internal listener of
its own (``--metrics_port``), a second ``Application`` on the same IOLoop;
the public port has no ``/metrics`` route, and nginx routes only the
services' prefixes. Requests are counted through the application's
``log_function`` setting (Tornado's hook at the end of every request),
which then writes the usual access line. Their route label is the matched
``URLSpec``'s name, else its pattern, found from the handler's class: a
client choosing paths cannot grow the label set. Connection counts come
from ``HTTPServer.stats``, sampled every second (less often when there are
so many connections that counting them takes more than 1% of the loop) and
before each scrape.

Several processes (``--processes N``): prometheus_client's multiprocess
mode. The parent empties a directory of the service's own on a tmpfs
(``multiprocess_directory``) and names it in ``PROMETHEUS_MULTIPROC_DIR``
before it forks; the library reads that variable when it is first
imported, which is why this module imports it only when ``Metrics`` is
made, in the child. Each child writes its values to memory-mapped files
there, and whichever child answers a scrape sums every child's files.
Gauges are ``livesum``: a child that died no longer counts (its files are
dropped before each scrape, and by the child itself when it exits).

Hooks for application code (the chat's long-polls and its Redis bus) are
module-level objects usable at any time, metrics on or off:
``longpoll_waiters.inc()`` / ``.dec()`` (or ``.set_function(callable)``) and
``bus_lag.observe(seconds)``.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from framework.httpserver import HTTPServer
from framework.ioloop import IOLoop
from framework.routing import PathMatches, Rule, RuleRouter
from framework.web import Application, RequestHandler, url
from framework.web.application import log_access

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Gauge, Histogram

__all__ = [
    "LATENCY_BUCKETS",
    "MULTIPROCESS_ENV",
    "GaugeHook",
    "HistogramHook",
    "Metrics",
    "RouteLabels",
    "bus_lag",
    "longpoll_waiters",
    "make_metrics_app",
    "multiprocess_directory",
    "use_multiprocess_directory",
]

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds; up to a minute, since a long-poll is a request too."""
REFRESH_SECONDS = 1.0
"""How often each process writes its connection counts and sampled hooks, at most."""
REFRESH_SHARE = 0.01
"""The share of the loop's time refreshing may take: counting connections is
linear in them (about 25 ms at 100,000), so with many the period grows."""
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UNMATCHED = "(unmatched)"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


# -- the directory of multiprocess mode (the parent, before forking) ------------


def multiprocess_directory(name: str) -> str:
    """Where a service's processes keep their values: ``<base>/<name>``.

    ``<base>`` is ``$PROMETHEUS_MULTIPROC_DIR`` if set, else ``/dev/shm``
    (a tmpfs: values live in memory, never on a slow file system), else
    the temporary directory.
    """
    base = os.environ.get(MULTIPROCESS_ENV)
    if not base:
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
        base = os.path.join(base, "framework-metrics")
    return os.path.join(base, name)


def use_multiprocess_directory(directory: str) -> None:
    """Empty ``directory`` and put prometheus_client in multiprocess mode there (call before forking).

    The variable set here reaches the children because they are forked
    (the library's documentation asks for a start-up script because other
    servers spawn theirs).

    Raises:
        RuntimeError: prometheus_client was imported already; it would keep
            one process's values and a scrape would see only the child answering it.
    """
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess directory was chosen")
    os.makedirs(directory, exist_ok=True)
    for entry in os.scandir(directory):
        if entry.name.endswith(".db"):
            os.remove(entry.path)  # a previous run's values
    os.environ[MULTIPROCESS_ENV] = directory


def _forget_dead_processes(directory: str) -> None:
    """Drop the live gauges of processes that are gone (a child killed and restarted)."""
    from prometheus_client import multiprocess

    for name in os.listdir(directory):
        found = _LIVE_GAUGE_FILE.fullmatch(name)
        if found is not None and not _alive(int(found.group(1))):
            multiprocess.mark_process_dead(int(found.group(1)), directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- hooks for application code ------------------------------------------------------


class GaugeHook:
    """A number application code reports, such as its long-poll waiters.

    Usable whether or not metrics run: it keeps this process's value and
    hands it on once a ``Metrics`` exists. Over several processes the
    scrape shows the sum of the live ones.
    """

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self._value = 0.0
        self._function: Callable[[], float] | None = None
        self._gauge: Gauge | None = None

    @property
    def value(self) -> float:
        """This process's value."""
        return self._value

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount`` (one more waiter)."""
        self.set(self._value + amount)

    def dec(self, amount: float = 1.0) -> None:
        """Subtract ``amount`` (one waiter less)."""
        self.set(self._value - amount)

    def set(self, value: float) -> None:
        """Set this process's value."""
        self._value = value
        if self._gauge is not None:
            self._gauge.set(value)

    def set_function(self, function: Callable[[], float] | None) -> None:
        """Sample ``function()`` every second and before each scrape, instead of being told (None: stop)."""
        self._function = function

    def sample(self) -> None:
        """Take the value from the function given to ``set_function``, if any."""
        if self._function is not None:
            self.set(float(self._function()))

    def bind(self, gauge: Gauge | None) -> None:
        """Report to ``gauge`` from now on (``Metrics`` calls this)."""
        self._gauge = gauge
        if gauge is not None:
            gauge.set(self._value)


class HistogramHook:
    """Observations application code makes, such as its bus lag; dropped while metrics are off."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.buckets = buckets
        self._histogram: Histogram | None = None

    def observe(self, amount: float) -> None:
        """Record one observation."""
        if self._histogram is not None:
            self._histogram.observe(amount)

    def bind(self, histogram: Histogram | None) -> None:
        """Record into ``histogram`` from now on (``Metrics`` calls this)."""
        self._histogram = histogram


longpoll_waiters = GaugeHook("longpoll_waiters", "Long-poll requests waiting for news.")
bus_lag = HistogramHook(
    "bus_lag_seconds",
    "Seconds from a message's publication on the bus (Redis) to its delivery to this process's waiters.",
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_GAUGE_HOOKS = (longpoll_waiters,)
_HISTOGRAM_HOOKS = (bus_lag,)


# -- route labels ---------------------------------------------------------------------------


class RouteLabels:
    """The route label of a request: its rule's name, else its pattern; ``(unmatched)`` for the rest.

    Resolved once from the application's routing table, by handler class.
    A class that serves several rules (static files) is told apart by
    matching the request against those rules only.
    """

    def __init__(self, app: Application) -> None:
        self._by_class: dict[type[RequestHandler], list[tuple[Rule, str]]] = {}
        for rule in _handler_rules(app.default_router):
            self._by_class.setdefault(rule.target, []).append((rule, _rule_label(rule)))

    def label(self, handler: RequestHandler) -> str:
        """The label of the request ``handler`` answered."""
        rules = self._by_class.get(type(handler))
        if rules is None:
            return _UNMATCHED
        if len(rules) == 1:
            return rules[0][1]
        for rule, label in rules:
            if rule.matcher.match(handler.request) is not None:
                return label
        return _UNMATCHED

    @property
    def labels(self) -> set[str]:
        """Every label this table can give."""
        return {label for rules in self._by_class.values() for _, label in rules} | {_UNMATCHED}


def _handler_rules(router: RuleRouter) -> Iterator[Rule]:
    for rule in router.rules:
        if isinstance(rule.target, type) and issubclass(rule.target, RequestHandler):
            yield rule
        elif isinstance(rule.target, RuleRouter):
            yield from _handler_rules(rule.target)


def _rule_label(rule: Rule) -> str:
    if rule.name:
        return rule.name
    if isinstance(rule.matcher, PathMatches):
        return rule.matcher.regex.pattern.removesuffix("$")
    return repr(rule.matcher)


# -- the metrics of one service process --------------------------------------------------


class Metrics:
    """The metrics of one application: counts its requests from now on.

    Makes the metric objects (prometheus_client is imported here, after
    ``use_multiprocess_directory`` when there are several processes) and
    sets the application's ``log_function``, which still writes the access
    line (or calls the ``log_function`` the application had).

    Args:
        app: the service's application.
        registry: where the metrics are registered for a single-process
            scrape (a new one if None); ignored in multiprocess mode, whose
            scrape reads every process's files instead.
    """

    def __init__(self, app: Application, *, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess_dir = os.environ.get(MULTIPROCESS_ENV) or None
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "http_requests", "Requests answered, by route, method and status.", ["route", "method", "status"], registry=reg
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Seconds from a request's first byte to its response, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.open = Gauge(
            "http_connections_open",
            "Open client connections (WebSockets not included).",
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.idle = Gauge(
            "http_connections_idle",
            "Open keep-alive connections waiting for a request.",
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "Requests being answered (long-polls included).", multiprocess_mode="livesum", registry=reg
        )
        for gauge_hook in _GAUGE_HOOKS:
            gauge_hook.bind(Gauge(gauge_hook.name, gauge_hook.documentation, multiprocess_mode="livesum", registry=reg))
        for histogram_hook in _HISTOGRAM_HOOKS:
            histogram_hook.bind(
                Histogram(histogram_hook.name, histogram_hook.documentation, buckets=histogram_hook.buckets, registry=reg)
            )
        self.routes = RouteLabels(app)
        self._servers: list[HTTPServer] = []
        self._counted: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._then_log: Callable[[RequestHandler], None] = app.settings.get("log_function") or log_access
        self._refresher: asyncio.TimerHandle | None = None
        app.settings["log_function"] = self.log_request

    def log_request(self, handler: RequestHandler) -> None:
        """Count a finished request, then log it (the application's ``log_function``)."""
        method = handler.request.method
        key = (self.routes.label(handler), method if method in _METHODS else "other", handler.get_status())
        children = self._counted.get(key)
        if children is None:  # bounded: routes x methods x statuses
            route, method, status = key
            children = self._counted[key] = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route),
            )
        children[0].inc()
        children[1].observe(handler.request.request_time())
        self._then_log(handler)

    def watch(self, server: HTTPServer) -> None:
        """Report ``server``'s connections."""
        self._servers.append(server)

    def refresh(self) -> None:
        """Write this process's connection counts and sampled hooks."""
        stats = [server.stats for server in self._servers]
        self.open.set(sum(s.open for s in stats))
        self.idle.set(sum(s.idle for s in stats))
        self.in_flight.set(sum(s.in_flight for s in stats))
        for hook in _GAUGE_HOOKS:
            hook.sample()

    def start(self) -> None:
        """Refresh on the current IOLoop every ``REFRESH_SECONDS``, or less often when refreshing is slow."""
        started = time.perf_counter()
        self.refresh()
        delay = max(REFRESH_SECONDS, (time.perf_counter() - started) / REFRESH_SHARE)
        self._refresher = IOLoop.current().call_later(delay, self.start)

    def close(self) -> None:
        """Stop refreshing; in multiprocess mode this process's gauges stop counting."""
        if self._refresher is not None:
            self._refresher.cancel()  # the loop's timer; this may run after the loop stopped
            self._refresher = None
        for hook in (*_GAUGE_HOOKS, *_HISTOGRAM_HOOKS):
            hook.bind(None)
        if self.multiprocess_dir is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]

    def exposition(self) -> bytes:
        """The Prometheus text of every process's metrics (reads files in multiprocess mode: not on the loop)."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess

        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        _forget_dead_processes(self.multiprocess_dir)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


class MetricsHandler(RequestHandler):
    """``GET /metrics`` in Prometheus text; the files are read off the event loop."""

    def initialize(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def get(self) -> None:
        from prometheus_client import CONTENT_TYPE_LATEST

        self.metrics.refresh()  # this process's counts as of now
        body = await IOLoop.current().run_in_executor(None, self.metrics.exposition)
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.write(body)


def make_metrics_app(metrics: Metrics) -> Application:
    """The internal listener's application: ``/metrics`` and nothing else."""
    return Application([url(r"/metrics", MetricsHandler, {"metrics": metrics}, name="metrics")])

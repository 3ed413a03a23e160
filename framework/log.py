"""The framework's loggers, and logging that never blocks the event loop.

Strategy: a ``logging.StreamHandler`` writes each record with a ``write`` on
the caller's thread. A server's stdout is usually a pipe to a log collector
(``docker logs``, systemd); when the reader falls behind, the pipe fills and
the write blocks the whole event loop, every connection with it.
``log_in_background`` puts a ``QueueHandler`` on the root logger instead: the
loop only formats a record and appends it to a bounded queue, and one thread
does the writing. When the queue is full a record is dropped and counted, and
the count is logged as soon as the writer catches up, so a stalled collector
costs log lines, never latency, and the loss is never silent.

``JSONFormatter`` writes a record as one JSON object per line, with the
fields a caller passed as ``extra`` (the access log passes the request's):
what a log pipeline collecting many replicas parses without a grammar.
"""

from __future__ import annotations

import datetime
import json
import logging
import logging.handlers
import queue
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["BackgroundLogging", "JSONFormatter", "access_log", "app_log", "gen_log", "log_in_background"]

access_log = logging.getLogger("framework.access")
"""One line per request served (``Application.log_request``); Tornado's ``tornado.access``."""
app_log = logging.getLogger("framework.application")
"""Errors raised by application code (handlers, callbacks); Tornado's ``tornado.application``."""
gen_log = logging.getLogger("framework.general")
"""Everything else the framework reports (connections, drains); Tornado's ``tornado.general``."""


_STOP_TIMEOUT = 5.0  # seconds stop() waits for room to ask the writer to finish


class _CountingQueueHandler(logging.handlers.QueueHandler):
    """A ``QueueHandler`` that drops a record when the queue is full, and counts it."""

    def __init__(self, records: queue.Queue[logging.LogRecord]) -> None:
        super().__init__(records)
        self.dropped = 0
        self._count_lock = threading.Lock()

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            with self._count_lock:
                self.dropped += 1

    def take_dropped(self) -> int:
        """The records dropped since the last call (and reset the count)."""
        with self._count_lock:
            dropped, self.dropped = self.dropped, 0
        return dropped


class _ReportingListener(logging.handlers.QueueListener):
    """Writes queued records and reports how many were dropped before each one."""

    def __init__(self, records: queue.Queue[logging.LogRecord], source: _CountingQueueHandler, *handlers: logging.Handler) -> None:
        super().__init__(records, *handlers, respect_handler_level=True)
        self._source = source

    def handle(self, record: logging.LogRecord) -> None:
        self.report_dropped()
        super().handle(record)

    def report_dropped(self) -> None:
        """Write one warning with the number of records dropped since the last one, if any."""
        dropped = self._source.take_dropped()
        if dropped:
            notice = logging.LogRecord(gen_log.name, logging.WARNING, __file__, 0, "%d log records dropped: the log writer fell behind", (dropped,), None)
            super().handle(notice)

    def enqueue_sentinel(self) -> None:
        # The queue may be full (that is when records get dropped): wait for
        # room rather than fail, but not forever on a writer that is stuck.
        try:
            self.queue.put(self._sentinel, timeout=_STOP_TIMEOUT)  # type: ignore[attr-defined]
        except queue.Full:
            gen_log.debug("log writer stuck: stopping without flushing")


class BackgroundLogging:
    """What ``log_in_background`` installed: ``stop()`` flushes and restores the root logger."""

    def __init__(self, handler: _CountingQueueHandler, listener: _ReportingListener, replaced: list[logging.Handler]) -> None:
        self._handler = handler
        self._listener = listener
        self._replaced = replaced

    @property
    def dropped(self) -> int:
        """Records dropped and not yet reported (the queue was full)."""
        return self._handler.dropped

    def stop(self) -> None:
        """Write every queued record, stop the writer thread, put the old handlers back."""
        root = logging.getLogger()
        root.removeHandler(self._handler)
        self._listener.stop()
        self._listener.report_dropped()  # drops after the last record written
        for handler in self._replaced:
            root.addHandler(handler)


def log_in_background(*handlers: logging.Handler, level: int = logging.INFO, max_queued: int = 10_000) -> BackgroundLogging:
    """Send every record of the root logger through a queue to ``handlers`` on one thread.

    Replaces the root logger's handlers (call it instead of ``basicConfig``);
    each given handler keeps its own level and formatter.

    Args:
        handlers: where records end up, e.g. ``logging.StreamHandler(sys.stdout)``.
        level: the root logger's level.
        max_queued: records waiting at most; beyond it new ones are dropped and counted.

    Returns:
        The installed pipeline; ``stop()`` flushes it (call it before exiting).
    """
    records: queue.Queue[logging.LogRecord] = queue.Queue(max_queued)
    handler = _CountingQueueHandler(records)
    listener = _ReportingListener(records, handler, *handlers)
    root = logging.getLogger()
    replaced = list(root.handlers)
    for old in replaced:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    listener.start()
    return BackgroundLogging(handler, listener, replaced)


# What every LogRecord has (taken from one, so it holds on every Python
# version); anything else on a record came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object per record, on one line.

    Keys: ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``,
    ``message``; then the constant ``fields`` given here (a service name, a
    process's task id); then whatever the call passed as ``extra`` (the
    access log: ``request_id``, ``method``, ``path``, ``status``,
    ``duration_ms``, ``client``); then ``exception`` with the traceback, if
    any. Values JSON cannot hold are written as their ``str()``. Newlines
    inside values are escaped, so a record is always exactly one line.

    Behind ``log_in_background`` the queue has already merged any traceback
    into ``message``; the extra fields survive the queue.

    Args:
        fields: constant keys added to every object.
    """

    def __init__(self, *, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.fields = dict(fields or {})

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        entry: dict[str, Any] = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(self.fields)
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)

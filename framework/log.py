"""The framework's loggers, and logging that never blocks the event loop.

Strategy: a ``logging.StreamHandler`` writes each record with a ``write`` on
the caller's thread. A server's stdout is usually a pipe to a log collector
(``docker logs``, systemd); when the reader falls behind, the pipe fills and
the write blocks the whole event loop, every connection with it.
``log_in_background`` puts a handler on the root logger instead that only
prepares a record and appends it to a bounded queue; one thread formats and
writes what gathered, a batch at a time. When the queue is full a record is
dropped and counted, and the count is logged as soon as the writer catches
up, so a stalled collector costs log lines, never latency, and the loss is never silent.

``JSONFormatter`` writes a record as one JSON object per line, with the
fields a caller passed as ``extra`` (the access log passes the request's):
what a log pipeline collecting many replicas parses without a grammar.

``LogFormatter``, ``enable_pretty_logging`` and ``define_logging_options``
are Tornado's: the global ``framework.options.options`` defines the logging
options at import and its ``parse_command_line()`` sets logging up with them,
so a program that parses its command line gets a coloured, timestamped log
on stderr (the access log included) and ``--logging=debug`` works.
"""

from __future__ import annotations

import atexit
import collections
import datetime
import json
import logging
import logging.handlers
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

from framework.logsite import RECORD_ATTRIBUTES

__all__ = [
    "BackgroundLogging", "JSONFormatter", "LogFormatter", "access_log", "app_log",
    "define_logging_options", "enable_pretty_logging", "gen_log", "log_in_background",
]  # fmt: skip

access_log = logging.getLogger("framework.access")
"""One line per request served (``Application.log_request``); Tornado's ``tornado.access``."""
app_log = logging.getLogger("framework.application")
"""Errors raised by application code (handlers, callbacks); Tornado's ``tornado.application``."""
gen_log = logging.getLogger("framework.general")
"""Everything else the framework reports (connections, drains); Tornado's ``tornado.general``."""


_WRITE_INTERVAL = 0.02  # seconds the writer lets records gather after writing a batch
_STOP_TIMEOUT = 5.0  # seconds stop() waits for a writer stuck in a handler


_TRACEBACKS = logging.Formatter()  # renders exc_info the way every Formatter does


class _Gathering(logging.Handler):
    """The caller's side: a record is made safe to hand over, then appended; beyond ``max_queued`` dropped and counted.

    Appending to a deque needs no lock of its own (``Handler.handle`` holds
    the handler's around ``emit``, which keeps the count exact), and the
    writer is woken only when it is waiting: an ``Event`` already set costs
    one attribute read.
    """

    def __init__(self, max_queued: int) -> None:
        super().__init__()
        self.records: collections.deque[logging.LogRecord] = collections.deque()
        self.max_queued = max_queued if max_queued > 0 else sys.maxsize  # (0: unbounded, as queue.Queue(0))
        self.dropped = 0
        self.wake = threading.Event()
        self.hurry = threading.Event()  # (the queue is more than half full: the writer's pause ends)
        self._half = self.max_queued // 2
        self._count_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Prepare ``record`` and queue it for the writer, or count it dropped if the queue is full."""
        if len(self.records) >= self.max_queued:
            with self._count_lock:
                self.dropped += 1
            return
        try:
            _prepare(record)
        except Exception:  # noqa: BLE001 - a bad log call: reported as logging reports it, never raised
            self.handleError(record)
            return
        records = self.records
        records.append(record)
        if not self.wake.is_set():
            self.wake.set()
        if len(records) > self._half and not self.hurry.is_set():
            self.hurry.set()

    def take_dropped(self) -> int:
        """The records dropped since the last call (and reset the count)."""
        with self._count_lock:
            dropped, self.dropped = self.dropped, 0
        return dropped


def _prepare(record: logging.LogRecord) -> None:
    """Do on the caller's thread only what cannot wait for the writer's.

    The arguments are merged into the message (they may be mutable objects
    the caller changes next), and a traceback is rendered to text (it holds
    frames alive). The writer's formatter does the rest, once.
    """
    if record.args:
        record.msg = record.getMessage()
        record.args = None
    if record.exc_info:
        record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        record.exc_info = None


class _Writer(threading.Thread):
    """The one thread that writes: each wake takes every queued record and writes them as one batch.

    Why batches: the writer and the event loop share the GIL, and each time
    the writer is woken and each time it writes, the GIL changes hands,
    each a context switch on a busy core. Woken per record, that was four
    switches per request and cut a service's /healthz from about 38,000
    to 14,000 requests per second with the access log on. After a batch the
    writer pauses ``_WRITE_INTERVAL`` (less if the queue fills), so lines
    leave at most that much later, a burst at a time. A plain
    ``StreamHandler`` (stdout, stderr) gets a batch as one write and one
    flush; any other handler gets each record through its own ``handle``.
    A handler that raises is reported as logging reports a failed record,
    and the writer goes on.
    """

    def __init__(self, source: _Gathering, handlers: tuple[logging.Handler, ...]) -> None:
        super().__init__(name="framework-log-writer", daemon=True)
        self.source = source
        self.handlers = handlers
        self.stopping = False
        self._batch_lock = threading.Lock()  # (the writer's batches and stop()'s or exit's last one)

    def run(self) -> None:
        source = self.source
        while True:
            source.wake.wait()
            source.wake.clear()  # (before taking: a record appended after it wakes the next round)
            source.hurry.clear()
            self.write_batch()
            if self.stopping:
                return
            source.hurry.wait(_WRITE_INTERVAL)  # (cut short when the queue fills meanwhile)

    def write_batch(self, wait: float = -1) -> None:
        """Report drops, then write every record queued now to every handler whose level admits it.

        Args:
            wait: seconds to wait for a batch being written elsewhere (-1:
                as long as it takes); past them, nothing is written.
        """
        if not self._batch_lock.acquire(timeout=wait):
            return
        try:
            records = self.source.records
            batch = [records.popleft() for _ in range(len(records))]
            notice = self.dropped_notice()
            if notice is not None:
                batch.insert(0, notice)
            if batch:
                for handler in self.handlers:
                    _write_to(handler, batch)
        finally:
            self._batch_lock.release()

    def dropped_notice(self) -> logging.LogRecord | None:
        """A warning with the number of records dropped since the last one, or None if there were none."""
        dropped = self.source.take_dropped()
        if not dropped:
            return None
        return logging.LogRecord(
            gen_log.name, logging.WARNING, __file__, 0, "%d log records dropped: the log writer fell behind", (dropped,), None
        )


def _write_to(handler: logging.Handler, batch: list[logging.LogRecord]) -> None:
    """Hand ``handler`` the records of ``batch`` its level admits; a failure is the handler's to report."""
    level = handler.level
    admitted = batch if not level else [r for r in batch if r.levelno >= level]
    if type(handler) is logging.StreamHandler:
        _write_stream(handler, admitted)
        return
    for record in admitted:
        try:
            handler.handle(record)
        except Exception:  # noqa: BLE001 - a filter or emit that raised: reported, the others still written
            handler.handleError(record)


def _write_stream(handler: logging.StreamHandler[Any], records: list[logging.LogRecord]) -> None:
    """What ``StreamHandler.handle`` does for each record, with one write and one flush for them all.

    If the joined write fails (one line the stream cannot encode, say),
    the lines are written one at a time, so only the failing record is lost
    and reported, as it would be written alone.
    """
    lines: list[str] = []
    written: list[logging.LogRecord] = []
    terminator = handler.terminator
    for record in records:
        try:
            admitted = handler.filter(record)
            if not admitted:
                continue
            if isinstance(admitted, logging.LogRecord):  # (Python 3.12+: a filter may hand back a replacement)
                record = admitted
            lines.append(handler.format(record) + terminator)
            written.append(record)
        except Exception:  # noqa: BLE001 - as StreamHandler.emit: reported, the others still written
            handler.handleError(record)
    if not lines:
        return
    with handler.lock:  # type: ignore[union-attr]  # (made by Handler.__init__)
        try:
            handler.stream.write("".join(lines))
            handler.flush()
            return
        except Exception:  # noqa: BLE001 - written again below, a line at a time
            pass
        for line, record in zip(lines, written, strict=True):
            try:
                handler.stream.write(line)
                handler.flush()
            except Exception:  # noqa: BLE001 - a line the stream refuses, reported as StreamHandler.emit does
                handler.handleError(record)


class BackgroundLogging:
    """What ``log_in_background`` installed: ``stop()`` flushes and restores the root logger.

    At interpreter exit, what is still queued is written (an ``atexit``
    hook), so a program that never calls ``stop()`` loses no line.
    """

    def __init__(self, handler: _Gathering, writer: _Writer, replaced: list[logging.Handler]) -> None:
        self._handler = handler
        self._writer = writer
        self._replaced = replaced

    @property
    def dropped(self) -> int:
        """Records dropped and not yet reported (the queue was full)."""
        return self._handler.dropped

    def stop(self) -> None:
        """Write every queued record, stop the writer thread, put the old handlers back.

        The last batch is written on the calling thread, after the writer
        has stopped: it holds what a thread logged meanwhile, and in a forked
        child (where the writer thread does not exist) everything. A writer
        stuck in a handler for ``_STOP_TIMEOUT`` seconds is left behind.
        """
        atexit.unregister(self._at_exit)
        root = logging.getLogger()
        root.removeHandler(self._handler)
        writer = self._writer
        writer.stopping = True
        self._handler.wake.set()
        self._handler.hurry.set()
        if writer.is_alive():
            writer.join(_STOP_TIMEOUT)
        if not writer.is_alive():  # (else stuck in a handler: its lines are lost with it)
            writer.write_batch(_STOP_TIMEOUT)  # (drops counted after the last batch are reported here too)
        for handler in self._replaced:
            root.addHandler(handler)

    def _at_exit(self) -> None:
        self._writer.write_batch(_STOP_TIMEOUT)  # (a writer stuck in a handler is left to it)


def log_in_background(*handlers: logging.Handler, level: int = logging.INFO, max_queued: int = 10_000) -> BackgroundLogging:
    """Send every record of the root logger through a queue to ``handlers`` on one thread.

    Replaces the root logger's handlers (call it instead of ``basicConfig``);
    each given handler keeps its own level and formatter.

    Args:
        handlers: where records end up, e.g. ``logging.StreamHandler(sys.stdout)``.
        level: the root logger's level.
        max_queued: records waiting at most; beyond it new ones are dropped
            and counted. 0 or less: no bound.

    Returns:
        The installed pipeline; ``stop()`` flushes it (call it before exiting).
    """
    handler = _Gathering(max_queued)
    writer = _Writer(handler, handlers)
    root = logging.getLogger()
    replaced = list(root.handlers)
    for old in replaced:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    writer.start()
    background = BackgroundLogging(handler, writer, replaced)
    atexit.register(background._at_exit)
    return background


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
            if key not in RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


# -- Tornado's pretty logging ------------------------------------------------


def _stderr_supports_color() -> bool:
    """Whether stderr is a terminal that shows ANSI colours.

    Tornado asks curses (terminfo) for the colour count; here a tty whose
    ``TERM`` is set and not ``dumb`` is enough, and ``NO_COLOR`` (no-color.org)
    turns colour off.
    """
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    if isatty is None or not isatty():
        return False
    return os.environ.get("TERM", "dumb") != "dumb"


def _message_of(record: logging.LogRecord) -> str:
    """``record.getMessage()``, or a description of why it failed: a bad log call must not raise."""
    try:
        return record.getMessage()
    except Exception as exc:  # noqa: BLE001 - any error of the caller's format string or args
        return f"Bad message ({exc!r}): {record.__dict__!r}"


class LogFormatter(logging.Formatter):
    """Tornado's log line: ``[I 240102 03:04:05 module:42] message``, coloured on a tty.

    Mirrors ``tornado.log.LogFormatter``. The format may use ``%(color)s`` and
    ``%(end_color)s``, set to the level's colour and the reset sequence when
    colour is on and to ``""`` otherwise. Continuation lines (tracebacks,
    multi-line messages) are indented four spaces. Difference: ``style``
    takes ``"{"`` and ``"$"`` as well (Tornado ignores it), and colour is
    plain ANSI rather than looked up through curses.

    Args:
        fmt: the line format; ``DEFAULT_FORMAT`` by default.
        datefmt: ``strftime`` format of ``asctime``.
        style: ``"%"``, ``"{"`` or ``"$"``, as for ``logging.Formatter``.
        color: colour the lines when stderr is a colour terminal.
        colors: ANSI colour number (0-7) by level number.
    """

    DEFAULT_FORMAT = "%(color)s[%(levelname)1.1s %(asctime)s %(module)s:%(lineno)d]%(end_color)s %(message)s"
    DEFAULT_DATE_FORMAT = "%y%m%d %H:%M:%S"
    DEFAULT_COLORS: ClassVar[Mapping[int, int]] = {
        logging.DEBUG: 4,  # blue
        logging.INFO: 2,  # green
        logging.WARNING: 3,  # yellow
        logging.ERROR: 1,  # red
        logging.CRITICAL: 5,  # magenta
    }

    def __init__(
        self,
        fmt: str = DEFAULT_FORMAT,
        datefmt: str = DEFAULT_DATE_FORMAT,
        style: str = "%",
        color: bool = True,
        colors: Mapping[int, int] = DEFAULT_COLORS,
    ) -> None:
        super().__init__(fmt, datefmt, style)  # type: ignore[arg-type]
        self._colors: dict[int, str] = {}
        self._normal = ""
        self._second: tuple[object, str] = (None, "")
        if color and _stderr_supports_color():
            self._colors = {level: f"\033[3{code}m" for level, code in colors.items()}
            self._normal = "\033[0m"

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        """``logging.Formatter.formatTime``, with the current second's text kept.

        ``strftime`` has nothing finer than a second, so the text changes only
        when the second (or a format, or the converter) does: one
        ``localtime`` and ``strftime`` a second, not one a line (about a tenth
        of what logging a request costs). The key and text are one tuple, so a
        formatter shared by threads never pairs one second's key with another's text.
        """
        converter = self.converter
        key = (record.created // 1, datefmt, converter, self.default_time_format)
        cached = self._second
        if cached[0] == key:
            text = cached[1]
        else:
            text = time.strftime(datefmt or self.default_time_format, converter(record.created))
            self._second = (key, text)
        if datefmt or not self.default_msec_format:
            return text
        return self.default_msec_format % (text, record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        record.message = _message_of(record)
        record.asctime = self.formatTime(record, self.datefmt)
        color = self._colors.get(record.levelno, "")
        fields = record.__dict__
        fields["color"] = color
        fields["end_color"] = self._normal if color else ""
        text = self.formatMessage(record).rstrip()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text or record.stack_info:
            lines = [text]
            if record.exc_text:
                lines.append(record.exc_text)
            if record.stack_info:
                lines.append(self.formatStack(record.stack_info))
            text = "\n".join(lines)
        return text.replace("\n", "\n    ")


_LEVELS = ("debug", "info", "warning", "error", "critical")


class OptionDefiner(Protocol):
    """What ``define_logging_options`` needs of a parser (``framework.options.OptionParser`` has it).

    Named here rather than imported: ``options`` sits above this module (it
    imports it to define the logging options), and the layout test allows no
    import loop, not even one for type checking.
    """

    def define(
        self,
        name: str,
        default: Any = None,
        type: type | None = None,
        help: str | None = None,
        metavar: str | None = None,
        multiple: bool = False,
        group: str | None = None,
        callback: Callable[[Any], None] | None = None,
    ) -> None:
        """Define an option (``OptionParser.define``)."""

    def add_parse_callback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after every parse (``OptionParser.add_parse_callback``)."""


def _global_options() -> OptionDefiner:
    # The one import of the module above this one, at call time and allowed by
    # tests/test_layout.py by name: Tornado's API defaults to the global parser.
    from framework.options import options

    return options


def enable_pretty_logging(options: Any = None, logger: logging.Logger | None = None) -> None:
    """Set ``logger`` (the root logger) up from the logging options.

    Mirrors ``tornado.log.enable_pretty_logging``: the level from
    ``options.logging`` (``none`` leaves logging alone); a rotating file
    from ``log_file_prefix`` (by size or by time, ``log_rotate_mode``); a
    ``LogFormatter`` on stderr when ``log_to_stderr`` is true, or is None and
    the logger has no handler yet. ``parse_command_line()`` calls it.

    Args:
        options: anything with the attributes ``define_logging_options``
            defines; the global ``framework.options.options`` by default.
        logger: the logger to configure; the root logger by default.

    Raises:
        ValueError: an unknown level or ``log_rotate_mode`` (Tornado raises
            ``AttributeError`` for a bad level).
    """
    if options is None:
        options = _global_options()
    level = options.logging
    if level is None or level.lower() == "none":
        return
    if level.lower() not in _LEVELS:
        raise ValueError(f"--logging must be one of {'|'.join(_LEVELS)}|none, not {level!r}")
    if logger is None:
        logger = logging.getLogger()
    logger.setLevel(level.upper())
    if options.log_file_prefix:
        channel = _rotating_file_handler(options)
        channel.setFormatter(LogFormatter(color=False))
        logger.addHandler(channel)
    if options.log_to_stderr or (options.log_to_stderr is None and not logger.handlers):
        stderr = logging.StreamHandler()
        stderr.setFormatter(LogFormatter())
        logger.addHandler(stderr)


def _rotating_file_handler(options: Any) -> logging.Handler:
    """The file handler ``log_file_prefix`` and the rotation options ask for."""
    mode = options.log_rotate_mode
    if mode == "size":
        return logging.handlers.RotatingFileHandler(
            filename=options.log_file_prefix, mode="a", maxBytes=options.log_file_max_size,
            backupCount=options.log_file_num_backups, encoding="utf-8",
        )  # fmt: skip
    if mode == "time":
        return logging.handlers.TimedRotatingFileHandler(
            filename=options.log_file_prefix, when=options.log_rotate_when,
            interval=options.log_rotate_interval, backupCount=options.log_file_num_backups,
            encoding="utf-8",
        )  # fmt: skip
    raise ValueError(f'The value of log_rotate_mode option should be "size" or "time", not {mode!r}.')


def define_logging_options(options: OptionDefiner | None = None) -> None:
    """Define Tornado's logging options on ``options`` and set logging up after it parses.

    Mirrors ``tornado.log.define_logging_options``: ``--logging``,
    ``--log_to_stderr``, ``--log_file_prefix``, ``--log_file_max_size``,
    ``--log_file_num_backups``, ``--log_rotate_when``,
    ``--log_rotate_interval``, ``--log_rotate_mode``, and a parse callback running ``enable_pretty_logging``. The
    global ``framework.options.options`` has them already; a program with its
    own ``OptionParser`` calls this to get them.

    Args:
        options: the parser to define them on; the global one by default.
    """
    parser = _global_options() if options is None else options
    define = parser.define
    define(
        "logging",
        default="info",
        metavar="debug|info|warning|error|none",
        help="Set the Python log level. If 'none', logging is left as it is.",
    )
    define(
        "log_to_stderr",
        type=bool,
        default=None,
        help="Send log output to stderr (colorized if possible). By default use stderr "
        "if --log_file_prefix is not set and no other logging is configured.",
    )
    define(
        "log_file_prefix",
        type=str,
        default=None,
        metavar="PATH",
        help="Path prefix for log files. Each process needs its own (include the port).",
    )
    define("log_file_max_size", type=int, default=100 * 1000 * 1000, help="max size of log files before rollover")
    define("log_file_num_backups", type=int, default=10, help="number of log files to keep")
    define(
        "log_rotate_when",
        type=str,
        default="midnight",
        help="TimedRotatingFileHandler interval type: 'S', 'M', 'H', 'D', 'W0'-'W6', 'midnight'",
    )
    define("log_rotate_interval", type=int, default=1, help="The interval value of timed rotating")
    define("log_rotate_mode", type=str, default="size", help="The mode of rotating files (time or size)")
    parser.add_parse_callback(lambda: enable_pretty_logging(parser))

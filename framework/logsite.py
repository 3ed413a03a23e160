"""Records of one place in the code that logs on every request, made without redoing what never changes.

Strategy: ``Logger.makeRecord`` (through ``LogRecord.__init__``) works out,
for every record, what a fixed call site already knows: the file's base
name and module from its path, the level's name, and a check of each
``extra`` key against the record. For the access log, one record per
request, that is about half of the record's cost. A ``LogSite`` keeps the
fixed part once and fills in only what changes from one record to the next
(the message, the time, the thread and process). The result is the record
``makeRecord`` would make, attribute for attribute.

It does so only where it can be sure of that: the standard record factory
and ``Logger.makeRecord`` (not wrapped, as a tracer's logging integration
does, nor replaced on the logger), the standard ``logging`` switches (``logThreads``, ``logProcesses``,
``logMultiprocessing``) on, no single mapping argument, no ``extra`` key that
clashes with the record's own, and a ``LogRecord`` whose attributes are the
ones this module knows (checked once, on the first record: another Python
that adds one gets ``makeRecord``'s records). Anything else is made by the
logger's own ``makeRecord``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from types import CodeType
from typing import Any

__all__ = ["RECORD_ATTRIBUTES", "LogSite"]

# A LogRecord's attributes, in the order LogRecord.__init__ sets them: first
# the call's, then what a call site fixes, then the moment's.
_CALL = ("name", "msg", "args", "levelname", "levelno")
_FIXED = ("pathname", "filename", "module", "exc_info", "exc_text", "stack_info", "lineno", "funcName")
_MOMENT = ("created", "msecs", "relativeCreated", "thread", "threadName", "processName", "process")
_ORDER = _CALL + _FIXED + _MOMENT


def _logging_start() -> float:
    """When ``logging`` was imported, on ``time.time()``'s clock (what ``relativeCreated`` counts from)."""
    probe = logging.LogRecord("", logging.INFO, "", 0, "", (), None)
    return probe.created - probe.relativeCreated / 1000


class LogSite:
    """One function's records: what ``Logger.makeRecord`` would make for a log call in it, made faster.

    Made with the function's code (``func.__code__``): the records name the
    function and its first line as where they were logged, as the caller
    lookup would for a call in it.
    """

    __slots__ = ("_fixed", "_path", "_line", "_func", "_usable")

    def __init__(self, code: CodeType) -> None:
        self._path: str = code.co_filename
        self._line: int = code.co_firstlineno
        self._func: str = code.co_name
        self._fixed: dict[str, Any] | None = None  # (made at the first record)
        self._usable: bool | None = None  # (decided at the first record)

    def record(
        self, logger: logging.Logger, level: int, msg: str, args: tuple[Any, ...], extra: Mapping[str, Any]
    ) -> logging.LogRecord:
        """The record ``logger.makeRecord`` makes for ``msg % args`` at ``level`` with ``extra``.

        Raises ``KeyError``, as ``makeRecord`` does, when ``extra`` names an
        attribute the record already has.
        """
        if self._usable is None:
            self._usable = self._check(logger)
        if (
            self._usable
            and logging.getLogRecordFactory() is logging.LogRecord
            # A tracer may wrap makeRecord, on Logger or on this logger: its
            # records then. (Not ``logger.__dict__``: reading it would make
            # every attribute of the logger slower to read from then on.)
            and getattr(logger.makeRecord, "__func__", None) is _STOCK_MAKE_RECORD
            and logging.logThreads
            and logging.logProcesses
            and logging.logMultiprocessing
            and len(args) != 1
            and RECORD_ATTRIBUTES.isdisjoint(extra)
        ):
            return self._made(logger.name, level, msg, args, extra)
        return logger.makeRecord(logger.name, level, self._path, self._line, msg, args, None, self._func, extra)

    def _check(self, logger: logging.Logger) -> bool:
        """Whether this Python's records hold exactly the attributes this module fills in, in its order, worked out alike."""
        real = logging.LogRecord(logger.name, logging.INFO, self._path, self._line, "", (), None, self._func)
        if tuple(vars(real)) != _ORDER:
            return False
        created = real.created
        if (
            real.msecs != int((created - int(created)) * 1000) + 0.0
            or abs(real.relativeCreated - (created - _START) * 1000) > 1e-3
        ):
            return False  # (an older 3.11's msecs, say: gh-89047)
        self._fixed = {key: getattr(real, key) for key in _FIXED}
        return True

    def _made(self, name: str, level: int, msg: str, args: tuple[Any, ...], extra: Mapping[str, Any]) -> logging.LogRecord:
        record = _new_record(logging.LogRecord)
        fields = record.__dict__
        fields["name"] = name
        fields["msg"] = msg
        fields["args"] = args
        fields["levelname"] = logging.getLevelName(level)
        fields["levelno"] = level
        fields.update(self._fixed)  # type: ignore[arg-type]  # (set when _usable)
        now = time.time()
        fields["created"] = now
        fields["msecs"] = int((now - int(now)) * 1000) + 0.0
        fields["relativeCreated"] = (now - _START) * 1000
        fields["thread"] = threading.get_ident()
        fields["threadName"] = threading.current_thread().name
        fields["processName"] = _process_name()
        fields["process"] = os.getpid()
        fields.update(extra)
        return record


def _process_name() -> Any:
    """The process's name as records give it: multiprocessing's, once that is imported."""
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return "MainProcess"
    try:
        return multiprocessing.current_process().name
    except Exception:  # noqa: BLE001 - as LogRecord: multiprocessing still being imported
        return "MainProcess"


_STOCK_MAKE_RECORD = logging.Logger.makeRecord  # (as imported: a wrapper installed later is not it)
_new_record = object.__new__
_START = _logging_start()
RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
"""What a record holds of its own on this Python, and what a Formatter adds: any other attribute came from ``extra``.

``makeRecord`` refuses an ``extra`` key among these (a KeyError)."""

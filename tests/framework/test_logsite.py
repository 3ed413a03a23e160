"""framework.logsite: a call site's records are the ones Logger.makeRecord makes, attribute for attribute."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import framework.logsite
from framework.logsite import LogSite

TIMES = ("created", "msecs", "relativeCreated")
FIELDS = {"request_id": "r-1", "method": "GET", "status": 200}


def serving(request: Any) -> None:  # the function the records below name
    pass


SITE = LogSite(serving.__code__)
CODE = serving.__code__
LOGGER = logging.getLogger("tests.logsite")


def expected(level: int, msg: str, args: tuple[Any, ...], extra: dict[str, Any] | None = None) -> logging.LogRecord:
    return LOGGER.makeRecord(LOGGER.name, level, CODE.co_filename, CODE.co_firstlineno, msg, args, None, "serving", extra)


def same_record(made: logging.LogRecord, wanted: logging.LogRecord) -> None:
    """The same attributes in the same order, equal but for the moment each was made at."""
    assert list(vars(made)) == list(vars(wanted))
    assert type(made) is type(wanted)
    for key, value in vars(wanted).items():
        if key not in TIMES:
            assert getattr(made, key) == value, key
    assert made.msecs == int((made.created - int(made.created)) * 1000)
    # relativeCreated counts from the same start as logging's own.
    assert abs((made.relativeCreated - wanted.relativeCreated) - (made.created - wanted.created) * 1000) < 1e-3


@pytest.fixture(autouse=True)
def standard_logging() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL, 25])
def test_a_record_is_the_one_make_record_makes(level: int) -> None:
    args = (200, "GET", "/a?b=1", "127.0.0.1", 0.25)
    made = SITE.record(LOGGER, level, "%d %s %s (%s) %.2fms", args, FIELDS)
    same_record(made, expected(level, "%d %s %s (%s) %.2fms", args, FIELDS))
    assert made.getMessage() == "200 GET /a?b=1 (127.0.0.1) 0.25ms"
    assert (made.pathname, made.lineno, made.funcName, made.module) == (
        CODE.co_filename,
        CODE.co_firstlineno,
        "serving",
        __name__.rsplit(".", 1)[-1],
    )


def test_every_formatter_field_reads_the_same() -> None:
    every = " ".join(f"%({key})s" for key in vars(expected(logging.INFO, "m", ())) if key not in TIMES and key != "msg")
    formatter = logging.Formatter(every + " %(message)s %(request_id)s")
    made = SITE.record(LOGGER, logging.WARNING, "%s!", ("hi",), {"request_id": "x"})
    assert formatter.format(made) == formatter.format(expected(logging.WARNING, "%s!", ("hi",), {"request_id": "x"}))


def test_the_thread_is_the_logging_one() -> None:
    made: list[logging.LogRecord] = []
    worker = threading.Thread(target=lambda: made.append(SITE.record(LOGGER, logging.INFO, "m", (), {})), name="worker-7")
    worker.start()
    worker.join()
    assert (made[0].threadName, made[0].thread) == ("worker-7", worker.ident)


def test_a_level_named_later_is_named() -> None:
    logging.addLevelName(27, "NOTICE")
    assert SITE.record(LOGGER, 27, "m", (), {}).levelname == "NOTICE"


@pytest.mark.parametrize("key", ["message", "asctime", "msg", "levelname", "process"])
def test_an_extra_key_the_record_has_raises_as_make_record_does(key: str) -> None:
    with pytest.raises(KeyError):
        expected(logging.INFO, "m", (), {key: 1})
    with pytest.raises(KeyError):
        SITE.record(LOGGER, logging.INFO, "m", (), {key: 1})


def test_a_single_mapping_argument_becomes_the_args() -> None:
    made = SITE.record(LOGGER, logging.INFO, "%(a)s", ({"a": 1},), {})
    same_record(made, expected(logging.INFO, "%(a)s", ({"a": 1},)))
    assert made.getMessage() == "1"


def test_a_record_factory_of_the_programs_own_makes_the_record() -> None:
    class Tagged(logging.LogRecord):
        tag = "own"

    logging.setLogRecordFactory(Tagged)
    made = SITE.record(LOGGER, logging.INFO, "m", (), FIELDS)
    assert type(made) is Tagged
    same_record(made, expected(logging.INFO, "m", (), FIELDS))


@pytest.mark.parametrize("switch", ["logThreads", "logProcesses", "logMultiprocessing"])
def test_loggings_switches_are_honoured(monkeypatch: pytest.MonkeyPatch, switch: str) -> None:
    monkeypatch.setattr(logging, switch, False)
    made = SITE.record(LOGGER, logging.INFO, "m", (), {})
    same_record(made, expected(logging.INFO, "m", ()))
    assert None in (made.thread, made.process, made.processName)


def test_a_python_whose_records_differ_gets_make_records_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framework.logsite, "_ORDER", framework.logsite._ORDER + ("taskName",))
    site = LogSite(serving.__code__)
    calls: list[str] = []
    real = LOGGER.makeRecord

    def counted(*args: Any, **kwargs: Any) -> logging.LogRecord:
        calls.append("makeRecord")
        return real(*args, **kwargs)

    monkeypatch.setattr(LOGGER, "makeRecord", counted)
    made = site.record(LOGGER, logging.INFO, "m", (), FIELDS)
    assert calls == ["makeRecord"]
    same_record(made, expected(logging.INFO, "m", (), FIELDS))


def test_the_usual_record_is_made_here(monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = expected(logging.INFO, "%s %s", ("x", 1), FIELDS)
    made: list[type] = []

    def counted(cls: type) -> Any:
        made.append(cls)
        return object.__new__(cls)

    monkeypatch.setattr(framework.logsite, "_new_record", counted)
    same_record(SITE.record(LOGGER, logging.INFO, "%s %s", ("x", 1), FIELDS), wanted)
    assert made == [logging.LogRecord]


@pytest.mark.parametrize("where", ["logger", "class"])
def test_a_make_record_wrapped_or_replaced_makes_the_record(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    # A tracer's logging integration wraps Logger.makeRecord to add its ids to every record.
    stock = logging.Logger.makeRecord

    def traced(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = stock(self, *args, **kwargs)
        record.trace_id = "t-1"
        return record

    if where == "logger":
        monkeypatch.setattr(LOGGER, "makeRecord", traced.__get__(LOGGER))
    else:
        monkeypatch.setattr(logging.Logger, "makeRecord", traced)
    made = SITE.record(LOGGER, logging.INFO, "%s %s", ("x", 1), FIELDS)
    assert made.trace_id == "t-1" and made.getMessage() == "x 1"  # type: ignore[attr-defined]


def test_a_python_that_works_the_times_out_otherwise_gets_make_records_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framework.logsite, "_START", framework.logsite._START - 1.0)  # (as if relativeCreated differed)
    made: list[type] = []
    monkeypatch.setattr(framework.logsite, "_new_record", lambda cls: made.append(cls) or object.__new__(cls))
    record = LogSite(serving.__code__).record(LOGGER, logging.INFO, "m", (), FIELDS)
    same_record(record, expected(logging.INFO, "m", (), FIELDS))
    assert made == []

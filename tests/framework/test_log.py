"""framework.log: the loggers, and logging through a queue that never blocks the caller."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator

import pytest

from framework import log


class Collecting(logging.Handler):
    """Keeps every record's message; with ``gate`` set, waits on it first (a stalled pipe)."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.messages: list[str] = []
        self.gate = gate

    def emit(self, record: logging.LogRecord) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        self.messages.append(record.getMessage())


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_loggers_have_the_framework_names() -> None:
    assert log.access_log.name == "framework.access"
    assert log.app_log.name == "framework.application"
    assert log.gen_log.name == "framework.general"


def test_records_reach_the_handlers_in_order(restore_root: None) -> None:
    sink = Collecting()
    background = log.log_in_background(sink)
    for n in range(100):
        log.access_log.info("request %d", n)
    background.stop()
    assert sink.messages == [f"request {n}" for n in range(100)]


def test_a_stalled_writer_never_blocks_the_caller_and_drops_are_reported(restore_root: None) -> None:
    gate = threading.Event()
    sink = Collecting(gate)
    background = log.log_in_background(sink, max_queued=10)
    started = time.monotonic()
    for n in range(1000):
        log.app_log.warning("line %d", n)
    assert time.monotonic() - started < 5  # the writer is stuck: only the queue's bound holds us
    gate.set()
    background.stop()
    notices = [m for m in sink.messages if "log records dropped" in m]
    assert notices, sink.messages[-5:]
    written = [m for m in sink.messages if m.startswith("line ")]
    lost = sum(int(n.split()[0]) for n in notices)
    assert lost > 900  # ten waited in the queue, one in the writer's hands
    assert len(written) + lost == 1000


def test_stop_puts_the_previous_handlers_back(restore_root: None) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    background = log.log_in_background(Collecting())
    assert root.handlers != before
    background.stop()
    assert root.handlers == before


def test_handler_levels_are_respected(restore_root: None) -> None:
    sink = Collecting()
    sink.setLevel(logging.WARNING)
    background = log.log_in_background(sink, level=logging.DEBUG)
    log.gen_log.info("quiet")
    log.gen_log.warning("loud")
    background.stop()
    assert sink.messages == ["loud"]


# -- JSONFormatter ---------------------------------------------------------------------------------


class Formatted(logging.Handler):
    """Keeps each record as the formatter wrote it."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_lines() -> Iterator[list[str]]:
    handler = Formatted(log.JSONFormatter(fields={"service": "test", "task": 1}))
    logger = logging.getLogger("tests.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield handler.lines
    logger.removeHandler(handler)


def test_json_one_object_per_line_with_extra_and_constant_fields(json_lines: list[str]) -> None:
    logger = logging.getLogger("tests.json")
    logger.warning("two\nlines %s", "here", extra={"status": 404, "path": "/x", "duration_ms": 1.5, "odd": {1, 2}})
    assert len(json_lines) == 1 and "\n" not in json_lines[0]
    entry = json.loads(json_lines[0])
    assert entry["message"] == "two\nlines here"
    assert (entry["level"], entry["logger"]) == ("WARNING", "tests.json")
    assert (entry["service"], entry["task"]) == ("test", 1)
    assert (entry["status"], entry["path"], entry["duration_ms"]) == (404, "/x", 1.5)
    assert entry["odd"] == "{1, 2}"  # what JSON cannot hold is written as its str()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert not {"args", "msg", "levelno", "pathname", "thread"} & set(entry)  # the record's own attributes stay out


def test_json_carries_the_traceback(json_lines: list[str]) -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("tests.json").exception("failed")
    entry = json.loads(json_lines[0])
    assert entry["message"] == "failed"
    assert "ValueError: bad" in entry["exception"]


def test_json_fields_survive_the_background_queue(restore_root: None) -> None:
    sink = Formatted(log.JSONFormatter())
    background = log.log_in_background(sink)
    log.access_log.info("200 GET /", extra={"request_id": "r1", "status": 200})
    background.stop()
    entry = json.loads(sink.lines[-1])
    assert (entry["message"], entry["request_id"], entry["status"]) == ("200 GET /", "r1", 200)

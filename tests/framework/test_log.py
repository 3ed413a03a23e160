"""framework.log: the loggers, and logging through a queue that never blocks the caller."""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework import log
from framework.options import OptionParser


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
    for n in range(1000):  # were the caller ever blocked, this would hang (pytest's timeout)
        log.app_log.warning("line %d", n)
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


# -- LogFormatter ----------------------------------------------------------------------------------


def record(message: str, *args: object, level: int = logging.INFO, exc_info: object = None) -> logging.LogRecord:
    made = logging.LogRecord("tests.pretty", level, __file__, 42, message, args, exc_info)  # type: ignore[arg-type]
    made.module = "app"
    return made


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def colour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make stderr look like a colour terminal (inside the test: pytest swaps stderr after set-up)."""
    monkeypatch.setattr(sys, "stderr", FakeTTY())
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_formatter_writes_tornados_line() -> None:
    line = log.LogFormatter().format(record("hello %s", "world"))
    assert re.fullmatch(r"\[I \d{6} \d\d:\d\d:\d\d app:42\] hello world", line), line


def test_formatter_colours_the_prefix_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    colour_terminal(monkeypatch)
    formatter = log.LogFormatter()
    assert formatter.format(record("ok")).startswith("\033[32m[I ")
    assert "]\033[0m ok" in formatter.format(record("ok"))
    assert formatter.format(record("bad", level=logging.ERROR)).startswith("\033[31m[E ")
    assert "\033" not in log.LogFormatter(color=False).format(record("plain"))


def test_no_color_and_a_dumb_terminal_turn_colour_off(monkeypatch: pytest.MonkeyPatch) -> None:
    colour_terminal(monkeypatch)
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033" not in log.LogFormatter().format(record("x"))
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert "\033" not in log.LogFormatter().format(record("x"))


def test_formatter_indents_tracebacks_and_continuation_lines() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        lines = log.LogFormatter().format(record("two\nlines", level=logging.ERROR, exc_info=sys.exc_info())).split("\n")
    assert lines[0].endswith("] two")
    assert lines[1] == "    lines"
    assert lines[2] == "    Traceback (most recent call last):"
    assert lines[-1] == "    ValueError: bad"


def test_formatter_time_is_logging_s_whatever_the_second_format_and_converter() -> None:
    formatter = log.LogFormatter(color=False)
    plain = logging.Formatter()

    def record_at(created: float) -> logging.LogRecord:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", None, None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        return record

    moments = [1_700_000_000.25, 1_700_000_000.75, 1_700_000_001.5, 1_700_003_600.0, 1_700_000_000.25]
    for datefmt in (None, "%y%m%d %H:%M:%S", "%H"):
        for created in moments:
            assert formatter.formatTime(record_at(created), datefmt) == plain.formatTime(record_at(created), datefmt)
    formatter.converter = plain.converter = time.gmtime  # type: ignore[method-assign, assignment]
    for created in moments:
        assert formatter.formatTime(record_at(created)) == plain.formatTime(record_at(created))
    assert formatter.format(record_at(1_700_000_000.5)).startswith("[I 231114 22:13:20 ")


def test_formatter_survives_a_bad_log_call() -> None:
    line = log.LogFormatter().format(record("%d things", "not a number"))
    assert "Bad message" in line


def test_formatter_takes_a_format_and_a_style() -> None:
    formatter = log.LogFormatter(fmt="{levelname}|{name}|{message}", style="{", datefmt="%H")
    assert formatter.format(record("hi")) == "INFO|tests.pretty|hi"


# -- define_logging_options and enable_pretty_logging ------------------------------------------


LOGGING_OPTIONS = {
    "logging", "log_to_stderr", "log_file_prefix", "log_file_max_size", "log_file_num_backups",
    "log_rotate_when", "log_rotate_interval", "log_rotate_mode",
}  # fmt: skip


def logging_parser(*args: str) -> OptionParser:
    parser = OptionParser()
    log.define_logging_options(parser)
    parser.parse_command_line(["prog", *args], final=False)
    return parser


@pytest.fixture
def target() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tests.enable_pretty_logging")
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.NOTSET)


def test_define_logging_options_defines_tornados_options_with_its_defaults() -> None:
    parser = logging_parser()
    assert LOGGING_OPTIONS <= set(parser)
    assert parser.logging == "info" and parser.log_to_stderr is None and parser.log_file_prefix is None
    assert (parser.log_file_max_size, parser.log_file_num_backups) == (100_000_000, 10)
    assert (parser.log_rotate_mode, parser.log_rotate_when, parser.log_rotate_interval) == ("size", "midnight", 1)


def test_enable_pretty_logging_sets_the_level_and_a_stderr_handler(target: logging.Logger) -> None:
    log.enable_pretty_logging(logging_parser("--logging=debug"), logger=target)
    assert target.level == logging.DEBUG
    [handler] = target.handlers
    assert isinstance(handler, logging.StreamHandler) and isinstance(handler.formatter, log.LogFormatter)


def test_a_logger_with_handlers_gets_stderr_only_when_asked(target: logging.Logger) -> None:
    existing = logging.NullHandler()
    target.addHandler(existing)
    log.enable_pretty_logging(logging_parser("--logging=warning"), logger=target)
    assert target.handlers == [existing] and target.level == logging.WARNING
    log.enable_pretty_logging(logging_parser("--log_to_stderr"), logger=target)
    assert len(target.handlers) == 2


def test_logging_none_leaves_logging_alone(target: logging.Logger) -> None:
    log.enable_pretty_logging(logging_parser("--logging=none"), logger=target)
    assert target.handlers == [] and target.level == logging.NOTSET


def test_an_unknown_level_is_an_error(target: logging.Logger) -> None:
    with pytest.raises(ValueError, match="--logging must be one of"):
        log.enable_pretty_logging(logging_parser("--logging=verbose"), logger=target)


def test_log_file_prefix_writes_plain_lines_to_a_rotating_file(target: logging.Logger, tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    log.enable_pretty_logging(logging_parser(f"--log_file_prefix={path}", "--log_file_max_size=1000"), logger=target)
    [handler] = target.handlers  # a file alone: no stderr unless --log_to_stderr
    assert isinstance(handler, logging.handlers.RotatingFileHandler) and handler.maxBytes == 1000
    target.info("to the file")
    handler.flush()
    assert re.fullmatch(r"\[I \d{6} \d\d:\d\d:\d\d test_log:\d+\] to the file\n", path.read_text())


def test_log_rotate_mode_time_and_a_bad_mode(target: logging.Logger, tmp_path: Path) -> None:
    prefix = f"--log_file_prefix={tmp_path / 'app.log'}"
    log.enable_pretty_logging(
        logging_parser(prefix, "--log_rotate_mode=time", "--log_rotate_when=H", "--log_rotate_interval=2"), logger=target
    )
    [handler] = target.handlers
    assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
    assert (handler.when, handler.interval) == ("H", 2 * 3600)
    with pytest.raises(ValueError, match="log_rotate_mode"):
        log.enable_pretty_logging(logging_parser(prefix, "--log_rotate_mode=daily"), logger=target)


def test_the_parse_callback_configures_the_root_logger(restore_root: None) -> None:
    root = logging.getLogger()
    root.handlers[:] = []  # a program that has not configured logging yet
    parser = OptionParser()
    log.define_logging_options(parser)
    parser.parse_command_line(["prog", "--logging=error"])
    assert root.level == logging.ERROR
    assert [type(h.formatter) for h in root.handlers] == [log.LogFormatter]


def test_a_queued_record_keeps_its_message_and_traceback_as_they_were(restore_root: None) -> None:
    gate = threading.Event()
    seen: list[logging.LogRecord] = []

    class Keeping(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            gate.wait(10)
            seen.append(record)

    background = log.log_in_background(Keeping())
    items = ["first"]
    log.app_log.info("items: %s", items)
    items.append("changed after the call")  # the writer runs later: the line must not see it
    try:
        raise ValueError("boom")
    except ValueError:
        log.app_log.exception("failed")
    gate.set()
    background.stop()
    assert [r.getMessage() for r in seen] == ["items: ['first']", "failed"]
    assert seen[1].exc_text is not None and "ValueError: boom" in seen[1].exc_text
    assert "ValueError: boom" in logging.Formatter().format(seen[1])


class GatedStream(io.StringIO):
    """A stream whose first write waits on ``gate`` (a collector slow to read); counts its writes."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        self.gate.wait(10)
        return super().write(text)


def test_a_stream_gets_what_gathered_meanwhile_in_one_write(restore_root: None) -> None:
    gate = threading.Event()
    stream = GatedStream(gate)
    handler = logging.StreamHandler(stream)
    background = log.log_in_background(handler)
    log.access_log.info("first")
    deadline = time.monotonic() + 10
    while not stream.writes and time.monotonic() < deadline:  # the writer is inside its first write
        time.sleep(0.001)
    for n in range(200):
        log.access_log.info("request %d", n)
    gate.set()
    background.stop()
    assert stream.getvalue().splitlines() == ["first"] + [f"request {n}" for n in range(200)]
    assert stream.writes <= 3  # the first, then the 200 together (at most split once by timing)


def test_a_record_that_cannot_be_formatted_is_reported_and_the_rest_written(
    restore_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(missing)s"))
    handler.addFilter(lambda record: record.getMessage() != "filtered")
    plain = logging.StreamHandler(io.StringIO())
    plain.setLevel(logging.WARNING)
    background = log.log_in_background(handler, plain)
    log.app_log.warning("kept", extra={"missing": "here"})
    log.app_log.warning("broken")  # no 'missing' field: the formatter raises
    log.app_log.warning("filtered", extra={"missing": "here"})
    log.app_log.info("quiet", extra={"missing": "too"})
    background.stop()
    assert stream.getvalue().splitlines() == ["kept here", "quiet too"]
    assert "--- Logging error ---" in capsys.readouterr().err
    assert plain.stream.getvalue().splitlines() == ["kept", "broken", "filtered"]


def test_a_line_the_stream_cannot_encode_loses_only_itself(restore_root: None, capsys: pytest.CaptureFixture[str]) -> None:
    gate = threading.Event()
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    handler = logging.StreamHandler(stream)
    hold = Collecting(gate)  # holds the writer until every line is queued: one batch
    background = log.log_in_background(hold, handler)
    log.app_log.info("held")
    for n in range(5):
        log.app_log.info("good %d", n)
    log.app_log.info("caf\u00e9")  # not ASCII: this stream refuses it
    log.app_log.info("last")
    gate.set()
    background.stop()
    assert raw.getvalue().decode().splitlines() == ["held", "good 0", "good 1", "good 2", "good 3", "good 4", "last"]
    assert "Message: 'caf\u00e9'" in capsys.readouterr().err


def test_the_drop_notice_respects_each_handler_s_level(restore_root: None) -> None:
    gate = threading.Event()
    stalled = Collecting(gate)
    errors_only = Collecting()
    errors_only.setLevel(logging.ERROR)
    background = log.log_in_background(stalled, errors_only, max_queued=2)
    for n in range(50):
        log.app_log.info("line %d", n)
    gate.set()
    background.stop()
    assert any("log records dropped" in m for m in stalled.messages)
    assert errors_only.messages == []


def test_a_handler_that_raises_is_reported_and_the_writer_goes_on(restore_root: None, capsys: pytest.CaptureFixture[str]) -> None:
    class Failing(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:  # (no handleError of its own: raises out of handle)
            raise RuntimeError("disk gone")

    class Refusing(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            raise ValueError("filter broke")

    failing, refusing, sink = Failing(), Collecting(), Collecting()
    refusing.addFilter(Refusing())
    background = log.log_in_background(failing, refusing, sink)
    log.app_log.info("one")
    deadline = time.monotonic() + 10
    while not sink.messages and time.monotonic() < deadline:
        time.sleep(0.005)
    log.app_log.info("two")  # the writer survived the first batch
    background.stop()
    assert sink.messages == ["one", "two"]
    err = capsys.readouterr().err
    assert "RuntimeError: disk gone" in err and "ValueError: filter broke" in err


def test_max_queued_zero_is_unbounded(restore_root: None) -> None:
    gate = threading.Event()
    sink = Collecting(gate)
    background = log.log_in_background(sink, max_queued=0)
    for n in range(300):
        log.app_log.info("line %d", n)
    gate.set()
    background.stop()
    assert sink.messages == [f"line {n}" for n in range(300)]


def test_a_full_queue_is_written_without_the_pause(restore_root: None) -> None:
    sink = Collecting()
    background = log.log_in_background(sink, max_queued=20)
    for n in range(400):  # 40 lines per 20 ms: more than the queue holds over a whole pause
        log.app_log.info("line %d", n)
        if n % 8 == 7:
            time.sleep(0.004)
    background.stop()
    assert [m for m in sink.messages if "dropped" in m] == []
    assert len(sink.messages) == 400


def test_lines_still_queued_at_exit_are_written_without_stop(tmp_path: Path) -> None:
    script = tmp_path / "exits.py"
    script.write_text(
        "import logging, sys\n"
        "from framework import log\n"
        "log.log_in_background(logging.StreamHandler(sys.stdout))\n"
        "log.app_log.info('first')\n"
        "log.app_log.info('last, just before exit')\n"
    )
    root = Path(log.__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30, cwd=root, env={"PYTHONPATH": str(root)}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["first", "last, just before exit"]

"""Tests for framework.options (mirrors tornado.options).

Every test builds its own ``OptionParser``: the global ``options`` belongs to
programs, and sharing it would make tests depend on each other.
"""

from __future__ import annotations

import datetime
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import framework.options
from framework.options import Error, OptionParser

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def parser() -> OptionParser:
    return OptionParser()


# -- define and access ---------------------------------------------------------


def test_default_and_attribute_and_item_access(parser: OptionParser) -> None:
    parser.define("port", default=8000, help="listen port")
    assert parser.port == 8000
    assert parser["port"] == 8000
    assert "port" in parser
    assert "nope" not in parser


def test_dashes_and_underscores_are_one_name(parser: OptionParser) -> None:
    parser.define("log_file_prefix", default="a")
    parser.parse_command_line(["prog", "--log-file-prefix=b"])
    assert parser.log_file_prefix == "b"
    assert parser["log-file-prefix"] == "b"
    assert "log_file_prefix" in parser


def test_set_by_attribute_and_item(parser: OptionParser) -> None:
    parser.define("port", default=1)
    parser.port = 2
    assert parser.port == 2
    parser["port"] = 3
    assert parser.port == 3


def test_set_wrong_type_is_an_error(parser: OptionParser) -> None:
    parser.define("port", default=1)
    with pytest.raises(Error, match="'port'.*int.*'80' given"):
        parser.port = "80"
    with pytest.raises(Error):
        parser.port = True


def test_unknown_attribute_is_attribute_error(parser: OptionParser) -> None:
    with pytest.raises(AttributeError, match="missing"):
        parser.missing
    with pytest.raises(AttributeError):
        parser.missing = 1


def test_mockable_lets_mock_patch_an_option_and_restores_it(parser: OptionParser) -> None:
    parser.define("port", default=8000)
    with mock.patch.object(parser.mockable(), "port", 9000):
        assert parser.port == 9000
    assert parser.port == 8000
    wrapper = parser.mockable()
    with mock.patch.object(wrapper, "port", 1):
        with mock.patch.object(wrapper, "port", 2):
            assert parser.port == 2
        assert parser.port == 1
    assert parser.port == 8000


def test_mockable_checks_the_type_and_unknown_names(parser: OptionParser) -> None:
    parser.define("port", default=8000)
    with pytest.raises(Error):
        with mock.patch.object(parser.mockable(), "port", "not a number"):
            pass
    assert parser.port == 8000
    with pytest.raises(AttributeError):
        with mock.patch.object(parser.mockable(), "nothing", 1):
            pass


def test_redefinition_names_both_files(parser: OptionParser) -> None:
    parser.define("port", default=1)
    with pytest.raises(Error) as info:
        parser.define("port", default=2)
    message = str(info.value)
    assert "'port' already defined in" in message
    assert message.count(__file__) == 2


def test_redefinition_across_spellings(parser: OptionParser) -> None:
    parser.define("log_level")
    with pytest.raises(Error, match="already defined"):
        parser.define("log-level")


def test_default_group_is_defining_file(parser: OptionParser) -> None:
    parser.define("a", default=1)
    parser.define("b", default=2, group="db")
    assert parser.groups() == {"", __file__, "db"}
    assert parser.group_dict("db") == {"b": 2}
    assert parser.group_dict(__file__) == {"a": 1}


def test_as_dict_and_iteration(parser: OptionParser) -> None:
    parser.define("a", default=1)
    parser.define("b_c", default="x")
    assert parser.as_dict() == {"help": None, "a": 1, "b_c": "x"}  # names as defined (Tornado's)
    assert sorted(parser) == ["a", "b_c", "help"]
    assert parser.group_dict("") == parser.as_dict()


def test_help_shows_dashes_but_introspection_keeps_names_as_defined(parser: OptionParser) -> None:
    parser.define("with-dash", group="g")
    parser.define("with_underscore", group="g")
    assert sorted(parser.group_dict("g")) == ["with-dash", "with_underscore"]
    assert parser["with-underscore"] is None and parser.with_dash is None
    out = io.StringIO()
    parser.print_help(out)
    assert "--with-dash" in out.getvalue() and "--with-underscore" in out.getvalue()


# -- command line --------------------------------------------------------------


def test_parse_types(parser: OptionParser) -> None:
    parser.define("port", default=8000)
    parser.define("ratio", type=float)
    parser.define("name", default="x")
    parser.define("when", type=datetime.datetime)
    parser.define("wait", type=datetime.timedelta)
    rest = parser.parse_command_line(
        ["prog", "--port=9000", "--ratio=0.5", "--name=a=b", "--when=2024-01-02 03:04",
         "--wait=1h30m"]
    )  # fmt: skip
    assert rest == []
    assert parser.port == 9000
    assert parser.ratio == 0.5
    assert parser.name == "a=b"
    assert parser.when == datetime.datetime(2024, 1, 2, 3, 4)
    assert parser.wait == datetime.timedelta(hours=1, minutes=30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5m", datetime.timedelta(minutes=5)),
        ("1h", datetime.timedelta(hours=1)),
        ("90", datetime.timedelta(seconds=90)),
        ("1.5s", datetime.timedelta(seconds=1.5)),
        ("250ms", datetime.timedelta(milliseconds=250)),
        ("2 days, 3 hours", datetime.timedelta(days=2, hours=3)),
        ("1w", datetime.timedelta(weeks=1)),
        ("-30s", datetime.timedelta(seconds=-30)),
    ],
)
def test_timedelta_formats(parser: OptionParser, text: str, expected: datetime.timedelta) -> None:
    parser.define("wait", type=datetime.timedelta)
    parser.parse_command_line(["prog", f"--wait={text}"])
    assert parser.wait == expected


@pytest.mark.parametrize("text", ["2024-01-02", "20240102", "2024-01-02T03:04:05", "Tue Jan 02 03:04:05 2024"])
def test_datetime_formats(parser: OptionParser, text: str) -> None:
    parser.define("when", type=datetime.datetime)
    parser.parse_command_line(["prog", f"--when={text}"])
    assert parser.when.date() == datetime.date(2024, 1, 2)


def test_bare_flag_sets_bool_true(parser: OptionParser) -> None:
    parser.define("debug", default=False)
    parser.parse_command_line(["prog", "--debug"])
    assert parser.debug is True


@pytest.mark.parametrize(("text", "value"), [("false", False), ("0", False), ("True", True)])
def test_bool_with_value(parser: OptionParser, text: str, value: bool) -> None:
    parser.define("debug", default=not value)
    parser.parse_command_line(["prog", f"--debug={text}"])
    assert parser.debug is value


def test_multiple_values_and_int_ranges(parser: OptionParser) -> None:
    parser.define("hosts", multiple=True)
    parser.define("ports", type=int, multiple=True)
    parser.parse_command_line(["prog", "--hosts=a,b", "--ports=1,3,5:7"])
    assert parser.hosts == ["a", "b"]
    assert parser.ports == [1, 3, 5, 6, 7]


def test_multiple_default_is_empty_list_and_type_inferred(parser: OptionParser) -> None:
    parser.define("names", multiple=True)
    parser.define("ports", default=[80], multiple=True)
    assert parser.names == []
    parser.parse_command_line(["prog", "--ports=81,82"])
    assert parser.ports == [81, 82]


def test_remaining_args_returned(parser: OptionParser) -> None:
    parser.define("port", default=1)
    assert parser.parse_command_line(["prog", "--port=2", "file.txt", "--port=3"]) == [
        "file.txt",
        "--port=3",
    ]
    assert parser.port == 2
    assert parser.parse_command_line(["prog", "--", "--port=4"]) == ["--port=4"]
    assert parser.port == 2


def test_unknown_option_is_error(parser: OptionParser) -> None:
    with pytest.raises(Error, match=r"^Unrecognized command line option: 'x'$"):
        parser.parse_command_line(["prog", "--x=1"])


def test_bad_value_names_option_value_and_type(parser: OptionParser) -> None:
    parser.define("port", default=8000)
    with pytest.raises(Error) as info:
        parser.parse_command_line(["prog", "--port=eighty"])
    assert str(info.value) == "Option 'port': cannot parse 'eighty' as int"


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (bool, "flase"),
        (float, "x"),
        (datetime.timedelta, "5 fortnights"),
        (datetime.timedelta, "soon"),
        (datetime.datetime, "yesterday"),
    ],
)
def test_bad_values_for_each_type(parser: OptionParser, kind: type, text: str) -> None:
    parser.define("opt", type=kind)
    with pytest.raises(Error, match=kind.__name__):
        parser.parse_command_line(["prog", f"--opt={text}"])


def test_bad_item_in_multiple(parser: OptionParser) -> None:
    parser.define("ports", type=int, multiple=True)
    with pytest.raises(Error, match="list of int"):
        parser.parse_command_line(["prog", "--ports=1,x"])


def test_non_bool_needs_a_value(parser: OptionParser) -> None:
    parser.define("port", default=1)
    with pytest.raises(Error, match="'port' requires a value"):
        parser.parse_command_line(["prog", "--port"])


def test_option_callback_and_parse_callbacks(parser: OptionParser) -> None:
    seen: list[Any] = []
    parser.define("port", default=1, callback=seen.append)
    parser.add_parse_callback(lambda: seen.append("parsed"))
    parser.parse_command_line(["prog", "--port=5"], final=False)
    assert seen == [5]
    parser.parse_command_line(["prog"])
    assert seen == [5, "parsed"]


# -- config file ---------------------------------------------------------------


def test_parse_config_file(parser: OptionParser, tmp_path: Path) -> None:
    parser.define("port", default=1)
    parser.define("log_level", default="info")
    parser.define("wait", type=datetime.timedelta)
    parser.define("hosts", multiple=True)
    config = tmp_path / "server.conf"
    config.write_text(
        "import os\nport = 80 + 8\nlog_level = 'debug'\nwait = '5m'\nhosts = ['a', 'b']\nunrelated = 1\nhere = __file__\n"
    )
    parser.parse_config_file(str(config))
    assert parser.port == 88
    assert parser.log_level == "debug"
    assert parser.wait == datetime.timedelta(minutes=5)
    assert parser.hosts == ["a", "b"]


def test_config_file_wrong_type(parser: OptionParser, tmp_path: Path) -> None:
    parser.define("port", default=1)
    config = tmp_path / "bad.conf"
    config.write_text("port = 1.5\n")
    with pytest.raises(Error, match="'port' is required to be int"):
        parser.parse_config_file(str(config))


def test_config_file_runs_parse_callbacks_only_when_final(parser: OptionParser, tmp_path: Path) -> None:
    calls: list[int] = []
    parser.add_parse_callback(lambda: calls.append(1))
    config = tmp_path / "c.conf"
    config.write_text("")
    parser.parse_config_file(str(config), final=False)
    assert calls == []
    parser.parse_config_file(str(config))
    assert calls == [1]


# -- help ----------------------------------------------------------------------


def test_help_prints_grouped_options_and_exits_zero(parser: OptionParser, capsys: pytest.CaptureFixture[str]) -> None:
    parser.define("port", default=8000, help="listen port")
    parser.define("db_host", default="localhost", help="database host", group="database")
    parser.define("debug", default=False, help="debug mode")
    with pytest.raises(SystemExit) as info:
        parser.parse_command_line(["prog", "--help"])
    assert info.value.code == 0
    err = capsys.readouterr().err
    assert err.startswith("Usage: ")
    assert "--help" in err and "show this help information" in err
    assert "database options:" in err
    assert f"{__file__} options:" in err
    assert "--port=INT" in err and "listen port (default 8000)" in err
    assert "--db-host=STR" in err
    assert "--debug " in err and "--debug=" not in err
    assert err.index("database options:") < err.index("--db-host")


def test_print_help_to_file_with_metavar_and_wrapping(parser: OptionParser) -> None:
    parser.define("secret", metavar="PATH", help="word " * 30)
    out = io.StringIO()
    parser.print_help(out)
    text = out.getvalue()
    assert "--secret=PATH" in text
    lines = [line for line in text.splitlines() if "word" in line]
    assert len(lines) > 1
    assert all(len(line) <= 80 for line in lines)


# -- module-level API ---------------------------------------------


def test_module_level_functions_use_global_options(tmp_path: Path) -> None:
    fresh = OptionParser()
    with mock.patch.object(framework.options, "options", fresh):
        framework.options.define("port", default=8000)
        assert framework.options.parse_command_line(["prog", "--port=1", "x"]) == ["x"]
        assert fresh.port == 1
        config = tmp_path / "c.conf"
        config.write_text("port = 2\n")
        framework.options.parse_config_file(str(config))
        assert fresh.port == 2
        out = io.StringIO()
        framework.options.print_help(out)
        assert "--port=INT" in out.getvalue()
        calls: list[int] = []
        framework.options.add_parse_callback(lambda: calls.append(1))
        framework.options.parse_command_line(["prog"])
        assert calls == [1]


def test_global_options_is_an_option_parser() -> None:
    assert isinstance(framework.options.options, OptionParser)


# -- logging set up by the global options, as in Tornado ------------------------


def test_global_options_define_the_logging_options_and_a_new_parser_does_not() -> None:
    names = {"logging", "log_to_stderr", "log_file_prefix", "log_file_max_size", "log_file_num_backups",
             "log_rotate_when", "log_rotate_interval", "log_rotate_mode"}  # fmt: skip
    assert names <= set(framework.options.options)
    assert framework.options.options.logging == "info"
    assert not names & set(OptionParser())


# A program as Tornado's docs write one: parse the command line, serve, log.
PROGRAM = """
import sys
import framework

framework.options.parse_command_line()

class Hello(framework.web.RequestHandler):
    def get(self):
        self.write("hi")

async def main():
    [sock] = framework.netutil.bind_sockets(0, "127.0.0.1")
    framework.httpserver.HTTPServer(framework.web.Application([(r"/", Hello)])).add_sockets([sock])
    url = "http://127.0.0.1:%d/" % sock.getsockname()[1]
    response = await framework.httpclient.AsyncHTTPClient().fetch(url)
    framework.log.gen_log.debug("debug line")
    print(response.body.decode())

framework.ioloop.IOLoop.current().run_sync(main)
"""


def run_program(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, *args], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"
    return result


def test_parse_command_line_shows_the_access_log_on_stderr() -> None:
    stderr = run_program().stderr
    assert re.search(r"^\[I \d{6} \d\d:\d\d:\d\d application:\d+\] 200 GET / \(127\.0\.0\.1\)", stderr, re.MULTILINE), stderr
    assert "debug line" not in stderr


def test_logging_debug_is_accepted_and_shows_debug_lines() -> None:
    stderr = run_program("--logging=debug").stderr
    assert re.search(r"^\[D .*\] debug line$", stderr, re.MULTILINE), stderr


def test_logging_none_leaves_logging_unconfigured() -> None:
    assert run_program("--logging=none").stderr == ""


def test_log_file_prefix_sends_the_log_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    assert run_program(f"--log_file_prefix={path}").stderr == ""
    assert " 200 GET / (127.0.0.1)" in path.read_text()

"""Command-line and config-file options that any module may define.

Mirrors ``tornado.options``. A module calls ``define("port", default=8000)``
at import time; a program's ``main()`` calls ``parse_command_line()`` (and
perhaps ``parse_config_file()``) and then reads ``options.port``.

The global ``options`` defines Tornado's logging options, and a final
parse sets logging up from them (``framework.log.enable_pretty_logging``):
``--logging=debug`` works and the access log shows on stderr.

Only programs read options. Library modules in ``framework`` take their
configuration as arguments instead, so they stay usable with two different
configurations in one process (tests do exactly that).

Strategy: each option is an ``_Option`` record that knows how to parse text
into its type; ``OptionParser`` is a name -> ``_Option`` table with attribute
access on top. Names are normalised to dashes, so ``--log_file`` and
``--log-file`` are the same option and ``options.log_file`` reads it.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any, Final, TextIO

from framework.log import define_logging_options

__all__ = [
    "Error", "OptionParser", "add_parse_callback", "define", "options",
    "parse_command_line", "parse_config_file", "print_help",
]  # fmt: skip


class Error(Exception):
    """Raised for a bad definition, an unknown option or an unparsable value.

    Mirrors ``tornado.options.Error``.
    """


def _normalize(name: str) -> str:
    """Map ``log_file`` and ``log-file`` to one key, so both spellings work."""
    return name.replace("_", "-")


# -- value parsing -------------------------------------------------------------

_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "off", "0"})

# Tried after ISO 8601 (which covers "2024-01-02", "2024-01-02T03:04" etc.).
_DATETIME_FORMATS = (
    "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M", "%H:%M:%S", "%H:%M", "%a %b %d %H:%M:%S %Y",
)  # fmt: skip

# Unit words accepted in timedeltas, by the timedelta keyword they mean.
_TIMEDELTA_UNITS = {
    word: unit
    for unit, words in [
        ("weeks", "w wk wks week weeks"),
        ("days", "d day days"),
        ("hours", "h hr hrs hour hours"),
        ("minutes", "m min mins minute minutes"),
        ("seconds", "s sec secs second seconds"),
        ("milliseconds", "ms millisecond milliseconds"),
        ("microseconds", "us microsecond microseconds"),
    ]
    for word in words.split()
}
_TIMEDELTA_PART = re.compile(r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)\s*([a-z]*)\s*,?", re.I)


def _parse_bool(text: str) -> bool:
    """Accept the usual spellings of true and false, and nothing else.

    Tornado treats any word but ``false``/``0``/``f`` as true; here a typo
    such as ``--debug=flase`` is an error rather than silently true.
    """
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(text)


def _parse_datetime(text: str) -> datetime.datetime:
    """Parse ISO 8601 first, then the formats Tornado documents."""
    try:
        return datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        pass
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(text)


def _parse_timedelta(text: str) -> datetime.timedelta:
    """Parse ``90``, ``5m``, ``1h30m``, ``2 days, 3 hours``; bare numbers are seconds."""
    total = datetime.timedelta()
    position = 0
    stripped = text.strip()
    if not stripped:
        raise ValueError(text)
    while position < len(stripped):
        match = _TIMEDELTA_PART.match(stripped, position)
        if match is None or match.end() == position:
            raise ValueError(text)
        unit = _TIMEDELTA_UNITS.get(match.group(2).lower() or "s")
        if unit is None:
            raise ValueError(text)
        total += datetime.timedelta(**{unit: float(match.group(1))})
        position = match.end()
    return total


# Text parsers for types whose constructor does not parse text the way a
# command line needs (bool("false") is True); other types are called as-is.
_PARSERS: dict[type, Callable[[str], Any]] = {
    bool: _parse_bool, datetime.datetime: _parse_datetime,
    datetime.timedelta: _parse_timedelta,
}  # fmt: skip


_UNSET: Final = object()


@dataclasses.dataclass(eq=False, kw_only=True)
class _Option:
    """One defined option: its metadata, its parser, and its current value."""

    name: str
    default: Any
    type: type
    help: str | None
    metavar: str | None
    multiple: bool
    file_name: str
    group_name: str
    callback: Callable[[Any], None] | None
    _value: Any = _UNSET

    def __post_init__(self) -> None:
        if self.default is None and self.multiple:
            self.default = []

    def value(self) -> Any:
        """Return the value set by parsing, or the default if none was."""
        return self.default if self._value is _UNSET else self._value

    def parse(self, text: str) -> Any:
        """Parse command-line ``text`` into the option's type and store it.

        Raises:
            Error: Bad ``text``; the message names option, value and type.
        """
        try:
            if self.multiple:
                value: Any = self._parse_list(text)
            else:
                value = _PARSERS.get(self.type, self.type)(text)
        except (ValueError, TypeError, OverflowError):
            raise Error(f"Option {self.name!r}: cannot parse {text!r} as {self._type_description()}") from None
        self._store(value)
        return value

    def set(self, value: Any) -> None:
        """Store an already-typed ``value`` (from code or a config file).

        Raises:
            Error: ``value``, or an item of a ``multiple`` list, has the wrong type.
        """
        if self.multiple:
            ok = isinstance(value, list) and all(self._fits(v) for v in value)
        else:
            ok = value is None or self._fits(value)
        if not ok:
            raise Error(f"Option {self.name!r} is required to be {self._type_description()} ({value!r} given)")
        self._store(value)

    def _fits(self, value: object) -> bool:
        """Type check for ``set``: ints pass as floats, bools never pass as ints."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return True
        if self.type is int and isinstance(value, bool):
            return False
        return isinstance(value, self.type)

    def _parse_list(self, text: str) -> list[Any]:
        """Parse a comma list; for ints, ``lo:hi`` expands inclusively."""
        items: list[Any] = []
        for part in text.split(","):
            if self.type is int and ":" in part:
                low, high = part.split(":", 1)
                items.extend(range(int(low), int(high) + 1))
            elif part.strip():
                items.append(_PARSERS.get(self.type, self.type)(part.strip()))
        return items

    def _store(self, value: Any) -> None:
        """Record ``value`` and tell the option's callback, if any."""
        self._value = value
        if self.callback is not None:
            self.callback(value)

    def _type_description(self) -> str:
        """Describe the expected type for error messages."""
        kind = self.type.__name__
        return f"a list of {kind}" if self.multiple else kind

    def usage_name(self) -> str:
        """Return ``name`` or ``name=METAVAR`` as shown in ``--help``."""
        if self.metavar:
            return f"{_normalize(self.name)}={self.metavar}"
        if self.type is bool and not self.multiple:
            return _normalize(self.name)
        return f"{_normalize(self.name)}={self.type.__name__.upper()}"


def _defining_file() -> str:
    """Return the file of the nearest caller outside this module."""
    here = _defining_file.__code__.co_filename
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename == here:
        frame = frame.f_back
    return "" if frame.f_code.co_filename == here else frame.f_code.co_filename


class OptionParser:
    """A table of defined options with attribute and item access.

    Mirrors ``tornado.options.OptionParser``. The module-level ``options``
    is the shared instance; tests and embedded programs can make their own.
    A ``--help`` option is always defined; it prints help and exits.
    """

    _options: dict[str, _Option]
    _parse_callbacks: list[Callable[[], None]]

    def __init__(self) -> None:
        # Plain attributes go through object.__setattr__ because our own
        # __setattr__ is reserved for option values.
        object.__setattr__(self, "_options", {})
        object.__setattr__(self, "_parse_callbacks", [])
        # "help" belongs to no file, so --help lists it first, unheaded.
        self._options["help"] = _Option(
            name="help", default=None, type=bool, help="show this help information",
            metavar=None, multiple=False, file_name="", group_name="",
            callback=self._help_callback,
        )  # fmt: skip

    # -- defining ---------------------------------------------------------

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
        """Define a new option.

        Mirrors ``tornado.options.OptionParser.define``. If ``type`` is not
        given it is inferred from ``default`` (for ``multiple``, from the
        default list's first item; Tornado falls back to ``str`` there),
        else it is ``str``.

        Args:
            name: Option name; ``_`` and ``-`` are interchangeable.
            default: Value when the option is not given.
            type: ``str``, ``int``, ``float``, ``bool``, ``datetime.datetime``,
                ``datetime.timedelta`` or any callable taking a string.
            help: One-line description for ``--help``.
            metavar: Placeholder for the value in ``--help``.
            multiple: Accept a comma-separated list; the value is a list.
            group: Heading in ``--help``; defaults to the defining file.
            callback: Called with the new value whenever it is set.

        Raises:
            Error: An option with this name already exists; the message
                names both defining files.
        """
        key = _normalize(name)
        file_name = _defining_file()
        existing = self._options.get(key)
        if existing is not None:
            raise Error(f"Option {key!r} already defined in {existing.file_name or '?'}; redefined in {file_name or '?'}")
        self._options[key] = _Option(
            name=name, default=default, type=type or _infer_type(default, multiple),
            help=help, metavar=metavar, multiple=multiple, file_name=file_name,
            group_name=group or file_name, callback=callback,
        )  # fmt: skip

    # -- access -----------------------------------------------------------

    def _option(self, name: str) -> _Option:
        """Look an option up by either spelling of its name."""
        try:
            return self._options[_normalize(name)]
        except KeyError:
            raise AttributeError(f"Unrecognized option {name!r}") from None

    def __getattr__(self, name: str) -> Any:
        return self._option(name).value()

    def __setattr__(self, name: str, value: Any) -> None:
        self._option(name).set(value)

    def __getitem__(self, name: str) -> Any:
        return self._option(name).value()

    def __setitem__(self, name: str, value: Any) -> None:
        self._option(name).set(value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _normalize(name) in self._options

    def __iter__(self) -> Iterator[str]:
        return (opt.name for opt in self._options.values())

    def items(self) -> list[tuple[str, Any]]:
        """Return ``(name, value)`` pairs for every option."""
        return [(opt.name, opt.value()) for opt in self._options.values()]

    def as_dict(self) -> dict[str, Any]:
        """Return every option's value by name; mirrors Tornado's ``as_dict``."""
        return dict(self.items())

    def groups(self) -> set[str]:
        """Return the set of group names; mirrors Tornado's ``groups``."""
        return {opt.group_name for opt in self._options.values()}

    def group_dict(self, group: str) -> dict[str, Any]:
        """Return the values of one group by name (all options if ``group`` is empty).

        Mirrors ``tornado.options.OptionParser.group_dict``; handy for
        ``Application(**options.group_dict("application"))``.
        """
        return {opt.name: opt.value() for opt in self._options.values() if not group or opt.group_name == group}

    # -- parsing ----------------------------------------------------------

    def parse_command_line(self, args: list[str] | None = None, final: bool = True) -> list[str]:
        """Set options from ``--name=value`` and bare ``--flag`` arguments.

        Mirrors ``tornado.options.OptionParser.parse_command_line``. ``args``
        defaults to ``sys.argv`` and its first item (the program) is skipped.
        Parsing stops at the first argument without a leading ``-`` or after
        ``--``. A bare ``--name`` is only allowed for ``bool`` options.

        Args:
            args: Argument list including the program name.
            final: Run the parse callbacks afterwards; ``False`` when a config
                file will be parsed next.

        Returns:
            The arguments left after the options.

        Raises:
            Error: An unknown option, a missing value or a bad value.
        """
        argv = sys.argv if args is None else args
        remaining: list[str] = []
        for index in range(1, len(argv)):
            arg = argv[index]
            if not arg.startswith("-") or arg == "-":
                remaining = argv[index:]
                break
            if arg == "--":
                remaining = argv[index + 1 :]
                break
            self._parse_argument(arg.lstrip("-"))
        if final:
            self.run_parse_callbacks()
        return remaining

    def _parse_argument(self, body: str) -> None:
        """Handle one ``name[=value]`` argument with its dashes removed."""
        name, has_value, text = body.partition("=")
        key = _normalize(name)
        option = self._options.get(key)
        if option is None:
            raise Error(f"Unrecognized command line option: {key!r}")
        if not has_value:
            if option.type is not bool or option.multiple:
                raise Error(f"Option {key!r} requires a value (--{key}=...)")
            text = "true"
        option.parse(text)

    def parse_config_file(self, path: str, final: bool = True) -> None:
        """Set options from a Python file's top-level names.

        Mirrors ``tornado.options.OptionParser.parse_config_file``. The file
        is executed as Python, so only trusted files may be given. Names that
        are not options are ignored; a string given for a non-string option
        is parsed as on the command line.

        Raises:
            Error: A value has the wrong type or does not parse.
            OSError: The file cannot be read.
        """
        namespace: dict[str, Any] = {"__file__": os.path.abspath(path)}
        with open(path, "rb") as config_file:
            code = compile(config_file.read(), path, "exec")
        exec(code, namespace, namespace)
        for name, value in namespace.items():
            option = self._options.get(_normalize(name))
            if option is None:
                continue
            if isinstance(value, str) and (option.type is not str or option.multiple):
                option.parse(value)
            else:
                option.set(value)
        if final:
            self.run_parse_callbacks()

    def add_parse_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after a final parse; mirrors Tornado's method."""
        self._parse_callbacks.append(callback)

    def run_parse_callbacks(self) -> None:
        """Run every parse callback, in the order they were added."""
        for callback in list(self._parse_callbacks):
            callback()

    def mockable(self) -> _Mockable:
        """A stand-in for this table that ``unittest.mock.patch.object`` can patch (Tornado's ``mockable``).

        ``mock.patch.object`` cannot patch ``options`` itself (its attributes
        are looked up by ``__getattr__``); through this wrapper it can::

            with mock.patch.object(options.mockable(), "port", 9000):
                assert options.port == 9000

        Values set through it are checked like any other; the patch's end
        restores the value before it. Difference: nested patches of the same
        name through one wrapper unwind in order (Tornado refuses them).
        """
        return _Mockable(self)

    # -- help -------------------------------------------------------------

    def print_help(self, file: TextIO | None = None) -> None:
        """Print usage, with options grouped by ``group``, to stderr or ``file``.

        Mirrors ``tornado.options.OptionParser.print_help``; like Tornado it
        writes to ``sys.stderr`` by default.
        """
        out = sys.stderr if file is None else file
        program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "program"
        print(f"Usage: {program} [OPTIONS]", file=out)
        print("\nOptions:", file=out)
        by_name = sorted(self._options.values(), key=lambda o: o.name)
        for group in sorted(self.groups()):
            if group:
                print(f"\n{os.path.normpath(group)} options:", file=out)
            print(file=out)
            for option in (o for o in by_name if o.group_name == group):
                print(_help_lines(option), file=out)

    def _help_callback(self, value: object) -> None:
        """Print help and exit 0 when ``--help`` is given."""
        if value:
            self.print_help()
            sys.exit(0)


class _Mockable:
    """``OptionParser.mockable()``'s wrapper: setting an attribute sets the option, deleting it restores it."""

    def __init__(self, parser: OptionParser) -> None:
        object.__setattr__(self, "_parser", parser)
        object.__setattr__(self, "_saved", {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._saved.setdefault(name, []).append(getattr(self._parser, name))
        setattr(self._parser, name, value)

    def __delattr__(self, name: str) -> None:
        saved = self._saved.get(name)
        if not saved:
            raise AttributeError(name)
        setattr(self._parser, name, saved.pop())


def _help_lines(option: _Option) -> str:
    """Format one option for ``--help``: ``--name=TYPE`` then wrapped help."""
    description = option.help or ""
    if option.default is not None and option.default not in ("", []):
        description += f" (default {option.default})"
    prefix = f"  --{option.usage_name()}"
    lines = textwrap.wrap(description.strip(), 44) or [""]
    if len(prefix) > 34:
        lines.insert(0, "")
    out = [f"{prefix:<34} {lines[0]}".rstrip()]
    out.extend(f"{'':<34} {line}" for line in lines[1:])
    return "\n".join(out)


def _infer_type(default: object, multiple: bool) -> type:
    """Guess an option's type from its default, falling back to ``str``."""
    if multiple:
        if isinstance(default, (list, tuple)) and default:
            return type(default[0])
        return str
    return str if default is None else type(default)


options = OptionParser()
"""The process-wide options table; read it only from a program's ``main()``.

As in Tornado it comes with the logging options (``--logging``,
``--log_file_prefix``, ...; see ``framework.log.define_logging_options``),
and its final parse sets logging up with them (``enable_pretty_logging``).
A new ``OptionParser()`` has neither.
"""
define_logging_options(options)


def define(
    name: str, default: Any = None, type: type | None = None, help: str | None = None,
    metavar: str | None = None, multiple: bool = False, group: str | None = None,
    callback: Callable[[Any], None] | None = None,
) -> None:  # fmt: skip
    """Define an option on the global ``options``; see ``OptionParser.define``."""
    options.define(
        name, default=default, type=type, help=help, metavar=metavar,
        multiple=multiple, group=group, callback=callback,
    )  # fmt: skip


def parse_command_line(args: list[str] | None = None, final: bool = True) -> list[str]:
    """Parse the command line into the global ``options``; returns leftover args."""
    return options.parse_command_line(args, final=final)


def parse_config_file(path: str, final: bool = True) -> None:
    """Parse a Python config file into the global ``options``."""
    options.parse_config_file(path, final=final)


def print_help(file: TextIO | None = None) -> None:
    """Print help for the global ``options`` to stderr or ``file``."""
    options.print_help(file)


def add_parse_callback(callback: Callable[[], None]) -> None:
    """Run ``callback`` after the global ``options`` are finally parsed."""
    options.add_parse_callback(callback)

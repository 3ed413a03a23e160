"""Tornado's template language, read into a tree: the reader, the nodes and the parser.

Strategy: one pass over the text with a cursor (``_Reader``) that counts
newlines as it consumes, so every node remembers the template line it came
from; the code generator writes that line beside each Python line it emits,
which is how both parse errors and render-time errors name the file and line.
The parser recurses once per ``{% ... %}`` block that ``{% end %}`` closes;
a block knows the loop it sits in, so ``{% break %}`` outside a loop is a
parse error rather than a Python ``SyntaxError`` later.

Whitespace is filtered here, when a text node is made (Tornado filters at
code generation; the output is the same, and the tree stays plain data).
"""

from __future__ import annotations

import dataclasses
import re

__all__ = [
    "ApplyBlock",
    "ControlBlock",
    "Expression",
    "ExtendsBlock",
    "IncludeBlock",
    "IntermediateBlock",
    "NamedBlock",
    "Node",
    "ParseError",
    "ParsedFile",
    "Statement",
    "Text",
    "filter_whitespace",
    "parse",
]


class ParseError(Exception):
    """A template that cannot be compiled, with the file and line at fault.

    Mirrors ``tornado.template.ParseError(message, filename=None, lineno=0)``;
    ``str()`` reads ``"<message> at <filename>:<lineno>"`` as in Tornado.
    Difference: Python syntax errors inside ``{{ }}`` or ``{% %}`` are
    reported as a ``ParseError`` naming the template line too (Tornado lets
    the ``SyntaxError`` of its generated code through).
    """

    def __init__(self, message: str, filename: str | None = None, lineno: int = 0) -> None:
        super().__init__(message, filename, lineno)
        self.message = message
        self.filename = filename
        self.lineno = lineno

    def __str__(self) -> str:
        return f"{self.message} at {self.filename}:{self.lineno}"


WHITESPACE_MODES = ("all", "single", "oneline")

_BLANKS = re.compile(r"[\t ]+")
_SPACE_AROUND_NEWLINE = re.compile(r"\s*\n\s*")
_ANY_SPACE = re.compile(r"\s+")


def filter_whitespace(mode: str, text: str) -> str:
    """Transform the whitespace in ``text`` according to ``mode``.

    Mirrors ``tornado.template.filter_whitespace``: ``"all"`` keeps it as
    it is; ``"single"`` turns each run of whitespace into one character,
    a newline if the run held one; ``"oneline"`` turns every run, newlines
    included, into one space.

    Raises:
        ValueError: an unknown mode (Tornado raises a plain ``Exception``;
            ``ValueError`` is one).
    """
    if mode == "all":
        return text
    if mode == "single":
        return _SPACE_AROUND_NEWLINE.sub("\n", _BLANKS.sub(" ", text))
    if mode == "oneline":
        return _ANY_SPACE.sub(" ", text)
    raise ValueError(f"invalid whitespace mode {mode}")


# -- the tree ------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Text:
    """Literal output (already whitespace-filtered)."""

    value: str
    line: int


@dataclasses.dataclass(slots=True)
class Expression:
    """``{{ expr }}``, ``{% raw expr %}`` (``raw``) or ``{% module expr %}``."""

    expression: str
    line: int
    raw: bool = False


@dataclasses.dataclass(slots=True)
class Statement:
    """One Python statement: ``set``, ``import``, ``from``, ``break``, ``continue``."""

    statement: str
    line: int


@dataclasses.dataclass(slots=True)
class ControlBlock:
    """``if``/``for``/``while``/``try``: the statement, then its indented body."""

    statement: str
    line: int
    body: list[Node]


@dataclasses.dataclass(slots=True)
class IntermediateBlock:
    """``elif``/``else``/``except``/``finally`` inside a control block."""

    statement: str
    line: int


@dataclasses.dataclass(slots=True)
class ApplyBlock:
    """``{% apply fn %}``: the body's output is passed through ``fn``."""

    method: str
    line: int
    body: list[Node]


@dataclasses.dataclass(slots=True)
class NamedBlock:
    """``{% block name %}``: a part a child template may replace."""

    name: str
    line: int
    body: list[Node]


@dataclasses.dataclass(slots=True)
class ExtendsBlock:
    """``{% extends "base.html" %}``."""

    name: str
    line: int


@dataclasses.dataclass(slots=True)
class IncludeBlock:
    """``{% include "part.html" %}``, resolved relative to ``parent``."""

    name: str
    line: int
    parent: str


Node = Text | Expression | Statement | ControlBlock | IntermediateBlock | ApplyBlock | NamedBlock | ExtendsBlock | IncludeBlock


@dataclasses.dataclass(slots=True)
class ParsedFile:
    """One template file: its name, the autoescape function in force, the nodes."""

    name: str
    autoescape: str | None
    body: list[Node]


# -- the reader ----------------------------------------------------------------


class _Reader:
    """A cursor over the template text that counts lines as it consumes."""

    def __init__(self, name: str, text: str, whitespace: str) -> None:
        self.name = name
        self.text = text
        self.whitespace = whitespace
        self.line = 1
        self.pos = 0

    def find(self, needle: str, start: int = 0) -> int:
        """Offset of ``needle`` from the cursor (searching from ``start``), or -1."""
        index = self.text.find(needle, self.pos + start)
        return -1 if index == -1 else index - self.pos

    def consume(self, count: int | None = None) -> str:
        """Take ``count`` characters (all that remain if None) past the cursor."""
        end = len(self.text) if count is None else self.pos + count
        taken = self.text[self.pos : end]
        self.line += taken.count("\n")
        self.pos = end
        return taken

    def remaining(self) -> int:
        return len(self.text) - self.pos

    def char(self, offset: int) -> str:
        """The character ``offset`` past the cursor ('' past the end)."""
        return self.text[self.pos + offset : self.pos + offset + 1]

    def error(self, message: str, line: int | None = None) -> ParseError:
        return ParseError(message, self.name, self.line if line is None else line)


# -- the parser ----------------------------------------------------------------

# Which block each intermediate tag may continue.
_INTERMEDIATE = {
    "else": ("if", "for", "while", "try"),
    "elif": ("if",),
    "except": ("try",),
    "finally": ("try",),
}
_BLOCKS = ("apply", "block", "try", "if", "for", "while")
_LOOPS = ("for", "while")


@dataclasses.dataclass(slots=True)
class _Open:
    """The block being parsed: its tag, the line it opened on, the loop it sits in."""

    operator: str | None
    line: int
    loop: str | None


def parse(text: str, name: str, *, whitespace: str, autoescape: str | None) -> ParsedFile:
    """Parse template ``text`` (called ``name`` in errors) into a ``ParsedFile``.

    Args:
        whitespace: the mode text starts in (``{% whitespace %}`` changes it).
        autoescape: the function name in force unless ``{% autoescape %}``
            sets another for this file.

    Raises:
        ParseError: a malformed or unbalanced tag, naming file and line.
    """
    parsed = ParsedFile(name, autoescape, [])
    reader = _Reader(name, text, whitespace)
    parsed.body = _parse_body(reader, parsed, _Open(None, 1, None))
    return parsed


def _parse_body(reader: _Reader, parsed: ParsedFile, block: _Open) -> list[Node]:
    """Nodes up to the ``{% end %}`` closing ``block`` (or the end of the text at top level)."""
    body: list[Node] = []
    while True:
        start = _next_tag(reader)
        if start == -1:
            if block.operator is not None:
                raise reader.error(f"Missing {{% end %}} block for {block.operator}", block.line)
            _append_text(body, reader, reader.consume())
            return body
        _append_text(body, reader, reader.consume(start))
        opener = reader.consume(2)
        line = reader.line
        if reader.char(0) == "!":  # {{! {%! {#! : the opener itself, literally
            reader.consume(1)
            _append_text(body, reader, opener)
        elif opener == "{#":
            _close(reader, "#}", "Missing end comment #}")
        elif opener == "{{":
            contents = _close(reader, "}}", "Missing end expression }}")
            if not contents:
                raise reader.error("Empty expression", line)
            body.append(Expression(contents, line))
        elif _parse_tag(reader, parsed, block, body, line):
            return body


def _next_tag(reader: _Reader) -> int:
    """Offset of the next ``{{``, ``{%`` or ``{#``, or -1.

    In ``{{{`` the first brace is text (so ``{{{ x }}}`` prints a brace
    around ``x``), as in Tornado.
    """
    curly = 0
    while True:
        curly = reader.find("{", curly)
        if curly == -1 or curly + 1 == reader.remaining():
            return -1
        if reader.char(curly + 1) not in ("{", "%", "#"):
            curly += 1
            continue
        if reader.char(curly + 1) == "{" and reader.char(curly + 2) == "{":
            curly += 1
            continue
        return curly


def _append_text(body: list[Node], reader: _Reader, value: str) -> None:
    """Add ``value``, just consumed, as text (``<pre>`` keeps its whitespace, as in Tornado)."""
    line = reader.line - value.count("\n")
    if "<pre>" not in value:
        value = filter_whitespace(reader.whitespace, value)
    if value:
        body.append(Text(value, line))


def _close(reader: _Reader, closer: str, missing: str) -> str:
    """The stripped contents up to ``closer``, which is consumed too."""
    end = reader.find(closer)
    if end == -1:
        raise reader.error(missing)
    contents = reader.consume(end).strip()
    reader.consume(len(closer))
    return contents


def _parse_tag(reader: _Reader, parsed: ParsedFile, block: _Open, body: list[Node], line: int) -> bool:
    """Parse one ``{% ... %}``; True if it was the ``{% end %}`` closing ``block``."""
    contents = _close(reader, "%}", "Missing end block %}")
    if not contents:
        raise reader.error("Empty block tag ({% %})", line)
    operator, _, suffix = contents.partition(" ")
    suffix = suffix.strip()
    if operator in _INTERMEDIATE:
        _check_intermediate(reader, operator, block, line)
        body.append(IntermediateBlock(contents, line))
    elif operator == "end":
        if block.operator is None:
            raise reader.error("Extra {% end %} block", line)
        return True
    elif operator in _BLOCKS:
        body.append(_parse_block(reader, parsed, operator, suffix, contents, line, block))
    elif operator in ("break", "continue"):
        if block.loop is None:
            raise reader.error(f"{operator} outside for/while block", line)
        body.append(Statement(contents, line))
    else:
        node = _parse_single(reader, parsed, operator, suffix, contents, line)
        if node is not None:
            body.append(node)
    return False


def _check_intermediate(reader: _Reader, operator: str, block: _Open, line: int) -> None:
    allowed = _INTERMEDIATE[operator]
    if block.operator is None:
        raise reader.error(f"{operator} outside {'/'.join(allowed)} block", line)
    if block.operator not in allowed:
        raise reader.error(f"{operator} block cannot be attached to {block.operator} block", line)


def _parse_block(reader: _Reader, parsed: ParsedFile, operator: str, suffix: str, contents: str, line: int, outer: _Open) -> Node:
    """A tag that opens a body closed by ``{% end %}``."""
    if operator in _LOOPS:
        loop: str | None = operator
    elif operator == "apply":
        loop = None  # the body is a nested function: break/continue cannot reach out
    else:
        loop = outer.loop
    if operator == "apply" and not suffix:
        raise reader.error("apply missing method name", line)
    if operator == "block" and not suffix:
        raise reader.error("block missing name", line)
    body = _parse_body(reader, parsed, _Open(operator, line, loop))
    if operator == "apply":
        return ApplyBlock(suffix, line, body)
    if operator == "block":
        return NamedBlock(suffix, line, body)
    return ControlBlock(contents, line, body)


def _parse_single(reader: _Reader, parsed: ParsedFile, operator: str, suffix: str, contents: str, line: int) -> Node | None:
    """A tag without a body; None when it only changes how the file is read."""
    if operator == "comment":
        return None
    if operator in ("extends", "include"):
        path = suffix.strip('"').strip("'")
        if not path:
            raise reader.error(f"{operator} missing file path", line)
        return ExtendsBlock(path, line) if operator == "extends" else IncludeBlock(path, line, reader.name)
    if operator in ("import", "from", "set"):
        if not suffix:
            raise reader.error(f"{operator} missing statement", line)
        return Statement(suffix if operator == "set" else contents, line)
    if operator == "autoescape":
        parsed.autoescape = None if suffix == "None" else suffix
        return None
    if operator == "whitespace":
        if suffix not in WHITESPACE_MODES:
            raise reader.error(f"invalid whitespace mode {suffix}", line)
        reader.whitespace = suffix
        return None
    if operator in ("raw", "module"):
        if not suffix:
            raise reader.error(f"{operator} missing expression", line)
        return Expression(suffix if operator == "raw" else "_tt_modules." + suffix, line, raw=True)
    raise reader.error(f"unknown operator: {operator!r}", line)

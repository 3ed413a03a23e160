"""Python source from a parsed Tornado-syntax template.

Strategy: a template becomes one function, ``_tt_execute()``, that appends
UTF-8 chunks to a list and joins them, the shape Tornado documents (names
starting ``_tt_`` are reserved for it). ``{% extends %}`` is resolved here,
at compile time: the root ancestor's body is generated, and each
``{% block %}`` in it is filled from the most derived file that defines it;
``{% include %}`` inlines the included file's body. A child template's
code therefore holds its whole chain, and rendering it never looks a parent
up again.

Every emitted line ends with a ``# file:line`` comment (``(via ...)`` when
included), and ``CodeWriter.origins`` keeps the same location per line, so
a ``SyntaxError`` while compiling, or any exception while rendering, is
mapped back to the template file and line.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Protocol

from framework.template.syntax import (
    ApplyBlock,
    ControlBlock,
    Expression,
    ExtendsBlock,
    IncludeBlock,
    IntermediateBlock,
    NamedBlock,
    Node,
    ParsedFile,
    ParseError,
    Statement,
    Text,
)

__all__ = ["CompiledSource", "Location", "SourceLoader", "generate_source"]


class _HasParsedFile(Protocol):
    @property
    def file(self) -> ParsedFile: ...


class SourceLoader(Protocol):
    """What code generation needs of a loader: parents and includes by name."""

    def load(self, name: str, parent_path: str | None = None) -> _HasParsedFile: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Location:
    """Where a generated line came from: file, line, and the include chain."""

    name: str
    line: int
    via: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        text = f"{self.name}:{self.line}"
        if self.via:
            text += " (via " + ", ".join(f"{name}:{line}" for name, line in self.via) + ")"
        return text


@dataclasses.dataclass(frozen=True, slots=True)
class CompiledSource:
    """The generated module and, per line (index = line number - 1), its origin."""

    code: str
    origins: tuple[Location, ...]

    def origin(self, lineno: int) -> Location | None:
        """The template location of generated line ``lineno`` (1-based)."""
        return self.origins[lineno - 1] if 0 < lineno <= len(self.origins) else None


class CodeWriter:
    """Indented Python lines, each tagged with its template location."""

    def __init__(
        self, named_blocks: dict[str, tuple[NamedBlock, ParsedFile]], loader: SourceLoader | None, current: ParsedFile
    ) -> None:
        self.named_blocks = named_blocks
        self.loader = loader
        self.current = current
        self.lines: list[str] = []
        self.origins: list[Location] = []
        self.depth = 0
        self.apply_counter = 0
        self._include_stack: list[tuple[ParsedFile, int]] = []

    def write(self, code: str, line: int, depth: int | None = None) -> None:
        via = tuple((parsed.name, at) for parsed, at in reversed(self._include_stack))
        location = Location(self.current.name, line, via)
        self.lines.append("    " * (self.depth if depth is None else depth) + code + "  # " + str(location))
        # An expression may span lines ({{ f(a,\n b) }}): each gets the location.
        self.origins.extend([location] * (code.count("\n") + 1))

    @contextlib.contextmanager
    def indent(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    @contextlib.contextmanager
    def inside(self, parsed: ParsedFile, line: int) -> Iterator[None]:
        """Generate another file's nodes (a block or an include) from ``line`` of this one."""
        self._include_stack.append((self.current, line))
        self.current = parsed
        try:
            yield
        finally:
            self.current = self._include_stack.pop()[0]


def generate_source(parsed: ParsedFile, loader: SourceLoader | None) -> CompiledSource:
    """The Python module for ``parsed``, its ancestors' blocks resolved.

    Raises:
        ParseError: ``{% extends %}`` or ``{% include %}`` without a loader.
    """
    ancestors = _ancestors(parsed, loader)
    named_blocks: dict[str, tuple[NamedBlock, ParsedFile]] = {}
    for ancestor in reversed(ancestors):  # root first: the most derived definition wins
        _find_named_blocks(ancestor, ancestor.body, loader, named_blocks)
    root = ancestors[-1]
    writer = CodeWriter(named_blocks, loader, root)
    writer.write("def _tt_execute():", 0)
    with writer.indent():
        writer.write("_tt_buffer = []", 0)
        writer.write("_tt_append = _tt_buffer.append", 0)
        _generate_body(root.body, writer)
        writer.write("return _tt_utf8('').join(_tt_buffer)", 0)
    return CompiledSource("\n".join(writer.lines) + "\n", tuple(writer.origins))


def _ancestors(parsed: ParsedFile, loader: SourceLoader | None) -> list[ParsedFile]:
    """``parsed`` followed by the files it extends, nearest first."""
    found = [parsed]
    for node in parsed.body:
        if isinstance(node, ExtendsBlock):
            parent = _require(loader, parsed, node.line, "extends").load(node.name, parsed.name)
            found.extend(_ancestors(parent.file, loader))
    return found


def _require(loader: SourceLoader | None, parsed: ParsedFile, line: int, operator: str) -> SourceLoader:
    if loader is None:
        raise ParseError(f"{{% {operator} %}} block found, but no template loader", parsed.name, line)
    return loader


def _find_named_blocks(
    parsed: ParsedFile, body: list[Node], loader: SourceLoader | None, found: dict[str, tuple[NamedBlock, ParsedFile]]
) -> None:
    for node in body:
        if isinstance(node, NamedBlock):
            found[node.name] = (node, parsed)
            _find_named_blocks(parsed, node.body, loader, found)
        elif isinstance(node, (ControlBlock, ApplyBlock)):
            _find_named_blocks(parsed, node.body, loader, found)
        elif isinstance(node, IncludeBlock):
            included = _require(loader, parsed, node.line, "include").load(node.name, node.parent).file
            _find_named_blocks(included, included.body, loader, found)


def _generate_body(body: list[Node], writer: CodeWriter) -> None:
    for node in body:
        _generate(node, writer)


def _generate(node: Node, writer: CodeWriter) -> None:
    match node:
        case Text(value, line):
            writer.write(f"_tt_append({value.encode('utf-8')!r})", line)
        case Expression():
            _generate_expression(node, writer)
        case Statement(statement, line):
            writer.write(statement, line)
        case ControlBlock(statement, line, body):
            writer.write(f"{statement}:", line)
            with writer.indent():
                _generate_body(body, writer)
                writer.write("pass", line)  # the body may be empty
        case IntermediateBlock(statement, line):
            writer.write("pass", line)
            writer.write(f"{statement}:", line, writer.depth - 1)
        case ApplyBlock():
            _generate_apply(node, writer)
        case NamedBlock(name, line):
            block, parsed = writer.named_blocks[name]
            with writer.inside(parsed, line):
                _generate_body(block.body, writer)
        case IncludeBlock(name, line, parent):
            included = _require(writer.loader, writer.current, line, "include").load(name, parent).file
            with writer.inside(included, line):
                _generate_body(included.body, writer)
        case ExtendsBlock():
            pass  # resolved in generate_source


def _generate_expression(node: Expression, writer: CodeWriter) -> None:
    line = node.line
    writer.write(f"_tt_tmp = {node.expression}", line)
    writer.write("if isinstance(_tt_tmp, _tt_string_types): _tt_tmp = _tt_utf8(_tt_tmp)", line)
    writer.write("else: _tt_tmp = _tt_utf8(str(_tt_tmp))", line)
    # The autoescape in force is that of the file the expression is written in.
    autoescape = writer.current.autoescape
    if not node.raw and autoescape is not None:
        writer.write(f"_tt_tmp = _tt_utf8({autoescape}(_tt_tmp))", line)
    writer.write("_tt_append(_tt_tmp)", line)


def _generate_apply(node: ApplyBlock, writer: CodeWriter) -> None:
    function = f"_tt_apply{writer.apply_counter}"
    writer.apply_counter += 1
    writer.write(f"def {function}():", node.line)
    with writer.indent():
        writer.write("_tt_buffer = []", node.line)
        writer.write("_tt_append = _tt_buffer.append", node.line)
        _generate_body(node.body, writer)
        writer.write("return _tt_utf8('').join(_tt_buffer)", node.line)
    writer.write(f"_tt_append(_tt_utf8({node.method}({function}())))", node.line)

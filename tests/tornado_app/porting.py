"""Run a Tornado program under ``framework``: ``tornado`` -> ``framework`` in its import statements only.

Strategy: the program's files (``app.py``, ``test_app.py``, templates, static
files) are a Tornado project as written for Tornado, and are never edited.
A meta path finder claims the modules that live in this directory, except the
harness itself (this file, ``conftest.py``, ``test_porting.py``), and its
loader compiles each one from its source with the module path of every
``import``/``from`` statement that starts with ``tornado`` renamed to
``framework``. Nothing else in the source changes, not even a string or a
comment that says "tornado": if the program ran, only its imports differed.

The rewrite works on tokens, not text, so it sees only real import
statements. ``import tornado.web`` followed by ``tornado.web.X`` in the body
cannot be ported by the imports alone (the name ``tornado`` would be unbound
after the rename), so the rewrite refuses it rather than half-porting it; the
program uses ``from tornado... import ...`` throughout, as much Tornado code
does.

Run the program itself the same way:
``python tests/tornado_app/porting.py app.py --port=8888``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import io
import runpy
import sys
import tokenize
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
HARNESS = frozenset({"porting", "conftest", "test_porting"})
OLD, NEW = "tornado", "framework"

# Tokens after which a new statement starts.
_STATEMENT_ENDS = frozenset({tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING})


def import_renames(source: str) -> list[tuple[int, int]]:
    """The (line, column) of every ``tornado`` that is the first name of a module path in an import.

    Raises:
        ValueError: a bare ``import tornado...`` without ``as``, which binds the
            name ``tornado`` for the body to use.
    """
    renames: list[tuple[int, int]] = []
    at_start = True
    state = ""  # "from", "from-names", "import" or "" outside an import statement
    expect_module = False  # the next NAME starts a module path
    bare_path_start: tokenize.TokenInfo | None = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NL, tokenize.COMMENT):
            continue
        if tok.type in _STATEMENT_ENDS or (tok.type == tokenize.OP and tok.string == ";"):
            _refuse_bare(bare_path_start)
            at_start, state, expect_module, bare_path_start = True, "", False, None
            continue
        if at_start and tok.type == tokenize.NAME and tok.string in ("from", "import"):
            state, expect_module = tok.string, True
        elif state == "from" and tok.type == tokenize.NAME and tok.string == "import":
            state = "from-names"
        elif state in ("from", "import") and expect_module:
            expect_module = False
            if tok.type == tokenize.NAME and tok.string == OLD:
                renames.append(tok.start)
                if state == "import":
                    bare_path_start = tok
        elif state == "import" and tok.type == tokenize.NAME and tok.string == "as":
            bare_path_start = None
        elif state == "import" and tok.type == tokenize.OP and tok.string == ",":
            _refuse_bare(bare_path_start)
            expect_module, bare_path_start = True, None
        at_start = False
    return renames


def _refuse_bare(token: tokenize.TokenInfo | None) -> None:
    if token is not None:
        raise ValueError(
            f"line {token.start[0]}: {token.line.strip()!r} binds the name {OLD!r}; "
            f"write 'from {OLD}... import ...' (or add 'as') so that renaming the import is the whole port"
        )


def rewrite_imports(source: str) -> str:
    """``source`` with ``tornado`` -> ``framework`` in the module paths of its import statements."""
    lines = source.splitlines(keepends=True)
    for row, col in reversed(import_renames(source)):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + NEW + line[col + len(OLD) :]
    return "".join(lines)


class _RewritingLoader(importlib.abc.SourceLoader):
    """Loads one module of the program from its rewritten source (no bytecode cache: never stale)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get_filename(self, fullname: str) -> str:
        return str(self.path)

    def get_data(self, path: str) -> bytes:
        return Path(path).read_bytes()

    def source_to_code(self, data: bytes, path: str, *, _optimize: int = -1) -> object:  # type: ignore[override]
        source = importlib.util.decode_source(data)
        return compile(rewrite_imports(source), path, "exec", dont_inherit=True)


class TornadoProgramFinder(importlib.abc.MetaPathFinder):
    """Finds the program's modules in ``directory``: top-level names (``import app``) or by path (pytest)."""

    def __init__(self, directory: Path = HERE) -> None:
        self.directory = directory.resolve()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        leaf = fullname.rpartition(".")[2]
        if leaf in HARNESS:
            return None
        if path is None:
            if "." in fullname:
                return None
        elif not any(Path(entry).resolve() == self.directory for entry in path if entry):
            return None
        candidate = self.directory / f"{leaf}.py"
        if not candidate.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, candidate, loader=_RewritingLoader(candidate))


def install(directory: Path = HERE) -> TornadoProgramFinder:
    """Put a finder for ``directory``'s program first on ``sys.meta_path`` (once) and return it."""
    for finder in sys.meta_path:
        if isinstance(finder, TornadoProgramFinder) and finder.directory == directory.resolve():
            return finder
    finder = TornadoProgramFinder(directory)
    sys.meta_path.insert(0, finder)
    return finder


def main(argv: list[str]) -> None:
    """``porting.py app.py ARGS...``: run the program's module as ``__main__`` with ``ARGS``."""
    if len(argv) < 2 or not argv[1].endswith(".py"):
        raise SystemExit("usage: porting.py PROGRAM.py [arguments...]")
    install()
    sys.argv = [str(HERE / argv[1]), *argv[2:]]
    runpy.run_module(Path(argv[1]).stem, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv)

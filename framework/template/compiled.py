"""``Template``: a Tornado-syntax template compiled to Python once, generated many times.

Strategy: the constructor parses, generates Python (``codegen``) and
compiles it; ``generate()`` only executes the compiled module in a fresh
namespace and calls its ``_tt_execute()``. Errors name the template file and
line: a ``SyntaxError`` in the generated code becomes a ``ParseError`` at
the template line it came from, and an exception while rendering keeps its
type (handlers may catch it) and gains a note (PEP 678, printed with the
traceback) such as ``in template page.html:3 (via base.html:7)``. The
generated module is given a ``__loader__`` with ``get_source``, so
tracebacks print the generated line with its ``# file:line`` comment.
"""

from __future__ import annotations

import datetime
import enum
import itertools
import types
from typing import Any, Protocol

from framework import escape
from framework.template.codegen import CompiledSource, SourceLoader, generate_source
from framework.template.syntax import WHITESPACE_MODES, ParseError, parse

__all__ = ["DEFAULT_AUTOESCAPE", "Template", "TemplateLoader"]


class TemplateLoader(SourceLoader, Protocol):
    """What a ``Template`` reads from the loader that made it (``loaders.BaseLoader`` has it all).

    Named here because ``loaders`` builds on this module (its loaders make
    ``Template``s): importing ``BaseLoader`` back, even only for type
    checking, would tie the two modules in a loop.
    """

    @property
    def autoescape(self) -> str | None:
        """The escaping function's name for ``{{ }}`` output, or None for none."""

    @property
    def namespace(self) -> dict[str, Any]:
        """Names every template of the loader sees."""

    @property
    def whitespace(self) -> str | None:
        """The whitespace mode, or None for the default by file name."""


DEFAULT_AUTOESCAPE = "xhtml_escape"
"""The function ``{{ }}`` output goes through unless told otherwise, as in Tornado."""


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET = _Unset.UNSET

# The names Tornado documents as present in every template.
_DEFAULT_NAMESPACE: dict[str, Any] = {
    "escape": escape.xhtml_escape,
    "xhtml_escape": escape.xhtml_escape,
    "url_escape": escape.url_escape,
    "json_encode": escape.json_encode,
    "squeeze": escape.squeeze,
    "linkify": escape.linkify,
    "datetime": datetime,
    "_tt_utf8": escape.utf8,
    "_tt_string_types": (str, bytes),
}

# Each compiled template gets its own file name, so that tracebacks (which
# cache source lines by file name) never show one template's code for another.
_serial = itertools.count()


class _GeneratedSource:
    """The ``__loader__`` of a generated module: gives tracebacks its source."""

    def __init__(self, code: str) -> None:
        self._code = code

    def get_source(self, name: str) -> str:
        return self._code


class Template:
    """A compiled template; ``generate(**kwargs)`` renders it to bytes.

    Mirrors ``tornado.template.Template(template_string, name="<string>",
    loader=None, compress_whitespace=..., autoescape=..., whitespace=None)``
    (positional parameters kept for that reason). ``whitespace`` defaults to
    the loader's, else ``"single"`` for names ending ``.html`` or ``.js``
    and ``"all"`` otherwise; ``compress_whitespace`` is Tornado's deprecated
    spelling (True = ``"single"``). ``autoescape`` is the name of a function
    in the namespace, or None. Tornado raises a bare ``Exception`` for a bad
    whitespace mode or for both whitespace arguments; this raises
    ``ValueError`` (an ``Exception``).

    Raises:
        ParseError: the template (or a parent or include) does not parse or
            compile; the error names the file and line.
        ValueError: an unknown whitespace mode, or both whitespace arguments.
    """

    def __init__(
        self,
        template_string: str | bytes,
        name: str = "<string>",
        loader: TemplateLoader | None = None,
        compress_whitespace: bool | _Unset = _UNSET,
        autoescape: str | None | _Unset = _UNSET,
        whitespace: str | None = None,
    ) -> None:
        self.name = name
        whitespace = _whitespace_mode(name, loader, compress_whitespace, whitespace)
        if not isinstance(autoescape, _Unset):
            configured: str | None = autoescape
        else:
            configured = loader.autoescape if loader is not None else DEFAULT_AUTOESCAPE
        self.namespace: dict[str, Any] = loader.namespace if loader is not None else {}
        self.loader = loader
        self.file = parse(escape.to_unicode(template_string), name, whitespace=whitespace, autoescape=configured)
        # {% autoescape %} in the file overrides the configured function, as in Tornado.
        self.autoescape = self.file.autoescape
        self._source: CompiledSource = generate_source(self.file, loader)
        self.code = self._source.code
        self._filename = f"{name.replace('.', '_')}.{next(_serial)}.generated.py"
        self.compiled = self._compile()
        self._module_names: dict[str, Any] = dict(
            _DEFAULT_NAMESPACE, __name__=name.replace(".", "_"), __loader__=_GeneratedSource(self.code)
        )

    def _compile(self) -> types.CodeType:
        try:
            return compile(self.code, self._filename, "exec", dont_inherit=True)
        except SyntaxError as exc:
            origin = self._source.origin(exc.lineno or 0)
            where = (origin.name, origin.line) if origin else (self.name, 0)
            raise ParseError(f"invalid Python in template: {exc.msg}", *where) from exc

    def generate(self, **kwargs: Any) -> bytes:
        """Render with ``kwargs`` (over the loader's namespace and the defaults).

        Mirrors ``tornado.template.Template.generate``: returns UTF-8 bytes.
        An exception from the template's code propagates unchanged but for a
        note naming the template file and line.
        """
        namespace = dict(self._module_names)
        namespace.update(self.namespace)
        namespace.update(kwargs)
        exec(self.compiled, namespace)  # noqa: S102 - the code is ours, generated from the template
        execute = namespace["_tt_execute"]
        try:
            result: bytes = execute()
        except Exception as exc:
            self._add_location(exc, namespace)
            raise
        return result

    def _add_location(self, exc: BaseException, namespace: object) -> None:
        """Note on ``exc`` the template line of the innermost frame of this render."""
        lineno = None
        traceback = exc.__traceback__
        while traceback is not None:
            if traceback.tb_frame.f_globals is namespace:
                lineno = traceback.tb_lineno
            traceback = traceback.tb_next
        origin = self._source.origin(lineno) if lineno is not None else None
        if origin is not None:
            exc.add_note(f"in template {origin}")


def _whitespace_mode(name: str, loader: TemplateLoader | None, compress: bool | _Unset, whitespace: str | None) -> str:
    if not isinstance(compress, _Unset):
        if whitespace is not None:
            raise ValueError("cannot set both whitespace and compress_whitespace")
        whitespace = "single" if compress else "all"
    if whitespace is None:
        if loader is not None and loader.whitespace:
            whitespace = loader.whitespace
        else:
            whitespace = "single" if name.endswith((".html", ".js")) else "all"
    if whitespace not in WHITESPACE_MODES:
        raise ValueError(f"invalid whitespace mode {whitespace}")
    return whitespace

"""Jinja2 templates (the default language): one environment per template directory, autoescape on.

Strategy: ``render()`` finds (or creates) the Jinja2 ``Environment`` for a
``template_path`` and the application's options, so templates compile once and
stay cached for the life of the process; with ``debug`` Jinja2 checks file
modification times and reloads. Autoescaping is on for every template: a
handler writes ``{{ name }}`` and gets HTML-safe output; ``|safe`` is the
explicit way out.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping
from types import BuiltinFunctionType, CodeType, FunctionType, MethodType
from typing import Any

import jinja2
import jinja2.runtime
import markupsafe
from jinja2.utils import internalcode

from framework import escape

__all__ = ["TemplateOptions", "environment", "render", "safe"]


@dataclasses.dataclass(frozen=True, slots=True)
class TemplateOptions:
    """How templates are compiled: autoescape, reloading, extra globals and filters."""

    autoescape: bool = True
    auto_reload: bool = False
    # Merged into each render's namespace rather than compiled into the cached
    # environment: values need not be hashable (a nav list, a config dict),
    # and two applications on one template directory keep their own.
    globals: tuple[tuple[str, Any], ...] = dataclasses.field(default=(), hash=False, compare=False)
    filters: tuple[tuple[str, Callable[..., Any]], ...] = ()


_DEFAULT_FILTERS: dict[str, Callable[..., Any]] = {
    "xhtml_escape": escape.xhtml_escape,
    "url_escape": escape.url_escape,
    "json_encode": escape.json_encode,
    "squeeze": escape.squeeze,
    "linkify": escape.linkify,
}

TemplatePath = str | tuple[str, ...] | None
"""One template directory, several searched in order, or none."""

_DICT_ATTRIBUTES = frozenset(dir(dict))


_PASS_MARK = "jinja_pass_arg"  # what pass_context and its kin set on a function
_PASS_MARK_KNOWN = hasattr(jinja2.pass_context(lambda context: None), _PASS_MARK)  # (else every call is Jinja2's)


class _Context(jinja2.runtime.Context):
    """Jinja2's context, with a template's call of a plain function or built-in made directly.

    Every call in a template goes through ``Context.call``, which looks for
    ``pass_context`` and its kin on the callable and on its ``__call__``
    (four attribute lookups, two of them failing) before calling it: a
    fifth of rendering the forms demo, whose fields read ``values.get()``
    and ``errors.get()``, and of the redirects demo's ``reverse_url()``
    links. A built-in function or method can carry no such mark, and a
    Python function or method is looked at once; either, unmarked, is called
    as ``Context.call`` would call it: without the loop's and block's
    variables the compiled code passes along, and a ``StopIteration`` it
    raises turned into an undefined value. Anything else (a marked function,
    an object with ``__call__``) goes to ``Context.call``.
    """

    @internalcode
    def call(__self, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja2's names
        kind = type(__obj)
        if kind is not BuiltinFunctionType and (
            (kind is not FunctionType and kind is not MethodType) or not _PASS_MARK_KNOWN or hasattr(__obj, _PASS_MARK)
        ):
            return jinja2.runtime.Context.call(__self, __obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined("value was undefined because a callable raised a StopIteration exception")


# markupsafe 3's ``escape`` is a Python function around its C ``_escape_inner``,
# and the ``Markup`` it returns is made by a Python ``__new__``: two Python
# frames for every ``{{ value }}`` an autoescaping template prints, about 40% of
# rendering a 30-row table (214 values; loadtest/servers/templates/page.html).
# For the usual value, an exact ``str``, the same ``Markup`` is made in C.
_ESCAPE_INNER: Callable[[str], str] | None = getattr(markupsafe, "_escape_inner", None)
if _ESCAPE_INNER is not None and _ESCAPE_INNER("<a href='x'>&\"</a>") != str(markupsafe.escape("<a href='x'>&\"</a>")):
    _ESCAPE_INNER = None  # (a markupsafe that names something else so: its own escape everywhere)
_make_str = str.__new__


def _escape(value: Any) -> markupsafe.Markup:
    """``markupsafe.escape(value)``: the same ``Markup``, with no Python frame for an exact ``str``, ``int`` or ``float``."""
    kind = type(value)
    if kind is str:
        return _make_str(markupsafe.Markup, _ESCAPE_INNER(value))  # type: ignore[misc]  # (set when this is used)
    if kind is int or kind is float:  # (their text has nothing to escape: digits, "-", ".", "e", "+", inf, nan)
        return _make_str(markupsafe.Markup, str(value))
    return markupsafe.escape(value)


class _Template(jinja2.Template):
    """Jinja2's template, whose compiled code escapes each printed value with ``_escape``.

    The code Jinja2 compiles for an autoescaping template calls ``escape``
    (``markupsafe.escape``, imported into the template's module namespace)
    for every value it prints and every value in a ``{% set %}`` block. The
    namespace is the globals of the template's functions, so the name is
    bound to ``_escape`` there once the template is made.
    """

    @classmethod
    def from_code(
        cls,
        environment: jinja2.Environment,
        code: CodeType,
        globals: MutableMapping[str, Any],  # noqa: A002 - Jinja2's name
        uptodate: Callable[[], bool] | None = None,
    ) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        namespace = template.root_render_func.__globals__
        if _ESCAPE_INNER is not None and namespace.get("escape") is markupsafe.escape:
            namespace["escape"] = _escape
        return template


class _Environment(jinja2.Environment):
    """Jinja2's environment, with ``{{ row.name }}`` on a plain dict made cheap.

    Jinja2 resolves ``row.name`` attribute first, item second: for a dict row
    that raises and catches an ``AttributeError``, its message formatted, for
    every field a page prints (a sixth of a 30-row table's render,
    ``loadtest/instructions.py --workload template``). A plain ``dict`` has no
    attributes but its class's, so for any other name the item is the answer
    Jinja2 would reach, and it is taken without the exception. Subclasses of
    ``dict`` may add attributes and keep Jinja2's own order.
    """

    context_class = _Context
    template_class = _Template

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and type(attribute) is str and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return jinja2.Environment.getattr(self, obj, attribute)


_environments: dict[tuple[TemplatePath, TemplateOptions], jinja2.Environment] = {}
_lock = threading.Lock()


def environment(template_path: TemplatePath, options: TemplateOptions) -> jinja2.Environment:
    """The cached environment for a directory and options (created on first use)."""
    key = (template_path, options)
    env = _environments.get(key)
    if env is None:
        with _lock:
            env = _environments.get(key)
            if env is None:
                env = _make_environment(template_path, options)
                _environments[key] = env
    return env


def _make_environment(template_path: TemplatePath, options: TemplateOptions) -> jinja2.Environment:
    # A tuple of directories is searched in order (a service's own templates,
    # then the shared ones).
    loader = (
        jinja2.FileSystemLoader(list(template_path) if isinstance(template_path, tuple) else template_path)
        if template_path
        else None
    )
    env = _Environment(
        loader=loader,
        autoescape=options.autoescape,
        auto_reload=options.auto_reload,
        cache_size=400 if not options.auto_reload else 50,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(_DEFAULT_FILTERS)
    env.filters.update(dict(options.filters))
    env.globals.update(
        xhtml_escape=escape.xhtml_escape,
        url_escape=escape.url_escape,
        json_encode=escape.json_encode,
        squeeze=escape.squeeze,
        linkify=escape.linkify,
    )
    return env


def render(
    template_path: TemplatePath,
    name: str,
    namespace: Mapping[str, Any],
    options: TemplateOptions | None = None,
) -> str:
    """Render template ``name`` from ``template_path`` with ``namespace``.

    Raises:
        RuntimeError: no ``template_path`` is configured.
        jinja2.TemplateNotFound: the file does not exist.
    """
    if template_path is None:
        raise RuntimeError("render() needs the 'template_path' application setting")
    options = options or TemplateOptions()
    env = environment(template_path, options)
    return _render(env.get_template(name), options.globals, namespace)


def _render(template: jinja2.Template, extra_globals: tuple[tuple[str, Any], ...], namespace: Mapping[str, Any]) -> str:
    """``template.render()`` of the globals, then ``extra_globals``, then ``namespace`` (later names win).

    What ``Template.render`` does, with the context's names gathered into
    one dict here: Jinja2 copies the arguments into a dict, then that and
    the template's globals (a ``ChainMap``, read key by key in Python) into
    another, a sixth of rendering a small page such as the portal's.
    """
    context: dict[str, Any] = {}
    template_globals = template.globals
    if type(template_globals) is ChainMap:
        for layer in reversed(template_globals.maps):
            context.update(layer)
    else:
        context.update(template_globals)
    context.update(extra_globals)
    context.update(namespace)
    env = template.environment
    if env.is_async:  # (not one this module makes: Jinja2 runs its own loop for it)
        return template.render(context)
    try:
        return env.concat(template.root_render_func(template.new_context(context, shared=True)))
    except Exception:
        env.handle_exception()  # (raises the error with the template's file and line in its traceback)
        raise  # (not reached)


def safe(html: str) -> str:
    """Mark ``html`` as already escaped, so autoescaping templates insert it as is.

    For helpers that build markup themselves (``xsrf_form_html``); the result
    is still a ``str``.
    """
    return markupsafe.Markup(html)

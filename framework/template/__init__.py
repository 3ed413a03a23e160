"""Templates: Jinja2 (the default) and Tornado's own template language.

``framework.template`` is ``tornado.template``'s path. Applications render
Jinja2 templates unless a setting chooses Tornado's syntax (see
``framework.web.settings``): ``template_loader=Loader(...)``, or
``template_engine="tornado"`` with ``template_path``.

Modules: ``jinja`` (one Jinja2 environment per template directory:
``render``, ``TemplateOptions``, ``safe``); Tornado's language in
``syntax`` (reader, tree, parser, ``ParseError``, ``filter_whitespace``),
``codegen`` (Python source with a line map), ``compiled`` (``Template``)
and ``loaders`` (``BaseLoader``, ``Loader``, ``DictLoader``).

``{% module expr %}`` compiles to ``_tt_modules.expr`` as in Tornado: a
handler's ``render()`` puts the application's UI modules there (see
``framework.web.uimodules``); a template generated without them (a bare
``Template.generate()``) fails with a ``NameError`` naming its file and line.

Differences from ``tornado.template``, all deliberate:

- A Python syntax error inside a tag is a ``ParseError`` naming the template
  file and line (Tornado lets its generated code's ``SyntaxError`` through
  and logs that code); so is a bad ``{% whitespace %}`` mode.
- An exception while rendering keeps its type and gains a PEP 678 note,
  ``in template page.html:3 (via base.html:7)``; tracebacks show the
  generated line with the same location as a comment.
- A bad whitespace mode given to ``Template``, a loader or
  ``filter_whitespace`` raises ``ValueError`` (Tornado: bare ``Exception``),
  and loaders check it at construction.
- ``Loader`` and ``DictLoader`` take their options keyword-only and typed
  (Tornado: ``**kwargs``); ``Loader`` keeps a relative name inside its root
  only when the path really is below it (Tornado's prefix test lets
  ``/root2`` pass for ``/root``).
- Helpers returning ``safe()`` markup (``xsrf_form_html``) are still escaped
  by ``{{ }}``, exactly as in Tornado: write ``{% raw xsrf_form_html() %}``.
"""

from framework.template.compiled import Template as Template
from framework.template.jinja import TemplateOptions as TemplateOptions
from framework.template.jinja import TemplatePath as TemplatePath
from framework.template.jinja import environment as environment
from framework.template.jinja import render as render
from framework.template.jinja import safe as safe
from framework.template.loaders import BaseLoader as BaseLoader
from framework.template.loaders import DictLoader as DictLoader
from framework.template.loaders import Loader as Loader
from framework.template.loaders import loader_for as loader_for
from framework.template.loaders import render_tornado as render_tornado
from framework.template.syntax import ParseError as ParseError
from framework.template.syntax import filter_whitespace as filter_whitespace

__all__ = [
    "BaseLoader",
    "DictLoader",
    "Loader",
    "ParseError",
    "Template",
    "TemplateOptions",
    "TemplatePath",
    "environment",
    "filter_whitespace",
    "loader_for",
    "render",
    "render_tornado",
    "safe",
]

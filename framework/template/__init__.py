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

``{% module expr %}`` compiles to ``_tt_modules.expr`` as in Tornado: the
application's UI modules fill ``_tt_modules`` in the template namespace;
until they do, a template using it fails with a ``NameError`` naming its
file and line.
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

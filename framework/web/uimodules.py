"""UI modules: reusable page pieces with their own JavaScript and CSS (Tornado's ``UIModule``).

Strategy: the ``ui_modules`` setting (a dict, a module, or a list of either)
is read once into a name -> class dict at start-up, with Tornado's built-in
modules (``Template``, ``linkify``, ``xsrf_form_html``) under it. A template
calls a module through the ``ModuleNamespace`` of ``framework.web.rendering``
(which puts the modules' resources into the page): ``{% module Entry(e) %}``
in Tornado's syntax (compiled to ``_tt_modules.Entry(e)``) and
``{{ modules.Entry(e) }}`` in either language; ``module`` is the same
namespace under the name the Tornado tag uses, so a Jinja2 template reads
``{{ module.Entry(e) }}``.

Differences from Tornado: a module call returns markup that Jinja2's
autoescaping leaves alone (``markupsafe.Markup``); a page that uses a
module's resources but lacks ``</head>`` or ``</body>`` is a ``ValueError``
naming the missing tag (Tornado fails on ``str.index``); ``set_resources``
refuses keys it does not know (Tornado ignores them) and also takes the
``js_files`` spelling its documentation shows.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from framework import escape

if TYPE_CHECKING:
    from framework.web.handler import RequestHandler

__all__ = ["TemplateModule", "UIModule", "collect_ui_modules"]


class UIModule:
    """A re-usable, modular piece of a page; mirrors ``tornado.web.UIModule``.

    Subclasses implement ``render()``; the resource methods return None
    unless overridden. One instance serves every call of the module in one
    request.
    """

    def __init__(self, handler: RequestHandler) -> None:
        self.handler = handler
        self.request = handler.request
        self.ui = handler.ui
        self.locale = handler.locale

    @property
    def current_user(self) -> Any:
        """The handler's ``current_user``."""
        return self.handler.current_user

    def render(self, *args: Any, **kwargs: Any) -> str | bytes:
        """Return the module's HTML (override)."""
        raise NotImplementedError()

    def embedded_javascript(self) -> str | None:
        """JavaScript to put in a ``<script>`` block at the end of the page."""
        return None

    def javascript_files(self) -> Iterable[str] | str | None:
        """Script URLs (relative ones go through ``static_url``) linked at the end of the page."""
        return None

    def embedded_css(self) -> str | None:
        """CSS to put in a ``<style>`` block in the page's head."""
        return None

    def css_files(self) -> Iterable[str] | str | None:
        """Stylesheet URLs (relative ones go through ``static_url``) linked in the page's head."""
        return None

    def html_head(self) -> str | None:
        """HTML put just before ``</head>``."""
        return None

    def html_body(self) -> str | None:
        """HTML put just before ``</body>``."""
        return None

    def render_string(self, path: str, **kwargs: Any) -> str | bytes:
        """Render a template with the handler's namespace (``handler.render_string``)."""
        return self.handler.render_string(path, **kwargs)


class _linkify(UIModule):  # Tornado's module name
    def render(self, text: str, **kwargs: Any) -> str:
        return escape.linkify(text, **kwargs)


class _xsrf_form_html(UIModule):  # Tornado's module name
    def render(self) -> str:
        return self.handler.xsrf_form_html()


_RESOURCE_KEYS = frozenset({"embedded_javascript", "javascript_files", "embedded_css", "css_files", "html_head", "html_body"})
_RESOURCE_ALIASES = {"js_files": "javascript_files"}


class TemplateModule(UIModule):
    """Renders a template in a namespace of its own: ``{% module Template("item.html", x=1) %}``.

    Mirrors Tornado's ``TemplateModule``: the template sees the handler's
    namespace plus the keyword arguments (not the calling template's names)
    and may call ``set_resources(embedded_javascript=..., css_files=...)``;
    resources are kept once per template file, not per call.
    """

    def __init__(self, handler: RequestHandler) -> None:
        super().__init__(handler)
        self._resources: dict[str, dict[str, Any]] = {}

    def render(self, path: str, **kwargs: Any) -> str | bytes:
        def set_resources(**resources: Any) -> str:
            unknown = set(resources) - _RESOURCE_KEYS - set(_RESOURCE_ALIASES)
            if unknown:
                raise TypeError(f"set_resources() got unknown resources: {', '.join(sorted(unknown))}")
            if path not in self._resources:
                self._resources[path] = {_RESOURCE_ALIASES.get(k, k): v for k, v in resources.items()}
            return ""

        return self.render_string(path, set_resources=set_resources, **kwargs)

    def _gather(self, key: str) -> list[Any]:
        return [r[key] for r in self._resources.values() if r.get(key) is not None]

    def embedded_javascript(self) -> str | None:
        return "\n".join(self._gather("embedded_javascript")) or None

    def javascript_files(self) -> Iterable[str] | None:
        return _flatten(self._gather("javascript_files"))

    def embedded_css(self) -> str | None:
        return "\n".join(self._gather("embedded_css")) or None

    def css_files(self) -> Iterable[str] | None:
        return _flatten(self._gather("css_files"))

    def html_head(self) -> str | None:
        return "".join(self._gather("html_head")) or None

    def html_body(self) -> str | None:
        return "".join(self._gather("html_body")) or None


def _flatten(items: list[Any]) -> list[str]:
    files: list[str] = []
    for item in items:
        files.extend([item] if isinstance(item, str) else item)
    return files


_BUILT_IN: dict[str, type[UIModule]] = {
    "linkify": _linkify,
    "xsrf_form_html": _xsrf_form_html,
    "Template": TemplateModule,
}


def collect_ui_modules(setting: object) -> dict[str, type[UIModule]]:
    """The ``ui_modules`` setting as a name -> class dict, over Tornado's built-in modules.

    Accepts a dict, a module (its ``UIModule`` subclasses, by name) or a
    list of either, as Tornado does.

    Raises:
        ValueError: a dict value is not a ``UIModule`` subclass, or the
            setting is of another type (found at start-up, not mid-render).
    """
    modules = dict(_BUILT_IN)
    _add_ui_modules(modules, setting)
    return modules


def _add_ui_modules(modules: dict[str, type[UIModule]], setting: object) -> None:
    if setting is None:
        return
    if isinstance(setting, (list, tuple)):
        for item in setting:
            _add_ui_modules(modules, item)
    elif isinstance(setting, dict):
        for name, cls in setting.items():
            if not (isinstance(cls, type) and issubclass(cls, UIModule)):
                raise ValueError(f"setting 'ui_modules': {name!r} must be a UIModule subclass, got {cls!r}")
            modules[name] = cls
    elif isinstance(setting, types.ModuleType):
        for name in dir(setting):
            cls = getattr(setting, name)
            if isinstance(cls, type) and issubclass(cls, UIModule) and cls is not UIModule:
                modules[name] = cls
    else:
        raise ValueError(f"setting 'ui_modules' must be a dict, a module or a list of them, got {type(setting).__name__}")

"""Templates for ``RequestHandler``: ``render``, ``render_string``, the namespace, UI modules' resources.

A mixin of ``RequestHandler`` (users subclass one class, as in Tornado); the
template engines are ``framework.template``'s, the UI modules
``framework.web.uimodules``.

Which language renders: Jinja2 unless the application chose Tornado's
syntax (``template_loader`` or ``template_engine="tornado"``), or the
handler class overrides ``create_template_loader`` (a Tornado hook that only
makes sense for Tornado's syntax). Loaders made by ``create_template_loader``
are kept per handler class and template path (Tornado: per path only, in
``RequestHandler._template_loaders``; the same dict name is kept here, so
code that clears it still works).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from framework import escape, template
from framework.util import ObjectDict
from framework.web import uimodules

if TYPE_CHECKING:
    from framework.httputil import HTTPServerRequest
    from framework.web.application import Application
    from framework.web.locale import Locale

__all__ = ["TemplateMixin"]


class TemplateMixin:
    """Tornado's template methods of ``RequestHandler``."""

    request: HTTPServerRequest
    application: Application
    _finished: bool
    # (handler class, template path) -> loader from create_template_loader.
    _template_loaders: ClassVar[dict[tuple[type, Any], template.BaseLoader]] = {}

    if TYPE_CHECKING:  # supplied by RequestHandler

        def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Awaitable[None]: ...

        def reverse_url(self, name: str, *args: Any) -> str: ...

        def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str: ...

        def xsrf_form_html(self) -> str: ...

        @property
        def current_user(self) -> Any: ...

        @property
        def locale(self) -> Locale: ...

    @property
    def ui(self) -> ObjectDict:
        """Tornado's ``handler.ui``: the UI methods bound to this handler, and ``modules``.

        Made on first use (a request that renders nothing never pays for it).
        """
        ui: ObjectDict | None = self.__dict__.get("_ui")
        if ui is None:
            ui = ObjectDict((name, functools.partial(fn, self)) for name, fn in self.application.ui_methods.items())
            modules = uimodules.ModuleNamespace(self, self.application.ui_modules)  # type: ignore[arg-type]
            ui["_tt_modules"] = ui["modules"] = ui["module"] = modules
            self._ui = ui
        return ui

    def render(self, template_name: str, **kwargs: Any) -> Awaitable[None]:
        """Render a template and finish the response with it (Tornado's ``render``).

        UI modules the page used have their JavaScript, CSS and extra HTML
        put before ``</head>`` and ``</body>`` first, as in Tornado.

        Raises:
            RuntimeError: the response was finished already.
        """
        if self._finished:
            raise RuntimeError("cannot render() after finish()")
        html = self.render_string(template_name, **kwargs)
        ui: ObjectDict | None = self.__dict__.get("_ui")
        if ui is not None and ui["_tt_modules"].active:
            html = uimodules.inject_resources(self, escape.utf8(html), ui["_tt_modules"].active.values())  # type: ignore[arg-type]
        return self.finish(html)

    def render_string(self, template_name: str, **kwargs: Any) -> str | bytes:
        """Render a template with the handler's namespace added.

        Jinja2 (the default) returns ``str``. Tornado's syntax returns UTF-8
        ``bytes``, as Tornado's ``render_string`` does; its loader is the
        ``template_loader`` setting's, or ``create_template_loader``'s for
        ``get_template_path()``.
        """
        namespace = self.get_template_namespace()
        namespace.update(kwargs)
        options = self.application.template_options
        if self.application.config.template_engine == "jinja2" and not self._custom_loader():
            return template.render(self.get_template_path(), template_name, namespace, options)
        loader = self._template_loader()
        return template.render_tornado(loader, template_name, namespace, template_globals=options.globals, reload=options.auto_reload)

    def _custom_loader(self) -> bool:
        return type(self).create_template_loader is not TemplateMixin.create_template_loader

    def _template_loader(self) -> template.BaseLoader:
        path = self.get_template_path()
        key = (type(self), path)
        loader = self._template_loaders.get(key)
        if loader is None:
            loader = self._template_loaders[key] = self.create_template_loader(path)  # type: ignore[arg-type]
        return loader

    def create_template_loader(self, template_path: str) -> template.BaseLoader:
        """The loader of Tornado-syntax templates under ``template_path`` (Tornado's hook).

        The ``template_loader`` setting when given; else a shared ``Loader``
        honouring ``autoescape`` and ``template_whitespace``. Override to
        load templates another way (the result is kept per class and path).
        """
        config = self.application.config
        if config.template_loader is not None:
            return config.template_loader  # type: ignore[no-any-return]
        return template.loader_for(template_path, autoescape=config.autoescape, whitespace=config.template_whitespace)

    def get_template_path(self) -> str | tuple[str, ...] | None:
        """Directory (or directories, searched in order) of templates; override per handler."""
        return self.application.config.template_path

    def get_template_namespace(self) -> dict[str, Any]:
        """Names every template sees: Tornado's (handler, request, helpers, ``handler.ui``) and ``settings``."""
        namespace: dict[str, Any] = {
            "handler": self,
            "request": self.request,
            "current_user": self.current_user,
            "locale": self.locale,
            "_": self.locale.translate,
            "reverse_url": self.reverse_url,
            "static_url": self.static_url,
            "xsrf_form_html": self.xsrf_form_html,
            "settings": self.application.settings,
        }
        namespace.update(self.ui)
        return namespace

    # -- what render() puts into the page (Tornado's hooks, overridable) --------------

    def render_linked_js(self, js_files: Iterable[str]) -> str:
        """``<script src>`` tags for the UI modules' ``javascript_files``."""
        return uimodules.render_linked_js(self, js_files)  # type: ignore[arg-type]

    def render_embed_js(self, js_embed: Iterable[bytes]) -> bytes:
        """A ``<script>`` block for the UI modules' ``embedded_javascript``."""
        return uimodules.render_embed_js(js_embed)

    def render_linked_css(self, css_files: Iterable[str]) -> str:
        """``<link rel="stylesheet">`` tags for the UI modules' ``css_files``."""
        return uimodules.render_linked_css(self, css_files)  # type: ignore[arg-type]

    def render_embed_css(self, css_embed: Iterable[bytes]) -> bytes:
        """A ``<style>`` block for the UI modules' ``embedded_css``."""
        return uimodules.render_embed_css(css_embed)

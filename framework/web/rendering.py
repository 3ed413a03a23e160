"""Templates for ``RequestHandler``: ``render``, ``render_string``, the namespace, UI modules' resources.

A mixin of ``RequestHandler`` (users subclass one class, as in Tornado); the
template engines are ``framework.template``'s. The UI modules' classes are
``framework.web.uimodules``'s (``UIModule``, built on the handler); what a
page does with them lives here and knows them only as ``PageModule``s: a
template calls a module through a ``ModuleNamespace`` (one instance per
module and request, made on first use), and ``render()`` then asks every
instance used for its resources and puts them before ``</head>`` (CSS,
``html_head``) and ``</body>`` (JavaScript, ``html_body``), as Tornado does.
A page that uses no module pays nothing for them.

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
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import markupsafe

from framework import escape, template
from framework.util import ObjectDict
from framework.web.contracts import HandlerApplication, PageModule

if TYPE_CHECKING:
    from framework.httputil import HTTPServerRequest
    from framework.web.locale import Locale

__all__ = ["TemplateMixin"]


class TemplateMixin:
    """Tornado's template methods of ``RequestHandler``."""

    request: HTTPServerRequest
    application: HandlerApplication
    _finished: bool
    _ui: ObjectDict | None  # made by the first use of ``ui``; None from RequestHandler.__init__ until then
    # (handler class, template path) -> loader from create_template_loader.
    _template_loaders: ClassVar[dict[tuple[type, str | tuple[str, ...] | None], template.BaseLoader]] = {}

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
        ui = self._ui
        if ui is None:
            ui = ObjectDict((name, functools.partial(fn, self)) for name, fn in self.application.ui_methods.items())
            modules = ModuleNamespace(self, self.application.ui_modules)
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
        ui = self._ui
        if ui is not None and ui["_tt_modules"].active:
            html = inject_resources(self, escape.utf8(html), ui["_tt_modules"].active.values())
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
        return template.render_tornado(
            loader, template_name, namespace, template_globals=options.globals, reload=options.auto_reload
        )

    def _custom_loader(self) -> bool:
        return type(self).create_template_loader is not _BASE_CREATE_TEMPLATE_LOADER

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
            return config.template_loader
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
            "pgettext": self.locale.pgettext,
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
        return "".join(
            f'<script src="{escape.xhtml_escape(url)}" type="text/javascript"></script>' for url in self._resource_urls(js_files)
        )

    def render_embed_js(self, js_embed: Iterable[bytes]) -> bytes:
        """A ``<script>`` block for the UI modules' ``embedded_javascript``."""
        return b'<script type="text/javascript">\n//<![CDATA[\n' + b"\n".join(js_embed) + b"\n//]]>\n</script>"

    def render_linked_css(self, css_files: Iterable[str]) -> str:
        """``<link rel="stylesheet">`` tags for the UI modules' ``css_files``."""
        return "".join(
            f'<link href="{escape.xhtml_escape(url)}" type="text/css" rel="stylesheet"/>'
            for url in self._resource_urls(css_files)
        )

    def render_embed_css(self, css_embed: Iterable[bytes]) -> bytes:
        """A ``<style>`` block for the UI modules' ``embedded_css``."""
        return b'<style type="text/css">\n' + b"\n".join(css_embed) + b"\n</style>"

    def _resource_urls(self, paths: Iterable[str]) -> list[str]:
        """Unique paths in order; relative ones through ``static_url``."""
        seen = dict.fromkeys(paths)
        return [p if p.startswith(("/", "http:", "https:")) else self.static_url(p) for p in seen]


class ModuleNamespace:
    """``_tt_modules`` / ``modules`` / ``module`` in a template: ``modules.Entry(...)`` renders module ``Entry``.

    Instances are made once per request and module, on first use, and kept
    in ``active`` for ``inject_resources``.
    """

    def __init__(self, handler: TemplateMixin, classes: Mapping[str, Callable[[Any], PageModule]]) -> None:
        self._handler = handler
        self._classes = classes
        self.active: dict[str, PageModule] = {}

    def __getitem__(self, name: str) -> Callable[..., str]:
        cls = self._classes.get(name)
        if cls is None:
            raise KeyError(name)

        def render(*args: Any, **kwargs: Any) -> str:
            instance = self.active.get(name)
            if instance is None:
                instance = self.active[name] = cls(self._handler)
            html = instance.render(*args, **kwargs)
            return markupsafe.Markup(html.decode("utf-8") if isinstance(html, bytes) else html)

        return render

    def __getattr__(self, name: str) -> Callable[..., str]:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no UI module named {name!r} (see the 'ui_modules' setting)") from None


class _Resources:
    """What the active modules of one request ask to put into the page."""

    def __init__(self, modules: Iterable[PageModule]) -> None:
        self.js_embed: list[bytes] = []
        self.js_files: list[str] = []
        self.css_embed: list[bytes] = []
        self.css_files: list[str] = []
        self.html_heads: list[bytes] = []
        self.html_bodies: list[bytes] = []
        for module in modules:
            self._add(module)

    def _add(self, module: PageModule) -> None:
        for text, into in (
            (module.embedded_javascript(), self.js_embed),
            (module.embedded_css(), self.css_embed),
            (module.html_head(), self.html_heads),
            (module.html_body(), self.html_bodies),
        ):
            if text:
                into.append(escape.utf8(text))
        for files, names in ((module.javascript_files(), self.js_files), (module.css_files(), self.css_files)):
            if files:
                names.extend([files] if isinstance(files, str) else files)


# The mixin's own loader, taken once: one patched onto TemplateMixin later counts as custom.
_BASE_CREATE_TEMPLATE_LOADER = TemplateMixin.create_template_loader


def inject_resources(handler: TemplateMixin, html: bytes, modules: Iterable[PageModule]) -> bytes:
    """``html`` with the modules' resources before ``</head>`` and ``</body>``, as Tornado's ``render()``.

    Raises:
        ValueError: there are resources for a tag the page does not have.
    """
    found = _Resources(modules)
    body: list[bytes] = []
    if found.js_files:
        body.append(escape.utf8(handler.render_linked_js(found.js_files)))
    if found.js_embed:
        body.append(escape.utf8(handler.render_embed_js(found.js_embed)))
    body.extend(found.html_bodies)
    head: list[bytes] = []
    if found.css_files:
        head.append(escape.utf8(handler.render_linked_css(found.css_files)))
    if found.css_embed:
        head.append(escape.utf8(handler.render_embed_css(found.css_embed)))
    head.extend(found.html_heads)
    html = _insert_before(html, b"</body>", body, last=True)
    return _insert_before(html, b"</head>", head, last=False)


def _insert_before(html: bytes, tag: bytes, parts: list[bytes], *, last: bool) -> bytes:
    if not parts:
        return html
    position = html.rfind(tag) if last else html.find(tag)
    if position < 0:
        raise ValueError(f"UI module resources need a {tag.decode()} tag in the rendered page")
    return html[:position] + b"".join(part + b"\n" for part in parts) + html[position:]

"""Template loaders: find Tornado-syntax templates by name, compile each once, cache it.

Strategy: a loader maps a resolved name to its compiled ``Template`` under
a re-entrant lock (loading a child loads its parent inside the same lock).
``reset()`` drops the cache; the application does that on every render
when ``compiled_template_cache`` is off (``debug=True``), as Tornado does
per request. ``loader_for()`` keeps one ``Loader`` per template directory
and options for the ``template_engine="tornado"`` setting, so an
application compiles each file once for the life of the process.
"""

from __future__ import annotations

import os
import posixpath
import threading
from collections.abc import Mapping
from typing import Any

from framework.template.compiled import DEFAULT_AUTOESCAPE, Template
from framework.template.syntax import WHITESPACE_MODES

__all__ = ["BaseLoader", "DictLoader", "Loader", "loader_for", "render_tornado"]


class BaseLoader:
    """Base class for template loaders; mirrors ``tornado.template.BaseLoader``.

    Args:
        autoescape: the function name ``{{ }}`` output goes through, or None.
        namespace: names added to every template this loader loads.
        whitespace: the whitespace mode of its templates (None: by file name).

    Raises:
        ValueError: an unknown whitespace mode (found here, at construction;
            Tornado finds it when the first template is created).
    """

    def __init__(
        self,
        autoescape: str | None = DEFAULT_AUTOESCAPE,
        namespace: dict[str, Any] | None = None,
        whitespace: str | None = None,
    ) -> None:
        if whitespace is not None and whitespace not in WHITESPACE_MODES:
            raise ValueError(f"invalid whitespace mode {whitespace}")
        self.autoescape = autoescape
        self.namespace = namespace or {}
        self.whitespace = whitespace
        self.templates: dict[str, Template] = {}
        self.lock = threading.RLock()

    def reset(self) -> None:
        """Forget every compiled template (the next ``load`` reads and compiles again)."""
        with self.lock:
            self.templates = {}

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """``name`` as the cache knows it, relative to ``parent_path`` where it is relative."""
        raise NotImplementedError

    def load(self, name: str, parent_path: str | None = None) -> Template:
        """The compiled template ``name``, from the cache after its first load."""
        name = self.resolve_path(name, parent_path=parent_path)
        with self.lock:
            template = self.templates.get(name)
            if template is None:
                template = self.templates[name] = self._create_template(name)
            return template

    def _create_template(self, name: str) -> Template:
        raise NotImplementedError


def _relative_to(parent_path: str | None, name: str) -> bool:
    """Whether ``name`` is looked up beside ``parent_path`` (not ``<string>``, not absolute)."""
    if not parent_path or parent_path.startswith(("<", "/")):
        return False
    return not name.startswith("/")


class Loader(BaseLoader):
    """Loads templates from files under ``root_directory``; mirrors ``tornado.template.Loader``.

    Options are ``BaseLoader``'s, keyword-only (Tornado takes ``**kwargs``).
    Files are read as UTF-8 (bytes are decoded by ``Template``). A name
    given from inside another template (``{% extends %}``, ``{% include %}``)
    is relative to that template's directory.
    """

    def __init__(
        self,
        root_directory: str,
        *,
        autoescape: str | None = DEFAULT_AUTOESCAPE,
        namespace: dict[str, Any] | None = None,
        whitespace: str | None = None,
    ) -> None:
        super().__init__(autoescape=autoescape, namespace=namespace, whitespace=whitespace)
        self.root = os.path.abspath(root_directory)

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        if _relative_to(parent_path, name) and parent_path is not None:
            directory = os.path.dirname(os.path.abspath(os.path.join(self.root, parent_path)))
            candidate = os.path.abspath(os.path.join(directory, name))
            # Tornado compares with startswith(root), which lets a sibling
            # directory sharing the root's prefix through; we require a separator.
            if candidate.startswith(self.root + os.sep):
                name = candidate[len(self.root) + 1 :]
        return name

    def _create_template(self, name: str) -> Template:
        with open(os.path.join(self.root, name), "rb") as file:
            return Template(file.read(), name=name, loader=self)


class DictLoader(BaseLoader):
    """Loads templates from a dict of name to source; mirrors ``tornado.template.DictLoader``.

    Options are ``BaseLoader``'s, keyword-only (Tornado takes ``**kwargs``).
    """

    def __init__(
        self,
        dict: Mapping[str, str | bytes],  # Tornado's parameter name
        *,
        autoescape: str | None = DEFAULT_AUTOESCAPE,
        namespace: dict[str, Any] | None = None,
        whitespace: str | None = None,
    ) -> None:
        super().__init__(autoescape=autoescape, namespace=namespace, whitespace=whitespace)
        self.dict = dict

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        if _relative_to(parent_path, name) and parent_path is not None:
            name = posixpath.normpath(posixpath.join(posixpath.dirname(parent_path), name))
        return name

    def _create_template(self, name: str) -> Template:
        return Template(self.dict[name], name=name, loader=self)


_loaders: dict[tuple[str, str | None, str | None], Loader] = {}
_loaders_lock = threading.Lock()


def loader_for(template_path: str | tuple[str, ...] | None, *, autoescape: bool | str | None, whitespace: str | None) -> Loader:
    """The shared ``Loader`` for a directory and options (created on first use).

    ``autoescape`` is the application setting: True means ``xhtml_escape``,
    False or None means none, a str names the function. Not in Tornado (its
    ``RequestHandler`` keeps a class-level dict of loaders per path, which
    ignores the options; this keys on them too).

    Raises:
        RuntimeError: no ``template_path``.
        TypeError: several directories (a ``Loader`` reads one).
    """
    if template_path is None:
        raise RuntimeError("render() needs the 'template_path' (or 'template_loader') application setting")
    if not isinstance(template_path, str):
        raise TypeError("Tornado-syntax templates read one 'template_path' directory, not several")
    function: str | None = None
    if autoescape is True:
        function = DEFAULT_AUTOESCAPE
    elif isinstance(autoescape, str) and autoescape:
        function = autoescape
    key = (template_path, function, whitespace)
    loader = _loaders.get(key)
    if loader is None:
        with _loaders_lock:
            loader = _loaders.get(key)
            if loader is None:
                loader = _loaders[key] = Loader(template_path, autoescape=function, whitespace=whitespace)
    return loader


def render_tornado(
    loader: BaseLoader,
    name: str,
    namespace: Mapping[str, Any],
    *,
    template_globals: tuple[tuple[str, Any], ...] = (),
    reload: bool = False,
) -> bytes:
    """Render Tornado-syntax template ``name`` from ``loader``: the application's path.

    Args:
        template_globals: the ``template_globals`` setting (ours, not
            Tornado's), under ``namespace``, as on the Jinja2 side.
        reload: forget compiled templates first (``compiled_template_cache``
            off), as Tornado does on each request.

    Returns:
        UTF-8 bytes, as Tornado's ``render_string`` returns.
    """
    if reload:
        loader.reset()
    context = dict(template_globals)
    context.update(namespace)
    return loader.load(name).generate(**context)

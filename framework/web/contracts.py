"""What a request handler needs of its application, named once.

``RequestHandler`` and its mixins (cookies, rendering) read a handful of
things from ``self.application``; ``Application`` is built on top of the
handler (its routes name handler classes), so the handler side must not
import it, not even for type checking. This leaf module states the contract
instead, as a ``Protocol`` that ``Application`` meets structurally: the
handler layer depends on this page, and the application on the handler
layer, with no loop between them (``tests/test_layout.py`` checks there is
none anywhere in ``framework``).

An application that is not an ``Application`` (a test double, another
framework's adapter) can serve handlers by providing these names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from framework.template import TemplateOptions
from framework.web.compression import OutputTransform
from framework.web.settings import AppSettings

__all__ = ["HandlerApplication", "PageModule"]


class PageModule(Protocol):
    """What a page asks of a UI module once the template has used it (``UIModule``'s hooks)."""

    def render(self, *args: Any, **kwargs: Any) -> str | bytes:
        """The module's HTML at its place in the template."""

    def embedded_javascript(self) -> str | None:
        """JavaScript put into one ``<script>`` block before ``</body>``."""

    def javascript_files(self) -> Iterable[str] | str | None:
        """Script URLs (a string or an iterable of them) linked before ``</body>``."""

    def embedded_css(self) -> str | None:
        """CSS put into one ``<style>`` block before ``</head>``."""

    def css_files(self) -> Iterable[str] | str | None:
        """Stylesheet URLs (a string or an iterable of them) linked before ``</head>``."""

    def html_head(self) -> str | None:
        """HTML put before ``</head>``."""

    def html_body(self) -> str | None:
        """HTML put before ``</body>``."""


class HandlerApplication(Protocol):
    """The application as a ``RequestHandler`` sees it (``Application`` provides all of it).

    Read-only here (properties), so that an application may keep any
    subtype: ``Application.ui_modules`` is a ``dict`` of ``UIModule`` classes.
    """

    @property
    def settings(self) -> dict[str, Any]:
        """Tornado's settings dict, with the application's own keys."""

    @property
    def config(self) -> AppSettings:
        """The same settings, resolved once into a typed object."""

    @property
    def transforms(self) -> list[type[OutputTransform]]:
        """``OutputTransform`` classes every response passes through."""

    @property
    def ui_methods(self) -> Mapping[str, Callable[..., Any]]:
        """Functions templates call with the handler as their first argument."""

    @property
    def ui_modules(self) -> Mapping[str, Callable[[Any], PageModule]]:
        """Module classes templates render by name."""

    @property
    def template_options(self) -> TemplateOptions:
        """How templates are compiled and cached."""

    def reverse_url(self, name: str, *args: Any) -> str:
        """The path of the named route."""

    def static_url(self, path: str, include_version: bool = True, **kwargs: Any) -> str:
        """The URL of a file under ``static_path``."""

    def log_request(self, handler: Any) -> None:
        """Log a finished request (``handler`` is the ``RequestHandler`` that answered it)."""

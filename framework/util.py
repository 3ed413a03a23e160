"""Small general-purpose pieces of Tornado's ``tornado.util``.

Only the public, documented names applications use: ``ObjectDict``,
``TimeoutError``, ``import_object`` and ``Configurable`` (the base that lets
``IOLoop.configure`` choose the class ``IOLoop()`` builds). This module imports
nothing from ``framework``, so any layer may use it.
"""

from __future__ import annotations

import builtins
import importlib
from typing import Any, ClassVar, Self, cast

__all__ = ["Configurable", "ObjectDict", "TimeoutError", "import_object"]

TimeoutError = builtins.TimeoutError
"""What timeouts raise (``with_timeout``, queues, locks, ``TCPClient``).

Tornado defines its own class; here it is the builtin, so an ``asyncio``
timeout and a framework timeout are caught by the same ``except``.
"""


class ObjectDict(dict[str, Any]):
    """A dict whose keys can also be read and written as attributes.

    Mirrors ``tornado.util.ObjectDict``: ``d.key`` is ``d["key"]``, and a
    missing key raises ``AttributeError`` (so ``getattr(d, "x", default)`` works).
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def import_object(name: str) -> Any:
    """Import an object by its dotted name.

    Mirrors ``tornado.util.import_object``: ``import_object("x")`` is
    ``import x``, ``import_object("x.y.z")`` is ``from x.y import z`` (or the
    submodule ``x.y.z`` if ``z`` is not an attribute of ``x.y``).

    Raises:
        ImportError: the module or the attribute does not exist.
    """
    if "." not in name:
        return importlib.import_module(name)
    module_name, _, attribute = name.rpartition(".")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        try:
            return importlib.import_module(name)
        except ImportError:
            raise ImportError(f"No module named {attribute}") from None


class Configurable:
    """A base class whose constructor builds a configurable implementation subclass.

    Mirrors ``tornado.util.Configurable``. A family of classes names its base
    with :meth:`configurable_base` and its default implementation with
    :meth:`configurable_default`; ``Base.configure(Impl, **kwargs)`` then makes
    ``Base(...)`` build an ``Impl``, with ``kwargs`` added to every call. The
    arguments go to ``initialize`` (not ``__init__``), as in Tornado, because
    ``__new__`` already knows them and subclasses may add their own.
    """

    # Per base class, set by configure(); read through the base, never a subclass.
    __impl_class: ClassVar[type[Configurable] | None] = None
    __impl_kwargs: ClassVar[dict[str, Any] | None] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        base = cls.configurable_base()
        init_kwargs: dict[str, Any] = {}
        if cls is base:
            impl = cls.configured_class()
            init_kwargs.update(base.__dict__.get("_Configurable__impl_kwargs") or {})
        else:
            impl = cls
        init_kwargs.update(kwargs)
        if impl.configurable_base() is not base:
            # The implementation is itself a configurable family: let it choose.
            return cast(Self, impl(*args, **init_kwargs))
        instance = super().__new__(impl)
        instance.initialize(*args, **init_kwargs)
        return cast(Self, instance)

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        """Return the base class of the configurable family (usually the class that overrides this)."""
        raise NotImplementedError()

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        """Return the implementation used when :meth:`configure` has not been called."""
        raise NotImplementedError()

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        """Initialise an instance; takes the place of ``__init__`` in this family."""

    @classmethod
    def configure(cls, impl: type[Configurable] | str | None, **kwargs: Any) -> None:
        """Choose the class the base builds, and keyword arguments added to every construction.

        Args:
            impl: a subclass of the base, its dotted name, or None for the default.
            kwargs: passed to ``initialize`` on top of the caller's own.

        Raises:
            ValueError: ``impl`` is not a subclass of the base.
        """
        base = cls.configurable_base()
        if isinstance(impl, str):
            impl = import_object(impl)
        if impl is not None and not (isinstance(impl, type) and issubclass(impl, cls)):
            raise ValueError(f"Invalid subclass of {cls}")
        base.__impl_class = impl
        base.__impl_kwargs = kwargs

    @classmethod
    def configured_class(cls) -> type[Configurable]:
        """Return the class :meth:`configure` chose, or the default."""
        base = cls.configurable_base()
        # Look in the base's own namespace: a configure() on another family's
        # base must not leak here through inheritance.
        if base.__dict__.get("_Configurable__impl_class") is None:
            base.__impl_class = cls.configurable_default()
        chosen = base.__impl_class
        if chosen is None:  # pragma: no cover - set just above
            raise RuntimeError("no configured class")
        return chosen

    @classmethod
    def _save_configuration(cls) -> tuple[type[Configurable] | None, dict[str, Any] | None]:
        base = cls.configurable_base()
        return (base.__dict__.get("_Configurable__impl_class"), base.__dict__.get("_Configurable__impl_kwargs"))

    @classmethod
    def _restore_configuration(cls, saved: tuple[type[Configurable] | None, dict[str, Any] | None]) -> None:
        base = cls.configurable_base()
        base.__impl_class = saved[0]
        base.__impl_kwargs = saved[1]

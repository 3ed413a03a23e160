"""An asynchronous web framework with Tornado's public API.

Strategy: ``import framework`` alone is enough, as ``import tornado`` is in
Tornado's documentation and demos (``tornado.web.Application``,
``tornado.locks.Condition``): a public submodule is imported on first
attribute access (PEP 562 ``__getattr__``) and ``dir(framework)`` lists them
all. Nothing is imported eagerly, so a program that needs only ``ioloop``
never pays for ``web``, ``template`` or ``httpclient``.

The submodules are read from the package directory once, at the first
attribute miss, rather than listed here, so a module added to the package is
covered without touching this file. Difference from Tornado: its list is
written by hand and leaves out ``websocket`` (so its own WebSocket demo fails
after ``import tornado``); here every module not starting with ``_`` is public.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType


@functools.cache
def _public_submodules() -> frozenset[str]:
    """The names of the package's public modules and subpackages (read once)."""
    import pkgutil  # here, not at the top: it costs more to import than the rest of this file

    return frozenset(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def __getattr__(name: str) -> ModuleType:
    """Import ``framework.<name>`` on first access (PEP 562); later accesses find it bound.

    Raises:
        AttributeError: ``name`` is no public submodule.
    """
    if not name.startswith("_") and name in _public_submodules():
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Every public submodule, imported or not, and the module's dunder names.

    The helpers this file imports (``functools``, ``pkgutil``...) are left
    out, so tab completion on ``framework.`` shows only the framework.
    """
    return sorted(_public_submodules() | {name for name in globals() if name.startswith("__")})

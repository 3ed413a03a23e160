"""Demo services built on ``framework`` only: each runs alone (``python -m services.<name>``) or behind nginx.

``python -m services.forms`` runs the module ``services.forms.__main__``. Instead
of one identical file per service, the finder below answers that name for
every service in the catalog (``services/catalog.py``) with two lines that run
it: ``sys.exit(run_service("forms"))`` (``services/common/run.py``). A package
with a ``__main__.py`` of its own still gets that file: Python's own finders
are asked first.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence

from services.catalog import service_named

_SOURCE = """\
import sys
from services.common.run import run_service
if __name__ == "__main__":
    sys.exit(run_service({name!r}))
"""


class _ServiceMainLoader(importlib.abc.InspectLoader):
    """Loads ``services.<name>.__main__`` from ``_SOURCE``: runpy compiles it through ``get_code``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get_source(self, fullname: str) -> str:
        return _SOURCE.format(name=self.name)

    def is_package(self, fullname: str) -> bool:
        return False


class _ServiceMainFinder(importlib.abc.MetaPathFinder):
    """Finds ``services.<name>.__main__`` for the services of the catalog, and nothing else."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        root, _, rest = fullname.partition(".")
        name, _, leaf = rest.partition(".")
        if root != __name__ or leaf != "__main__" or service_named(name) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _ServiceMainLoader(name))


if not any(isinstance(finder, _ServiceMainFinder) for finder in sys.meta_path):
    sys.meta_path.append(_ServiceMainFinder())

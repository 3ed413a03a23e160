"""This directory is a Tornado project: its modules load with ``tornado`` -> ``framework`` in their imports.

``porting.py`` holds the rewriting finder; it is loaded here by path (the
test directory is no package) and installed before pytest imports
``test_app.py``, so pytest collects the project's own Tornado-style tests.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("tornado_app_porting", Path(__file__).with_name("porting.py"))
assert _spec is not None and _spec.loader is not None
porting = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(porting)
porting.install()

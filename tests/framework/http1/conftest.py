"""Fixtures of the http1 tests: which implementation of the fast paths the parser and writer run.

The parser and writer try the compiled accelerator (``framework.http1.speedups``)
first and fall back to pure Python, the reference. Test files that mark
themselves with ``pytestmark = pytest.mark.usefixtures("http1_implementation")``
run every test twice, once each way, so the same expectations hold for both.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

from framework.http1 import RequestHead, parser, writer

REQUIRED = os.environ.get("FRAMEWORK_REQUIRE_SPEEDUPS", "") not in ("", "0")
"""``FRAMEWORK_REQUIRE_SPEEDUPS=1`` (scripts/test sets it): a missing accelerator fails instead of skipping."""


NOT_BUILT = (
    "framework.http1.speedups is not built (no C compiler or Python headers when pip install -e . ran): "
    "only the pure-Python parser and writer are tested"
)


def compiled_speedups() -> ModuleType:
    """The compiled accelerator; skips the test where it is not built.

    Imported here rather than taken from the parser, which does not load it
    under ``FRAMEWORK_HTTP1_PURE=1``: the tests exercise it either way. Where
    it is required, ``test_speedups.py`` has the one test that fails instead.
    """
    try:
        return importlib.import_module("framework.http1.speedups")
    except ImportError:
        pytest.skip(NOT_BUILT)


@pytest.fixture(params=["compiled", "pure"])
def http1_implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the parser and writer at the compiled fast paths, or at none (pure Python)."""
    if request.param == "compiled":
        speedups = compiled_speedups()
        speedups.bind_request_head(RequestHead)
        monkeypatch.setattr(parser, "_fast_read_request_head", speedups.read_request_head)
        monkeypatch.setattr(parser, "_new_request_head", speedups.make_request_head)
        monkeypatch.setattr(writer, "_fast_serialize_response_fields", speedups.serialize_response_fields)
        monkeypatch.setattr(writer, "_fast_prepared_response", speedups.prepared_response)
    else:
        monkeypatch.setattr(parser, "_fast_read_request_head", None)
        monkeypatch.setattr(parser, "_new_request_head", RequestHead)
        monkeypatch.setattr(writer, "_fast_serialize_response_fields", None)
        monkeypatch.setattr(writer, "_fast_prepared_response", None)
    return str(request.param)

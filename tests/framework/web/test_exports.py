"""Tests for framework/web/__init__.py: the public names, re-exported and nothing else (STYLE.md rule 2)."""

from __future__ import annotations

import ast
import importlib
import pathlib
import sys
from typing import Any

import framework.web

EXPECTED_PUBLIC_NAMES = {
    "Application",
    "ErrorHandler",
    "FallbackHandler",
    "Finish",
    "GZipContentEncoding",
    "HTTPError",
    "Locale",
    "MissingArgumentError",
    "OutputTransform",
    "RedirectHandler",
    "RequestHandler",
    "StaticFileHandler",
    "TemplateModule",
    "UIModule",
    "URLSpec",
    "addslash",
    "authenticated",
    "asynchronous",
    "create_signed_value",
    "decode_signed_value",
    "get_signature_key_version",
    "removeslash",
    "stream_request_body",
    "url",
}


def test_public_names_are_exactly_the_expected_ones() -> None:
    assert set(framework.web.__all__) == EXPECTED_PUBLIC_NAMES
    assert len(framework.web.__all__) == len(EXPECTED_PUBLIC_NAMES)
    for name in framework.web.__all__:
        value = getattr(framework.web, name)
        module = importlib.import_module(value.__module__)
        assert getattr(module, value.__name__) is value, name
    namespace: dict[str, Any] = {}
    exec("from framework.web import *", namespace)
    assert EXPECTED_PUBLIC_NAMES <= set(namespace)


def test_web_package_init_only_reexports() -> None:
    """STYLE.md rule 2: a docstring, ``from .x import Name as Name`` lines and ``__all__``."""
    source = pathlib.Path(framework.web.__file__).read_text()
    tree = ast.parse(source)
    reexported = set()
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                assert alias.asname == alias.name, f"line {node.lineno}: re-export as 'import X as X'"
                reexported.add(alias.name)
            continue
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__all__"]:
            continue
        raise AssertionError(f"line {node.lineno}: framework/web/__init__.py must only re-export")
    assert reexported == set(framework.web.__all__)


def test_web_imports_in_a_fresh_interpreter() -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import framework.web; print(len(framework.web.__all__))"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(EXPECTED_PUBLIC_NAMES))

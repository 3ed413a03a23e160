"""Tests for framework/httputil/__init__.py: every public name is imported and used by the package's tests.

The tests of each module behind it are beside this file, one file per module
(``test_headers.py`` for ``headers.py``...), as Tornado's ``httputil_test``
exercises those names.
"""

from __future__ import annotations

import ast
import pathlib

from framework import httputil


def test_every_public_name_of_httputil_is_named_in_its_tests() -> None:
    trees = [ast.parse(path.read_text()) for path in sorted(pathlib.Path(__file__).parent.glob("test_*.py"))]
    imported = {
        alias.name
        for tree in trees
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "framework.httputil"
        for alias in node.names
    }
    assert imported == set(httputil.__all__)
    used_in_tests = {name.id for tree in trees for name in ast.walk(tree) if isinstance(name, ast.Name)}
    assert set(httputil.__all__) <= used_in_tests

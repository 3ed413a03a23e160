"""The layering of DESIGN.md, checked: who may import whom, and every module imports alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "framework"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(module_name(p) for p in PACKAGE.rglob("*.py"))


def framework_imports(module: str) -> set[str]:
    """Every ``framework.*`` module that ``module`` imports (top level or not)."""
    path = REPO / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = REPO / module.replace(".", "/") / "__init__.py"
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("framework"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base == "framework":
                found.update(f"framework.{alias.name}" for alias in node.names)
            elif base.startswith("framework."):
                found.add(base)
    found.discard(module)
    return found


RULES: dict[str, set[str] | None] = {
    # module: the framework modules it may import (None = anything but the forbidden list below)
    "framework.http1": set(),
    "framework.httputil": {"framework.http1", "framework.multipart", "framework.escape"},
    "framework.routing": {"framework.httputil"},
    # Beside locks: general tools that know no sockets and no HTTP.
    "framework.util": set(),
    "framework.queues": {"framework.locks"},
    "framework.concurrent": {"framework.ioloop"},
    # Streams on asyncio transports, beside the connection layer: no HTTP in them.
    "framework.iostream": {"framework.ioloop"},
    "framework.tcpclient": {"framework.ioloop", "framework.iostream"},
    "framework.tcpserver": {"framework.ioloop", "framework.iostream", "framework.netutil", "framework.process"},
    # Translations know no HTTP: web imports them (RequestHandler.locale), as Tornado's web does.
    "framework.locale": set(),
    "framework.platform": {"framework.gen", "framework.ioloop"},
    # Beside the server: a message delegate wrapper, knowing only the seam.
    "framework.decompress": {"framework.httputil"},
    # Above web, as DESIGN.md places them: they serve applications, nothing below imports them.
    "framework.wsgi": {"framework.httpserver", "framework.httputil", "framework.ioloop", "framework.log"},
    "framework.auth": {"framework.httpclient", "framework.httputil", "framework.web"},
}
FORBIDDEN = {
    "framework.httpserver": {"framework.web", "framework.routing"},
    "framework.httpclient": {"framework.web", "framework.routing"},
    "framework.http1connection": {"framework.web", "framework.routing"},
}


def outside_imports(module: str) -> set[str]:
    """What ``module`` (and, for a package, every module inside it) imports from outside itself."""
    members = [m for m in MODULES if m == module or m.startswith(module + ".")]
    found: set[str] = set()
    for member in members:
        found |= framework_imports(member)
    return {name for name in found if name != module and not name.startswith(module + ".")}


@pytest.mark.parametrize("module", sorted(RULES))
def test_allowed_imports(module: str) -> None:
    allowed = RULES[module]
    assert allowed is not None
    assert outside_imports(module) <= allowed


@pytest.mark.parametrize("module", sorted(m for m in FORBIDDEN if m in MODULES))
def test_server_and_client_never_import_the_web_layer(module: str) -> None:
    imported = outside_imports(module)
    for forbidden in FORBIDDEN[module]:
        assert not any(name == forbidden or name.startswith(forbidden + ".") for name in imported), imported


def test_multipart_imports_nothing_from_framework() -> None:
    if "framework.multipart" in MODULES:
        assert framework_imports("framework.multipart") == set()


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_in_a_fresh_interpreter(module: str) -> None:
    """Catches import cycles that a warm test process would hide."""
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_no_module_outgrows_a_single_concept() -> None:
    """STYLE.md: about 800 lines at most; a larger module becomes a package."""
    sizes = {module_name(p): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {m: n for m, n in sizes.items() if n > 850} == {}


def test_web_package_only_reexports() -> None:
    import framework.web

    tree = ast.parse((PACKAGE / "web" / "__init__.py").read_text())
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert all(isinstance(n, (ast.ImportFrom, ast.Assign, ast.Try)) for n in body)
    for name in framework.web.__all__:
        assert getattr(framework.web, name) is not None

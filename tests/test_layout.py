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
    # Sans-IO like http1, and beside it: its one import is http1 (itself importing
    # nothing), for the one NEED_DATA sentinel every decoder shares and the one
    # token rule (TCHAR), so neither is written twice. Still no sockets, no asyncio.
    "framework.multipart": {"framework.http1"},
    "framework.httputil": {"framework.http1", "framework.multipart", "framework.escape"},
    "framework.routing": {"framework.httputil"},
    # Beside locks: general tools that know no sockets and no HTTP.
    "framework.util": set(),
    "framework.queues": {"framework.locks"},
    "framework.concurrent": {"framework.ioloop"},
    # Streams on asyncio transports, beside the connection layer: no HTTP in them.
    "framework.iostream": {"framework.ioloop"},
    "framework.tcpclient": {"framework.ioloop", "framework.iostream", "framework.netutil"},
    "framework.tcpserver": {"framework.ioloop", "framework.iostream", "framework.netutil", "framework.process"},
    # Translations know no HTTP: web imports them (RequestHandler.locale), as Tornado's web does.
    "framework.locale": set(),
    "framework.platform": {"framework.gen", "framework.ioloop"},
    # What the server and its connections share: settings, client context, the state they report to.
    "framework.serverstate": {"framework.http1", "framework.httputil"},
    # Beside the server: a message delegate wrapper, knowing only the seam (and util's gzip decompressor).
    "framework.decompress": {"framework.httputil", "framework.util"},
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


def test_sans_io_decoders_share_one_need_data() -> None:
    """http1, multipart and WebSocket frames answer "feed me more" with the same object."""
    from framework import http1, multipart
    from framework.websocket import frames

    assert multipart.NEED_DATA is http1.NEED_DATA
    assert frames.NEED_DATA is http1.NEED_DATA


def private_reads(module: str, source: str | None = None) -> list[str]:
    """Underscore names of other framework modules that ``module`` imports or reads.

    Two shapes: ``from framework.x import _y`` (relative imports included), and
    ``x._y`` where ``x`` names a framework module imported here (``import
    framework.x as x``, ``from framework import x``), or ``x.y._z`` through it.
    Dunders (``__version__``) are public. A module's own names, and what a
    package's ``__init__`` takes from its own submodules, are not "another's".
    """
    path = REPO / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = REPO / module.replace(".", "/") / "__init__.py"
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    found: list[str] = []
    modules: dict[str, str] = {}  # local name -> framework module it is bound to

    def private(name: str) -> bool:
        return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("framework"):
                    if alias.asname:
                        modules[alias.asname] = alias.name
                    else:
                        modules[alias.name.split(".")[0]] = "framework"
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if not base.startswith("framework"):
                continue
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if private(alias.name) and target != module:
                    found.append(f"line {node.lineno}: from {base} import {alias.name}")
                if target in MODULES:
                    modules[alias.asname or alias.name] = target
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain: list[str] = []
        value: ast.expr = node
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if not isinstance(value, ast.Name) or value.id not in modules:
            continue
        owner = modules[value.id]
        for attr in reversed(chain):  # walk framework.a.b: the first private name is the reach
            if private(attr):
                if owner != module:
                    found.append(f"line {node.lineno}: {owner}.{attr}")
                break
            if f"{owner}.{attr}" not in MODULES:
                break
            owner = f"{owner}.{attr}"
    return sorted(set(found))


@pytest.mark.parametrize("module", MODULES)
def test_no_module_reads_another_modules_private_names(module: str) -> None:
    """STYLE.md 15: a fast path that reaches into another module's privates is not local.

    Seams are public names (``HTTPHeaders.fields``, ``http1.DISPLAY_NAMES``,
    ``locks.WaiterQueue``); what starts with an underscore belongs to its module.
    """
    assert private_reads(module) == []


def test_private_reads_finds_both_shapes() -> None:
    """The checker itself: it must see an import of a private name and an attribute read."""
    source = (
        "from framework.http1.grammar import _HIDDEN\n"
        "from framework import http1\n"
        "import framework.locks as locks\n"
        "x = http1.grammar._CACHE\n"
        "y = locks._WaiterQueue\n"
        "z = http1.__name__\n"
    )
    assert private_reads("framework.probe", source) == [
        "line 1: from framework.http1.grammar import _HIDDEN",
        "line 4: framework.http1.grammar._CACHE",
        "line 5: framework.locks._WaiterQueue",
    ]


def import_edges(module: str) -> set[str]:
    """The framework modules ``module`` imports anywhere: top level, ``TYPE_CHECKING`` blocks, functions.

    ``from framework.web import security`` is an edge to the submodule
    ``framework.web.security``; ``from framework.web.handler import X`` to
    ``framework.web.handler``. A module's own package ``__init__`` is not an
    edge (Python runs it first anyway, and it only re-exports).
    """
    path = REPO / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = REPO / module.replace(".", "/") / "__init__.py"
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("framework"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.startswith("framework"):
                found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names)
    return {m for m in found if m in MODULES and m != module and not module.startswith(m + ".")}


# Imports that point back up on purpose, each made at call time, with its reason.
UPWARD_IMPORTS = {
    # Tornado's enable_pretty_logging() and define_logging_options() default
    # to the global parser, and options imports log to define those options.
    ("framework.log", "framework.options"),
}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or around a loop (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_import_cycles_finds_loops() -> None:
    """The checker itself: a loop through three modules is one group; a chain is none."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"], ["e"]]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles_even_for_type_checking() -> None:
    """STYLE.md 14: no two modules depend on each other, whatever the import is for.

    A loop hidden behind ``if TYPE_CHECKING:`` still ties two layers
    together (the handler layer once named ``Application`` that way; it now
    names ``contracts.HandlerApplication``).
    """
    graph = {m: {t for t in import_edges(m) if (m, t) not in UPWARD_IMPORTS} for m in MODULES}
    assert import_cycles(graph) == []


def test_upward_imports_are_still_needed() -> None:
    """Each allowed upward import still exists (a stale allowance would hide a new loop)."""
    for module, target in UPWARD_IMPORTS:
        assert target in import_edges(module)


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

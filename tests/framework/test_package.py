"""``import framework`` is enough: submodules load on first attribute access (PEP 562).

Each check runs in a fresh interpreter, since this test process has imported
most of the package already.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import framework

PACKAGE = Path(framework.__file__).parent
PUBLIC = sorted(info.name for info in pkgutil.iter_modules([str(PACKAGE)]) if not info.name.startswith("_"))


def run_fresh(code: str) -> str:
    """Run ``code`` in a new interpreter and return its stdout; fail with its stderr."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_tornado_style_attribute_access_after_import_framework() -> None:
    run_fresh(
        """
        import framework
        assert framework.web.Application and framework.web.RequestHandler
        assert framework.websocket.WebSocketHandler
        assert framework.locks.Condition and framework.ioloop.IOLoop
        assert framework.httpclient.AsyncHTTPClient and framework.httpserver.HTTPServer
        assert framework.options.define and framework.log.app_log
        assert framework.testing.AsyncHTTPTestCase and framework.netutil.bind_sockets
        assert framework.process.fork_processes and framework.escape.url_escape
        """
    )


def test_import_framework_alone_imports_no_submodule() -> None:
    out = run_fresh(
        """
        import sys
        import framework
        print(sorted(m for m in sys.modules if m.startswith("framework.")))
        """
    )
    assert out.strip() == "[]"


def test_one_attribute_imports_only_what_it_needs() -> None:
    out = run_fresh(
        """
        import sys
        import framework
        framework.escape
        print("framework.web" in sys.modules, "framework.escape" in sys.modules)
        """
    )
    assert out.split() == ["False", "True"]


def test_every_public_module_is_reachable_and_listed() -> None:
    out = run_fresh(
        f"""
        import sys
        import framework
        names = {PUBLIC!r}
        assert set(names) <= set(dir(framework)), set(names) - set(dir(framework))
        for name in names:
            assert getattr(framework, name) is sys.modules["framework." + name], name
        print(len(names))
        """
    )
    assert int(out) == len(PUBLIC)
    assert {"web", "websocket", "httpclient", "netutil", "process", "log", "testing", "options"} <= set(PUBLIC)


def test_unknown_and_private_names_are_attribute_errors() -> None:
    run_fresh(
        """
        import framework
        for name in ("nonexistent", "_private", "__wrapped__"):
            try:
                getattr(framework, name)
            except AttributeError as exc:
                assert name in str(exc)
            else:
                raise SystemExit(f"{name} did not raise")
        assert not hasattr(framework, "nonexistent")
        """
    )


def test_from_framework_import_submodule_still_works() -> None:
    run_fresh(
        """
        from framework import web, gen
        assert web.Application and gen.coroutine
        """
    )


def test_dir_lists_submodules_not_the_helpers_of_init() -> None:
    out = run_fresh(
        """
        import framework
        print(" ".join(dir(framework)))
        """
    )
    names = set(out.split())
    assert set(PUBLIC) <= names and "__name__" in names
    assert not {"functools", "importlib", "pkgutil", "ModuleType"} & names

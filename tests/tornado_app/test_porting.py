"""The notes application is a Tornado program that runs under ``framework`` with only its imports changed.

``app.py`` and ``test_app.py`` are written for Tornado (``from tornado...``);
``conftest.py`` installs ``porting``'s finder, which compiles them with
``tornado`` -> ``framework`` in their import statements and nowhere else, so
pytest collects ``test_app.py`` as it stands. These tests check that claim:
Tornado is neither installed nor imported, the source that runs differs
from the files only in import lines, and the program runs from its command
line (options, logging, signals). They also pin the one setting a Tornado
application that relies on ``template_path`` alone must add.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from framework.testing import ExpectLog, bind_unused_port, serve

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PROGRAM = ("app.py", "test_app.py")


def _porting() -> Any:
    return sys.modules["tornado_app_porting"]  # loaded by conftest.py


def test_tornado_is_never_imported() -> None:
    # Tornado may be installed beside the framework (scripts/bench puts it in the
    # same .venv, for the side-by-side benchmarks): what matters is that the
    # program, run through the finder, never loads it.
    import app  # type: ignore[import-not-found]  # the program's module, through the finder

    assert not [name for name in sys.modules if name == "tornado" or name.startswith("tornado.")]
    assert app.web.__name__ == "framework.web"
    assert app.NotesApplication.__mro__[1].__module__ == "framework.web.application"


@pytest.mark.parametrize("name", PROGRAM)
def test_only_import_lines_change(name: str) -> None:
    source = (HERE / name).read_text(encoding="utf-8")
    ported = _porting().rewrite_imports(source)
    changed = [(old, new) for old, new in zip(source.splitlines(), ported.splitlines(), strict=True) if old != new]
    assert changed, "the program imports tornado"
    for old, new in changed:
        assert old.lstrip().startswith(("from tornado", "import tornado")), old
        assert new == old.replace("tornado", "framework", 1)
    # Every other mention of tornado (docstrings, comments) is left as written.
    assert ported.count("tornado") == source.count("tornado") - len(changed)


@pytest.mark.parametrize(
    ("source", "ported"),
    [
        ("from tornado import web, gen\n", "from framework import web, gen\n"),
        ("from tornado.web import url  # tornado\n", "from framework.web import url  # tornado\n"),
        ("import tornado.ioloop as loop, os\n", "import framework.ioloop as loop, os\n"),
        ('x = "import tornado"\nif x:\n    from tornado.options import (\n        define)\n',
         'x = "import tornado"\nif x:\n    from framework.options import (\n        define)\n'),
        ("import tornado as t; import tornadoes\n", "import framework as t; import tornadoes\n"),
        ("from .tornado import x\nfrom os import tornado\n", "from .tornado import x\nfrom os import tornado\n"),
    ],
)  # fmt: skip
def test_rewrite_touches_module_paths_of_imports_only(source: str, ported: str) -> None:
    assert _porting().rewrite_imports(source) == ported


@pytest.mark.parametrize("source", ["import tornado.web\n", "import os, tornado\n", "import tornado\n"])
def test_an_import_that_binds_the_name_tornado_is_refused(source: str) -> None:
    with pytest.raises(ValueError, match="binds the name 'tornado'"):
        _porting().rewrite_imports(source)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the program exited early: {proc.communicate()[1].decode()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"the program did not listen on port {port}")


@pytest.fixture
def program(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """``python porting.py app.py --port=N ...`` as a process; SIGTERM at the end if still running."""
    sock, port = bind_unused_port()
    sock.close()
    journal = tmp_path / "journal.jsonl"
    args = [f"--port={port}", "--summary_threads=1", f"--journal={journal}", "--cookie_secret=cli-secret"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "porting.py"), "app.py", *args],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}", proc, journal
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_the_program_runs_from_its_command_line(program: tuple[str, subprocess.Popen[bytes], Path]) -> None:
    base, proc, journal = program
    with requests.Session() as session:
        login = session.get(base + "/login")
        assert login.status_code == 200
        token = session.cookies["_xsrf"]
        signed_in = session.post(base + "/login", data={"_xsrf": token, "name": "carol", "next": "/compose"})
        assert signed_in.url == base + "/compose"
        posted = session.post(base + "/compose", data={"_xsrf": token, "title": "From the shell", "body": "it runs"})
        assert posted.url == base + "/notes/1"
        assert session.get(base + "/api/notes/1/summary?wait=5").json()["words"] == 2
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    log = err.decode()
    assert proc.returncode == 0, log
    # parse_command_line() set logging up, as Tornado's does: the access log is on stderr.
    assert "200 GET /login" in log
    assert f"notes on {base}/" in log
    assert "notes stopped" in log
    assert '"title": "From the shell"' in journal.read_text()


def test_template_path_alone_means_jinja2_and_tornado_syntax_needs_one_setting() -> None:
    """Tornado reads ``template_path`` with its own language; framework with Jinja2 unless told.

    ``app.py`` passes ``template_loader=Loader(template_path)``, which both
    read the same way. An application relying on ``template_path`` alone
    adds ``template_engine="tornado"`` (the deliberate difference the
    README's "Moving from Tornado" lists).
    """
    import app

    jinja = app.NotesApplication(cookie_secret="x" * 32, template_loader=None)
    tornado_syntax = app.NotesApplication(cookie_secret="x" * 32, template_loader=None, template_engine="tornado")
    with serve(jinja) as server, ExpectLog(logging.getLogger("framework.application"), "Uncaught exception"):
        assert requests.get(server.url("/login"), timeout=10).status_code == 500
    with serve(tornado_syntax) as server:
        page = requests.get(server.url("/login"), timeout=10)
        assert page.status_code == 200
        assert 'name="_xsrf"' in page.text

"""The pure parts of loadtest/bench.py and servers/pages.py: workloads, the Lua body, names, rotation, --access-log."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import jinja2
import pytest

LOADTEST = Path(__file__).resolve().parents[2] / "loadtest"
# loadtest/ is a folder of scripts, not a package; the servers import pages.py from their own folder.
sys.path.insert(0, str(LOADTEST))
sys.path.insert(0, str(LOADTEST / "servers"))

import pages

import bench
import serverproc


def test_the_specs_and_the_registry_name_the_same_workloads() -> None:
    assert tuple(bench.WORKLOAD_SPECS) == serverproc.WORKLOADS
    for contender in serverproc.CONTENDERS.values():
        assert set(contender.workloads) <= set(serverproc.WORKLOADS), contender.name
        assert (serverproc.SERVERS / contender.script).is_file(), contender.name


def test_lua_body_reads_the_one_quoted_assignment() -> None:
    script = 'wrk.method = "POST"\nwrk.body = "a=1&b=%26"\n'
    assert bench.lua_body(script) == "a=1&b=%26"
    with pytest.raises(ValueError):
        bench.lua_body('wrk.method = "POST"\n')


def test_the_form_script_sends_every_field_and_the_reply_matches_the_probe() -> None:
    method, body, headers = bench.WORKLOAD_SPECS["form"].request()
    assert method == "POST" and headers == {"Content-Type": "application/x-www-form-urlencoded"}
    assert body is not None
    fields = {name: values[0] for name, values in urllib.parse.parse_qs(body.decode()).items()}
    assert tuple(fields) == pages.FORM_FIELDS
    assert bench.WORKLOAD_SPECS["form"].expect in pages.form_reply(fields).encode()


def test_the_shared_page_renders_a_few_kilobytes_that_match_the_probe() -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(pages.TEMPLATES), autoescape=True, auto_reload=False)
    html = env.get_template(pages.TEMPLATE_NAME).render(**pages.CONTEXT).encode()
    assert 3_000 < len(html) < 10_000
    assert bench.WORKLOAD_SPECS["template"].expect in html
    assert b"<script>" not in html  # escaped


def test_parse_names_defaults_to_all_and_rejects_unknown_names() -> None:
    assert bench.parse_names(None, ("a", "b")) == ["a", "b"]
    assert bench.parse_names(" b, a ,", ("a", "b")) == ["b", "a"]
    with pytest.raises(ValueError, match="unknown c"):
        bench.parse_names("a,c", ("a", "b"))


def test_rotation_interleaves_pairs() -> None:
    pairs = [("hello", "x"), ("hello", "y"), ("form", "x")]
    assert bench.rotation(pairs, 2) == [pairs, [pairs[1], pairs[2], pairs[0]]]
    assert bench.label(("form", "x")) == "x/form"


# -- --access-log ---------------------------------------------------------------------------


def test_an_access_log_run_leaves_out_the_contenders_without_one() -> None:
    contenders = [serverproc.CONTENDERS[name] for name in bench.DEFAULT]
    measured, left_out = serverproc.split_by_access_log(contenders)
    assert [c.name for c in left_out] == ["framework_raw", "asyncio_raw"]
    assert [c.name for c in measured] == [n for n in bench.DEFAULT if n not in ("framework_raw", "asyncio_raw")]


def test_an_access_log_run_of_only_contenders_without_one_is_refused_before_anything_starts() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("bench.py refuses to run without wrk before it reads --only")
    argv = [sys.executable, str(LOADTEST / "bench.py"), "--access-log", "--only", "asyncio_raw,framework_raw"]
    child = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert child.returncode == 2
    assert "none of these contenders has an access log of its own" in child.stderr


def test_the_table_title_and_the_settings_say_the_access_log_was_on(capsys: pytest.CaptureFixture[str]) -> None:
    summary = bench.summarise({"framework_web": [bench.WrkResult(1000.0, 2000, 0.1, 0.5, {}, 0.1)]})
    bench.print_table(bench.WORKLOAD_SPECS["hello"], summary, 1, 2.0, access_log=True)
    bench.print_table(bench.WORKLOAD_SPECS["hello"], summary, 1, 2.0)
    logged, plain = capsys.readouterr().out.strip().split("\n\n")
    assert "ACCESS LOG ON" in logged.splitlines()[0]
    assert "ACCESS LOG" not in plain

    logged_run = argparse.Namespace(rounds=1, duration=2.0, warmup=1.0, access_log=True)
    settings = bench.run_settings(logged_run, ["hello"], [serverproc.CONTENDERS["asyncio_raw"]])
    assert settings["access_log"] is True
    assert settings["left_out_without_access_log"] == ["asyncio_raw"]
    plain_run = argparse.Namespace(rounds=1, duration=2.0, warmup=1.0, access_log=False)
    assert bench.run_settings(plain_run, ["hello"], [])["access_log"] is False

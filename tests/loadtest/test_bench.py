"""The pure parts of loadtest/bench.py and servers/pages.py: workloads, the Lua body, names, rotation."""

from __future__ import annotations

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

"""Tests for Tornado's template language in framework/template/ (syntax, codegen, compiled, loaders).

Templates are compiled from strings, a ``DictLoader`` or files under
``tmp_path``; the last tests render them from an ``Application`` through a
real server (``framework.testing.serve``).
"""

from __future__ import annotations

import datetime
import logging
import pathlib
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from framework import template
from framework.template import (
    BaseLoader,
    DictLoader,
    Loader,
    ParseError,
    Template,
    filter_whitespace,
)
from framework.template import compiled as compiled_module
from framework.testing import serve
from framework.util import ObjectDict
from framework.web import Application, RequestHandler


def render(source: str, **kwargs: Any) -> str:
    return Template(source).generate(**kwargs).decode("utf-8")


# -- expressions and escapes ---------------------------------------------------


def test_generate_returns_utf8_bytes() -> None:
    result = Template("<p>{{ name }} {{ n + 1 }}</p>").generate(name="Zoë", n=41)
    assert result == "<p>Zoë 42</p>".encode()


def test_template_source_may_be_bytes() -> None:
    assert Template("héllo {{ x }}".encode()).generate(x=b"w\xc3\xb6") == "héllo wö".encode()


def test_expressions_are_escaped_by_default() -> None:
    assert render("{{ s }}|{{ b }}", s="<a href='x'>&", b=b"<b>") == "&lt;a href=&#x27;x&#x27;&gt;&amp;|&lt;b&gt;"


def test_raw_and_autoescape_none() -> None:
    assert render("{% raw s %}|{{ s }}", s="<i>") == "<i>|&lt;i&gt;"
    # {% autoescape %} sets the mode of the whole file, as in Tornado.
    assert render("{{ s }}{% autoescape None %}{{ s }}", s="<i>") == "<i><i>"


def test_autoescape_names_any_function_in_the_namespace() -> None:
    source = "{% autoescape shout %}{{ s }}"
    assert render(source, s="hi", shout=lambda v: v.upper()) == "HI"
    assert Template("{{ s }}", autoescape=None).generate(s="<") == b"<"


def test_literal_tag_openers_and_comments() -> None:
    assert render("{{! x }} {%! if %} {#! y #}") == "{{ x }} {% if %} {# y #}"
    assert render("a{# gone {{ x }} #}b") == "ab"
    assert render("{% comment anything at all %}c") == "c"
    # In {{{ the first brace is text.
    assert render("{{{ x }}}", x=1) == "{1}"
    assert render("{ not a tag } {x}") == "{ not a tag } {x}"


def test_default_namespace() -> None:
    source = (
        "{% autoescape None %}{{ escape('<') }} {{ xhtml_escape('&') }} {{ url_escape('a b/') }} "
        "{% raw json_encode({'k': '</'}) %} "
        "{{ squeeze('a   b') }} {% raw linkify('see http://x.org') %} {{ datetime.date(2024, 1, 2).isoformat() }}"
    )
    assert render(source) == ('&lt; &amp; a+b%2F {"k": "<\\/"} a b see <a href="http://x.org">http://x.org</a> 2024-01-02')


def test_non_string_values_are_converted() -> None:
    assert render("{{ n }} {{ none }} {{ items }}", n=3.5, none=None, items=[1]) == "3.5 None [1]"


# -- control flow --------------------------------------------------------------


def test_if_elif_else() -> None:
    source = "{% for n in range(4) %}{% if n == 0 %}zero{% elif n == 1 %}one{% else %}many{% end %},{% end %}"
    assert render(source) == "zero,one,many,many,"


def test_for_with_break_continue_and_else() -> None:
    source = "{% for n in xs %}{% if n == 2 %}{% continue %}{% end %}{% if n == 4 %}{% break %}{% end %}{{ n }}{% end %}"
    assert render(source, xs=[1, 2, 3, 4, 5]) == "13"
    assert render("{% for n in xs %}{{ n }}{% else %}done{% end %}", xs=[1]) == "1done"


def test_while_and_set() -> None:
    assert render("{% set i = 3 %}{% while i %}{{ i }}{% set i -= 1 %}{% end %}") == "321"


def test_try_except_else_finally() -> None:
    source = "{% try %}{{ 1 // d }}{% except ZeroDivisionError %}div{% else %}ok{% finally %}!{% end %}"
    assert render(source, d=0) == "div!"
    assert render(source, d=1) == "1ok!"


def test_empty_blocks_compile() -> None:
    assert render("{% if x %}{% else %}{% end %}{% for i in [] %}{% end %}", x=True) == ""


def test_apply() -> None:
    assert render("{% apply upper %}a{{ x }}b{% end %}", x="<y>", upper=lambda s: s.upper()) == "A&LT;Y&GT;B"
    assert render("{% apply linkify %}http://a.org{% end %}") == '<a href="http://a.org">http://a.org</a>'


def test_import_and_from() -> None:
    source = "{% import math %}{% from os import path as p %}{{ math.floor(2.5) }} {{ p.basename('/a/b') }}"
    assert render(source) == "2 b"


def test_module_calls_the_namespace_ui_modules() -> None:
    modules = ObjectDict(Greeting=lambda name: f"<b>{name}</b>")
    assert render("{% module Greeting('x') %}", _tt_modules=modules) == "<b>x</b>"


# -- whitespace ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("all", "a  \n\n  b\tc"), ("single", "a\nb c"), ("oneline", "a b c")],
)
def test_filter_whitespace(mode: str, expected: str) -> None:
    assert filter_whitespace(mode, "a  \n\n  b\tc") == expected


def test_filter_whitespace_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="invalid whitespace mode"):
        filter_whitespace("compact", "x")


def test_whitespace_defaults_by_file_name() -> None:
    source = "a   \n\n   b"
    assert Template(source, name="page.html").generate() == b"a\nb"
    assert Template(source, name="app.js").generate() == b"a\nb"
    assert Template(source, name="mail.txt").generate() == source.encode()
    assert Template(source).generate() == source.encode()


def test_whitespace_arguments() -> None:
    source = "a   \n\n   b"
    assert Template(source, whitespace="oneline").generate() == b"a b"
    assert Template(source, compress_whitespace=True).generate() == b"a\nb"
    assert Template(source, name="x.html", compress_whitespace=False).generate() == source.encode()
    with pytest.raises(ValueError, match="both"):
        Template(source, compress_whitespace=True, whitespace="all")
    with pytest.raises(ValueError, match="invalid whitespace mode"):
        Template(source, whitespace="tight")


def test_whitespace_tag_and_pre() -> None:
    source = "a  b{% whitespace oneline %}\n  c  \n{% whitespace all %}  d  "
    assert Template(source, name="x.html").generate() == b"a b c   d  "
    assert Template("<pre>  x\n\n  y</pre>", name="x.html").generate() == b"<pre>  x\n\n  y</pre>"


def test_loader_whitespace_applies_to_its_templates() -> None:
    loader = DictLoader({"page.txt": "a   b"}, whitespace="oneline")
    assert loader.load("page.txt").generate() == b"a b"
    with pytest.raises(ValueError):
        DictLoader({}, whitespace="nope")


# -- inheritance and includes --------------------------------------------------

BASE = (
    "<title>{% block title %}Default{% end %}</title>"
    "{% for s in students %}{% block student %}<li>{{ s }}</li>{% end %}{% end %}"
    "{% include 'footer.html' %}"
)


def dict_loader(**extra: str) -> DictLoader:
    return DictLoader({"base.html": BASE, "footer.html": "<footer>{{ year }}</footer>", **extra})


def test_extends_replaces_blocks_and_ignores_text_outside_them() -> None:
    loader = dict_loader(**{"bold.html": "{% extends 'base.html' %}ignored{% block student %}<b>{{ s }}</b>{% end %}"})
    result = loader.load("bold.html").generate(students=["a", "<b>"], year=2024)
    assert result == b"<title>Default</title><b>a</b><b>&lt;b&gt;</b><footer>2024</footer>"
    assert loader.load("base.html").generate(students=["a"], year=1) == b"<title>Default</title><li>a</li><footer>1</footer>"


def test_three_levels_of_extends() -> None:
    loader = dict_loader(
        **{
            "middle.html": "{% extends 'base.html' %}{% block title %}Mid{% end %}{% block student %}[{{ s }}]{% end %}",
            "leaf.html": '{% extends "middle.html" %}{% block title %}Leaf {% block sub %}sub{% end %}{% end %}',
        }
    )
    assert loader.load("leaf.html").generate(students=[1], year=0) == b"<title>Leaf sub</title>[1]<footer>0</footer>"


def test_a_block_keeps_the_autoescape_of_the_file_it_is_written_in() -> None:
    loader = DictLoader(
        {
            "base.html": "{{ x }}{% block b %}{% end %}",
            "child.html": "{% extends 'base.html' %}{% autoescape None %}{% block b %}{{ x }}{% end %}",
        }
    )
    assert loader.load("child.html").generate(x="<") == b"&lt;<"


def test_include_shares_the_namespace_and_resolves_relative_names() -> None:
    loader = DictLoader(
        {
            "pages/index.html": "{% set who = 'w' %}{% include 'part.html' %}|{% include '/top.html' %}",
            "pages/part.html": "[{{ who }} {{ x }}]",
            "/top.html": "top",
        }
    )
    assert loader.load("pages/index.html").generate(x=1) == b"[w 1]|top"


def test_extends_or_include_without_a_loader_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no template loader") as info:
        Template("x\n{% extends 'base.html' %}", name="page.html")
    assert (info.value.filename, info.value.lineno) == ("page.html", 2)
    with pytest.raises(ParseError, match="no template loader"):
        Template("{% include 'part.html' %}")


def write(directory: pathlib.Path, name: str, text: str) -> None:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_loader_reads_files_relative_to_the_including_one(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "base.html", "<h1>{% block title %}{% end %}</h1>{% include 'shared/nav.html' %}")
    write(tmp_path, "shared/nav.html", "<nav>{{ here }}</nav>")
    write(tmp_path, "blog/post.html", "{% extends '../base.html' %}{% block title %}{{ title }}{% end %}")
    loader = Loader(str(tmp_path))
    assert loader.load("blog/post.html").generate(title="T&", here="post") == b"<h1>T&amp;</h1><nav>post</nav>"
    assert loader.load("../base.html", parent_path="blog/post.html") is loader.load("base.html")


def test_loader_options(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "page.html", "{{ x }} {{ site }}")
    loader = Loader(str(tmp_path), autoescape=None, namespace={"site": "S"})
    assert loader.load("page.html").generate(x="<") == b"< S"
    assert loader.load("page.html").generate(x="<", site="kw") == b"< kw"


def test_loader_reset_reads_the_file_again(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "page.html", "one")
    loader = Loader(str(tmp_path))
    first = loader.load("page.html")
    write(tmp_path, "page.html", "two")
    assert loader.load("page.html") is first
    loader.reset()
    assert loader.load("page.html").generate() == b"two"


def test_base_loader_is_the_extension_point() -> None:
    class UpperLoader(BaseLoader):
        def resolve_path(self, name: str, parent_path: str | None = None) -> str:
            return name.lower()

        def _create_template(self, name: str) -> Template:
            return Template("<{{ x }}> " + name, name=name, loader=self)

    loader = UpperLoader(autoescape=None)
    assert loader.load("A.TXT").generate(x=1) == b"<1> a.txt"
    assert loader.load("a.txt") is loader.load("A.txt")


# -- compiled once ---------------------------------------------------------------


@pytest.fixture
def compile_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []

    def counting_compile(source: str, filename: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(filename)
        return compile(source, filename, *args, **kwargs)

    monkeypatch.setattr(compiled_module, "compile", counting_compile, raising=False)
    yield calls


def test_each_template_is_compiled_once_per_loader(compile_calls: list[str]) -> None:
    loader = dict_loader(**{"a.html": "{% extends 'base.html' %}", "b.html": "{% extends 'base.html' %}"})
    for _ in range(3):
        for name in ("a.html", "b.html", "base.html"):
            loader.load(name).generate(students=[], year=0)
    assert len(compile_calls) == 4  # a, b, base, footer (loaded as base's include)
    loader.reset()
    loader.load("base.html").generate(students=[], year=0)
    assert len(compile_calls) == 6


# -- errors name the file and line -----------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("a\n{% if x %}\nb", "Missing {% end %} block for if", 2),
        ("a\n{% end %}", "Extra {% end %} block", 2),
        ("\n\n{% else %}", "else outside if/for/while/try block", 3),
        ("{% for x in y %}{% except %}{% end %}", "except block cannot be attached to for block", 1),
        ("{% if x %}{% break %}{% end %}", "break outside for/while block", 1),
        ("{% for x in y %}{% apply f %}{% continue %}{% end %}{% end %}", "continue outside for/while block", 1),
        ("x\n{{ y", "Missing end expression }}", 2),
        ("{% if", "Missing end block %}", 1),
        ("\n{# note", "Missing end comment #}", 2),
        ("{{  }}", "Empty expression", 1),
        ("{%  %}", "Empty block tag ({% %})", 1),
        ("{% frobnicate %}", "unknown operator: 'frobnicate'", 1),
        ("{% extends %}", "extends missing file path", 1),
        ("{% include '' %}", "include missing file path", 1),
        ("{% set %}", "set missing statement", 1),
        ("{% apply %}{% end %}", "apply missing method name", 1),
        ("{% block %}{% end %}", "block missing name", 1),
        ("\n{% whitespace tight %}", "invalid whitespace mode tight", 2),
        ("a\nb\n{{ 1 + }}", "invalid Python in template", 3),
        ("{% if x = 1 %}{% end %}", "invalid Python in template", 1),
    ],
)
def test_parse_errors_name_file_and_line(source: str, message: str, line: int) -> None:
    with pytest.raises(ParseError) as info:
        Template(source, name="page.html")
    assert info.value.message.startswith(message), info.value.message
    assert (info.value.filename, info.value.lineno) == ("page.html", line)
    assert str(info.value) == f"{info.value.message} at page.html:{line}"


def test_a_parse_error_in_a_parent_names_the_parent() -> None:
    loader = DictLoader({"base.html": "ok\n{% if %}", "page.html": "{% extends 'base.html' %}"})
    with pytest.raises(ParseError) as info:
        loader.load("page.html")
    assert (info.value.filename, info.value.lineno) == ("base.html", 2)


def test_render_errors_keep_their_type_and_name_file_and_line() -> None:
    loader = dict_loader(**{"footer.html": "\n<footer>{{ 1 // year }}</footer>"})
    page = loader.load("base.html")
    with pytest.raises(ZeroDivisionError) as info:
        page.generate(students=[], year=0)
    assert info.value.__notes__ == ["in template footer.html:2 (via base.html:1)"]
    printed = "".join(traceback.format_exception(info.value))
    assert "_tt_tmp = 1 // year  # footer.html:2 (via base.html:1)" in printed
    with pytest.raises(NameError) as missing:
        Template("a\n\n{{ nobody }}", name="x.html").generate()
    assert missing.value.__notes__ == ["in template x.html:3"]


def test_templates_with_one_name_keep_their_own_source_in_tracebacks() -> None:
    first, second = Template("{{ 1 // 0 }}"), Template("\n{{ 2 // 0 }}")
    for broken, expected in ((first, "1 // 0"), (second, "2 // 0")):
        with pytest.raises(ZeroDivisionError) as info:
            broken.generate()
        assert expected in "".join(traceback.format_exception(info.value))


# -- the Application ------------------------------------------------------------


def fetch(app: Application, path: str = "/") -> requests.Response:
    with serve(app) as server:
        return requests.get(server.url(path), timeout=10)  # reads the whole body


class PageHandler(RequestHandler):
    def get(self) -> None:
        self.render("page.html", items=["<a>", "b"])


PAGE = (
    "{% extends 'base.html' %}\n"
    "{% block body %}\n"
    "  <ul>\n"
    "  {% for item in items %}\n"
    "    <li>{{ item }}</li>\n"
    "  {% end %}\n"
    "  </ul>\n"
    "  {% raw xsrf_form_html() %}\n"
    "{% end %}\n"
)
BASE_PAGE = "<title>{{ request.path }} {{ handler.__class__.__name__ }}</title>\n{% block body %}{% end %}\n"


def test_an_application_renders_tornado_syntax_from_template_path(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "page.html", PAGE)
    write(tmp_path, "base.html", BASE_PAGE)
    response = fetch(Application([("/page", PageHandler)], template_path=str(tmp_path), template_engine="tornado"), "/page")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    lines = response.text.splitlines()
    assert lines[0] == "<title>/page PageHandler</title>"
    assert "<li>&lt;a&gt;</li>" in lines and "<li>b</li>" in lines
    assert any(line.startswith('<input type="hidden" name="_xsrf"') for line in lines)


def test_an_application_renders_through_its_template_loader() -> None:
    loader = DictLoader({"page.html": PAGE, "base.html": BASE_PAGE}, whitespace="oneline")

    class StringHandler(RequestHandler):
        def get(self) -> None:
            html = self.render_string("page.html", items=[1])
            assert isinstance(html, bytes)  # as Tornado's render_string
            self.write(html.replace(b"<li>", b"<li class=x>"))

    response = fetch(Application([("/", StringHandler)], template_loader=loader))
    # Each text chunk between tags collapses on its own, as in Tornado.
    assert response.text.startswith("<title>/ StringHandler</title>  <ul>  <li class=x>1</li>  </ul> <input")


def test_application_options_reach_the_loader(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "page.html", "{{ item }}   {{ site }}\n\n{% module Hello() %}")

    class OptionsHandler(RequestHandler):
        def get(self) -> None:
            self.render("page.html", item="<i>", _tt_modules=ObjectDict(Hello=lambda: "<hello>"))

    app = Application(
        [("/", OptionsHandler)],
        template_path=str(tmp_path),
        template_engine="tornado",
        autoescape=None,
        template_whitespace="oneline",
        template_globals={"site": "S"},
    )
    assert fetch(app).text == "<i> S <hello>"


def test_debug_reloads_tornado_templates(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "page.html", "one")

    class ReloadHandler(RequestHandler):
        def get(self) -> None:
            self.render("page.html")

    app = Application(
        [("/", ReloadHandler)], template_path=str(tmp_path), template_engine="tornado", debug=True, autoreload=False
    )
    with serve(app) as server:
        assert requests.get(server.url("/"), timeout=10).text == "one"
        write(tmp_path, "page.html", "two")
        assert requests.get(server.url("/"), timeout=10).text == "two"


def test_a_render_error_is_a_500_logged_with_file_and_line(tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, "page.html", "ok\n{% if items %}{{ items[5] }}{% end %}")
    app = Application([("/", PageHandler)], template_path=str(tmp_path), template_engine="tornado")
    assert fetch(app).status_code == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert len(errors) == 1
    assert "in template page.html:2" in caplog.text


def test_jinja2_stays_the_default(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "page.html", "{% for i in items %}{{ i }}{% endfor %}")
    assert fetch(Application([("/", PageHandler)], template_path=str(tmp_path))).text == "&lt;a&gt;b"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"template_engine": "mako"}, "must be 'jinja2' or 'tornado'"),
        ({"template_engin": "tornado"}, "did you mean 'template_engine'"),
        ({"template_language": "tornado"}, "did you mean 'template_engine'"),
        ({"template_loaders": DictLoader({})}, "did you mean 'template_loader'"),
        ({"template_whitespace": "single"}, "applies to Tornado-syntax templates"),
        ({"template_engine": "tornado", "template_whitespace": "tight"}, "must be one of"),
        ({"template_loader": "templates/"}, "must be a framework.template loader"),
        ({"template_loader": DictLoader({}), "template_engine": "jinja2"}, "drop template_engine"),
        ({"template_loader": DictLoader({}), "template_whitespace": "all"}, "pass whitespace= to the loader"),
        ({"template_engine": "tornado", "template_path": ["a", "b"]}, "one 'template_path' directory"),
    ],
)
def test_template_settings_that_cannot_apply_fail_at_start_up(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Application([], **settings)


def test_loader_for_shares_one_loader_per_directory_and_options(tmp_path: pathlib.Path) -> None:
    first = template.loader_for(str(tmp_path), autoescape=True, whitespace=None)
    assert template.loader_for(str(tmp_path), autoescape=True, whitespace=None) is first
    assert first.autoescape == "xhtml_escape"
    assert template.loader_for(str(tmp_path), autoescape=False, whitespace=None).autoescape is None
    with pytest.raises(RuntimeError, match="template_path"):
        template.loader_for(None, autoescape=True, whitespace=None)


def test_datetime_module_is_the_standard_one() -> None:
    assert Template("{{ datetime is dt }}").generate(dt=datetime) == b"True"

"""Tests for framework/template.py through ``render()``/``render_string()``.

Templates are written to ``tmp_path``; each test declares its handler beside
it and fetches the page from a real server (``framework.testing.serve``).
"""

from __future__ import annotations

import logging
import os
import pathlib
import re
import traceback
import types
from typing import Any

import hypothesis
import hypothesis.strategies
import jinja2
import markupsafe
import pytest
import requests

from framework import template
from framework.testing import serve
from framework.web import Application, RequestHandler, url


def fetch(app: Application, path: str = "/", **kwargs: Any) -> requests.Response:
    """Serve ``app`` for one request and return the (fully read) response."""
    with serve(app) as server:
        with requests.Session() as session:
            with session.get(server.url(path), timeout=10, **kwargs) as response:
                response.content
    return response


def write_template(directory: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_render_sees_the_handler_namespace(tmp_path: pathlib.Path) -> None:
    templates = tmp_path / "templates"
    static = tmp_path / "static"
    static.mkdir()
    (static / "app.css").write_text("body { color: red }")
    write_template(
        templates,
        "page.html",
        "handler={{ handler.__class__.__name__ }}\n"
        "path={{ request.path }}\n"
        "user={{ current_user }}\n"
        "item={{ reverse_url('item', 42) }}\n"
        "css={{ static_url('app.css') }}\n"
        "form={{ xsrf_form_html() }}\n"
        "site={{ settings['site_name'] }}\n"
        "locale={{ locale.code }} {{ _('Hello') }}\n"
        "title={{ title }}\n",
    )

    class PageHandler(RequestHandler):
        def get_current_user(self) -> Any:
            return "alice"

        def get(self) -> None:
            self.render("page.html", title="Welcome")

    class ItemHandler(RequestHandler):
        def get(self, item: str) -> None:
            self.write(item)

    app = Application(
        [url("/page", PageHandler), url(r"/item/(\d+)", ItemHandler, name="item")],
        template_path=str(templates),
        static_path=str(static),
        site_name="Demo Site",
    )
    response = fetch(app, "/page")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    lines = dict(line.split("=", 1) for line in response.text.splitlines())
    assert lines["handler"] == "PageHandler"
    assert lines["path"] == "/page"
    assert lines["user"] == "alice"
    assert lines["item"] == "/item/42"
    assert re.fullmatch(r"/static/app\.css\?v=[0-9a-f]+", lines["css"]), lines["css"]
    assert re.fullmatch(r'<input type="hidden" name="_xsrf" value="2\|[0-9a-f]{32}\|[0-9a-f]{32}\|[0-9]+"/>', lines["form"]), (
        lines["form"]
    )
    assert lines["site"] == "Demo Site"
    assert lines["locale"] == "en_US Hello"
    assert lines["title"] == "Welcome"


def test_xsrf_form_html_is_not_escaped_twice(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "form.html", "<form>{{ xsrf_form_html() }}</form>")

    class FormHandler(RequestHandler):
        xsrf_token = "tok<en"

        def get(self) -> None:
            self.render("form.html")

    response = fetch(Application([("/", FormHandler)], template_path=str(tmp_path)))
    assert response.text == '<form><input type="hidden" name="_xsrf" value="tok&lt;en"/></form>'


def test_render_string_returns_text_and_kwargs_override(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "fragment.html", "<b>{{ name }}</b> {{ request }}")

    class FragmentHandler(RequestHandler):
        def get(self) -> None:
            html = self.render_string("fragment.html", name="x", request="overridden")
            assert isinstance(html, str)
            self.write({"html": html})

    response = fetch(Application([("/", FragmentHandler)], template_path=str(tmp_path)))
    assert response.json() == {"html": "<b>x</b> overridden"}


def test_autoescape_is_on_by_default(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "escape.html", "{{ name }}|{{ name|safe }}|{{ attr }}")

    class EscapeHandler(RequestHandler):
        def get(self) -> None:
            self.render("escape.html", name="<script>alert(1)</script>", attr='" onload="x')

    response = fetch(Application([("/", EscapeHandler)], template_path=str(tmp_path)))
    escaped, raw, attr = response.text.split("|")
    assert escaped == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert raw == "<script>alert(1)</script>"
    assert "<" not in attr and '"' not in attr


def test_autoescape_none_turns_it_off(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "raw.html", "{{ name }}")

    class RawHandler(RequestHandler):
        def get(self) -> None:
            self.render("raw.html", name="<i>raw</i>")

    response = fetch(Application([("/", RawHandler)], template_path=str(tmp_path), autoescape=None))
    assert response.text == "<i>raw</i>"


def test_escape_helpers_are_available(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "helpers.html", "{{ q|url_escape }} {{ json_encode(data)|safe }}")

    class HelpersHandler(RequestHandler):
        def get(self) -> None:
            self.render("helpers.html", q="a b&c", data={"k": "</script>"})

    response = fetch(Application([("/", HelpersHandler)], template_path=str(tmp_path)))
    assert response.text == 'a+b%26c {"k": "<\\/script>"}'


def test_template_inheritance(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "base.html", "<title>{% block title %}base{% endblock %}</title>")
    write_template(tmp_path, "child.html", '{% extends "base.html" %}{% block title %}child {{ n }}{% endblock %}')

    class ChildHandler(RequestHandler):
        def get(self) -> None:
            self.render("child.html", n=1)

    response = fetch(Application([("/", ChildHandler)], template_path=str(tmp_path)))
    assert response.text == "<title>child 1</title>"


def _edit(path: pathlib.Path, text: str) -> None:
    """Rewrite a template and move its mtime forward, so a reload cannot miss it."""
    before = path.stat().st_mtime
    path.write_text(text, encoding="utf-8")
    os.utime(path, (before + 10, before + 10))


def test_debug_reloads_edited_templates(tmp_path: pathlib.Path) -> None:
    page = write_template(tmp_path, "page.html", "version 1")

    class PageHandler(RequestHandler):
        def get(self) -> None:
            self.render("page.html")

    app = Application([("/", PageHandler)], template_path=str(tmp_path), debug=True, autoreload=False)
    with serve(app) as server:
        with requests.get(server.url("/"), timeout=10) as first:
            assert first.text == "version 1"
        _edit(page, "version 2")
        with requests.get(server.url("/"), timeout=10) as second:
            assert second.text == "version 2"


def test_templates_are_cached_without_debug(tmp_path: pathlib.Path) -> None:
    page = write_template(tmp_path, "page.html", "version 1")

    class PageHandler(RequestHandler):
        def get(self) -> None:
            self.render("page.html")

    app = Application([("/", PageHandler)], template_path=str(tmp_path))
    with serve(app) as server:
        with requests.get(server.url("/"), timeout=10) as first:
            assert first.text == "version 1"
        _edit(page, "version 2")
        with requests.get(server.url("/"), timeout=10) as second:
            assert second.text == "version 1"


def test_ui_methods_from_a_dict_receive_the_handler(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "ui.html", "{{ shout('hi') }} {{ where() }}")

    def shout(handler: RequestHandler, text: str) -> str:
        return text.upper() + "!"

    def where(handler: RequestHandler) -> str:
        return handler.request.path

    class UiHandler(RequestHandler):
        def get(self) -> None:
            self.render("ui.html")

    app = Application([("/ui", UiHandler)], template_path=str(tmp_path), ui_methods={"shout": shout, "where": where})
    assert fetch(app, "/ui").text == "HI! /ui"


def test_ui_methods_from_a_module(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "ui.html", "{{ greet('bob') }}")
    module = types.ModuleType("ui_methods_for_test")
    exec("def greet(handler, name):\n    return 'hello ' + name + ' on ' + handler.request.method\n", module.__dict__)

    class UiHandler(RequestHandler):
        def get(self) -> None:
            self.render("ui.html")

    app = Application([("/", UiHandler)], template_path=str(tmp_path), ui_methods=module)
    assert fetch(app).text == "hello bob on GET"


def test_template_globals_need_not_be_hashable(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "nav.html", "{% for item in nav %}{{ item }} {% endfor %}{{ brand }}")

    class NavHandler(RequestHandler):
        def get(self) -> None:
            self.render("nav.html")

    path = str(tmp_path)
    first = Application([("/", NavHandler)], template_path=path, template_globals={"nav": ["a", "b"], "brand": "One"})
    second = Application([("/", NavHandler)], template_path=path, template_globals={"nav": ["c"], "brand": "Two"})
    assert fetch(first).text == "a b One"
    assert fetch(second).text == "c Two"  # same directory, its own globals


def test_get_template_path_override(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path / "special", "page.html", "special")

    class SpecialHandler(RequestHandler):
        def get_template_path(self) -> str | None:
            return str(tmp_path / "special")

        def get(self) -> None:
            self.render("page.html")

    assert fetch(Application([("/", SpecialHandler)])).text == "special"


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("missing.html", True),  # no such file
        ("undefined.html", True),  # a name the template does not get
        ("page.html", False),  # no template_path at all
    ],
)
def test_template_errors_are_500s(tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture, name: str, settings: bool) -> None:
    write_template(tmp_path, "undefined.html", "{{ nobody_passed_this }}")
    write_template(tmp_path, "page.html", "fine")

    class BrokenHandler(RequestHandler):
        def get(self) -> None:
            self.render(name)

    app = Application([("/", BrokenHandler)], **({"template_path": str(tmp_path)} if settings else {}))
    response = fetch(app)
    assert response.status_code == 500
    assert "500: Internal Server Error" in response.text
    errors = [r for r in caplog.records if r.name == "framework.application" and r.levelno >= logging.ERROR]
    assert len(errors) == 1


def test_render_after_finish_is_an_error(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "page.html", "page")
    outcome: list[str] = []

    class TwiceHandler(RequestHandler):
        def get(self) -> None:
            self.finish("done")
            try:
                self.render("page.html")
            except RuntimeError:
                outcome.append("refused")

    assert fetch(Application([("/", TwiceHandler)], template_path=str(tmp_path))).text == "done"
    assert outcome == ["refused"]


def test_render_without_a_server(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "plain.html", "{{ a }} & {{ b|safe }}")
    options = template.TemplateOptions(autoescape=True)
    assert template.render(str(tmp_path), "plain.html", {"a": "<", "b": "<"}, options) == "&lt; & <"
    assert template.environment(str(tmp_path), options) is template.environment(str(tmp_path), options)
    with pytest.raises(RuntimeError, match="template_path"):
        template.render(None, "plain.html", {})


class Row(dict):  # a dict subclass may define attributes, which win over its items
    name = "attribute"


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("{{ row.name }}", {"name": "<item>"}),  # a plain dict's item, escaped
        ("{{ row.keys()|list|join(',') }}", {"keys": "item", "a": 1}),  # dict's own methods still win
        ("{{ row.items is callable }}", {"items": 1}),
        ("{{ row.missing is defined }}", {}),  # a missing key is undefined, as in Jinja2
        ("{{ row.name }}", Row(name="item")),
        ("{{ row.real }}", 3),  # not a dict: attributes as Jinja2 finds them
        ("{{ row.name }}", types.SimpleNamespace(name="<attr>")),
    ],
)
def test_dotted_lookup_matches_jinja2(tmp_path: pathlib.Path, expression: str, value: Any) -> None:
    write_template(tmp_path, "row.html", expression)
    stock = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    expected = stock.from_string(expression).render(row=value)
    assert template.render(str(tmp_path), "row.html", {"row": value}) == expected


def test_dotted_lookup_of_a_missing_key_is_strict(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "row.html", "{{ row.missing }}")
    with pytest.raises(jinja2.UndefinedError, match="missing"):
        template.render(str(tmp_path), "row.html", {"row": {"name": "x"}})


def test_names_come_from_globals_then_template_globals_then_the_namespace(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "names.html", "{{ a }} {{ b }} {{ c }} {{ d }} {{ e }}")
    options = template.TemplateOptions(globals=(("b", "option"), ("c", "option")))
    env = template.environment(str(tmp_path), options)
    env.globals.update(a="env", b="env", c="env", d="env")
    made = env.get_template("names.html", globals={"d": "template"})
    assert template.render(str(tmp_path), "names.html", {"c": "namespace", "e": "namespace"}, options) == (
        "env option namespace template namespace"
    )
    # The same precedence as Jinja2's own render of the merged names.
    assert made.render(dict(options.globals), c="namespace", e="namespace") == "env option namespace template namespace"
    env.globals["a"] = "later"  # a global set after the first render is seen by the next
    assert template.render(str(tmp_path), "names.html", {"c": "n", "e": "n"}, options).startswith("later ")


def test_a_template_error_names_the_template_s_line_in_its_traceback(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "base.html", "<main>{% block body %}{% endblock %}</main>")
    path = write_template(tmp_path, "page.html", '{% extends "base.html" %}\n{% block body %}\n{{ 1 // zero }}\n{% endblock %}')
    with pytest.raises(ZeroDivisionError) as raised:
        template.render(str(tmp_path), "page.html", {"zero": 0})
    frames = [(frame.filename, frame.lineno) for frame in traceback.extract_tb(raised.value.__traceback__)]
    assert (str(path), 3) in frames
    assert template.render(str(tmp_path), "page.html", {"zero": 1}) == "<main>1\n</main>"


@jinja2.pass_context
def context_name(context: Any) -> str:
    return str(context.get("who"))


class Greeter:
    @jinja2.pass_context
    def __call__(self, context: Any, greeting: str) -> str:
        return f"{greeting} {context.get('who')}"

    @jinja2.pass_environment
    def autoescaping(self, environment: Any) -> str:
        return str(environment.autoescape)

    def shout(self, text: str, *, end: str = "!") -> str:
        return text.upper() + end


@jinja2.pass_eval_context
def volatile(eval_context: Any) -> str:
    return str(eval_context.volatile)


def exhausted() -> str:
    raise StopIteration


CALLS = (
    "{{ d.get('a') }} {{ d.get('z', 'none') }} {{ '-'.join(['x', 'y']) }} {{ 'a,b'.split(',', maxsplit=1)|join('|') }}"
    "{% block body %}[{{ d.get('a') }}{% for k in d %}{% set who = k %}"
    "{{ k.upper() }}:{{ named() }}:{{ greet('hi') }};{% endfor %}]"
    "{% endblock %}{% macro m(x) %}{{ x.get('a') }}{% endmacro %}{{ m(d) }}"
    "{{ next(empty) is defined }}{{ who }} {{ named() }} {{ greet('yo') }}"
    "{% for n in [1] %}{{ greet.shout('a', end='?') }}{{ greet.autoescaping() }}{{ volatile() }}{{ (lambda_)(n) }}{% endfor %}"
    "{{ exhausted() is defined }}{{ greet.shout('b') }}"
)


def test_calls_in_a_template_match_jinja2(tmp_path: pathlib.Path) -> None:
    # Built-ins take the direct way, anything else Jinja2's: each inside a block, a loop and a macro.
    write_template(tmp_path, "calls.html", CALLS)
    names = {
        "d": {"a": "<1>", "b": 2}, "named": context_name, "greet": Greeter(), "next": next, "who": "top",
        "volatile": volatile, "exhausted": exhausted, "lambda_": lambda n: f"<{n}>",
    }  # fmt: skip
    stock = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    expected = stock.from_string(CALLS).render(names, empty=iter(()))
    assert template.render(str(tmp_path), "calls.html", {**names, "empty": iter(())}) == expected
    assert "&lt;1&gt;" in expected and "A:a:hi a;" in expected and "A?TrueFalse&lt;1&gt;FalseB!" in expected


class Html:
    def __html__(self) -> str:
        return "<b>kept</b>"


class Text(str):
    pass


ESCAPED_VALUES = (
    "<a href='x'>&\"</a>", "plain", "", "é <ü> \U0001f600 & \ud800", 0, -12, 10**30, 1.5, -0.0, float("inf"),
    float("nan"), 1e300, True, None, markupsafe.Markup("<i>safe</i>"), Html(), Text("<sub>"), ["<list>"],
)  # fmt: skip


@pytest.mark.parametrize("value", ESCAPED_VALUES, ids=repr)
def test_the_templates_escape_is_markupsafes(value: Any) -> None:
    escaped = template.jinja._escape(value)
    assert type(escaped) is markupsafe.Markup
    assert str(escaped) == str(markupsafe.escape(value))


@hypothesis.given(hypothesis.strategies.text())
def test_the_templates_escape_of_any_text_is_markupsafes(text: str) -> None:
    escaped = template.jinja._escape(text)
    assert type(escaped) is markupsafe.Markup and str(escaped) == str(markupsafe.escape(text))


PRINTED = (
    "{{ s }}|{{ n }}|{{ f }}|{{ m }}|{{ h }}|{{ t }}|{{ none }}|{{ s|safe }}|{{ s|e }}|{{ '%.2f'|format(f) }}"
    "{% set block %}<{{ s }}>{% endset %}{{ block }}{{ block|length }}"
    "{% macro cell(v) %}<td>{{ v }}</td>{% endmacro %}{{ cell(s) }}{{ cell(m) }}{{ s ~ m }}"
    "{% autoescape false %}{{ s }}{% endautoescape %}{% for c in s[:3] %}{{ c }}{{ loop.index }}{% endfor %}"
)
PRINTED_VALUES = {
    "s": "<a href='x'>&\"</a>", "n": 7, "f": 2.5, "m": markupsafe.Markup("<i>safe</i>"), "h": Html(),
    "t": Text("<sub>"), "none": None,
}  # fmt: skip


def test_printed_values_are_escaped_as_stock_jinja2_escapes_them(tmp_path: pathlib.Path) -> None:
    write_template(tmp_path, "printed.html", PRINTED)
    stock = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    expected = stock.from_string(PRINTED).render(PRINTED_VALUES)
    assert template.render(str(tmp_path), "printed.html", PRINTED_VALUES) == expected
    assert "&lt;a href=&#39;x&#39;&gt;" in expected and "<i>safe</i>" in expected and "<a href='x'>" in expected
    compiled = template.environment(str(tmp_path), template.TemplateOptions()).get_template("printed.html")
    assert compiled.root_render_func.__globals__["escape"] is template.jinja._escape  # the fast escape is the one used

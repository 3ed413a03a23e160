"""UI modules (``framework/web/uimodules.py``), the ``ui_modules`` setting, ``transforms=``,
and a Tornado-style application end to end: Tornado-syntax templates with
``{% module %}``, resources injected into the page, and a signed cookie that
Tornado issued (version 2 format, computed here independently)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import time
import types
from typing import Any

import pytest
import requests

from framework.template import DictLoader
from framework.testing import serve
from framework.web import (
    Application,
    GZipContentEncoding,
    OutputTransform,
    RequestHandler,
    TemplateModule,
    UIModule,
    authenticated,
)

SECRET = "tornado-app-secret-0123456789"


class Entry(UIModule):
    def render(self, title: str) -> str:
        return self.render_string("entry.html", title=title)

    def embedded_javascript(self) -> str:
        return "window.entries = (window.entries || 0) + 1;"

    def javascript_files(self) -> list[str]:
        return ["/js/entry.js", "https://cdn.example/lib.js", "/js/entry.js"]

    def embedded_css(self) -> str:
        return ".entry { color: red }"

    def css_files(self) -> str:
        return "/css/entry.css"

    def html_head(self) -> str:
        return '<meta name="entries" content="yes">'

    def html_body(self) -> str:
        return "<!-- entries end -->"


class Shout(UIModule):
    def render(self, text: str) -> str:
        return f"<b>{text.upper()}</b>"


TORNADO_TEMPLATES = {
    "base.html": "<html><head><title>{% block title %}{% end %}</title></head><body>{% block body %}{% end %}</body></html>",
    "index.html": '{% extends "base.html" %}{% block title %}Blog{% end %}{% block body %}'
    "<p>{{ current_user }}</p>{% for t in titles %}{% module Entry(t) %}{% end %}"
    '{% module Template("sidebar.html", items=titles) %}{% module Shout("hi") %}{% end %}',
    "entry.html": '<div class="entry">{{ title }}</div>',
    "sidebar.html": '{{ set_resources(css_files="/css/side.css", embedded_javascript="var side = 1;") }}'
    "<ul>{% for i in items %}<li>{{ i }}</li>{% end %}</ul>",
}


class CookieUser(RequestHandler):
    def get_current_user(self) -> Any:
        user = self.get_signed_cookie("user")
        return user.decode() if user else None


class IndexHandler(CookieUser):
    @authenticated
    def get(self) -> None:
        self.render("index.html", titles=["a <1>", "b"])


class LoginHandler(RequestHandler):
    def get(self) -> None:
        self.set_signed_cookie("user", self.get_argument("name"))
        self.write("ok")


def tornado_app(**settings: Any) -> Application:
    return Application(
        [("/", IndexHandler), ("/login", LoginHandler)],
        template_loader=DictLoader(TORNADO_TEMPLATES),
        ui_modules={"Entry": Entry, "Shout": Shout},
        cookie_secret=SECRET,
        login_url="/login",
        **settings,
    )


def tornado_v2_cookie(name: str, value: str, timestamp: int) -> str:
    """A cookie as Tornado 6 signs it, built from its documented format."""

    def field(data: bytes) -> bytes:
        return b"%d:%s|" % (len(data), data)

    signed = b"2|" + field(b"0") + field(b"%d" % timestamp) + field(name.encode()) + field(base64.b64encode(value.encode()))
    return (signed + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest().encode()).decode()


def test_a_tornado_style_app_runs_end_to_end() -> None:
    with serve(tornado_app()) as server:
        assert requests.get(server.url("/"), allow_redirects=False, timeout=10).status_code == 302
        cookie = tornado_v2_cookie("user", "alice", int(time.time()) - 3600)
        page = requests.get(server.url("/"), cookies={"user": cookie}, timeout=10)
    assert page.status_code == 200, page.text
    html = page.text
    assert "<p>alice</p>" in html
    assert '<div class="entry">a &lt;1&gt;</div><div class="entry">b</div>' in html
    assert "<ul><li>a &lt;1&gt;</li><li>b</li></ul>" in html
    assert "<b>HI</b>" in html
    head, body = html.split("</head>")
    # CSS and the head HTML go before </head>, scripts and the body HTML before </body>.
    assert '<link href="/css/entry.css" type="text/css" rel="stylesheet"/>' in head
    assert '<link href="/css/side.css" type="text/css" rel="stylesheet"/>' in head
    assert '<style type="text/css">\n.entry { color: red }\n</style>' in head
    assert '<meta name="entries" content="yes">' in head
    scripts = body.split("</ul>")[1]
    assert scripts.count('<script src="/js/entry.js" type="text/javascript"></script>') == 1
    assert '<script src="https://cdn.example/lib.js" type="text/javascript"></script>' in scripts
    assert "window.entries = (window.entries || 0) + 1;\nvar side = 1;" in scripts
    assert scripts.index("<!-- entries end -->") < scripts.index("</body>")


def test_cookies_this_app_signs_read_back_in_tornados_format() -> None:
    with serve(tornado_app()) as server, requests.Session() as session:
        session.get(server.url("/login?name=bob"), timeout=10)
        raw = session.cookies["user"]
        assert raw.startswith("2|1:0|10:") and "|4:user|" in raw
        assert "<p>bob</p>" in session.get(server.url("/"), timeout=10).text


class JinjaPage(RequestHandler):
    def get(self) -> None:
        self.render("page.html")


def test_jinja2_templates_reach_modules_through_modules_and_module(tmp_path: Any) -> None:
    (tmp_path / "page.html").write_text(
        "<html><head></head><body>{{ modules.Shout('x') }}{{ module.Entry('<t>') }}</body></html>"
    )
    (tmp_path / "entry.html").write_text("<i>{{ title }}</i>")
    app = Application([("/", JinjaPage)], template_path=str(tmp_path), ui_modules=[{"Shout": Shout}, {"Entry": Entry}])
    with serve(app) as server:
        html = requests.get(server.url("/"), timeout=10).text
    assert "<b>X</b><i>&lt;t&gt;</i>" in html  # module output is markup, its inputs are escaped
    assert '<link href="/css/entry.css"' in html.split("</head>")[0]


def test_ui_modules_from_a_module_and_the_built_ins() -> None:
    module = types.ModuleType("my_modules")
    module.Shout = Shout  # type: ignore[attr-defined]
    module.helper = len  # type: ignore[attr-defined]
    app = Application([], ui_modules=module)
    assert app.ui_modules["Shout"] is Shout
    assert app.ui_modules["Template"] is TemplateModule
    assert {"linkify", "xsrf_form_html"} <= set(app.ui_modules)
    assert "helper" not in app.ui_modules


@pytest.mark.parametrize("bad", [{"X": object}, "not modules", 42])
def test_bad_ui_modules_fail_at_start_up(bad: Any) -> None:
    with pytest.raises(ValueError, match="ui_modules"):
        Application([], ui_modules=bad)


def test_a_page_without_a_head_cannot_take_module_css() -> None:
    class Fragment(RequestHandler):
        def get(self) -> None:
            self.render("fragment.html")

    loader = DictLoader({"fragment.html": "<body>{% module Entry('x') %}</body>", "entry.html": "{{ title }}"})
    app = Application([("/", Fragment)], template_loader=loader, ui_modules={"Entry": Entry})
    with serve(app) as server:
        response = requests.get(server.url("/"), timeout=10)
    assert response.status_code == 500


def test_set_resources_refuses_unknown_keys() -> None:
    class Page(RequestHandler):
        def get(self) -> None:
            self.render("page.html")

    loader = DictLoader({"page.html": '{% module Template("bad.html") %}', "bad.html": "{{ set_resources(scripts='x') }}"})
    with serve(Application([("/", Page)], template_loader=loader)) as server:
        assert requests.get(server.url("/"), timeout=10).status_code == 500


def test_create_template_loader_override_is_used() -> None:
    class Custom(RequestHandler):
        def create_template_loader(self, template_path: str) -> DictLoader:
            return DictLoader({"x.html": "custom {{ 1 + 1 }}{% if True %}!{% end %}"})

        def get(self) -> None:
            self.render("x.html")

    with serve(Application([("/", Custom)])) as server:
        assert requests.get(server.url("/"), timeout=10).text == "custom 2!"


# -- transforms -------------------------------------------------------------------------


class Upper(OutputTransform):
    def transform_first_chunk(self, status_code: int, headers: Any, chunk: bytes, finishing: bool) -> tuple[int, Any, bytes]:
        headers["X-Transformed"] = "yes"
        return status_code, headers, chunk.upper()

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        return chunk.upper()


class Streamed(RequestHandler):
    async def get(self) -> None:
        self.write("first ")
        await self.flush()
        self.write("second")


class Whole(RequestHandler):
    def get(self) -> None:
        self.write("hello " * 400)


def test_transforms_see_every_chunk() -> None:
    app = Application([("/s", Streamed), ("/w", Whole)], transforms=[Upper])
    with serve(app) as server:
        streamed = requests.get(server.url("/s"), timeout=10)
        whole = requests.get(server.url("/w"), timeout=10)
    assert streamed.text == "FIRST SECOND" and streamed.headers["X-Transformed"] == "yes"
    assert whole.text == "HELLO " * 400 and int(whole.headers["Content-Length"]) == 2400


def test_compress_response_adds_gzip_to_given_transforms() -> None:
    app = Application([("/w", Whole)], transforms=[Upper], compress_response=True)
    assert app.transforms == [Upper, GZipContentEncoding]
    with serve(app) as server:
        response = requests.get(server.url("/w"), headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
        raw = response.raw.read(decode_content=False)
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw) == b"HELLO " * 400
    assert int(response.headers["Content-Length"]) == len(raw)


def test_add_transform_and_bad_transforms() -> None:
    app = Application([("/w", Whole)])
    assert app.transforms == []
    app.add_transform(GZipContentEncoding)
    with serve(app) as server:
        response = requests.get(server.url("/w"), headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert response.headers["Content-Encoding"] == "gzip" and response.text == "hello " * 400
    with pytest.raises(ValueError, match="OutputTransform"):
        Application([], transforms=[object])


# -- ui_methods --------------------------------------------------------------------------


def test_module_as_ui_methods_is_accepted() -> None:
    module = types.ModuleType("my_ui")
    exec("def shout(handler, text):\n    return text.upper()\n_private = lambda handler: 1\n", module.__dict__)
    app = Application([], ui_methods=module)
    assert set(app.ui_methods) == {"shout"}

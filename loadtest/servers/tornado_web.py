"""Hello world on Tornado itself, the reference: the tutorial's program, unchanged.

Run: ``python loadtest/servers/tornado_web.py --port 8888 [--uvloop]``.
The bench's other workloads (``pages.py``): ``GET /page`` renders the shared
page with Jinja2 (not Tornado's own template language: the same template text
for every contender) and ``finish``es it; ``POST /form`` reads the urlencoded
fields with ``get_body_argument``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from types import FrameType

import jinja2
import pages
import tornado.ioloop
import tornado.web

JINJA = jinja2.Environment(loader=jinja2.FileSystemLoader(pages.TEMPLATES), autoescape=True, auto_reload=False)


class MainHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")


class PageHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish(JINJA.get_template(pages.TEMPLATE_NAME).render(**pages.CONTEXT))


class FormHandler(tornado.web.RequestHandler):
    def post(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(pages.form_reply({name: self.get_body_argument(name) for name in pages.FORM_FIELDS}))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--uvloop", action="store_true", help="use uvloop as the reactor")
    args = parser.parse_args()
    if args.uvloop:
        try:
            import uvloop
        except ImportError:
            sys.exit("uvloop requested but not importable")
        asyncio.set_event_loop(uvloop.new_event_loop())
    # Installed explicitly: a shell starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    app = tornado.web.Application([(r"/", MainHandler), (r"/page", PageHandler), (r"/form", FormHandler)])
    app.listen(args.port, "127.0.0.1")
    try:
        tornado.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

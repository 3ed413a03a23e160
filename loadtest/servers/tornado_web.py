"""Hello world on Tornado itself, the reference: the tutorial's program, unchanged.

Run: ``python loadtest/servers/tornado_web.py --port 8888 [--uvloop] [--access-log]``.
The bench's other workloads (``pages.py``): ``GET /page`` renders the shared
page with Jinja2 (not Tornado's own template language: the same template text
for every contender) and ``finish``es it; ``POST /form`` reads the urlencoded
fields with ``get_body_argument``.
``--access-log`` first calls ``tornado.options.parse_command_line()``, as the
tutorial does: logging on at INFO, one access line per request on stderr.
"""

from __future__ import annotations

import asyncio
import sys

import jinja2
import pages
import startup
import tornado.ioloop
import tornado.options
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


def main() -> None:
    args = startup.command_line(__doc__, access_log=True).parse_args()
    if args.access_log:
        # Only the program's name: argparse has read the arguments, and options would refuse --port.
        tornado.options.parse_command_line(sys.argv[:1])
    if args.uvloop:
        asyncio.set_event_loop(startup.uvloop_module().new_event_loop())
    app = tornado.web.Application([(r"/", MainHandler), (r"/page", PageHandler), (r"/form", FormHandler)])
    app.listen(args.port, startup.HOST)
    startup.run_until_signalled(tornado.ioloop.IOLoop.current().start)


if __name__ == "__main__":
    main()

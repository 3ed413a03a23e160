"""Hello world on the full framework stack, in exactly the tutorial's shape.

``Application([(r"/", MainHandler)])``, ``app.listen(port)``,
``IOLoop.current().start()``. Run: ``python loadtest/servers/framework_web.py --port 8888``.
The bench's other workloads (``pages.py``): ``GET /page`` is ``render()`` of the
shared Jinja2 page (the framework's default language), ``POST /form`` reads
the urlencoded fields with ``get_body_argument``.
``--uvloop`` opts in to uvloop (``framework.ioloop.use_uvloop``) before the loop exists.
SIGINT or SIGTERM stops the loop and the script exits 0 (``startup.py``), so
a profiler wrapped around it (``python -m cProfile -o out.prof ...``) gets to write.
"""

from __future__ import annotations

import sys

import pages
import startup

import framework.ioloop
import framework.web


class MainHandler(framework.web.RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")


class PageHandler(framework.web.RequestHandler):
    async def get(self) -> None:
        await self.render(pages.TEMPLATE_NAME, **pages.CONTEXT)


class FormHandler(framework.web.RequestHandler):
    def post(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(pages.form_reply({name: self.get_body_argument(name) for name in pages.FORM_FIELDS}))


def main() -> None:
    args = startup.command_line(__doc__).parse_args()
    if args.uvloop and not framework.ioloop.use_uvloop():
        sys.exit(startup.NO_UVLOOP)
    app = framework.web.Application(
        [(r"/", MainHandler), (r"/page", PageHandler), (r"/form", FormHandler)],
        template_path=pages.TEMPLATES,
    )
    app.listen(args.port, startup.HOST)
    startup.run_until_signalled(framework.ioloop.IOLoop.current().start)


if __name__ == "__main__":
    main()

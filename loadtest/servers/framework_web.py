"""Hello world on the full framework stack, in exactly the tutorial's shape.

``Application([(r"/", MainHandler)])``, ``app.listen(port)``,
``IOLoop.current().start()``. Run: ``python loadtest/servers/framework_web.py --port 8888 [--uvloop] [--access-log]``.
The bench's other workloads (``pages.py``): ``GET /page`` is ``render()`` of the
shared Jinja2 page (the framework's default language), ``POST /form`` reads
the urlencoded fields with ``get_body_argument``.
``--uvloop`` opts in to uvloop (``framework.ioloop.use_uvloop``) before the loop exists.
``--access-log`` first calls ``framework.options.parse_command_line()``, as the
tutorial's ``main()`` does: its final parse turns logging on, so every request
writes an access line to stderr (without it nothing is configured and no line
is formatted).
SIGINT or SIGTERM stops the loop and the script exits 0 (``startup.py``), so
a profiler wrapped around it (``python -m cProfile -o out.prof ...``) gets to write.
"""

from __future__ import annotations

import sys

import pages
import startup

import framework.ioloop
import framework.options
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
    args = startup.command_line(__doc__, access_log=True).parse_args()
    if args.access_log:
        # Only the program's name: argparse has read the arguments, and options would refuse --port.
        framework.options.parse_command_line(sys.argv[:1])
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

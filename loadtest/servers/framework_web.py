"""Hello world on the full framework stack, in exactly the tutorial's shape.

``Application([(r"/", MainHandler)])``, ``app.listen(port)``,
``IOLoop.current().start()``. Run: ``python loadtest/servers/framework_web.py --port 8888``.
The bench's other workloads (``pages.py``): ``GET /page`` is ``render()`` of the
shared Jinja2 page (the framework's default language), ``POST /form`` reads
the urlencoded fields with ``get_body_argument``.
``--uvloop`` opts in to uvloop (``framework.ioloop.use_uvloop``) before the loop exists.
SIGINT or SIGTERM stops the loop and the script exits 0, so a profiler
wrapped around it (``python -m cProfile -o out.prof ...``) gets to write.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

import pages

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


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--uvloop", action="store_true", help="use uvloop as the reactor")
    args = parser.parse_args()
    if args.uvloop and not framework.ioloop.use_uvloop():
        sys.exit("uvloop requested but not importable")
    # Installed explicitly: a shell starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    app = framework.web.Application(
        [(r"/", MainHandler), (r"/page", PageHandler), (r"/form", FormHandler)],
        template_path=pages.TEMPLATES,
    )
    app.listen(args.port, "127.0.0.1")
    try:
        framework.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

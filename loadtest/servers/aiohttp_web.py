"""Hello world on aiohttp.web: one route returning text.

Run: ``python loadtest/servers/aiohttp_web.py --port 8888 [--uvloop] [--access-log]``.
The bench's other workloads (``pages.py``): ``GET /page`` renders the shared
Jinja2 page with aiohttp-jinja2 (``render_template``), ``POST /form`` reads
the urlencoded fields with ``await request.post()``.
aiohttp's access log stays at its default (a logger nobody configured, so
nothing is formatted), as for the other contenders. ``--access-log`` does what
aiohttp's documentation says to: configure logging (``basicConfig`` at INFO,
to stderr), and ``run_app``'s default ``access_log`` writes a line per request.
"""

from __future__ import annotations

import logging

import aiohttp_jinja2
import jinja2
import pages
import startup
from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, world")


async def page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(pages.TEMPLATE_NAME, request, pages.CONTEXT)


async def form(request: web.Request) -> web.Response:
    data = await request.post()
    return web.Response(text=pages.form_reply({name: str(data[name]) for name in pages.FORM_FIELDS}))


def main() -> None:
    parser = startup.command_line(__doc__, access_log=True)
    parser.add_argument(
        "--keepalive-timeout",
        type=float,
        default=75.0,
        help="seconds an idle keep-alive connection is kept (aiohttp's default: 75)",
    )
    args = parser.parse_args()
    if args.access_log:
        logging.basicConfig(level=logging.INFO)
    loop = startup.uvloop_module().new_event_loop() if args.uvloop else None  # None: run_app makes asyncio's
    app = web.Application()
    # aiohttp-jinja2's environment: autoescape on (its default), auto_reload off as for every contender.
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(pages.TEMPLATES), auto_reload=False)
    app.router.add_get("/", hello)
    app.router.add_get("/page", page)
    app.router.add_post("/form", form)
    # run_app handles SIGINT and SIGTERM itself (GracefulExit) and returns.
    web.run_app(
        app,
        host=startup.HOST,
        port=args.port,
        print=None,
        loop=loop,
        keepalive_timeout=args.keepalive_timeout,
    )


if __name__ == "__main__":
    main()

"""Starlette on uvicorn with httptools and uvloop: routes, ``Jinja2Templates``, ``request.form()``.

``GET /`` is a ``PlainTextResponse``; the bench's other workloads
(``pages.py``): ``GET /page`` is ``Jinja2Templates.TemplateResponse`` of the
shared page (Starlette's environment: autoescape on; ``auto_reload`` off as
for every contender), ``POST /form`` reads the fields with
``await request.form()`` (python-multipart parses urlencoded bodies too).
Access logging is off unless ``--access-log`` asks for uvicorn's default, as for ``uvicorn_asgi.py``.
Run: ``python loadtest/servers/starlette_uvicorn.py --port 8888 [--access-log]``.
"""

from __future__ import annotations

import jinja2
import pages
import startup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

templates = Jinja2Templates(
    env=jinja2.Environment(loader=jinja2.FileSystemLoader(pages.TEMPLATES), autoescape=True, auto_reload=False)
)


async def hello(request: Request) -> Response:
    return PlainTextResponse("Hello, world")


async def page(request: Request) -> Response:
    return templates.TemplateResponse(request, pages.TEMPLATE_NAME, pages.CONTEXT)


async def form(request: Request) -> Response:
    data = await request.form()
    return PlainTextResponse(pages.form_reply({name: str(data[name]) for name in pages.FORM_FIELDS}))


app = Starlette(
    routes=[
        Route("/", hello),
        Route("/page", page),
        Route("/form", form, methods=["POST"]),
    ]
)


def main() -> None:
    startup.run_on_uvicorn(app, __doc__)


if __name__ == "__main__":
    main()

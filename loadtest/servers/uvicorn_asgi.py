"""A raw ASGI app on uvicorn with httptools and uvloop: no framework, uvicorn's fastest setup.

``GET /`` answers ``Hello, world``; the bench's other workloads (``pages.py``)
are what a raw ASGI app has to do by hand: ``GET /page`` renders the shared
page with plain Jinja2, ``POST /form`` collects the body from ``receive`` and
parses it with ``urllib.parse.parse_qs``. Anything else is 404.
Access logging is off (``access_log=False``): uvicorn configures logging and
formats a line per request by default, which the other contenders do not
unless asked. ``--access-log`` gives uvicorn's default back (``startup.run_on_uvicorn``).
Run: ``python loadtest/servers/uvicorn_asgi.py --port 8888 [--access-log]``. uvicorn handles
SIGINT and SIGTERM itself.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import jinja2
import pages
import startup

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JINJA = jinja2.Environment(loader=jinja2.FileSystemLoader(pages.TEMPLATES), autoescape=True, auto_reload=False)
TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
HTML = [(b"content-type", b"text/html; charset=utf-8")]


async def respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    path, method = scope["path"], scope["method"]
    if path == "/" and method == "GET":
        await respond(send, 200, TEXT, b"Hello, world")
    elif path == "/page" and method == "GET":
        html = JINJA.get_template(pages.TEMPLATE_NAME).render(**pages.CONTEXT)
        await respond(send, 200, HTML, html.encode())
    elif path == "/form" and method == "POST":
        fields = urllib.parse.parse_qs((await read_body(receive)).decode())
        reply = pages.form_reply({name: fields[name][0] for name in pages.FORM_FIELDS})
        await respond(send, 200, TEXT, reply.encode())
    else:
        await respond(send, 404, TEXT, b"Not Found")


def main() -> None:
    startup.run_on_uvicorn(app, __doc__)


if __name__ == "__main__":
    main()

"""Hello world on ``framework.httpserver.HTTPServer`` with a plain callable: no web layer.

The callable writes the whole response through ``request.connection``, so
the gap between this server and ``framework_web`` is what the routing,
``RequestHandler`` lifecycle and header bookkeeping cost.
Run: ``python loadtest/servers/framework_raw.py --port 8888 [--uvloop]``.
"""

from __future__ import annotations

import sys

import startup

import framework.ioloop
from framework.httpserver import HTTPServer
from framework.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine

START_LINE = ResponseStartLine("HTTP/1.1", 200, "OK")


def hello(request: HTTPServerRequest) -> None:
    headers = HTTPHeaders({"Content-Type": "text/plain", "Content-Length": "12"})
    request.connection.write_headers(START_LINE, headers, b"Hello, world")
    request.connection.finish()


def main() -> None:
    args = startup.command_line(__doc__).parse_args()
    if args.uvloop and not framework.ioloop.use_uvloop():
        sys.exit(startup.NO_UVLOOP)
    server = HTTPServer(hello)
    server.listen(args.port, startup.HOST)
    startup.run_until_signalled(framework.ioloop.IOLoop.current().start)


if __name__ == "__main__":
    main()

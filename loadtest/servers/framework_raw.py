"""Hello world on ``framework.httpserver.HTTPServer`` with a plain callable: no web layer.

The callable writes the whole response through ``request.connection``, so
the gap between this server and ``framework_web`` is what the routing,
``RequestHandler`` lifecycle and header bookkeeping cost.
Run: ``python loadtest/servers/framework_raw.py --port 8888 [--uvloop]``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

import framework.ioloop
from framework.httpserver import HTTPServer
from framework.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine

START_LINE = ResponseStartLine("HTTP/1.1", 200, "OK")


def hello(request: HTTPServerRequest) -> None:
    headers = HTTPHeaders({"Content-Type": "text/plain", "Content-Length": "12"})
    request.connection.write_headers(START_LINE, headers, b"Hello, world")
    request.connection.finish()


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
    server = HTTPServer(hello)
    server.listen(args.port, "127.0.0.1")
    try:
        framework.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

"""Hello world on Tornado itself, the reference: the tutorial's program, unchanged.

Run: ``python loadtest/servers/tornado_web.py --port 8888 [--uvloop]``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from types import FrameType

import tornado.ioloop
import tornado.web


class MainHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")


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
    app = tornado.web.Application([(r"/", MainHandler)])
    app.listen(args.port, "127.0.0.1")
    try:
        tornado.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

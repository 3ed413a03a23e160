"""``longpoll.py`` on Tornado itself: the same program, its ``framework`` imports answered by ``tornado``.

Run: ``python loadtest/servers/longpoll_tornado.py --port 8888 [--uvloop]``.
The three URLs, the fan-out and the figures are ``longpoll.py``'s, unchanged:
this script only makes ``import framework...`` find Tornado's modules of the
same names before it runs that one, which is the whole port the project
promises, run backwards. ``--uvloop`` installs uvloop's policy first, as
Tornado (which runs on whatever asyncio loop is current) takes it.
"""

from __future__ import annotations

import asyncio
import sys

import startup
import tornado
import tornado.ioloop
import tornado.locks
import tornado.web


def use_uvloop() -> bool:
    asyncio.set_event_loop(startup.uvloop_module().new_event_loop())
    return True


for name in ("ioloop", "locks", "web"):
    sys.modules[f"framework.{name}"] = getattr(tornado, name)
sys.modules["framework"] = tornado
tornado.ioloop.use_uvloop = use_uvloop  # type: ignore[attr-defined]  # longpoll.py's one call beyond Tornado's API

import longpoll  # noqa: E402  (after the aliases: it imports framework.*)

if __name__ == "__main__":
    longpoll.main()

"""The long-poll fan-out of ``longpoll.py`` on aiohttp.web: waiters on one ``asyncio.Event``.

Run: ``python loadtest/servers/longpoll_aiohttp.py --port 8888 [--uvloop]``.
``GET /poll`` waits for the event; ``POST /notify`` notes the loop time and
sets it (a fresh event for the next round); ``GET /stats`` reports as
``longpoll.py`` does. As there, the time of the last response written is
noted by a callback the first woken handler schedules: aiohttp writes each
response when its handler returns, in the same task step, so the callback
runs once every woken handler's response is out.
"""

from __future__ import annotations

import asyncio
import os

import startup
from aiohttp import web

state = {"waiting": 0, "woken": 0, "woken_by_then": 0, "notified_at": 0.0, "last_written_at": 0.0, "disconnected": 0}
event = asyncio.Event()


def note_written() -> None:
    startup.mark_for_callgrind()  # (--instructions: the window ends)
    state["last_written_at"] = asyncio.get_running_loop().time()
    state["woken_by_then"] = state["woken"]


async def poll(request: web.Request) -> web.Response:
    state["waiting"] += 1
    try:
        await event.wait()
    except asyncio.CancelledError:  # (only with handler_cancellation=True: aiohttp's default leaves it waiting)
        state["disconnected"] += 1
        raise
    finally:
        state["waiting"] -= 1
    if not state["woken"]:
        asyncio.get_running_loop().call_soon(note_written)
    state["woken"] += 1
    return web.Response(text="message\n")


async def notify(request: web.Request) -> web.Response:
    global event
    state["notified_at"] = asyncio.get_running_loop().time()
    woken, event = event, asyncio.Event()
    startup.mark_for_callgrind()  # (--instructions: the window starts)
    woken.set()
    return web.Response(text="notified\n")


async def stats(request: web.Request) -> web.Response:
    return web.json_response(dict(state, pid=os.getpid(), elapsed=state["last_written_at"] - state["notified_at"]))


def main() -> None:
    args = startup.command_line(__doc__).parse_args()
    loop = startup.uvloop_module().new_event_loop() if args.uvloop else None  # None: run_app makes asyncio's
    app = web.Application()
    app.router.add_get("/poll", poll)
    app.router.add_post("/notify", notify)
    app.router.add_get("/stats", stats)
    # run_app handles SIGINT and SIGTERM itself (GracefulExit) and returns.
    web.run_app(app, host=startup.HOST, port=args.port, backlog=4096, print=None, loop=loop)


if __name__ == "__main__":
    main()

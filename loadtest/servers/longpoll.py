"""A long-poll server for loadtest/longpoll_fanout.py: waiters on one Condition, woken at once.

``GET /poll`` waits on a ``framework.locks.Condition``; ``POST /notify`` wakes
every waiter with one ``notify_all()`` and notes the loop time; ``GET /stats``
reports waiters, wakes and the time from the notify to the last response
written.

That last time is noted by a callback the first woken handler schedules
from its ``on_finish()``: inside ``finish()``, once its response is written
or corked, and before the framework queues its own look at the finished
tasks (``framework/web/lifecycle.py``, which takes the place of each task's
done-callback). All the waiters wake in one loop iteration, so the callback
runs at the start of the next: after every response of the fan-out went to
its transport, whether each was written during its handler's step or corked
until the end of the iteration (the connection module's corked writes), and
before the work on the finished tasks. ``woken_by_then`` says how many had
been woken when it ran. (``on_finish`` is one call more per waiter.)

Where the time goes: every woken handler notes ``time.perf_counter()``
after its ``finish()`` (a C call, about a hundred instructions), so
``handlers_ms`` is the notify to the last handler finished and
``after_handlers_ms`` from there to the time noted above. On the framework,
whose responses wait for one pass of writes after the handlers (corked), the
first is the handlers' Python and the second the sends, which cost what the
floor's do; on Tornado, which writes from each handler, the first holds both.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time

import startup

from framework import ioloop, locks
from framework.web import Application, RequestHandler

condition = locks.Condition()
state = {"waiting": 0, "woken": 0, "woken_by_then": 0, "notified_at": 0.0, "last_written_at": 0.0, "disconnected": 0}
# The same three moments on one clock (perf_counter): the loop's may be
# uvloop's, which moves only once per iteration.
clock = {"notified": 0.0, "last_finished": 0.0, "written": 0.0}
# Garbage collections by generation, so far, at the notify and at the last
# response: a full (generation 2) collection over every waiter's objects
# during the fan-out can take as long as the fan-out itself.
collections = [0, 0, 0]
at_notify: list[int] = [0, 0, 0]
at_last_written: list[int] = [0, 0, 0]


def count_collection(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        collections[info["generation"]] += 1


gc.callbacks.append(count_collection)


class PollHandler(RequestHandler):
    async def get(self) -> None:
        state["waiting"] += 1
        self.wait = condition.wait()
        try:
            await self.wait
        except asyncio.CancelledError:  # the client left (on_connection_close), as in Tornado's chat demo
            return
        finally:
            state["waiting"] -= 1
        if self.request.connection is None:
            return
        self.finish("message\n")
        clock["last_finished"] = time.perf_counter()
        state["woken"] += 1

    def on_finish(self) -> None:
        if not state["woken"] and state["notified_at"]:  # the first woken (not one that left before the notify)
            ioloop.IOLoop.current().add_callback(note_written)

    def on_connection_close(self) -> None:
        state["disconnected"] += 1
        wait = getattr(self, "wait", None)
        if wait is not None:
            wait.cancel()


def note_written() -> None:
    startup.mark_for_callgrind()  # (--instructions: the window ends)
    clock["written"] = time.perf_counter()
    state["last_written_at"] = ioloop.IOLoop.current().time()
    state["woken_by_then"] = state["woken"]
    at_last_written[:] = collections


class NotifyHandler(RequestHandler):
    def post(self) -> None:
        state["notified_at"] = ioloop.IOLoop.current().time()
        clock["notified"] = time.perf_counter()
        at_notify[:] = collections
        startup.mark_for_callgrind()  # (--instructions: the window starts)
        condition.notify_all()
        self.finish("notified\n")


class StatsHandler(RequestHandler):
    def get(self) -> None:
        during = [after - before for before, after in zip(at_notify, at_last_written, strict=True)]
        phases = {
            "handlers_ms": (clock["last_finished"] - clock["notified"]) * 1000,
            "after_handlers_ms": (clock["written"] - clock["last_finished"]) * 1000,
        }
        elapsed = state["last_written_at"] - state["notified_at"]
        self.write(dict(state, **phases, pid=os.getpid(), elapsed=elapsed, gc_during_fanout=during))


def main() -> None:
    args = startup.command_line(__doc__).parse_args()
    if args.uvloop and not ioloop.use_uvloop():
        sys.exit(startup.NO_UVLOOP)
    app = Application([(r"/poll", PollHandler), (r"/notify", NotifyHandler), (r"/stats", StatsHandler)])
    app.listen(args.port, startup.HOST, backlog=4096)
    startup.run_until_signalled(ioloop.IOLoop.current().start)


if __name__ == "__main__":
    main()

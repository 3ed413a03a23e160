"""Tornado's ``tornado.platform.asyncio`` names, for code written against them.

Strategy: ``framework.ioloop.IOLoop`` is already a face over an asyncio loop
and a framework future is an ``asyncio.Future``, so nothing here converts
anything. ``AsyncIOMainLoop`` wraps the thread's asyncio loop (the one
``asyncio.get_event_loop()`` gives), ``AsyncIOLoop`` makes a new one (what
``IOLoop()`` does anyway), and the two future converters return what they
are given as an asyncio future. Both loop classes work with
``IOLoop.configure``.

Differences from Tornado: ``AnyThreadEventLoopPolicy`` is kept, as Tornado
keeps it, although asyncio's policies are themselves deprecated (Python
3.14); ``SelectorThread`` and ``AddThreadSelectorEventLoop`` (Windows'
proactor loop) are not provided: this framework runs on selector loops.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from framework.gen import convert_yielded
from framework.ioloop import IOLoop

__all__ = [
    "AnyThreadEventLoopPolicy",
    "AsyncIOLoop",
    "AsyncIOMainLoop",
    "BaseAsyncIOLoop",
    "to_asyncio_future",
    "to_tornado_future",
]


class BaseAsyncIOLoop(IOLoop):
    """An ``IOLoop`` over a given asyncio loop (Tornado's base of the two classes below)."""

    def initialize(self, asyncio_loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
        """Wrap ``asyncio_loop`` (or a new loop, if None).

        Raises:
            RuntimeError: the asyncio loop already has an ``IOLoop``.
        """
        super().initialize(asyncio_loop=asyncio_loop, **kwargs)


class AsyncIOMainLoop(BaseAsyncIOLoop):
    """The ``IOLoop`` of this thread's asyncio loop (``asyncio.get_event_loop()``'s).

    ``AsyncIOMainLoop().install()`` was Tornado 4's way to run on asyncio;
    ``install`` is kept and makes the loop current.
    """

    def initialize(self, asyncio_loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
        """Wrap the running loop, else the thread's asyncio loop (created if there is none)."""
        super().initialize(asyncio_loop or _main_loop(), **kwargs)

    def install(self) -> None:
        """Make this the current ``IOLoop`` (Tornado's deprecated ``install``)."""
        self.make_current()


def _main_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    with warnings.catch_warnings():
        # Python 3.12+ warns when the policy has to create the loop; creating
        # it is what "the thread's main loop" means here.
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_event_loop_policy().get_event_loop()


class AsyncIOLoop(BaseAsyncIOLoop):
    """An ``IOLoop`` on a new asyncio loop of its own (what ``IOLoop()`` builds by default)."""

    def initialize(self, asyncio_loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
        """Create and wrap a new asyncio loop, unless one is given (as ``IOLoop.current`` does)."""
        super().initialize(asyncio_loop, **kwargs)


def to_tornado_future(asyncio_future: asyncio.Future[Any]) -> asyncio.Future[Any]:
    """An asyncio future as a framework future: the same object (as in Tornado 5+)."""
    return asyncio_future


def to_asyncio_future(tornado_future: Any) -> asyncio.Future[Any]:
    """A framework future, coroutine or other yieldable as an ``asyncio.Future``.

    Raises:
        framework.gen.BadYieldError: the value cannot be awaited.
    """
    return convert_yielded(tornado_future)


class AnyThreadEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An event-loop policy that creates a loop on demand in any thread, not only the main one.

    Mirrors Tornado's (deprecated there too): prefer ``asyncio.run`` or
    ``IOLoop.current()`` in the thread, which creates its loop itself.
    """

    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        """The thread's loop, created and set if it has none."""
        try:
            return super().get_event_loop()
        except RuntimeError:
            loop = self.new_event_loop()
            self.set_event_loop(loop)
            return loop

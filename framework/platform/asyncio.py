"""Tornado's ``tornado.platform.asyncio`` names, for code written against them.

Strategy: ``framework.ioloop.IOLoop`` is already a face over an asyncio loop
and a framework future is an ``asyncio.Future``, so nothing here converts
anything. ``AsyncIOMainLoop`` wraps the thread's asyncio loop (the one
``asyncio.get_event_loop()`` gives), ``AsyncIOLoop`` makes a new one (what
``IOLoop()`` does anyway), and the two future converters return what they
are given as an asyncio future. Both loop classes work with
``IOLoop.configure``.

``AddThreadSelectorEventLoop`` gives a loop without ``add_reader`` and
``add_writer`` (Windows' proactor loop) those methods: a ``SelectorThread``
waits on a selector in a thread of its own and hands each round of ready
descriptors to the loop, which runs the callbacks in its own thread; the
selector thread waits for that round to be handled before it selects again,
so a callback that drains its socket is not called a second time for the
same data.

Differences from Tornado: ``AnyThreadEventLoopPolicy`` is kept, as Tornado
keeps it, although asyncio's policies are themselves deprecated (Python
3.14). ``IOLoop`` does not wrap a loop in ``AddThreadSelectorEventLoop`` by
itself, as Tornado's does on Windows: every loop this framework runs on
(epoll, kqueue) has ``add_reader``; wrap a proactor loop explicitly.
"""

from __future__ import annotations

import asyncio
import selectors
import socket
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

from framework.gen import convert_yielded
from framework.ioloop import IOLoop

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

__all__ = [
    "AddThreadSelectorEventLoop",
    "AnyThreadEventLoopPolicy",
    "AsyncIOLoop",
    "AsyncIOMainLoop",
    "BaseAsyncIOLoop",
    "SelectorThread",
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


def to_asyncio_future(tornado_future: object) -> asyncio.Future[Any]:
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


_Callbacks = dict[int, tuple[Callable[..., object], tuple[Any, ...]]]
_Ts = TypeVarTuple("_Ts")


def _fileno(fileobj: FileDescriptorLike) -> int:
    """A descriptor as asyncio's ``add_reader`` takes it: an int, or an object with ``fileno()``."""
    fd = fileobj if isinstance(fileobj, int) else int(fileobj.fileno())
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class SelectorThread:
    """``add_reader``/``add_writer`` for ``real_loop``, waited on by a selector in a thread.

    Tornado's ``SelectorThread`` (the engine of :class:`AddThreadSelectorEventLoop`,
    also usable alone beside a loop that is already running). The callbacks
    run on ``real_loop``, in its thread; only the waiting happens in the
    selector thread. Every method but :meth:`close` must be called from the
    loop's thread, as asyncio's own are.

    Strategy: the loop thread owns the tables of callbacks and writes them
    under a lock; the selector thread alone touches the selector, bringing its
    registrations in line with the tables at the top of each round, and a
    byte on a socketpair wakes it when the tables change. A round with ready
    descriptors is handed to the loop with ``call_soon_threadsafe`` and the
    selector thread waits for it to be handled before the next ``select``.
    """

    def __init__(self, real_loop: asyncio.AbstractEventLoop) -> None:
        self._real_loop = real_loop
        self._readers: _Callbacks = {}
        self._writers: _Callbacks = {}
        self._lock = threading.Lock()  # guards the two tables against the selector thread's reads
        self._closing = False
        self._round_handled = threading.Event()
        self._wake_receiver, self._wake_sender = socket.socketpair()
        self._wake_receiver.setblocking(False)
        self._wake_sender.setblocking(False)
        # Made here, not in the thread, so it exists (and holds its descriptor) once we return.
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_receiver, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, name="framework-selector-thread", daemon=True)
        self._thread.start()

    def add_reader(self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts) -> None:
        """Call ``callback(*args)`` on the loop whenever ``fd`` is readable (as ``loop.add_reader``)."""
        self._add(self._readers, _fileno(fd), callback, args)

    def add_writer(self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts) -> None:
        """Call ``callback(*args)`` on the loop whenever ``fd`` is writable (as ``loop.add_writer``)."""
        self._add(self._writers, _fileno(fd), callback, args)

    def remove_reader(self, fd: FileDescriptorLike) -> bool:
        """Stop watching ``fd`` for reading; False if it was not watched."""
        return self._remove(self._readers, _fileno(fd))

    def remove_writer(self, fd: FileDescriptorLike) -> bool:
        """Stop watching ``fd`` for writing; False if it was not watched."""
        return self._remove(self._writers, _fileno(fd))

    def close(self) -> None:
        """Stop the selector thread and wait for it to end. Safe to call twice, or from a callback."""
        if self._closing:
            return
        self._closing = True
        self._round_handled.set()
        self._wake()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        self._wake_receiver.close()
        self._wake_sender.close()
        with self._lock:
            self._readers.clear()
            self._writers.clear()

    def _add(self, table: _Callbacks, fd: int, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        if self._closing:
            raise RuntimeError("the selector thread is closed")
        with self._lock:
            table[fd] = (callback, args)
        self._wake()

    def _remove(self, table: _Callbacks, fd: int) -> bool:
        with self._lock:
            found = table.pop(fd, None) is not None
        if found:
            self._wake()
        return found

    def _wake(self) -> None:
        try:
            self._wake_sender.send(b"\0")
        except OSError:  # full (a wake-up is pending anyway) or closed
            pass

    # -- the selector thread --------------------------------------------

    def _run(self) -> None:
        selector = self._selector
        registered: dict[int, int] = {}  # fd -> events, as the selector has them
        try:
            while not self._closing:
                self._sync(selector, registered)
                readable, writable = self._select(selector)
                # Clear before looking at _closing: close() sets _closing, then the
                # event, so a close racing with this round is seen one way or the other.
                self._round_handled.clear()
                if self._closing or not (readable or writable):
                    continue
                try:
                    self._real_loop.call_soon_threadsafe(self._dispatch, readable, writable)
                except RuntimeError:  # the loop is closed: nobody is left to call
                    return
                self._round_handled.wait()
        finally:
            selector.close()

    def _select(self, selector: selectors.BaseSelector) -> tuple[list[int], list[int]]:
        readable: list[int] = []
        writable: list[int] = []
        for key, events in selector.select():
            if key.fileobj is self._wake_receiver:
                self._drain_wake_ups()
                continue
            if events & selectors.EVENT_READ:
                readable.append(key.fd)
            if events & selectors.EVENT_WRITE:
                writable.append(key.fd)
        return readable, writable

    def _drain_wake_ups(self) -> None:
        try:
            while self._wake_receiver.recv(4096):
                pass
        except OSError:  # BlockingIOError: drained
            pass

    def _sync(self, selector: selectors.BaseSelector, registered: dict[int, int]) -> None:
        """Bring the selector's registrations in line with the callback tables."""
        with self._lock:
            wanted = dict.fromkeys(self._readers, selectors.EVENT_READ)
            for fd in self._writers:
                wanted[fd] = wanted.get(fd, 0) | selectors.EVENT_WRITE
        for fd in registered.keys() - wanted.keys():
            del registered[fd]
            try:
                selector.unregister(fd)
            except (KeyError, OSError, ValueError):  # closed before it was removed
                pass
        for fd, events in wanted.items():
            if registered.get(fd) == events:
                continue
            try:
                if fd in registered:
                    selector.modify(fd, events)
                else:
                    selector.register(fd, events)
            except (KeyError, OSError, ValueError) as exc:
                registered.pop(fd, None)
                self._report_bad_fd(fd, exc)
            else:
                registered[fd] = events

    def _report_bad_fd(self, fd: int, exc: BaseException) -> None:
        """A descriptor the selector refused (closed, or not a socket): drop it, and say so on the loop."""
        with self._lock:
            self._readers.pop(fd, None)
            self._writers.pop(fd, None)
        context = {"message": f"selector thread cannot watch file descriptor {fd}", "exception": exc}
        try:
            self._real_loop.call_soon_threadsafe(self._real_loop.call_exception_handler, context)
        except RuntimeError:  # the loop is closed
            pass

    # -- back on the loop's thread --------------------------------------

    def _dispatch(self, readable: list[int], writable: list[int]) -> None:
        try:
            for fd in readable:
                self._call(self._readers, fd)
            for fd in writable:
                self._call(self._writers, fd)
        finally:
            self._round_handled.set()

    def _call(self, table: _Callbacks, fd: int) -> None:
        entry = table.get(fd)  # None: removed (or closed) since the select
        if entry is None or self._closing:
            return
        callback, args = entry
        try:
            callback(*args)
        except Exception as exc:
            self._real_loop.call_exception_handler(
                {"message": f"Exception in callback {callback!r} for file descriptor {fd}", "exception": exc}
            )


# Attributes the wrapper answers itself; every other one comes from the wrapped loop.
_WRAPPER_OWN = frozenset(
    {"_real_loop", "_selector_thread", "add_reader", "add_writer", "remove_reader", "remove_writer", "close"}
)


class AddThreadSelectorEventLoop(asyncio.AbstractEventLoop):
    """Wrap an asyncio loop, adding ``add_reader``/``add_writer`` run by a :class:`SelectorThread`.

    Mirrors Tornado's class of that name, meant for loops that lack those
    methods (``WindowsProactorEventLoop``); any loop may be wrapped. The
    selector thread starts here and is invisible to callers: callbacks run on
    the wrapped loop's thread. Every other attribute and method is the
    wrapped loop's (``run_until_complete``, ``call_soon``, ``time``, ...), and
    :meth:`close` closes the wrapped loop as well.

    Differences from Tornado: ``IOLoop`` does not wrap loops in this class on
    its own (see the module docstring).
    """

    def __init__(self, real_loop: asyncio.AbstractEventLoop) -> None:
        self._real_loop = real_loop
        self._selector_thread = SelectorThread(real_loop)

    def __getattribute__(self, name: str) -> Any:
        # AbstractEventLoop defines every loop method (raising NotImplementedError),
        # so __getattr__ would never be reached: send all but our own names on here.
        if name in _WRAPPER_OWN or name.startswith("__"):
            return super().__getattribute__(name)
        return getattr(super().__getattribute__("_real_loop"), name)

    def __repr__(self) -> str:
        return f"<AddThreadSelectorEventLoop wrapping {self._real_loop!r}>"

    def add_reader(self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts) -> None:
        """Call ``callback(*args)`` on the wrapped loop whenever ``fd`` is readable."""
        self._selector_thread.add_reader(fd, callback, *args)

    def add_writer(self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts) -> None:
        """Call ``callback(*args)`` on the wrapped loop whenever ``fd`` is writable."""
        self._selector_thread.add_writer(fd, callback, *args)

    def remove_reader(self, fd: FileDescriptorLike) -> bool:
        """Stop watching ``fd`` for reading; False if it was not watched."""
        return self._selector_thread.remove_reader(fd)

    def remove_writer(self, fd: FileDescriptorLike) -> bool:
        """Stop watching ``fd`` for writing; False if it was not watched."""
        return self._selector_thread.remove_writer(fd)

    def close(self) -> None:
        """Stop the selector thread, then close the wrapped loop."""
        self._selector_thread.close()
        self._real_loop.close()

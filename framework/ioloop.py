"""The event loop: Tornado's ``IOLoop`` and ``PeriodicCallback`` API over asyncio.

Strategy: ``IOLoop`` is a thin face over an asyncio loop (the selector loop:
epoll on Linux, kqueue on BSD and macOS), one ``IOLoop`` per asyncio loop, not
a reactor of its own. So every asyncio library works unchanged inside handlers
and ``IOLoop.current()`` and ``asyncio.get_running_loop()`` agree. What it adds
is Tornado's conventions: callback exceptions are logged, not lost; coroutines
returned by callbacks are kept alive and checked; raw fd handlers take
``READ``/``WRITE`` masks; periodic timers skip missed runs. It knows no HTTP.

uvloop is opt-in (``FRAMEWORK_UVLOOP=1`` or :func:`use_uvloop`): loops that
``IOLoop`` creates then come from ``uvloop.new_event_loop()``, or from asyncio
with a logged warning if uvloop is missing. Without the opt-in it is never
imported.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import datetime
import functools
import importlib
import inspect
import logging
import math
import os
import random
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from types import ModuleType
from typing import Any, Literal, ParamSpec, Protocol, TypeVar, TypeVarTuple, overload

from framework.util import Configurable

__all__ = ["IOLoop", "PeriodicCallback", "run_with_exception_handler", "use_uvloop"]

_log = logging.getLogger("framework.general")

# Who should hear of an exception raised by a callback: set for the code run
# by run_with_exception_handler and inherited (asyncio copies the context
# when it schedules) by every callback that code schedules, however late.
_exception_handler: contextvars.ContextVar[Callable[[BaseException], object] | None] = contextvars.ContextVar(
    "framework_exception_handler", default=None
)


def run_with_exception_handler(
    handler: Callable[[BaseException], object], func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
) -> _T:
    """Run ``func``; exceptions from callbacks it schedules through the IOLoop go to ``handler``.

    The modern stand-in for Tornado's old ``ExceptionStackContext``: an
    ``@asynchronous`` handler's callbacks that raise end its request with an
    error page instead of leaving the client hanging. ``func``'s own
    exceptions propagate as usual.
    """
    context = contextvars.copy_context()

    def inside() -> _T:
        _exception_handler.set(handler)
        return func(*args, **kwargs)

    return context.run(inside)


def _report_callback_exception(exc: BaseException, callback: object) -> None:
    handler = _exception_handler.get()
    if handler is not None:
        try:
            handler(exc)
            return
        except Exception:
            _log.error("exception handler %r failed", handler, exc_info=True)
    _log.error("Exception in callback %r", callback, exc_info=exc)


_P = ParamSpec("_P")
_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class _Selectable(Protocol):
    """Anything with a ``fileno()``: sockets, pipes, files."""

    def fileno(self) -> int: ...


_FD = TypeVar("_FD", bound="int | _Selectable")
_Fut = TypeVar("_Fut", bound="asyncio.Future[Any] | concurrent.futures.Future[Any]")

_UVLOOP_ENV = "FRAMEWORK_UVLOOP"
_uvloop_requested = False


def use_uvloop() -> bool:
    """Opt in to uvloop, a faster reactor, for every loop ``IOLoop`` creates from now on.

    Opt-in so that the default stays the standard library and speed-ups are measured.

    Returns:
        True if uvloop is importable and will be used, False otherwise.
    """
    global _uvloop_requested
    _uvloop_requested = True
    return _import_uvloop() is not None


@functools.cache
def _import_uvloop() -> ModuleType | None:
    try:
        return importlib.import_module("uvloop")
    except ImportError:
        _log.warning("uvloop was requested but is not installed; using asyncio's loop")
        return None


def _new_asyncio_loop() -> asyncio.AbstractEventLoop:
    """Create a loop: asyncio's default, or uvloop's when opted in."""
    if _uvloop_requested or os.environ.get(_UVLOOP_ENV) == "1":
        uvloop = _import_uvloop()
        if uvloop is not None:
            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
            return loop
    return asyncio.new_event_loop()


class _ThreadState(threading.local):
    current: IOLoop | None = None


_thread_state = _ThreadState()


class IOLoop(Configurable):
    """An event loop with Tornado's ``IOLoop`` API, backed by an asyncio loop.

    Mirrors ``tornado.ioloop.IOLoop``. Differences: ``ERROR`` is accepted but
    errors arrive as ``READ``/``WRITE`` readiness (as on any selector loop), and
    :meth:`current` does not see a loop installed only by ``asyncio.set_event_loop``.

    ``IOLoop.configure(SubClass, **kwargs)`` (``util.Configurable``) makes
    ``IOLoop()`` build ``SubClass``, with ``kwargs`` passed to ``initialize``;
    the loops :meth:`current` creates are built the same way. Unlike Tornado,
    which accepts only its asyncio loop classes there, any ``IOLoop`` subclass
    is accepted (every ``IOLoop`` here is an asyncio loop).

    Args:
        asyncio_loop: An existing asyncio loop to wrap. Omitted, a new loop is
            created (uvloop's if opted in) and owned by this ``IOLoop``.

    Raises:
        RuntimeError: ``asyncio_loop`` already has an ``IOLoop``.
    """

    NONE = 0
    READ = 0x001
    WRITE = 0x004
    ERROR = 0x018

    # Weak keys so that wrapping a loop someone else owns (asyncio.run) does
    # not keep it alive; a wrapper holds such a loop only weakly.
    _by_asyncio_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, IOLoop]
    _by_asyncio_loop = weakref.WeakKeyDictionary()

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return IOLoop

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return IOLoop

    @classmethod
    def configure(cls, impl: type[Configurable] | str | None, **kwargs: Any) -> None:
        """Choose the ``IOLoop`` subclass that ``IOLoop()`` builds (Tornado's ``IOLoop.configure``).

        Args:
            impl: an ``IOLoop`` subclass or its dotted name; None restores ``IOLoop``.
            kwargs: passed to every construction's ``initialize``.

        Raises:
            ValueError: ``impl`` is not an ``IOLoop`` subclass.
        """
        super().configure(impl, **kwargs)

    def initialize(self, *, asyncio_loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Set the loop up; what ``__init__`` would do (``Configurable`` calls it from ``__new__``)."""
        if asyncio_loop is not None and asyncio_loop in IOLoop._by_asyncio_loop:
            raise RuntimeError("this asyncio loop already has an IOLoop")
        loop = asyncio_loop if asyncio_loop is not None else _new_asyncio_loop()
        # A loop we created is ours to keep alive; a wrapped one is held weakly.
        self._owned_loop = loop if asyncio_loop is None else None
        self._loop_ref = weakref.ref(loop)
        self._handlers: dict[int, tuple[int | _Selectable, Callable[[Any, int], object]]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._default_executor: concurrent.futures.Executor | None = None
        IOLoop._by_asyncio_loop[loop] = self

    @property
    def asyncio_loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop underneath, for code that wants asyncio directly."""
        loop = self._loop_ref()
        if loop is None:
            raise RuntimeError("the wrapped asyncio loop no longer exists")
        return loop

    @overload
    @staticmethod
    def current() -> IOLoop: ...

    @overload
    @staticmethod
    def current(instance: Literal[True]) -> IOLoop: ...

    @overload
    @staticmethod
    def current(instance: bool) -> IOLoop | None: ...

    @staticmethod
    def current(instance: bool = True) -> IOLoop | None:
        """Return the running loop's ``IOLoop``, else this thread's current one.

        Mirrors ``IOLoop.current``. With no loop and ``instance`` true, a new
        one is made current, for asyncio too, so that a script's top-level
        ``app.listen(8000)`` and ``IOLoop.current().start()`` share one loop.

        Args:
            instance: Create a loop when there is none. If false, return None
                instead (also for a running asyncio loop not yet wrapped).
        """
        running = _running_loop()
        if running is not None:
            existing = IOLoop._by_asyncio_loop.get(running)
            if existing is None and instance:
                existing = IOLoop(asyncio_loop=running)
            return existing
        current = _thread_state.current
        if current is not None and not current.asyncio_loop.is_closed():
            return current
        if not instance:
            return None
        created = IOLoop()
        created.make_current()
        return created

    @staticmethod
    def instance() -> IOLoop:
        """Deprecated alias for :meth:`current`, as in Tornado 5+ (before 5.0 it was a process-wide singleton)."""
        return IOLoop.current()

    def install(self) -> None:
        """Deprecated alias for :meth:`make_current`, as in Tornado 5+; no ``DeprecationWarning`` is raised here."""
        self.make_current()

    @staticmethod
    def clear_instance() -> None:
        """Deprecated alias for :meth:`clear_current`, as in Tornado 5+; no ``DeprecationWarning`` is raised here."""
        IOLoop.clear_current()

    def make_current(self) -> None:
        """Make this the thread's current loop, for both ``IOLoop`` and asyncio."""
        _thread_state.current = self
        asyncio.set_event_loop(self.asyncio_loop)

    @staticmethod
    def clear_current() -> None:
        """Forget this thread's current loop, for both ``IOLoop`` and asyncio."""
        _thread_state.current = None
        asyncio.set_event_loop(None)

    @contextlib.contextmanager
    def _as_current(self) -> Iterator[None]:
        previous = _thread_state.current
        self.make_current()
        try:
            yield
        finally:
            if previous is None or previous.asyncio_loop.is_closed():
                IOLoop.clear_current()
            else:
                previous.make_current()

    def start(self) -> None:
        """Run until :meth:`stop` is called; the loop is current meanwhile."""
        with self._as_current():
            self.asyncio_loop.run_forever()

    def stop(self) -> None:
        """Stop after this iteration; from another thread, ``add_callback(loop.stop)``."""
        self.asyncio_loop.stop()

    def close(self, all_fds: bool = False) -> None:
        """Close the loop and free its resources; the loop must be stopped.

        Args:
            all_fds: Also close every file descriptor or object registered
                with :meth:`add_handler`, as Tornado does.
        """
        for fileno in list(self._handlers):
            obj, _ = self._handlers[fileno]
            self.remove_handler(fileno)
            if all_fds:
                _close_quietly(obj)
        loop = self.asyncio_loop
        loop.close()
        IOLoop._by_asyncio_loop.pop(loop, None)
        if _thread_state.current is self:
            IOLoop.clear_current()

    @overload
    def run_sync(self, func: Callable[[], Awaitable[_T]], timeout: float | None = None) -> _T: ...

    @overload
    def run_sync(self, func: Callable[[], _T], timeout: float | None = None) -> _T: ...

    def run_sync(self, func: Callable[[], Any], timeout: float | None = None) -> Any:
        """Start the loop, run ``func``, stop the loop and return its result.

        Mirrors ``IOLoop.run_sync``; ``timeout`` stays positional as in Tornado.

        Args:
            func: Called on the loop; may return an awaitable or a plain value.
            timeout: Seconds to allow before cancelling ``func``'s work.

        Raises:
            TimeoutError: ``timeout`` elapsed first.
        """

        async def run() -> Any:
            result = func()
            return (await result) if inspect.isawaitable(result) else result

        work: Awaitable[Any] = run()
        if timeout is not None:
            work = asyncio.wait_for(work, timeout)
        with self._as_current():
            return self.asyncio_loop.run_until_complete(work)

    def add_callback(self, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs) -> None:
        """Run ``callback(*args, **kwargs)`` on the loop's next iteration.

        Safe from any thread (it wakes the loop). After :meth:`close` callbacks
        are dropped, as in Tornado, so late callers never race shutdown.
        """
        call = functools.partial(callback, *args, **kwargs)
        loop = self.asyncio_loop
        try:
            if _running_loop() is loop:
                loop.call_soon(self._run_callback, call)
            else:
                loop.call_soon_threadsafe(self._run_callback, call)
        except RuntimeError:
            if not loop.is_closed():
                raise

    def add_callback_from_signal(self, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs) -> None:
        """Like :meth:`add_callback`, from a signal handler (``signal.signal``): the loop is woken.

        A Python signal handler runs in the loop's thread, often while the
        loop waits in ``epoll_wait``; that wait then resumes once the handler
        returns. So this always wakes the loop (``call_soon_threadsafe``),
        where ``add_callback`` in the loop's thread would only queue the
        callback for whenever something else woke it (a server's
        ``stop`` never run, say). Dropped after :meth:`close`, as Tornado's.
        """
        loop = self.asyncio_loop
        try:
            loop.call_soon_threadsafe(self._run_callback, functools.partial(callback, *args, **kwargs))
        except RuntimeError:
            if not loop.is_closed():
                raise

    def spawn_callback(self, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs) -> None:
        """Like :meth:`add_callback`: Tornado made the two equivalent in 6.0."""
        self.add_callback(callback, *args, **kwargs)

    def call_later(
        self, delay: float, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs
    ) -> asyncio.TimerHandle:
        """Run the callback after ``delay`` seconds; the handle is for :meth:`remove_timeout`."""
        call = functools.partial(callback, *args, **kwargs)
        return self.asyncio_loop.call_later(delay, self._run_callback, call)

    def call_at(self, when: float, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs) -> asyncio.TimerHandle:
        """Run the callback at loop time ``when`` (see :meth:`time`)."""
        call = functools.partial(callback, *args, **kwargs)
        return self.asyncio_loop.call_at(when, self._run_callback, call)

    def add_timeout(
        self,
        deadline: float | datetime.timedelta,
        callback: Callable[_P, object],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> asyncio.TimerHandle:
        """Run the callback at ``deadline``: a loop time, or a ``timedelta`` from now.

        Raises:
            TypeError: ``deadline`` is neither a number nor a ``timedelta``.
        """
        if isinstance(deadline, datetime.timedelta):
            return self.call_later(deadline.total_seconds(), callback, *args, **kwargs)
        if isinstance(deadline, (int, float)):
            return self.call_at(deadline, callback, *args, **kwargs)
        raise TypeError(f"unsupported deadline {deadline!r}")

    def remove_timeout(self, timeout: asyncio.Handle) -> None:
        """Cancel a timer from :meth:`call_later`, :meth:`call_at` or :meth:`add_timeout`."""
        timeout.cancel()

    def time(self) -> float:
        """The loop's clock: monotonic seconds, the unit of :meth:`call_at`."""
        return self.asyncio_loop.time()

    def _run_callback(self, callback: Callable[[], object]) -> None:
        """Run a callback, log its exception, and keep any coroutine it returns alive."""
        try:
            result = callback()
        except Exception as exc:
            _report_callback_exception(exc, callback)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result, loop=self.asyncio_loop)
            self._tasks.add(task)  # the loop holds tasks only weakly
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            _report_callback_exception(exc, task)

    def add_handler(self, fd: _FD, handler: Callable[[_FD, int], object], events: int) -> None:
        """Call ``handler(fd, events)`` whenever ``fd`` is ready for ``events``.

        Args:
            fd: An integer file descriptor or an object with ``fileno()``;
                the handler receives it back exactly as given.
            handler: Called with ``fd`` and ``READ`` or ``WRITE``.
            events: A mask of ``READ``, ``WRITE`` and ``ERROR``.

        Raises:
            ValueError: ``fd`` already has a handler.
        """
        fileno = _fileno(fd)
        if fileno in self._handlers:
            raise ValueError(f"fd {fileno} already has a handler")
        self._handlers[fileno] = (fd, handler)
        self.update_handler(fileno, events)

    def update_handler(self, fd: int | _Selectable, events: int) -> None:
        """Change which events ``fd``'s handler is called for."""
        fileno = _fileno(fd)
        loop = self.asyncio_loop
        loop.remove_reader(fileno)
        loop.remove_writer(fileno)
        if events & IOLoop.READ:
            loop.add_reader(fileno, self._handle_event, fileno, IOLoop.READ)
        if events & IOLoop.WRITE:
            loop.add_writer(fileno, self._handle_event, fileno, IOLoop.WRITE)

    def remove_handler(self, fd: int | _Selectable) -> None:
        """Stop watching ``fd``; a descriptor with no handler is ignored."""
        fileno = _fileno(fd)
        if self._handlers.pop(fileno, None) is None:
            return
        self.asyncio_loop.remove_reader(fileno)
        self.asyncio_loop.remove_writer(fileno)

    def _handle_event(self, fileno: int, event: int) -> None:
        registered = self._handlers.get(fileno)
        if registered is not None:
            obj, handler = registered
            self._run_callback(functools.partial(handler, obj, event))

    def add_future(self, future: _Fut, callback: Callable[[_Fut], object]) -> None:
        """Call ``callback(future)`` on this loop once an asyncio or concurrent future is done."""
        if isinstance(future, concurrent.futures.Future):
            future.add_done_callback(lambda _: self.add_callback(callback, future))
        else:
            call = functools.partial(callback, future)
            future.add_done_callback(lambda _: self._run_callback(call))

    def run_in_executor(
        self, executor: concurrent.futures.Executor | None, func: Callable[[*_Ts], _T], *args: *_Ts
    ) -> asyncio.Future[_T]:
        """Run ``func(*args)`` in ``executor`` and return an awaitable future.

        Args:
            executor: Where to run; None means the default executor (see
                :meth:`set_default_executor`), else asyncio's thread pool.
        """
        chosen = executor if executor is not None else self._default_executor
        return self.asyncio_loop.run_in_executor(chosen, func, *args)

    def set_default_executor(self, executor: concurrent.futures.Executor) -> None:
        """Make ``executor`` the one :meth:`run_in_executor` uses for None.

        Unlike asyncio's method of this name, any ``Executor`` is accepted.
        """
        self._default_executor = executor


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _fileno(fd: int | _Selectable) -> int:
    return fd if isinstance(fd, int) else fd.fileno()


def _close_quietly(fd: int | _Selectable) -> None:
    with contextlib.suppress(OSError):
        if isinstance(fd, int):
            os.close(fd)
        elif callable(close := getattr(fd, "close", None)):
            close()


class PeriodicCallback:
    """Call ``callback`` every ``callback_time`` milliseconds while started.

    Mirrors ``tornado.ioloop.PeriodicCallback``. If a run overruns its period,
    the missed runs are skipped, not made up in a burst; a coroutine callback
    is awaited before the next run is scheduled.

    Args:
        callback: A function, possibly returning an awaitable.
        callback_time: The period in milliseconds, or a ``timedelta``.
        jitter: Vary each period randomly by up to ``jitter / 2`` of it
            either way, so many timers started together spread out.

    Raises:
        ValueError: ``callback_time`` is not positive.
    """

    def __init__(
        self,
        callback: Callable[[], object],
        callback_time: float | datetime.timedelta,
        jitter: float = 0,
    ) -> None:
        if isinstance(callback_time, datetime.timedelta):
            callback_time = callback_time.total_seconds() * 1000
        if callback_time <= 0:
            raise ValueError("callback_time must be positive")
        self.callback = callback
        self.callback_time = callback_time
        self.jitter = jitter
        self._running = False
        self._io_loop: IOLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Future[Any] | None = None
        self._next_run = 0.0

    def start(self) -> None:
        """Start on the current loop; the first run is one period from now."""
        io_loop = self._io_loop = IOLoop.current()
        self._running = True
        self._next_run = io_loop.time()
        self._schedule_next()

    def stop(self) -> None:
        """Stop; a coroutine run already in progress is left to finish."""
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def is_running(self) -> bool:
        """Whether the callback is started."""
        return self._running

    def _run(self) -> None:
        if not self._running:
            return
        try:
            result = self.callback()
        except Exception:
            _log.error("Exception in callback %r", self.callback, exc_info=True)
        else:
            if inspect.isawaitable(result):
                self._task = asyncio.ensure_future(result)
                self._task.add_done_callback(self._on_async_done)
                return
        self._schedule_next()

    def _on_async_done(self, task: asyncio.Future[Any]) -> None:
        self._task = None
        if not task.cancelled() and task.exception() is not None:
            _log.error("Exception in callback %r", self.callback, exc_info=task.exception())
        self._schedule_next()

    def _schedule_next(self) -> None:
        if not self._running or self._io_loop is None:
            return
        now = self._io_loop.time()
        period = self.callback_time / 1000
        if self.jitter:
            period *= 1 + self.jitter * (random.random() - 0.5)
        # Whole periods missed since the last planned run are skipped.
        periods = max(1, math.floor((now - self._next_run) / period) + 1)
        self._next_run += periods * period
        if self._timer is not None:  # restarted while a coroutine run was in flight
            self._timer.cancel()
        self._timer = self._io_loop.call_at(self._next_run, self._run)

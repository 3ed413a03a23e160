"""Generator-based coroutines, as in ``tornado.gen``, on top of asyncio.

Mirrors ``tornado.gen`` for code written in the ``@gen.coroutine`` /
``yield`` style (the seed tutorial's examples). New code should prefer
``async def``; both kinds can await each other.

Strategy: ``coroutine`` runs the generator eagerly up to its first ``yield``
(as Tornado does, so work before the first ``yield`` happens at call time),
then hands it to ``_drive``, an ordinary ``async def`` that loops: turn the
yielded object into an awaitable with ``convert_yielded``, await it, and send
the result (or throw the exception) back into the generator. asyncio does the
scheduling, so cancellation, context variables and every asyncio library work
unchanged. This module deliberately imports nothing from ``framework``.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import concurrent.futures
import datetime
import functools
import inspect
import logging
import warnings
from collections.abc import Awaitable, Callable, Generator
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "BadYieldError",
    "Return",
    "TimeoutError",
    "WaitIterator",
    "convert_yielded",
    "coroutine",
    "is_coroutine_function",
    "maybe_future",
    "moment",
    "multi",
    "multi_future",
    "sleep",
    "with_timeout",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_log = logging.getLogger("framework.application")

TimeoutError = builtins.TimeoutError
"""Raised by ``with_timeout``; the builtin, so ``asyncio`` timeouts match too."""


class Return(Exception):
    """Raise ``Return(value)`` to finish a coroutine with ``value``.

    Mirrors ``tornado.gen.Return``, which predates ``return value`` inside
    generators. Both spellings work here.
    """

    def __init__(self, value: Any = None) -> None:
        super().__init__(value)
        self.value = value


class BadYieldError(Exception):
    """A coroutine yielded something that cannot be waited for.

    Mirrors ``tornado.gen.BadYieldError``. It is thrown back into the
    generator at the offending ``yield``.
    """


class _Moment:
    """Awaitable that gives the event loop one turn, like ``asyncio.sleep(0)``.

    A bare ``yield`` inside ``__await__`` is asyncio's own signal for
    "reschedule me after other ready callbacks", so no timer is involved.
    """

    def __await__(self) -> Generator[None, None, None]:
        yield

    def __repr__(self) -> str:
        return "gen.moment"


moment = _Moment()
"""Yield ``gen.moment`` (or a bare ``yield``) to let other callbacks run once.

Mirrors ``tornado.gen.moment``. Unlike Tornado's, it may also be awaited
from ``async def`` code: ``await gen.moment``.
"""


def _current_loop() -> asyncio.AbstractEventLoop:
    """Return the running loop, else this thread's loop, creating one if needed.

    Outside a running loop, asyncio's policy API is the only way to find the
    thread's loop, and Python 3.12+ warns about it (3.14 even deprecates the
    policy functions). This fallback is what Tornado's ``IOLoop.current()``
    does, so the warnings are silenced here rather than pushed onto callers.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = asyncio.get_event_loop_policy()
        try:
            return policy.get_event_loop()
        except RuntimeError:
            loop = policy.new_event_loop()
            policy.set_event_loop(loop)
            return loop


# -- converting yielded objects --------------------------------------------------


def convert_yielded(yielded: object) -> asyncio.Future[Any]:
    """Turn anything a coroutine may yield into an asyncio Future.

    Mirrors ``tornado.gen.convert_yielded``. Accepted: ``None`` or ``moment``
    (one loop turn), asyncio futures (returned as they are),
    ``concurrent.futures.Future``, any awaitable (coroutines included, which
    start running as tasks), and lists or dicts of these (see ``multi``).

    Raises:
        BadYieldError: ``yielded`` is none of the above.
    """
    loop = _current_loop()
    if yielded is None or yielded is moment:
        future = loop.create_future()
        loop.call_soon(_resolve, future, None)
        return future
    if isinstance(yielded, (list, dict)):
        return multi(yielded)
    if asyncio.isfuture(yielded):
        return yielded
    if isinstance(yielded, concurrent.futures.Future):
        return asyncio.wrap_future(yielded, loop=loop)
    if inspect.isawaitable(yielded):
        return asyncio.ensure_future(yielded, loop=loop)
    raise BadYieldError(f"yielded unknown object {yielded!r}")


def _resolve(future: asyncio.Future[_T], value: _T) -> None:
    """Set ``future``'s result unless it was cancelled meanwhile."""
    if not future.done():
        future.set_result(value)


def maybe_future(value: object) -> asyncio.Future[Any]:
    """Return ``value`` if it is a future, else a future already holding it.

    Mirrors ``tornado.gen.maybe_future`` (deprecated there too: prefer
    ``convert_yielded``). Unlike ``convert_yielded`` it never starts
    coroutines; a coroutine object becomes the *result*.
    """
    if asyncio.isfuture(value):
        return value
    future = _current_loop().create_future()
    future.set_result(value)
    return future


# -- the coroutine decorator -----------------------------------------------------


def coroutine(func: Callable[_P, Any]) -> Callable[_P, asyncio.Future[Any]]:
    """Decorate a generator function so it runs as an asyncio coroutine.

    Mirrors ``tornado.gen.coroutine``. Inside the function, ``yield x``
    waits for ``x`` (anything ``convert_yielded`` accepts) and evaluates to
    its result; if ``x`` fails, the exception is raised at the ``yield``.
    ``return value`` or ``raise gen.Return(value)`` sets the result.

    The body runs synchronously up to its first ``yield``; the call returns
    an asyncio Future at once, which callers ``await`` or ``yield``. A plain
    (non-generator) function is wrapped too: its return value or exception
    lands in the returned Future. Difference from Tornado: if the function
    returns a native coroutine object, it is run rather than returned as
    the Future's result.
    """

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> asyncio.Future[Any]:
        loop = _current_loop()
        result = loop.create_future()
        try:
            value = func(*args, **kwargs)
            if isinstance(value, Generator):
                first = value.send(None)
                return asyncio.ensure_future(_drive(value, first), loop=loop)
            if inspect.iscoroutine(value):
                return asyncio.ensure_future(value, loop=loop)
        except (StopIteration, Return) as finished:
            value = finished.value
        except Exception as error:  # the future carries it to the caller
            result.set_exception(error)
            return result
        result.set_result(value)
        return result

    wrapper.__framework_coroutine__ = True  # type: ignore[attr-defined]
    return wrapper


async def _drive(generator: Generator[Any, Any, Any], yielded: Any) -> Any:
    """Run ``generator`` to completion, awaiting whatever it yields.

    ``yielded`` is the value its first step already produced. Every
    exception from an awaited object, ``CancelledError`` included, is thrown
    back in at the ``yield``, so ``try``/``finally`` in the body behaves as in
    an ``async def``.
    """
    while True:
        try:
            sent = await _awaitable(yielded)
        except BaseException as error:  # noqa: BLE001 - the generator decides
            step: Callable[[], Any] = functools.partial(generator.throw, error)
        else:
            step = functools.partial(generator.send, sent)
        try:
            yielded = step()
        except StopIteration as stop:
            return stop.value
        except Return as ret:
            return ret.value


def _awaitable(yielded: object) -> Awaitable[Any]:
    """Cheap path for ``_drive``: a bare ``yield`` needs no Future."""
    if yielded is None or yielded is moment:
        return moment
    return convert_yielded(yielded)


def is_coroutine_function(func: object) -> bool:
    """Whether ``func`` is a ``@coroutine``-decorated or ``async def`` function.

    Mirrors ``tornado.gen.is_coroutine_function``; difference: Tornado only
    recognises its own decorator, this also says yes to ``async def``.
    """
    return bool(getattr(func, "__framework_coroutine__", False)) or (inspect.iscoroutinefunction(func))


# -- combinators -------------------------------------------------------------------


def multi(
    children: list[Any] | dict[Any, Any],
    quiet_exceptions: type[BaseException] | tuple[type[BaseException], ...] = (),
) -> asyncio.Future[Any]:
    """Wait for several yieldables at once; the result has the same shape.

    Mirrors ``tornado.gen.multi``: a list gives a list of results in order, a
    dict gives a dict with the same keys. The children run concurrently. The
    Future resolves when all of them have finished; if any failed it raises
    the first failure (in ``children`` order) and logs the others, except
    those of a type in ``quiet_exceptions``.
    """
    keys = list(children) if isinstance(children, dict) else None
    values = list(children.values()) if isinstance(children, dict) else children
    futures = [convert_yielded(child) for child in values]
    result: asyncio.Future[Any] = _current_loop().create_future()
    pending = set(futures)
    if not pending:
        result.set_result({} if keys is not None else [])
        return result

    def on_child_done(child: asyncio.Future[Any]) -> None:
        pending.discard(child)
        if not pending and not result.done():
            _finish_multi(result, futures, keys, quiet_exceptions)

    for future in pending.copy():
        future.add_done_callback(on_child_done)
    return result


multi_future = multi
"""Older name for ``multi``, kept as in ``tornado.gen``."""


def _finish_multi(
    result: asyncio.Future[Any],
    futures: list[asyncio.Future[Any]],
    keys: list[object] | None,
    quiet_exceptions: type[BaseException] | tuple[type[BaseException], ...],
) -> None:
    """Collect the finished children's results into ``result``."""
    values: list[Any] = []
    first_error: BaseException | None = None
    for future in futures:
        error = _exception_of(future)
        if error is None:
            values.append(future.result())
        elif first_error is None:
            first_error = error
        elif not isinstance(error, quiet_exceptions):
            _log.error("Multiple exceptions in yield list", exc_info=error)
    if first_error is not None:
        result.set_exception(first_error)
    else:
        result.set_result(dict(zip(keys, values, strict=True)) if keys is not None else values)


def _exception_of(future: asyncio.Future[Any]) -> BaseException | None:
    """Return a finished future's exception, counting cancellation as one."""
    if future.cancelled():
        return asyncio.CancelledError()
    return future.exception()


def sleep(duration: float) -> asyncio.Future[None]:
    """Return a Future that resolves with ``None`` after ``duration`` seconds.

    Mirrors ``tornado.gen.sleep``: ``yield gen.sleep(0.5)`` in a coroutine.
    """
    loop = _current_loop()
    future: asyncio.Future[None] = loop.create_future()
    handle = loop.call_later(duration, _resolve, future, None)
    future.add_done_callback(lambda _: handle.cancel())
    return future


def with_timeout(
    timeout: float | datetime.timedelta,
    future: object,
    quiet_exceptions: type[BaseException] | tuple[type[BaseException], ...] = (),
    *,
    message: str | Callable[[], str] | None = None,
) -> asyncio.Future[Any]:
    """Wrap ``future`` so it raises ``TimeoutError`` if not done in time.

    Mirrors ``tornado.gen.with_timeout``. ``timeout`` is either an absolute
    deadline on the event loop's clock (``loop.time() + 5``, i.e.
    ``IOLoop.time()``) or a ``timedelta`` relative to now. As in Tornado, the
    wrapped work is *not* cancelled on timeout; if it later fails, the error
    is logged unless its type is in ``quiet_exceptions`` or it was cancelled.

    Args:
        timeout: Absolute loop time, or a relative ``datetime.timedelta``.
        future: Anything ``convert_yielded`` accepts.
        quiet_exceptions: Late failures of these types are not logged.
        message: The ``TimeoutError``'s message (default ``"Timeout"``), or a
            function making it, called only when the time runs out, so the
            cost of formatting it is paid only then (Tornado 6.6).
    """
    loop = _current_loop()
    inner = convert_yielded(future)
    result: asyncio.Future[Any] = loop.create_future()
    if isinstance(timeout, datetime.timedelta):
        deadline = loop.time() + timeout.total_seconds()
    else:
        deadline = timeout

    def on_timeout() -> None:
        if not result.done():
            text = "Timeout" if message is None else message() if callable(message) else message
            result.set_exception(TimeoutError(text))

    def on_inner_done(done: asyncio.Future[Any]) -> None:
        handle.cancel()
        if not result.done():
            _copy_outcome(done, result)
            return
        error = None if done.cancelled() else done.exception()
        if error is not None and not isinstance(error, quiet_exceptions):
            _log.error("Exception in Future %r after timeout", done, exc_info=error)

    handle = loop.call_at(deadline, on_timeout)
    inner.add_done_callback(on_inner_done)
    result.add_done_callback(lambda _: handle.cancel())
    return result


def _copy_outcome(source: asyncio.Future[_T], target: asyncio.Future[_T]) -> None:
    """Give ``target`` the result, exception or cancellation of ``source``."""
    if source.cancelled():
        target.cancel()
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())


# -- WaitIterator ----------------------------------------------------------------


class WaitIterator:
    """Yield the results of several futures in the order they finish.

    Mirrors ``tornado.gen.WaitIterator``: give futures positionally or by
    keyword (not both); after each step ``current_index`` is the position or
    key of the future that just finished and ``current_future`` that future.
    Two ways to use it::

        waiter = gen.WaitIterator(f1, f2)
        while not waiter.done():
            try:
                result = yield waiter.next()
            except Exception as error:
                print(waiter.current_index, "failed:", error)

        async for result in gen.WaitIterator(f1, f2): ...

    Anything ``convert_yielded`` accepts may be given, not only futures
    (Tornado takes futures only); ``current_future`` is then the future made
    from it. Unlike Tornado, a future given twice is waited for twice.

    Raises:
        ValueError: both positional and keyword futures were given.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        if args and kwargs:
            raise ValueError("You must provide args or kwargs, not both")
        keyed: list[tuple[int | str, object]] = list(kwargs.items()) if kwargs else list(enumerate(args))
        self.current_index: int | str | None = None
        self.current_future: asyncio.Future[Any] | None = None
        self._running_future: asyncio.Future[Any] | None = None
        self._finished: collections.deque[tuple[int | str, asyncio.Future[Any]]] = collections.deque()
        self._unfinished = len(keyed)
        for key, yieldable in keyed:
            future = convert_yielded(yieldable)
            future.add_done_callback(functools.partial(self._done_callback, key))

    def done(self) -> bool:
        """Whether every result has been returned; ``current_index`` is reset then."""
        if self._finished or self._unfinished:
            return False
        self.current_index = self.current_future = None
        return True

    def next(self) -> asyncio.Future[Any]:
        """Return a future for the next result to finish (its outcome, error included).

        Raises:
            RuntimeError: the previous ``next()`` has not resolved yet.
        """
        if self._running_future is not None and not self._running_future.done():
            raise RuntimeError("WaitIterator.next() called while a previous next() is pending")
        self._running_future = _current_loop().create_future()
        if self._finished:
            self._return_result(*self._finished.popleft())
        return self._running_future

    def _done_callback(self, key: int | str, future: asyncio.Future[Any]) -> None:
        running = self._running_future
        if running is not None and not running.done():
            self._return_result(key, future)
        else:
            self._finished.append((key, future))

    def _return_result(self, key: int | str, future: asyncio.Future[Any]) -> None:
        running = self._running_future
        if running is None:  # pragma: no cover - next() sets it first
            raise RuntimeError("no pending next()")
        self._unfinished -= 1
        self.current_index, self.current_future = key, future
        _copy_outcome(future, running)

    def __aiter__(self) -> WaitIterator:
        return self

    def __anext__(self) -> asyncio.Future[Any]:
        if self.done():
            raise StopAsyncIteration()
        return self.next()

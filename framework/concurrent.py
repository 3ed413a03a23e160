"""Working with futures, as in ``tornado.concurrent``.

``Future`` is ``asyncio.Future`` (as in Tornado 5+). The helpers bridge
``concurrent.futures`` (thread and process pools) and asyncio futures, and
settle futures without tripping over a cancellation that happened meanwhile,
which is what code that hands results from callbacks to coroutines needs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import types
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from framework.ioloop import IOLoop

__all__ = [
    "FUTURES",
    "DummyExecutor",
    "Future",
    "chain_future",
    "dummy_executor",
    "future_add_done_callback",
    "future_set_exc_info",
    "future_set_exception_unless_cancelled",
    "future_set_result_unless_cancelled",
    "is_future",
    "run_on_executor",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_log = logging.getLogger("framework.application")

Future = asyncio.Future
"""``tornado.concurrent.Future`` is ``asyncio.Future``; so is this."""

FUTURES = (asyncio.Future, concurrent.futures.Future)
"""The future types :func:`is_future` recognises."""

AnyFuture = asyncio.Future[Any] | concurrent.futures.Future[Any]


def is_future(x: object) -> bool:
    """Whether ``x`` is an asyncio or a ``concurrent.futures`` future."""
    return isinstance(x, FUTURES)


class DummyExecutor(concurrent.futures.Executor):
    """An executor that runs each function at once, in the calling thread.

    Mirrors ``tornado.concurrent.DummyExecutor``: for code that expects an
    executor but whose work is cheap (or in tests). The returned future is
    already done.
    """

    def submit(  # type: ignore[override]
        self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> concurrent.futures.Future[_T]:
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - the future carries it to whoever waits
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to shut down: work never outlives :meth:`submit`."""


dummy_executor = DummyExecutor()


@overload
def run_on_executor(fn: Callable[..., Any], /) -> Callable[..., asyncio.Future[Any]]: ...


@overload
def run_on_executor(
    *, executor: str = "executor", io_loop: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., asyncio.Future[Any]]]: ...


def run_on_executor(*args: Any, **kwargs: Any) -> Any:
    """Decorate a method so it runs on ``self.executor`` and returns an awaitable ``Future``.

    Mirrors ``tornado.concurrent.run_on_executor``: bare (``@run_on_executor``)
    or with the name of the attribute that holds the executor
    (``@run_on_executor(executor="_thread_pool")``). The result is an asyncio
    ``Future`` on the current loop. ``io_loop=`` (an attribute name) is accepted,
    but as in Tornado since 5.0 the current ``IOLoop`` is always used.

    Raises:
        ValueError: positional and keyword arguments mixed, several positional
            ones, or an unknown keyword.
    """
    unknown = set(kwargs) - {"executor", "io_loop"}
    if unknown:
        raise ValueError(f"run_on_executor got unexpected arguments: {', '.join(sorted(unknown))}")
    if args and kwargs:
        raise ValueError("cannot combine positional and keyword args")
    if len(args) > 1:
        raise ValueError(f"expected 1 argument, got {len(args)}")
    decorator = functools.partial(_on_executor, attribute=kwargs.get("executor", "executor"))
    return decorator(args[0]) if args else decorator


def _on_executor(fn: Callable[..., Any], *, attribute: str) -> Callable[..., asyncio.Future[Any]]:
    @functools.wraps(fn)
    def wrapper(self: object, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        result: asyncio.Future[Any] = IOLoop.current().asyncio_loop.create_future()
        submitted = getattr(self, attribute).submit(fn, self, *args, **kwargs)
        chain_future(submitted, result)
        return result

    return wrapper


def chain_future(a: AnyFuture, b: AnyFuture) -> None:
    """When ``a`` finishes, give ``b`` its outcome, unless ``b`` is done by then.

    Mirrors ``tornado.concurrent.chain_future``. Either may be an asyncio or a
    ``concurrent.futures`` future; a ``concurrent.futures`` ``a`` is observed
    through the current ``IOLoop``, so ``b`` is settled on the loop's thread.
    Unlike Tornado, a cancelled ``a`` cancels ``b``.
    """

    def copy(done: AnyFuture) -> None:
        if b.done():
            return
        if done.cancelled():
            b.cancel()
        elif (error := done.exception()) is not None:
            b.set_exception(error)
        else:
            b.set_result(done.result())

    if isinstance(a, asyncio.Future):
        future_add_done_callback(a, copy)
    else:
        IOLoop.current().add_future(a, copy)


def future_set_result_unless_cancelled(future: asyncio.Future[_T] | concurrent.futures.Future[_T], value: _T) -> None:
    """Set ``future``'s result unless it was cancelled (setting it then would raise)."""
    if not future.cancelled():
        future.set_result(value)


def future_set_exception_unless_cancelled(future: AnyFuture, exc: BaseException) -> None:
    """Set ``future``'s exception; if it was cancelled, log the exception instead of losing it."""
    if not future.cancelled():
        future.set_exception(exc)
    else:
        _log.error("Exception after Future was cancelled", exc_info=exc)


def future_set_exc_info(
    future: AnyFuture,
    exc_info: tuple[type[BaseException] | None, BaseException | None, types.TracebackType | None],
) -> None:
    """Set ``future``'s exception from a ``sys.exc_info()`` triple.

    Raises:
        Exception: the triple holds no exception (Tornado raises the same).
    """
    if exc_info[1] is None:
        raise Exception("future_set_exc_info called with no exception")  # noqa: TRY002 - as Tornado
    future_set_exception_unless_cancelled(future, exc_info[1])


@overload
def future_add_done_callback(
    future: concurrent.futures.Future[_T], callback: Callable[[concurrent.futures.Future[_T]], None]
) -> None: ...


@overload
def future_add_done_callback(future: asyncio.Future[_T], callback: Callable[[asyncio.Future[_T]], None]) -> None: ...


def future_add_done_callback(future: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(future)`` when ``future`` is done: at once if it already is.

    Mirrors ``tornado.concurrent.future_add_done_callback``; the immediate call
    is what distinguishes it from ``add_done_callback`` (which, on an asyncio
    future, always waits for the next loop iteration).
    """
    if future.done():
        callback(future)
    else:
        future.add_done_callback(callback)

"""The request lifecycle of a ``RequestHandler``, in one place.

Strategy: the tutorial's order, ``initialize(**kwargs)`` (in the handler's
constructor), then the checks (method supported, path arguments decoded,
XSRF), ``prepare()``, the HTTP method, and ``finish()`` if the method did not
finish. ``Application``'s message delegate, which routes the request and
buffers its body, calls the four public functions below at the right moments
and nothing else of the handler; the steps themselves are ``LifecycleMixin``'s
methods, a mixin of ``RequestHandler`` (as the cookie and template methods
are), so a handler subclass still finds Tornado's private hooks on itself.

A synchronous handler runs to completion without creating a task; a task is
made only when ``prepare()``, the method or ``data_received`` returns an
awaitable (an ``async def``, a ``gen.coroutine``). That keeps the hot path
free of scheduling. Exceptions at any step end in
``_handle_request_exception``: ``Finish`` finishes, a vanished client is
quiet, an ``HTTPError`` becomes its status, anything else a logged 500.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import types
import weakref
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from framework.httputil import HTTPHeaders, HTTPInputError, HTTPServerRequest, ResponseStartLine
from framework.iostream import StreamClosedError
from framework.web.contracts import HandlerApplication
from framework.web.errors import Finish, HTTPError

__all__ = ["LifecycleMixin", "execute", "fail_without_handler", "stream_chunk", "stream_ended", "stream_started"]

app_log = logging.getLogger("framework.application")
gen_log = logging.getLogger("framework.general")

# Tasks of handlers that are still running, each with its handler when it
# runs an HTTP method (_run_method), held weakly once that handler has
# finished (_release_after_finish); asyncio keeps only weak references.
# Dict keys rather than a set: about 40 bytes per entry instead of up to 128
# once a set has grown, for every waiting long poll (loadtest/longpoll_fanout.py).
_running_tasks: dict[asyncio.Future[Any], LifecycleMixin | weakref.ReferenceType[LifecycleMixin] | None] = {}


def _forget(task: asyncio.Future[Any]) -> None:
    _running_tasks.pop(task, None)


def _keep(task: asyncio.Future[Any]) -> None:
    _running_tasks[task] = None
    task.add_done_callback(_forget)


class LifecycleMixin:
    """The steps of one request, as methods of ``RequestHandler`` (Tornado keeps them private there too)."""

    application: HandlerApplication
    request: HTTPServerRequest
    _path_args: list[Any] | None
    _path_kwargs: dict[str, Any] | None
    SUPPORTED_METHODS: ClassVar[tuple[str, ...]]
    _finished: bool
    _auto_finish: bool
    _method_task: asyncio.Future[Any] | None  # the task running an async method (_run_method), until finish()
    _method_context: contextvars.Context | None  # that task's context, set and cleared with it
    # A streamed request's stages run in one context of their own, from
    # stream_started on (only such handlers get the attribute).
    _stream_context: contextvars.Context

    def prepare(self) -> Awaitable[None] | None:
        """Called before the HTTP method; may finish the request (or be async).

        Tornado's ``RequestHandler.prepare``. Defined here, with the steps
        that call it, so ``_execute_prepare`` can tell a subclass's own from
        this no-op and skip the call.
        """
        return None

    if TYPE_CHECKING:  # supplied by RequestHandler

        def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Awaitable[None]: ...

        def on_finish(self) -> None: ...

        def send_error(self, status_code: int = 500, **kwargs: Any) -> None: ...

        def _cross_origin_protection(self) -> None: ...

        def data_received(self, chunk: bytes) -> Awaitable[None] | None: ...

        def decode_argument(self, value: bytes, name: str | None = None) -> str: ...

        def _request_summary(self) -> str: ...

        def log_exception(
            self, typ: type[BaseException] | None, value: BaseException | None, tb: types.TracebackType | None
        ) -> None: ...

    def _execute_prepare(self) -> Awaitable[None] | None:
        """Checks and ``prepare()``; returns an awaitable when ``prepare`` is async."""
        try:
            if self.request.method not in self.SUPPORTED_METHODS:
                self._method_not_allowed()
            if self._path_args or self._path_kwargs:
                self._decode_path_args()
            if self.request.method not in ("GET", "HEAD", "OPTIONS") and self.application.config.guards_unsafe_methods:
                self._cross_origin_protection()
            if type(self).prepare is _BASE_PREPARE:
                return None  # the no-op above: a call less per request
            result = self.prepare()
        except Exception as exc:
            self._handle_request_exception(exc)
            return None
        return None if result is None else self._awaited(result)

    def _execute_method(self) -> Awaitable[None] | None:
        """Run the HTTP method, then finish if it did not; tasks only for async methods."""
        if self._finished:
            return None
        try:
            method = getattr(self, self.request.method.lower(), None)
            if method is None:
                self._method_not_allowed()
            args, kwargs = self._path_args, self._path_kwargs
            result = method(*(args or ()), **(kwargs or {})) if args or kwargs else method()
            if result is not None and hasattr(result, "__await__"):
                return _run_method(self, result)
            if self._auto_finish and not self._finished:
                self.finish()
        except Exception as exc:
            self._handle_request_exception(exc)
        return None

    def _method_done(self, task: asyncio.Future[Any]) -> None:
        """An async HTTP method ended: finish the response, or answer its exception.

        A method that ended cancelled because something it awaited was
        cancelled is answered as any uncaught exception is, a logged 500, as
        Tornado does: else its client would wait for good. A task that was
        itself cancelled (a test's teardown, the loop shutting down) ends
        quietly.
        """
        if task.cancelled():
            if not _cancelled_itself(task):  # (after finish() too: then logged only, as Tornado does)
                try:
                    task.result()  # (raises the CancelledError it ended with, traceback and all)
                except asyncio.CancelledError as cancelled:
                    self._handle_request_exception(cancelled)
            return
        exc = task.exception()
        try:
            if exc is not None:
                if not isinstance(exc, Exception):
                    raise exc  # KeyboardInterrupt and the like go on to the loop
                self._handle_request_exception(exc)
            elif self._auto_finish and not self._finished:
                self.finish()
        except Exception as error:
            self._handle_request_exception(error)

    def _release_after_finish(self) -> None:
        """The response is finished: the task running this handler's method holds it weakly from now on.

        So the handler, its request and its response's objects go as soon as
        the method returns, within its step, rather than a loop iteration
        later with the task's done-callback: a fan-out of thousands of long
        polls then leaves no garbage for the collector to count, which is
        what started a full collection over every waiter in the middle of
        one (loadtest/longpoll_fanout.py counts them). A method that raises
        after finish() keeps its handler alive through the traceback, and
        the exception reaches ``log_exception`` as in Tornado. The task's
        done-callback waits in ``_task_ends_later`` meanwhile.
        """
        task, context = self._method_task, self._method_context
        if task is None or context is None:
            return  # no async method of this handler's is running (the usual synchronous finish)
        # Whichever task finishes it (another handler may): until the method
        # returns, its own frame holds the handler anyway.
        self._method_task = self._method_context = None
        if _running_tasks.get(task) is self:
            _running_tasks[task] = weakref.ref(self)
            # Finished from within its own task, which usually returns in this
            # step; one another handler finished (a chat room's waiter) keeps
            # its done-callback where it was, first.
            loop = task.get_loop()
            own = asyncio.current_task(loop) is task
            if own and task.remove_done_callback(_finish_method_task):
                _task_ends_later(loop, task, context)

    def _receive_chunk(self, chunk: bytes) -> Awaitable[None] | None:
        try:
            result = self.data_received(chunk)
        except Exception as exc:
            self._handle_request_exception(exc)
            return None
        return self._awaited(result)

    def _awaited(self, result: Awaitable[object] | None) -> Awaitable[None] | None:
        """A coroutine awaiting a stage's awaitable (its exception answered), or None for a plain return.

        Not a task of its own: an async ``prepare`` runs in the task that then
        starts the method (``_method_after``), so the context variables it
        sets are the method's too, as in Tornado.
        """
        if result is None:
            return None
        return self._await_stage(result)

    async def _await_stage(self, awaitable: Awaitable[object]) -> None:
        try:
            await awaitable
        except Exception as exc:
            self._handle_request_exception(exc)
        except asyncio.CancelledError as exc:  # answered as _method_done answers it
            task = asyncio.current_task()
            if task is not None and _cancelled_itself(task):
                raise
            self._handle_request_exception(exc)

    def _handle_request_exception(self, exc: BaseException) -> None:
        if isinstance(exc, Finish):
            if not self._finished:
                self.finish(*exc.args)
            return
        if isinstance(exc, StreamClosedError):
            # The client went away while we wrote: nothing to answer, nothing broken.
            gen_log.debug("client closed the connection during %s", self._request_summary())
            if not self._finished:  # (finish() already ran on_finish: not twice)
                self._finished = True
                self.on_finish()
            return
        try:
            self.log_exception(type(exc), exc, exc.__traceback__)
        except Exception:
            app_log.error("error in log_exception", exc_info=True)
        if self._finished:
            return
        exc_info = (type(exc), exc, exc.__traceback__)
        if isinstance(exc, HTTPError):
            self.send_error(exc.status_code, exc_info=exc_info)
        elif isinstance(exc, HTTPInputError):
            self.send_error(exc.status, exc_info=exc_info, reason=exc.message[:200])
        else:
            self.send_error(500, exc_info=exc_info)

    def _method_not_allowed(self) -> NoReturn:
        raise HTTPError(405)

    def _decode_path_args(self) -> None:
        args, kwargs = self._path_args or (), self._path_kwargs or {}
        self._path_args = [self.decode_argument(a) if isinstance(a, bytes) else a for a in args]
        self._path_kwargs = {k: (self.decode_argument(v, name=k) if isinstance(v, bytes) else v) for k, v in kwargs.items()}


# The no-op prepare above, taken once: a prepare patched onto the class later is one of its own.
_BASE_PREPARE = LifecycleMixin.prepare


def _run_method(handler: LifecycleMixin, result: Awaitable[None]) -> asyncio.Future[None]:
    """The task of an async HTTP method, finished by a done-callback rather than by a wrapping coroutine.

    So a long-poll waiter holds one coroutine frame, not two, and wakes
    without a second task switch. For a coroutine (a new task per request)
    the task's context is made here and the done-callback runs in it too:
    ``on_finish`` and the access log see what the method set, as when
    Tornado's handler coroutine finishes, and asyncio copies no second
    context. The handler waits as the task's value in ``_running_tasks``,
    not in a bound method (loadtest/longpoll_fanout.py: bytes per waiter).
    A custom task factory must take ``context=`` (asyncio's and uvloop's do).
    Any other awaitable (a ``gen.coroutine``'s Future, which several
    requests may even share) gets a callback bound to its handler.
    """
    if asyncio.iscoroutine(result):
        context = contextvars.copy_context()
        # Named after the method ("PollHandler.get"): the coroutine's own
        # string, where CPython 3.11 would format a "Task-N" per task (64
        # bytes a parked long poll holds, loadtest/longpoll_memory.py).
        name = getattr(result, "__qualname__", None)
        task: asyncio.Future[None] = asyncio.get_running_loop().create_task(result, name=name, context=context)
        task.add_done_callback(_finish_method_task, context=context)
        _running_tasks[task] = handler  # kept until done (asyncio holds tasks weakly)
        handler._method_context = context
        handler._method_task = task  # for _release_after_finish (the cycle through the frame ends with it)
    else:
        task = asyncio.ensure_future(result)
        _keep(task)
        task.add_done_callback(handler._method_done)
    return task


class _EndsBatch(list[tuple[asyncio.Future[Any], contextvars.Context]]):
    """The (task, context) pairs of the handlers that finished in one iteration of ``loop``."""

    __slots__ = ("loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop


class _EndsLater(threading.local):
    """This thread's batch of finished handlers' tasks, until ``_see_ends`` runs.

    Per thread, as a thread runs one loop at a time; the batch's ``loop``
    tells a batch left behind by a loop that stopped from the running one's.
    One attribute, read once per finished handler: each read of a
    thread-local's attribute costs about 500 instructions.
    """

    batch: _EndsBatch | None = None  # (each thread starts without one)


_ends_later = _EndsLater()


def _task_ends_later(loop: asyncio.AbstractEventLoop, task: asyncio.Future[Any], context: contextvars.Context) -> None:
    """Look at a finished handler's task once in the next iteration instead of with its done-callback.

    A method usually returns within the step that called ``finish()``, and
    asyncio would schedule the done-callback of each such task on its own
    (a handle, a queue entry and a context switch each): about 4k of a long
    poll's 62k instructions (loadtest/longpoll_fanout.py --instructions).
    One callback per iteration looks at them all (``_see_ends``).
    """
    batch = _ends_later.batch
    if batch is None or batch.loop is not loop:
        if batch is not None and batch.loop.is_closed():
            _forget_stranded(batch)
        batch = _ends_later.batch = _EndsBatch(loop)
        loop.call_soon(_see_ends, batch)
    batch.append((task, context))


def _forget_stranded(batch: _EndsBatch) -> None:
    """Let go of the tasks of a batch whose loop was closed before its ``_see_ends`` could run.

    A loop stopped in the very iteration a handler finished, then closed,
    never runs that look: its tasks can never run again, and only
    ``_running_tasks`` would keep them (and their contexts, and the loop)
    alive. Noticed when the thread's next batch starts.
    """
    for task, _context in batch:
        _running_tasks.pop(task, None)


def _see_ends(batch: _EndsBatch) -> None:
    """What the batch's tasks' done-callbacks would do; a task still running gets its own back.

    A method that returned after its handler finished leaves nothing to do
    but forget its task. One that raised or was cancelled has it reported
    now, in its context: before the done-callbacks added to its task since
    ``finish()``, which asyncio queued after this look, as when the
    framework's own came first. One still running gets ``_finish_method_task``
    back as its done-callback, now the task's last: what it then reports
    comes after the task's other done-callbacks, where Tornado reports first.
    """
    if _ends_later.batch is batch:
        _ends_later.batch = None  # (holding no task, context or loop beyond its iteration)
    for task, context in batch:
        if not task.done():
            task.add_done_callback(_finish_method_task, context=context)
        elif task.cancelled() or task.exception() is not None:
            try:
                context.run(_finish_method_task, task)
            except BaseException as exc:  # (KeyboardInterrupt and the like) on to the loop, each as its own callback
                task.get_loop().call_soon(_raise, exc)
        else:
            _running_tasks.pop(task, None)


def _raise(exc: BaseException) -> NoReturn:
    """Raise ``exc`` from a callback of its own, so the loop handles it as it would the done-callback's."""
    raise exc


def _finish_method_task(task: asyncio.Future[Any]) -> None:
    """Done-callback of a coroutine method's task: its handler finishes or answers the exception.

    A handler that finished and is gone (see ``_release_after_finish``) has
    nothing left to answer; an exception its method raised afterwards is
    logged here (``_log_after_finish``).
    """
    entry = _running_tasks.pop(task, None)
    if isinstance(entry, weakref.ReferenceType):
        handler = entry()
        if handler is None:
            # (a cancellation it awaited is reported; one from outside, the loop's shutdown say, is not)
            unanswered = not _cancelled_itself(task) if task.cancelled() else task.exception() is not None
            if unanswered:
                _log_after_finish(task)
            return
        entry = handler
    if entry is not None:
        # (finish() did not run: a traceback in the task must not hold a cycle, nor the handler its context)
        entry._method_task = entry._method_context = None
        entry._method_done(task)


def _cancelled_itself(task: asyncio.Future[Any]) -> bool:
    """Whether ``task`` was cancelled from outside (``cancel()``), not by a cancellation it awaited.

    A plain Future (a ``gen.coroutine``'s) only ends cancelled when
    cancelled itself.
    """
    return not isinstance(task, asyncio.Task) or task.cancelling() > 0


def _log_after_finish(task: asyncio.Future[Any]) -> None:
    """Report what a finished handler's method raised once nothing held the handler any more.

    Only a method that let go of ``self`` itself (its frame, in the
    traceback, would otherwise keep the handler and its ``log_exception``)
    gets here. As ``_handle_request_exception`` and the default
    ``log_exception`` would: ``Finish`` is quiet, a vanished client a debug
    line, an ``HTTPError`` a warning, anything else an error with its
    traceback, and a ``BaseException`` that is not an ``Exception`` goes on.
    A cancellation it awaited is an error too (``_method_done``).
    """
    name = task.get_name() if isinstance(task, asyncio.Task) else repr(task)
    if task.cancelled():
        try:
            task.result()  # (raises the CancelledError it ended with, traceback and all)
        except asyncio.CancelledError as cancelled:
            app_log.error("uncaught exception in %s after its response finished", name, exc_info=cancelled)
        return
    exc = task.exception()
    if not isinstance(exc, Exception):
        raise exc  # type: ignore[misc]  # KeyboardInterrupt and the like go on to the loop
    if isinstance(exc, Finish):
        return
    if isinstance(exc, StreamClosedError):
        gen_log.debug("client closed the connection during %s, after its response finished", name)
    elif isinstance(exc, HTTPError):
        gen_log.warning("%s after the response of %s finished", exc, name)
    else:
        app_log.error("uncaught exception in %s after its response finished", name, exc_info=exc)


def execute(handler: LifecycleMixin, body_error: HTTPInputError | None = None) -> None:
    """Run a request whose body is all in: prepare, then the method (tasks only where async).

    ``body_error`` is why the body could not be parsed: the handler answers
    it (its status, its error page) instead of running.

    In a copy of the connection's context, as in the task Tornado runs each
    request in: a context variable a synchronous handler sets stays its
    request's, where the connection's own context would hand it to the next
    request on the connection.
    """
    contextvars.copy_context().run(_execute, handler, body_error)


def _execute(handler: LifecycleMixin, body_error: HTTPInputError | None) -> None:
    if body_error is not None:
        handler._handle_request_exception(body_error)
        return
    prepared = handler._execute_prepare()
    if prepared is None:
        handler._execute_method()  # an async method's task keeps itself until it is done
    else:
        _keep(asyncio.ensure_future(_method_after(prepared, handler)))


async def _method_after(prepared: Awaitable[None], handler: LifecycleMixin) -> None:
    """Await an async ``prepare`` (which answers its own exception), then start the method.

    The method's task, if it is async, keeps itself and answers its own
    exception (``_run_method``): awaiting it here would give this task the
    same exception again, for asyncio to report as never retrieved.
    """
    await prepared
    handler._execute_method()


def stream_started(handler: LifecycleMixin) -> Awaitable[None] | None:
    """A ``@stream_request_body`` request's head is in: prepare now, before any of the body.

    Returns ``prepare()``'s awaitable, if it is async: the server reads no
    body until it completes (flow control). The request's stages all run in
    one copy of the connection's context (see ``execute``); an async
    ``prepare`` runs in it too, so the method sees what it set.
    """
    context = handler._stream_context = contextvars.copy_context()
    return _in_task(context, context.run(handler._execute_prepare))


def stream_chunk(handler: LifecycleMixin, chunk: bytes) -> Awaitable[None] | None:
    """A piece of a streamed body, to ``data_received`` unless the handler already finished.

    An async ``data_received`` runs in a task of its own at once, in the
    request's context: a delegate wrapping this one may not wait for it.
    """
    if handler._finished:
        return None
    context = handler._stream_context
    return _in_task(context, context.run(handler._receive_chunk, chunk))


def _in_task(context: contextvars.Context, stage: Awaitable[None] | None) -> asyncio.Task[None] | None:
    """A task running a stage's coroutine (``_awaited``) in ``context`` itself, or None for none."""
    if stage is None:
        return None
    return asyncio.get_running_loop().create_task(stage, context=context)  # type: ignore[arg-type]  # (a coroutine)


def stream_ended(handler: LifecycleMixin) -> None:
    """A streamed body is complete: run the HTTP method (unless the handler already finished)."""
    if handler._finished:
        return
    handler._stream_context.run(handler._execute_method)  # an async method's task keeps itself until it is done


def fail_without_handler(request: HTTPServerRequest, exc: Exception) -> None:
    """The handler could not even be constructed (``initialize`` raised): a plain 500."""
    app_log.error("could not create handler for %s %s", request.method, request.uri, exc_info=exc)
    body = b"<html><title>500: Internal Server Error</title><body>500: Internal Server Error</body></html>"
    connection = request.connection
    if connection is None:  # nothing to answer on (a request made without one)
        return
    headers = HTTPHeaders({"Content-Type": "text/html; charset=UTF-8", "Content-Length": str(len(body))})
    connection.write_headers(ResponseStartLine(request.version, 500, "Internal Server Error"), headers, body)
    connection.finish()

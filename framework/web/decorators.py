"""The handler decorators of Tornado's ``web`` module: streamed bodies, callback-style methods, slashes.

Each wraps a ``RequestHandler`` subclass or one of its HTTP methods and
reaches the handler only through its public methods and the lifecycle's
flags (``_auto_finish``, ``_stream_request_body``, the exception handler of
``lifecycle``), as Tornado's decorators do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from framework.ioloop import run_with_exception_handler
from framework.web.errors import HTTPError
from framework.web.handler import RequestHandler

__all__ = ["addslash", "asynchronous", "removeslash", "stream_request_body"]

_F = TypeVar("_F", bound=Callable[..., Any])


_C = TypeVar("_C", bound=type[RequestHandler])


def stream_request_body(cls: _C) -> _C:
    """Class decorator: deliver the body to ``data_received`` as it arrives (Tornado's).

    ``prepare()`` runs once the headers are in; the HTTP method runs after
    the last chunk; ``self.request.body`` stays empty. The server's body limit
    (``max_body_size``, 8 MiB by default: sized for bodies buffered in
    memory) applies here too; a streaming handler that takes more raises it in
    ``prepare()`` with ``self.request.connection.set_max_body_size(n)``. That
    runs before any ``100 Continue`` is sent, so a client announcing a body
    over the raised limit is refused (413) without being invited to send it.

    Raises:
        TypeError: ``cls`` is not a ``RequestHandler`` subclass.
    """
    if not (isinstance(cls, type) and issubclass(cls, RequestHandler)):
        raise TypeError(f"expected a RequestHandler subclass, got {cls!r}")
    cls._stream_request_body = True
    return cls


def asynchronous(method: _F) -> _F:
    """Keep the request open after the method returns, until ``finish()`` (Tornado's old decorator).

    For callback-style handlers, as the tutorial's ``@tornado.web.asynchronous``
    example: the response is sent when a callback calls ``self.finish()``.
    Coroutines need no decorator; as in Tornado, on a coroutine (the legacy
    ``@asynchronous`` above ``@gen.coroutine``) it is ignored and the request
    finishes when the coroutine does.
    """

    @functools.wraps(method)
    def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        # Callbacks the method schedules that raise end the request with an
        # error page (Tornado once did this with stack contexts).
        return run_with_exception_handler(self._handle_request_exception, _call_asynchronous, self, *args, **kwargs)

    def _call_asynchronous(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        self._auto_finish = False
        result = method(self, *args, **kwargs)
        if result is not None and hasattr(result, "__await__"):
            self._auto_finish = True
        return result

    return wrapper  # type: ignore[return-value]


def _canonical_path(fix: Callable[[str], str | None]) -> Callable[[_F], _F]:
    """A decorator redirecting (301) GET and HEAD to ``fix(path)`` when that is not None; 404 for other methods."""

    def decorate(method: _F) -> _F:
        @functools.wraps(method)
        def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
            target = fix(self.request.path)
            if target is None:
                return method(self, *args, **kwargs)
            if self.request.method not in ("GET", "HEAD"):
                raise HTTPError(404)
            if self.request.query:
                target += "?" + self.request.query
            self.redirect(target, permanent=True)
            return None

        return wrapper  # type: ignore[return-value]

    return decorate


def removeslash(method: _F) -> _F:
    """Redirect ``/path/`` to ``/path`` for GET and HEAD; 404 otherwise (Tornado's decorator)."""
    return _canonical_path(lambda path: (path.rstrip("/") or "/") if path.endswith("/") and path != "/" else None)(method)


def addslash(method: _F) -> _F:
    """Redirect ``/path`` to ``/path/`` for GET and HEAD; 404 otherwise (Tornado's decorator)."""
    return _canonical_path(lambda path: None if path.endswith("/") else path + "/")(method)

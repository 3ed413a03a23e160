"""The loop every stream runs on, and settling the futures streams hand out (at most once).

The base stream, the socket streams and the pipe stream all use these; each
module imports them under the private names the stream code calls them by
(``_loop``, ``_succeed``, ``_fail``).
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from framework.ioloop import IOLoop

_T = TypeVar("_T")


def current_loop() -> asyncio.AbstractEventLoop:
    """The asyncio loop under the current ``IOLoop``: where streams create their futures and tasks."""
    return IOLoop.current().asyncio_loop


def succeed(future: asyncio.Future[_T], value: _T) -> None:
    """Resolve ``future`` with ``value`` unless it is already done."""
    if not future.done():
        future.set_result(value)


def fail(future: asyncio.Future[Any], error: BaseException) -> None:
    """Fail ``future`` with ``error`` unless it is already done; nobody need retrieve the error."""
    if not future.done():
        future.set_exception(error)
        future.exception()  # retrieved: nobody need await a write or read that the close ended

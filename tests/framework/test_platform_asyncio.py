"""``framework.platform.asyncio``: Tornado's asyncio bridge names over loops that are asyncio already.

And ``AddThreadSelectorEventLoop`` on real asyncio loops, one of them with
``add_reader``/``add_writer`` taken away as Windows' proactor loop lacks them:
callbacks on a socketpair fire through the wrapper's selector thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework import gen
from framework.ioloop import IOLoop
from framework.platform.asyncio import (
    AddThreadSelectorEventLoop,
    AnyThreadEventLoopPolicy,
    AsyncIOLoop,
    AsyncIOMainLoop,
    BaseAsyncIOLoop,
    to_asyncio_future,
    to_tornado_future,
)


def test_asyncio_loop_is_an_ioloop_on_a_new_asyncio_loop() -> None:
    loop = AsyncIOLoop()
    try:
        assert isinstance(loop, IOLoop) and isinstance(loop, BaseAsyncIOLoop)
        assert loop.run_sync(lambda: asyncio.sleep(0, "done")) == "done"
    finally:
        loop.close()


def test_asyncio_main_loop_wraps_the_running_loop() -> None:
    async def main() -> tuple[IOLoop, IOLoop | None]:
        wrapped = AsyncIOMainLoop()
        return wrapped, IOLoop.current(instance=False)

    wrapped, current = asyncio.run(main())
    assert current is wrapped
    assert isinstance(wrapped, AsyncIOMainLoop)


def test_asyncio_main_loop_wraps_the_threads_loop_outside_a_running_loop() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        main = AsyncIOMainLoop()
        main.install()
        assert main.asyncio_loop is loop
        assert IOLoop.current() is main
        assert main.run_sync(lambda: asyncio.sleep(0, 7)) == 7
        with pytest.raises(RuntimeError):
            AsyncIOMainLoop()  # the loop already has its IOLoop
    finally:
        IOLoop.clear_current()
        main.close()


def test_configure_makes_ioloop_build_the_chosen_class() -> None:
    saved = IOLoop._save_configuration()
    try:
        IOLoop.configure(AsyncIOLoop)
        loop = IOLoop()
        assert type(loop) is AsyncIOLoop
        loop.close()
        IOLoop.configure("framework.platform.asyncio.AsyncIOLoop")
        loop = IOLoop()
        assert type(loop) is AsyncIOLoop
        loop.close()
    finally:
        IOLoop._restore_configuration(saved)


def test_future_conversions() -> None:
    async def main() -> None:
        future = asyncio.get_running_loop().create_future()
        assert to_tornado_future(future) is future
        assert to_asyncio_future(future) is future

        async def answer() -> int:
            return 42

        assert await to_asyncio_future(answer()) == 42
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            assert await to_asyncio_future(pool.submit(lambda: "threaded")) == "threaded"
        with pytest.raises(gen.BadYieldError):
            to_asyncio_future(object())

    asyncio.run(main())


def test_any_thread_event_loop_policy_creates_loops_in_other_threads() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = AnyThreadEventLoopPolicy()
    found: list[asyncio.AbstractEventLoop] = []

    def worker() -> None:
        loop = policy.get_event_loop()
        found.append(loop)
        assert policy.get_event_loop() is loop
        loop.close()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert len(found) == 1 and found[0].is_closed()


class NoReaderLoop(asyncio.SelectorEventLoop):
    """A real asyncio loop without the add_reader family, as a proactor loop is."""

    def add_reader(self, fd: Any, callback: Any, *args: Any) -> None:
        raise NotImplementedError

    def add_writer(self, fd: Any, callback: Any, *args: Any) -> None:
        raise NotImplementedError


@pytest.fixture(params=[NoReaderLoop, asyncio.SelectorEventLoop], ids=["no-add_reader", "selector"])
def wrapped(request: pytest.FixtureRequest) -> Iterator[AddThreadSelectorEventLoop]:
    loop = AddThreadSelectorEventLoop(request.param())
    yield loop
    loop.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    yield a, b
    a.close()
    b.close()


def wait(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> Any:
    return loop.run_until_complete(asyncio.wait_for(future, 10))


def test_a_reader_fires_through_the_selector_thread_on_the_loops_thread(
    wrapped: AddThreadSelectorEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    received: list[bytes | None] = []
    threads: set[int] = set()
    arrived: list[asyncio.Future[None]] = []

    def on_readable(sock: socket.socket) -> None:
        threads.add(threading.get_ident())
        try:
            received.append(sock.recv(100))
        except BlockingIOError:
            received.append(None)  # called with nothing to read
        if arrived and not arrived[-1].done():
            arrived[-1].set_result(None)

    wrapped.add_reader(a.fileno(), on_readable, a)
    for message in (b"one", b"two"):
        arrived.append(wrapped.create_future())
        b.send(message)
        wait(wrapped, arrived[-1])
    # Each message once: the selector waits for a round to be handled before
    # selecting again, so a drained socket is not reported a second time.
    assert received == [b"one", b"two"]
    assert threads == {threading.get_ident()}
    assert wrapped.remove_reader(a) is True  # a socket object is taken as well as its number
    assert wrapped.remove_reader(a.fileno()) is False


def test_the_wrapped_loop_itself_watches_nothing(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    lacking = NoReaderLoop()
    with pytest.raises(NotImplementedError):
        lacking.add_reader(a.fileno(), print)  # what the wrapper makes up for
    lacking.close()
    real = asyncio.new_event_loop()
    wrapped = AddThreadSelectorEventLoop(real)
    try:
        fired = wrapped.create_future()
        wrapped.add_reader(a.fileno(), lambda: fired.done() or fired.set_result(a.recv(10)))
        assert real.remove_reader(a.fileno()) is False  # not registered with the loop's own selector
        b.send(b"ping")
        assert wait(wrapped, fired) == b"ping"
    finally:
        wrapped.close()


def test_a_writer_fires_until_removed(wrapped: AddThreadSelectorEventLoop, pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    writable = wrapped.create_future()

    def on_writable() -> None:
        assert wrapped.remove_writer(a.fileno()) is True
        writable.set_result(a.send(b"x"))

    wrapped.add_writer(a.fileno(), on_writable)
    assert wait(wrapped, writable) == 1
    assert wrapped.remove_writer(a.fileno()) is False
    assert wrapped.remove_reader(a.fileno()) is False


def test_reader_and_writer_on_one_socket_each_get_their_event(
    wrapped: AddThreadSelectorEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    events: list[str] = []
    both = wrapped.create_future()

    def note(kind: str) -> None:
        events.append(kind)
        if kind == "read":
            a.recv(10)
            wrapped.remove_reader(a)
        else:
            wrapped.remove_writer(a)
        if len(events) == 2:
            both.set_result(None)

    wrapped.add_writer(a, note, "write")
    wrapped.add_reader(a, note, "read")
    b.send(b"data")
    wait(wrapped, both)
    assert sorted(events) == ["read", "write"]


def test_a_failing_callback_goes_to_the_loops_exception_handler(
    wrapped: AddThreadSelectorEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    reported = wrapped.create_future()
    wrapped.set_exception_handler(lambda loop, context: reported.done() or reported.set_result(context))

    def broken() -> None:
        a.recv(10)
        raise ValueError("broken callback")

    wrapped.add_reader(a, broken)
    b.send(b"x")
    context = wait(wrapped, reported)
    assert isinstance(context["exception"], ValueError) and "broken callback" in str(context["exception"])


def test_a_descriptor_the_selector_refuses_is_reported_and_dropped(wrapped: AddThreadSelectorEventLoop, tmp_path: Path) -> None:
    reported = wrapped.create_future()
    wrapped.set_exception_handler(lambda loop, context: reported.done() or reported.set_result(context))
    with open(tmp_path / "plain-file", "wb") as plain:  # epoll refuses regular files
        wrapped.add_reader(plain.fileno(), lambda: None)
        context = wait(wrapped, reported)
        assert "cannot watch" in context["message"] and isinstance(context["exception"], OSError)
        assert wrapped.remove_reader(plain.fileno()) is False  # dropped
    with pytest.raises(ValueError):
        wrapped.add_reader(-1, lambda: None)


def selector_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "framework-selector-thread"}


def test_close_stops_the_selector_thread_and_closes_the_wrapped_loop(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    before = selector_threads()
    real = asyncio.new_event_loop()
    wrapped = AddThreadSelectorEventLoop(real)
    (thread,) = selector_threads() - before
    assert thread.is_alive() and thread.daemon
    wrapped.add_reader(pair[0], lambda: None)
    wrapped.close()
    assert not thread.is_alive()  # close() joined it
    assert real.is_closed() and wrapped.is_closed()
    wrapped.close()  # twice is harmless
    with pytest.raises(RuntimeError):
        wrapped.add_reader(pair[0], lambda: None)


def test_close_while_a_round_waits_for_the_loop_ends_the_thread(pair: tuple[socket.socket, socket.socket]) -> None:
    before = selector_threads()
    wrapped = AddThreadSelectorEventLoop(asyncio.new_event_loop())
    (thread,) = selector_threads() - before
    a, b = pair
    wrapped.add_reader(a, lambda: None)
    b.send(b"x")  # readable, but the loop never runs to handle the round
    wrapped.close()
    assert not thread.is_alive()


def test_everything_else_is_the_wrapped_loops() -> None:
    real = asyncio.new_event_loop()
    wrapped = AddThreadSelectorEventLoop(real)
    try:
        assert isinstance(wrapped, asyncio.AbstractEventLoop)
        assert wrapped.call_soon.__self__ is real  # type: ignore[attr-defined]
        assert wrapped.time.__self__ is real  # type: ignore[attr-defined]
        wrapped.set_debug(True)
        assert real.get_debug() and wrapped.get_debug()

        async def running_loop() -> asyncio.AbstractEventLoop:
            await asyncio.sleep(0)
            return asyncio.get_running_loop()

        assert wrapped.run_until_complete(running_loop()) is real
        order: list[int] = []
        wrapped.call_soon(order.append, 1)
        real.call_soon(order.append, 2)
        wrapped.run_until_complete(asyncio.sleep(0))
        assert order == [1, 2]
        assert not wrapped.is_running() and not wrapped.is_closed()
        assert "wrapping" in repr(wrapped)
    finally:
        wrapped.close()

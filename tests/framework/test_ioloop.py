"""Tests for framework/ioloop.py: Tornado's IOLoop API over asyncio.

Every test that creates a loop closes it (an unclosed loop is a ResourceWarning,
and warnings are errors here). Timing is only ever asserted as an order or an
upper bound on a count, never as a duration, so a loaded machine cannot fail them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import gc
import importlib.util
import logging
import os
import signal
import socket
import sys
import threading
import time
import weakref
from collections.abc import Iterator

import pytest

from framework import ioloop
from framework.ioloop import IOLoop, PeriodicCallback


@pytest.fixture
def io_loop() -> Iterator[IOLoop]:
    """A fresh IOLoop, closed afterwards with the thread's current loop cleared."""
    loop = IOLoop()
    yield loop
    loop.close()
    IOLoop.clear_current()


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


# -- which loop is current ---------------------------------------------------


def test_current_creates_one_loop_and_installs_it_for_asyncio() -> None:
    IOLoop.clear_current()
    assert IOLoop.current(instance=False) is None
    loop = IOLoop.current()
    try:
        assert IOLoop.current() is loop
        assert IOLoop.instance() is loop
        # What lets listen() (asyncio style) and start() agree on one loop.
        assert asyncio.get_event_loop() is loop.asyncio_loop
    finally:
        loop.close()
    assert IOLoop.current(instance=False) is None


def test_current_inside_run_sync_is_the_running_loop(io_loop: IOLoop) -> None:
    def check() -> None:
        assert IOLoop.current() is io_loop
        assert asyncio.get_running_loop() is io_loop.asyncio_loop

    io_loop.run_sync(check)


def test_make_current_and_clear_current(io_loop: IOLoop) -> None:
    io_loop.make_current()
    assert IOLoop.current() is io_loop
    IOLoop.clear_current()
    assert IOLoop.current(instance=False) is None


def test_install_and_clear_instance_are_tornados_old_names_for_them(io_loop: IOLoop) -> None:
    io_loop.install()
    assert IOLoop.instance() is io_loop
    assert asyncio.get_event_loop() is io_loop.asyncio_loop
    IOLoop.clear_instance()
    assert IOLoop.current(instance=False) is None


def test_each_thread_has_its_own_current_loop(io_loop: IOLoop) -> None:
    io_loop.make_current()
    seen: list[IOLoop] = []

    def in_thread() -> None:
        loop = IOLoop.current()
        seen.append(loop)
        loop.close()

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert seen and seen[0] is not io_loop
    assert IOLoop.current() is io_loop


def test_wrapping_a_foreign_loop_is_stable_and_does_not_keep_it_alive() -> None:
    foreign = asyncio.new_event_loop()

    async def main() -> IOLoop:
        wrapper = IOLoop.current()
        assert IOLoop.current() is wrapper
        assert wrapper.asyncio_loop is asyncio.get_running_loop()
        return wrapper

    wrapper = foreign.run_until_complete(main())
    foreign.close()
    ref = weakref.ref(foreign)
    del foreign
    gc.collect()
    assert ref() is None  # even though the wrapper itself is still alive
    with pytest.raises(RuntimeError):
        wrapper.asyncio_loop


def test_a_freed_loop_leaves_no_entry_that_a_later_loop_could_find() -> None:
    """The registry is keyed by the loop's id: the entry must go with the loop, before its id is reused."""
    first = asyncio.new_event_loop()
    wrapper = first.run_until_complete(_current_ioloop())
    first.close()
    del first
    gc.collect()
    # Loops made now may take the freed one's id; none of them may inherit its IOLoop.
    for _ in range(20):
        later = asyncio.new_event_loop()
        try:
            found = later.run_until_complete(_current_ioloop())
            assert found is not wrapper
            assert found.asyncio_loop is later
        finally:
            later.close()


def test_after_close_each_new_loop_finds_its_own_ioloop() -> None:
    loop = asyncio.new_event_loop()
    try:
        first = IOLoop(asyncio_loop=loop)
        first.close()
        loop = asyncio.new_event_loop()  # close() closed the wrapped loop: wrap a fresh one
        second = IOLoop(asyncio_loop=loop)
        assert loop.run_until_complete(_current_ioloop()) is second
        third_loop = asyncio.new_event_loop()
        assert third_loop.run_until_complete(_current_ioloop()) is not second
        third_loop.close()
    finally:
        loop.close()


async def _current_ioloop() -> IOLoop:
    return IOLoop.current()


def test_wrapping_a_loop_twice_is_an_error(io_loop: IOLoop) -> None:
    with pytest.raises(RuntimeError):
        IOLoop(asyncio_loop=io_loop.asyncio_loop)


# -- running and stopping ----------------------------------------------------


def test_start_runs_until_a_callback_stops_it(io_loop: IOLoop) -> None:
    events: list[str] = []
    io_loop.add_callback(events.append, "callback")
    io_loop.add_callback(io_loop.stop)
    io_loop.start()
    events.append("after start")
    assert events == ["callback", "after start"]


def test_run_sync_returns_a_plain_value(io_loop: IOLoop) -> None:
    assert io_loop.run_sync(lambda: 42) == 42


def test_run_sync_awaits_a_coroutine(io_loop: IOLoop) -> None:
    async def work() -> str:
        await asyncio.sleep(0)
        return "done"

    assert io_loop.run_sync(work) == "done"


def test_run_sync_propagates_the_exception(io_loop: IOLoop) -> None:
    async def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        io_loop.run_sync(fail)


def test_run_sync_timeout_raises_timeout_error(io_loop: IOLoop) -> None:
    async def forever() -> None:
        await asyncio.sleep(30)

    with pytest.raises(TimeoutError):
        io_loop.run_sync(forever, timeout=0.05)


# -- callbacks and timers ----------------------------------------------------


def test_call_later_runs_in_deadline_order(io_loop: IOLoop) -> None:
    order: list[int] = []
    io_loop.call_later(0.03, order.append, 3)
    io_loop.call_later(0.01, order.append, 1)
    io_loop.call_later(0.02, order.append, 2)
    io_loop.call_later(0.05, io_loop.stop)
    io_loop.start()
    assert order == [1, 2, 3]


def test_call_at_passes_keyword_arguments(io_loop: IOLoop) -> None:
    seen: dict[str, int] = {}
    io_loop.call_at(io_loop.time() + 0.01, seen.update, answer=42)
    io_loop.call_later(0.03, io_loop.stop)
    io_loop.start()
    assert seen == {"answer": 42}


def test_remove_timeout_cancels(io_loop: IOLoop) -> None:
    fired: list[str] = []
    handle = io_loop.call_later(0.01, fired.append, "should not run")
    io_loop.remove_timeout(handle)
    io_loop.call_later(0.05, io_loop.stop)
    io_loop.start()
    assert fired == []


def test_add_timeout_with_timedelta_and_loop_time(io_loop: IOLoop) -> None:
    started = io_loop.time()
    fired: dict[str, float] = {}

    def mark(name: str) -> None:
        fired[name] = io_loop.time()

    io_loop.add_timeout(datetime.timedelta(milliseconds=20), mark, "delta")
    io_loop.add_timeout(started + 0.01, mark, name="absolute")
    io_loop.add_timeout(datetime.timedelta(milliseconds=40), io_loop.stop)
    io_loop.start()
    assert fired["absolute"] >= started + 0.01
    assert fired["delta"] >= started + 0.02


def test_add_timeout_rejects_other_deadlines(io_loop: IOLoop) -> None:
    with pytest.raises(TypeError):
        io_loop.add_timeout("soon", io_loop.stop)  # type: ignore[arg-type]


def test_add_callback_from_another_thread_wakes_the_loop(io_loop: IOLoop) -> None:
    ran_on: list[int] = []

    def from_thread() -> None:
        time.sleep(0.05)  # let the loop go idle in its selector first
        io_loop.add_callback(lambda: ran_on.append(threading.get_ident()))
        io_loop.add_callback(io_loop.stop)

    thread = threading.Thread(target=from_thread)
    io_loop.add_callback(thread.start)
    io_loop.start()  # with no timers, only the wake-up can end this
    thread.join()
    assert ran_on == [threading.get_ident()]


def test_add_callback_after_close_is_dropped() -> None:
    loop = IOLoop()
    loop.close()
    loop.add_callback(print, "never")


def test_spawn_callback_runs_a_coroutine_to_completion(io_loop: IOLoop) -> None:
    steps: list[str] = []

    async def background(name: str) -> None:
        steps.append(f"{name} started")
        await asyncio.sleep(0.01)
        steps.append(f"{name} finished")
        io_loop.stop()

    io_loop.spawn_callback(background, "task")
    io_loop.add_callback_from_signal(steps.append, "signal")
    io_loop.start()
    # The coroutine becomes a Task, whose first step runs an iteration later.
    assert steps == ["signal", "task started", "task finished"]


def test_a_callback_added_from_a_signal_handler_wakes_a_waiting_loop(io_loop: IOLoop) -> None:
    # The signal lands while the loop waits with nothing to do; the handler
    # runs in this thread and the wait resumes after it. The callback must
    # wake the loop, not wait for the fallback thread's wake 10 s later.
    order: list[str] = []
    woken_by_fallback = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        io_loop.add_callback_from_signal(stop, "signal")

    def stop(source: str) -> None:
        order.append(source if not woken_by_fallback.is_set() else f"{source}, late")
        io_loop.stop()

    def fallback() -> None:
        if not stopped.wait(10):
            woken_by_fallback.set()
            io_loop.add_callback(stop, "fallback")

    stopped = threading.Event()
    previous = signal.signal(signal.SIGALRM, on_signal)
    watcher = threading.Thread(target=fallback)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        watcher.start()
        io_loop.start()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        stopped.set()
        watcher.join()
    assert order[0] == "signal"


# -- exceptions in callbacks -------------------------------------------------


def test_exception_in_callback_is_logged_and_loop_keeps_running(io_loop: IOLoop, caplog: pytest.LogCaptureFixture) -> None:
    after: list[str] = []

    def broken() -> None:
        raise ZeroDivisionError("sync")

    async def broken_async() -> None:
        await asyncio.sleep(0)
        raise ValueError("async")

    io_loop.add_callback(broken)
    io_loop.spawn_callback(broken_async)
    io_loop.call_later(0.01, broken)
    io_loop.call_later(0.02, after.append, "still running")
    io_loop.call_later(0.03, io_loop.stop)
    with caplog.at_level(logging.ERROR, logger="framework.general"):
        io_loop.start()
    assert after == ["still running"]
    logged = [r.exc_info[0] for r in caplog.records if r.name == "framework.general" and r.exc_info]
    names = sorted(t.__name__ for t in logged if t)
    assert names == ["ValueError", "ZeroDivisionError", "ZeroDivisionError"]


# -- file descriptors --------------------------------------------------------


def test_add_handler_fires_read_and_remove_handler_stops_it(
    io_loop: IOLoop, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    reader, writer = socket_pair
    calls: list[tuple[socket.socket, int, bytes]] = []

    def on_readable(sock: socket.socket, events: int) -> None:
        calls.append((sock, events, sock.recv(100)))
        io_loop.remove_handler(sock)
        io_loop.call_later(0.05, io_loop.stop)  # time for a second event, if any
        writer.send(b"second")

    io_loop.add_handler(reader, on_readable, IOLoop.READ)
    writer.send(b"first")
    io_loop.start()
    assert calls == [(reader, IOLoop.READ, b"first")]


def test_add_handler_with_an_int_fd_and_update_handler_to_write(
    io_loop: IOLoop, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    sock = socket_pair[0]
    calls: list[tuple[int, int]] = []

    def on_event(fd: int, events: int) -> None:
        calls.append((fd, events))
        io_loop.remove_handler(fd)
        io_loop.stop()

    io_loop.add_handler(sock.fileno(), on_event, IOLoop.READ)
    with pytest.raises(ValueError):
        io_loop.add_handler(sock.fileno(), on_event, IOLoop.READ)
    io_loop.update_handler(sock.fileno(), IOLoop.WRITE)  # a fresh socket is writable
    io_loop.start()
    assert calls == [(sock.fileno(), IOLoop.WRITE)]


def test_close_all_fds_closes_registered_descriptors() -> None:
    a, b = socket.socketpair()
    fd = a.detach()
    loop = IOLoop()
    loop.add_handler(fd, lambda fd, events: None, IOLoop.READ)
    loop.close(all_fds=True)
    b.close()
    with pytest.raises(OSError):
        os.fstat(fd)


# -- futures and executors ---------------------------------------------------


def test_add_future_with_an_asyncio_future(io_loop: IOLoop) -> None:
    future: asyncio.Future[int] = io_loop.asyncio_loop.create_future()
    results: list[int] = []

    def done(f: asyncio.Future[int]) -> None:
        results.append(f.result())
        io_loop.stop()

    io_loop.add_future(future, done)
    io_loop.call_later(0.01, future.set_result, 5)
    io_loop.start()
    assert results == [5]


def test_add_future_with_a_concurrent_future_runs_callback_on_the_loop(io_loop: IOLoop) -> None:
    results: list[tuple[int, int]] = []

    def done(f: concurrent.futures.Future[int]) -> None:
        results.append((f.result(), threading.get_ident()))
        io_loop.stop()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:

        def slow_seven() -> int:
            time.sleep(0.02)
            return 7

        future = executor.submit(slow_seven)
        io_loop.add_future(future, done)
        io_loop.start()
    assert results == [(7, threading.get_ident())]


def test_run_in_executor_returns_an_awaitable(io_loop: IOLoop) -> None:
    async def work() -> tuple[int, str]:
        value = await io_loop.run_in_executor(None, pow, 2, 10)
        return value, threading.current_thread().name

    value, thread_name = io_loop.run_sync(work)
    assert value == 1024
    assert thread_name == threading.current_thread().name


def test_set_default_executor_is_used_for_none(io_loop: IOLoop) -> None:
    with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="custom-pool") as executor:
        io_loop.set_default_executor(executor)

        async def where() -> str:
            return await io_loop.run_in_executor(None, lambda: threading.current_thread().name)

        assert io_loop.run_sync(where).startswith("custom-pool")


# -- PeriodicCallback --------------------------------------------------------


def test_periodic_callback_runs_repeatedly_until_stopped(io_loop: IOLoop) -> None:
    calls: list[float] = []

    def tick() -> None:
        calls.append(io_loop.time())
        if len(calls) == 3:
            periodic.stop()
            io_loop.call_later(0.1, io_loop.stop)  # room for a fourth run, if any

    periodic = PeriodicCallback(tick, 10)
    io_loop.add_callback(periodic.start)
    io_loop.start()
    assert len(calls) == 3
    assert not periodic.is_running()


def test_periodic_callback_awaits_a_coroutine(io_loop: IOLoop) -> None:
    calls: list[str] = []

    async def tick() -> None:
        calls.append("start")
        await asyncio.sleep(0.02)  # longer than the period: runs must not overlap
        calls.append("end")
        if len(calls) == 4:
            periodic.stop()
            io_loop.stop()

    periodic = PeriodicCallback(tick, datetime.timedelta(milliseconds=5))
    io_loop.add_callback(periodic.start)
    io_loop.start()
    assert calls == ["start", "end", "start", "end"]


def test_periodic_callback_skips_missed_runs(io_loop: IOLoop) -> None:
    period = 0.02
    calls: list[float] = []
    started: list[float] = []

    def tick() -> None:
        calls.append(io_loop.time())
        if len(calls) == 1:
            time.sleep(0.15)  # overrun by 7.5 periods
        if io_loop.time() >= started[0] + 0.25:
            periodic.stop()
            io_loop.stop()

    def start() -> None:
        started.append(io_loop.time())
        periodic.start()

    periodic = PeriodicCallback(tick, period * 1000)
    io_loop.add_callback(start)
    io_loop.start()
    # Runs land on distinct slots after the overrun ended (> 0.17 s) and the
    # last one is at most one slot past 0.25 s: at most 1 + 6 calls. Making up
    # the missed runs would give about 13.
    assert 2 <= len(calls) <= 7


def test_periodic_callback_keeps_running_after_an_exception(io_loop: IOLoop, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def tick() -> None:
        calls.append(1)
        if len(calls) == 2:
            periodic.stop()
            io_loop.stop()
        raise RuntimeError("tick failed")

    periodic = PeriodicCallback(tick, 5, jitter=0.5)
    io_loop.add_callback(periodic.start)
    with caplog.at_level(logging.ERROR, logger="framework.general"):
        io_loop.start()
    assert len(calls) == 2
    assert sum(1 for r in caplog.records if r.name == "framework.general") == 2


def test_periodic_callback_rejects_a_non_positive_period() -> None:
    with pytest.raises(ValueError):
        PeriodicCallback(lambda: None, 0)


# -- uvloop opt-in -----------------------------------------------------------

uvloop_installed = importlib.util.find_spec("uvloop") is not None


@pytest.fixture
def fresh_uvloop_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(ioloop, "_uvloop_requested", False)
    monkeypatch.delenv("FRAMEWORK_UVLOOP", raising=False)
    ioloop._import_uvloop.cache_clear()
    yield
    ioloop._import_uvloop.cache_clear()


@pytest.mark.usefixtures("fresh_uvloop_state")
def test_uvloop_is_never_imported_without_the_opt_in() -> None:
    if "uvloop" in sys.modules:
        pytest.skip("uvloop was already imported by something else")
    loop = IOLoop()
    loop.close()
    assert "uvloop" not in sys.modules


@pytest.mark.skipif(uvloop_installed, reason="checks the fallback when uvloop is missing")
@pytest.mark.usefixtures("fresh_uvloop_state")
def test_uvloop_opt_in_falls_back_with_a_warning(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("FRAMEWORK_UVLOOP", "1")
    with caplog.at_level(logging.WARNING, logger="framework.general"):
        loop = IOLoop()
    loop.close()
    assert isinstance(loop.asyncio_loop, asyncio.BaseEventLoop)
    assert "uvloop" in caplog.text
    assert ioloop.use_uvloop() is False

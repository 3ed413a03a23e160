"""framework/http1connection/corkexit.py: what a stopped loop left corked, written at exit, and only that."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest

from framework.http1connection import corkexit
from framework.httpserver import HTTPServer
from framework.serverstate import ConnectionContext, ServerState
from framework.web import Application


class Transport:
    """Keeps what is written; ``fail`` makes a write raise."""

    def __init__(self, *, fail: bool = False, closing: bool = False) -> None:
        self.written: list[bytes] = []
        self.fail = fail
        self.closing = closing

    def write(self, data: bytes) -> None:
        if self.fail:
            raise ConnectionResetError("peer gone")
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


class Connection:
    """What corkexit reads of a corked connection: its transport, loop and context."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: Transport) -> None:
        self.loop = loop
        self.transport = transport
        self.context = ConnectionContext(("192.0.2.7", 1), "192.0.2.7", "http")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    made = asyncio.new_event_loop()
    yield made
    made.close()


def corked(loop: asyncio.AbstractEventLoop, *transports: Transport) -> ServerState:
    state = HTTPServer(Application()).state
    for n, transport in enumerate(transports):
        state.corked[Connection(loop, transport)] = f"answer {n}".encode()  # type: ignore[index]
    state.corking = True
    return state


def test_a_stopped_loop_s_corked_answers_are_written_and_a_failure_is_logged_not_raised(
    loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    good, failing, closing, last = Transport(), Transport(fail=True), Transport(closing=True), Transport()
    state = corked(loop, good, failing, closing, last)
    corkexit.note_corking(state)
    with caplog.at_level(logging.WARNING, logger="framework.general"):
        corkexit.write_left_corked()
    assert (good.written, failing.written, closing.written, last.written) == ([b"answer 0"], [], [], [b"answer 3"])
    assert not state.corked and not state.corking
    assert [r.getMessage() for r in caplog.records] == [
        "at exit, 8 corked bytes for 192.0.2.7 were not written: ConnectionResetError('peer gone')"
    ]
    corkexit.write_left_corked()  # (nothing twice)
    assert good.written == [b"answer 0"]


def test_a_closed_loop_s_or_another_thread_s_server_is_left_alone(loop: asyncio.AbstractEventLoop) -> None:
    closed_loop = asyncio.new_event_loop()
    closed_loop.close()
    on_closed = Transport()
    closed = corked(closed_loop, on_closed)
    corkexit.note_corking(closed)
    elsewhere_transport = Transport()
    elsewhere = corked(loop, elsewhere_transport)
    noting = threading.Thread(target=corkexit.note_corking, args=(elsewhere,))
    noting.start()
    noting.join()
    corkexit.write_left_corked()
    assert on_closed.written == [] and elsewhere_transport.written == []
    assert closed.corked and elsewhere.corked  # (a running loop or its own thread writes them, or nobody)


def test_a_running_loop_writes_its_own(loop: asyncio.AbstractEventLoop) -> None:
    transport = Transport()

    async def exit_meanwhile() -> None:
        state = corked(asyncio.get_running_loop(), transport)
        corkexit.note_corking(state)
        corkexit.write_left_corked()
        assert state.corked

    loop.run_until_complete(exit_meanwhile())
    assert transport.written == []


@pytest.mark.parametrize("last_here", [True, False])
def test_the_thread_that_corked_last_is_the_one_that_writes(loop: asyncio.AbstractEventLoop, last_here: bool) -> None:
    transport = Transport()
    state = corked(loop, transport)
    elsewhere = threading.Thread(target=corkexit.note_corking, args=(state,))
    if last_here:
        elsewhere.start()
        elsewhere.join()
    corkexit.note_corking(state)
    corkexit.note_corking(state)
    if not last_here:
        elsewhere.start()
        elsewhere.join()
    corkexit.write_left_corked()
    assert transport.written == ([b"answer 0"] if last_here else [])

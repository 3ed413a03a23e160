"""Tests for framework/http1connection/protocol.py's corked writes, on the fake transport.

The first response a task writes in a loop iteration goes out at once; the
ones other tasks write in the same iteration wait for its end and go out
then, one write per connection, as do synchronous handlers' after the
iteration's first; a direct write never overtakes corked bytes; closing
writes them first, aborting or losing the connection drops them. What was
written is read back with the harness's response reader.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import framework
from framework.http1connection import HTTP1ServerProtocol
from framework.httpserver import HTTPServer
from framework.httputil import HTTPHeaders, ResponseStartLine
from framework.web import Application, RequestHandler
from tests.framework.harness import async_test, eventually, get
from tests.framework.http1connection.fake_transport import FakeTransport, connect, count


class Parked(RequestHandler):
    """Waits for the test's event, then answers; notes how many writes its server's transports had by then."""

    async def get(self) -> None:
        settings = self.application.settings
        await settings["wake"].wait()
        self.finish(f"woken {self.request.path}")
        settings["seen"].append(sum(transport.writes for transport in settings["transports"]))


class Hello(RequestHandler):
    def get(self) -> None:
        self.write(f"hello {self.request.path}")


def parked_app(**settings: Any) -> Application:
    return Application([(r"/parked.*", Parked), (r"/.*", Hello)], wake=asyncio.Event(), seen=[], transports=[], **settings)


def connections(app: Application, n: int) -> list[tuple[HTTP1ServerProtocol, FakeTransport]]:
    """``n`` connections on one server, as its listener would make them."""
    server = HTTPServer(app)
    made = []
    for _ in range(n):
        protocol = HTTP1ServerProtocol(server.state)
        transport = FakeTransport()
        transport.protocol = protocol
        protocol.connection_made(transport)
        app.settings["transports"].append(transport)
        made.append((protocol, transport))
    return made


@async_test
async def test_responses_finished_together_are_written_after_all_their_handlers_ran_one_write_each() -> None:
    app = parked_app()
    conns = connections(app, 3)
    for i, (protocol, _) in enumerate(conns):
        protocol.data_received(get(f"/parked/{i}"))
    await asyncio.sleep(0)  # the three handlers start and wait
    app.settings["wake"].set()
    await eventually(lambda: all(transport.writes for _, transport in conns))
    assert app.settings["seen"] == [1, 1, 1]  # the first went out at once, the others not while any ran
    for i, (_, transport) in enumerate(conns):
        [response] = await transport.responses()
        assert (response.code, response.body) == (200, f"woken /parked/{i}".encode())
        assert transport.writes == 1 and not transport.sending_done


@async_test
async def test_a_synchronous_handlers_response_goes_out_within_data_received() -> None:
    _, protocol, transport = connect(parked_app())
    protocol.data_received(get("/now"))
    assert count(transport) == 1 and transport.writes == 1  # no loop iteration in between


@async_test
async def test_synchronous_answers_read_in_one_iteration_go_out_together_after_the_first() -> None:
    app = parked_app()
    conns = connections(app, 3)
    for i, (protocol, _) in enumerate(conns):  # as the loop's reader callbacks of one iteration would
        protocol.data_received(get(f"/now/{i}") + (get(f"/again/{i}") if i == 2 else b""))
    # The iteration's first answer went out at once; the others are held,
    # the pipelined pair of the third connection joined into one write.
    assert [transport.writes for _, transport in conns] == [1, 0, 0]
    await asyncio.sleep(0)  # the next iteration's first callback writes them
    assert [transport.writes for _, transport in conns] == [1, 1, 1]
    for i, (_, transport) in enumerate(conns):
        bodies = [response.body for response in await transport.responses()]
        assert bodies == [f"hello /now/{i}".encode()] + ([f"hello /again/{i}".encode()] if i == 2 else [])


@async_test
async def test_a_pipelined_answer_written_at_once_follows_the_corked_one_before_it() -> None:
    app = parked_app()
    (first_protocol, _), (protocol, transport) = connections(app, 2)
    first_protocol.data_received(get("/parked/first"))
    protocol.data_received(get("/parked") + get("/after"))
    await asyncio.sleep(0)
    app.settings["wake"].set()
    await eventually(lambda: count(transport) == 2)
    parked, after = await transport.responses()
    assert (parked.body, after.body) == (b"woken /parked", b"hello /after")
    # The parked handler's finish() returned with its answer corked and the
    # next request not yet started (it waits for the handler's own code to
    # end); the corked answer went out first, then the next one, at once.
    assert app.settings["seen"] == [1, 1]
    assert transport.writes == 2


@async_test
async def test_closing_writes_the_corked_response_first() -> None:
    app = parked_app()
    [(protocol, transport)] = connections(app, 1)
    protocol.data_received(get("/parked", headers="Connection: close\r\n"))
    await asyncio.sleep(0)
    app.settings["wake"].set()
    await eventually(lambda: transport.closed)
    [response] = await transport.responses()  # (the fake transport refuses a write after close)
    assert response.body == b"woken /parked" and response.headers["connection"] == "close"


@async_test
async def test_a_large_write_is_not_held() -> None:
    [(first, _), (protocol, transport)] = connections(Application([(r"/", Holding)], transports=[]), 2)
    for each in (first, protocol):
        each.data_received(get("/"))
    start_answer(first)  # the iteration's first write from outside the connections: the next ones would be corked
    conn = protocol.current
    assert conn is not None
    big = b"x" * (16 * 1024)  # _CORK_LIMIT
    conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Length": str(len(big))}), b"")
    assert transport.writes == 0  # the head alone: corked
    conn.write(big)
    assert transport.writes == 1 and transport.written.endswith(big)  # the head and the body at once, in one write


@async_test
async def test_small_writes_from_a_task_are_joined_into_one() -> None:
    class Chunks(RequestHandler):
        async def get(self) -> None:
            for part in (b"one ", b"two ", b"three"):
                self.write(part)
                await self.flush()
            self.finish()

    app = Application([(r"/", Chunks)])
    _, protocol, transport = connect(app)
    protocol.data_received(get("/"))
    await eventually(lambda: transport.written.endswith(b"0\r\n\r\n"))
    [response] = await transport.responses()
    assert response.body == b"one two three" and response.headers["transfer-encoding"] == "chunked"
    assert transport.writes == 2  # the head and "one " at once, the rest corked together


def start_answer(protocol: HTTP1ServerProtocol) -> None:
    """A response head written from outside the connection's callbacks: corked."""
    conn = protocol.current
    assert conn is not None
    conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Length": "2"}), b"ok")


class Holding(RequestHandler):
    """Answers nothing: the test writes on its connection."""

    async def get(self) -> None:
        await asyncio.Event().wait()


def second_corked(app: Application, n: int = 2) -> list[tuple[HTTP1ServerProtocol, FakeTransport]]:
    """``n`` connections holding a request each; the first answered at once, the others' answers corked."""
    made = connections(app, n)
    for protocol, _ in made:
        protocol.data_received(get("/"))
    for protocol, _ in made:
        start_answer(protocol)
    assert [transport.writes for _, transport in made] == [1] + [0] * (n - 1)
    return made


@async_test
async def test_a_lost_or_aborted_connection_drops_what_it_had_corked() -> None:
    for end in ("lost", "abort"):
        [_, (protocol, transport)] = second_corked(Application([(r"/", Holding)], transports=[]))
        assert protocol.state.corked
        if end == "lost":
            protocol.connection_lost(None)
        else:
            protocol.abort()
        assert not protocol.state.corked
        await asyncio.sleep(0)  # the end of the iteration: nothing left to write on it
        assert transport.writes == 0


@async_test
async def test_a_detached_transport_has_the_corked_bytes_written_before_it_is_handed_over() -> None:
    [_, (protocol, transport)] = second_corked(Application([(r"/", Holding)], transports=[]))
    conn = protocol.current
    assert conn is not None
    handed, _ = conn.detach_transport()
    assert handed is transport and transport.written.endswith(b"\r\n\r\nok")


@async_test
async def test_a_client_that_half_closes_gets_its_corked_answer_before_the_connection_closes() -> None:
    # printf 'GET / ...' | nc -N: the client's FIN arrives before the end of the iteration.
    [_, (protocol, transport)] = second_corked(Application([(r"/", Holding)], transports=[]))
    transport.peer_closes()
    assert transport.closed and transport.written.endswith(b"\r\n\r\nok")  # (the fake refuses writes after close)


class ThenHalfCloses(RequestHandler):
    """Answers when woken, then its client's FIN arrives before the pipelined request is started."""

    async def get(self) -> None:
        await self.application.settings["wake"].wait()
        self.finish("woken")  # the iteration's first write: out at once, and the next ones corked
        # What a loop can deliver before the call_soon'd start of the next request (uvloop's poll phase).
        self.application.settings["transports"][0].peer_closes()


@async_test
async def test_a_pipelined_answer_made_when_the_client_half_closes_goes_out_before_the_close() -> None:
    app = Application([(r"/first", ThenHalfCloses), (r"/.*", Hello)], wake=asyncio.Event(), transports=[])
    [(protocol, transport)] = connections(app, 1)
    protocol.data_received(get("/first") + get("/next"))
    await asyncio.sleep(0)
    app.settings["wake"].set()
    await eventually(lambda: transport.closed)
    assert [r.body for r in await transport.responses()] == [b"woken", b"hello /next"]


class FailingTransport(FakeTransport):
    def write(self, data: bytes | bytearray | memoryview) -> None:
        raise RuntimeError("this transport fails")


@async_test
async def test_a_transport_failing_in_the_corked_pass_is_aborted_and_the_others_still_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Application([(r"/", Holding)], transports=[])
    made = connections(app, 4)
    failing = FailingTransport()
    failing.protocol = made[1][0]
    made[1] = (made[1][0], failing)
    made[1][0].transport = failing  # as if the listener had made this connection on it
    for protocol, _ in made:
        protocol.data_received(get("/"))
    for protocol, _ in made:
        start_answer(protocol)
    with caplog.at_level(logging.ERROR, logger="framework.general"):
        await eventually(lambda: made[3][1].writes == 1)
    assert made[2][1].writes == 1 and failing.closed
    assert "writing corked bytes to 192.0.2.7 failed" in caplog.text


@async_test
async def test_an_error_answer_or_a_100_continue_follows_the_corked_answer_before_it() -> None:
    for pipelined, expected in (
        (b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 "),
        (b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n", b"HTTP/1.1 100 Continue"),
    ):
        [_, (protocol, transport)] = second_corked(Application([(r"/.*", Holding)], transports=[]))
        protocol.current.finish()  # type: ignore[union-attr]  # the corked answer is complete: the next request is read
        protocol.data_received(pipelined)
        written = bytes(transport.written)
        assert written.startswith(b"HTTP/1.1 200 OK") and written.index(b"ok") < written.index(expected)


@async_test
async def test_corked_bytes_are_a_copy_and_a_str_is_refused_to_its_writer_without_losing_them() -> None:
    [(first, _), (protocol, transport)] = connections(Application([(r"/", Holding)], transports=[]), 2)
    first.data_received(get("/"))
    start_answer(first)  # the iteration's first write from outside the connections: the next ones are corked
    buffer = bytearray(b"early ")
    protocol.send(buffer)  # the first bytes this connection corks
    buffer[:] = b"XXXXXX"  # the writer reuses its buffer before the end of the iteration
    protocol.send(memoryview(b"later"))
    with pytest.raises(TypeError):
        protocol.send("text")  # type: ignore[arg-type]
    assert transport.writes == 0
    await eventually(lambda: transport.writes == 1)
    assert transport.written == b"early later"


STOPS_FROM_A_HANDLER = """
import sys, time
from framework import ioloop
from framework.httpserver import HTTPServer
from framework.netutil import bind_sockets
from framework.web import Application, RequestHandler

class Block(RequestHandler):
    def get(self):
        time.sleep(0.5)  # the loop is held: the next two requests are read in one iteration
        self.write("blocked")

class Hello(RequestHandler):
    def get(self):
        self.write("hello")

class Stop(RequestHandler):
    def get(self):
        self.finish("stopping")
        ioloop.IOLoop.current().stop()

sockets = bind_sockets(0, "127.0.0.1")
HTTPServer(Application([("/block", Block), ("/hello", Hello), ("/stop", Stop)])).add_sockets(sockets)
print(sockets[0].getsockname()[1], flush=True)
ioloop.IOLoop.current().start()
"""  # then it exits, without running the loop again


def test_answers_corked_in_the_iteration_a_handler_stops_the_loop_in_are_written_before_exit(tmp_path: Path) -> None:
    script = tmp_path / "stops.py"
    script.write_text(STOPS_FROM_A_HANDLER)
    root = Path(framework.__file__).resolve().parents[1]
    with subprocess.Popen(
        [sys.executable, str(script)], cwd=root, env={"PYTHONPATH": str(root)}, stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
            time.sleep(0.3)  # all three accepted
            clients[0].sendall(b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)  # the server is inside Block's sleep
            clients[1].sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            clients[2].sendall(b"GET /stop HTTP/1.1\r\nHost: x\r\n\r\n")
            answers = [_read_until_closed(client) for client in clients]
            assert server.wait(timeout=10) == 0
        finally:
            server.kill()
    bodies = [answer.rpartition(b"\r\n\r\n")[2] for answer in answers]
    assert bodies == [b"blocked", b"hello", b"stopping"], answers


def _read_until_closed(client: socket.socket) -> bytes:
    received = b""
    with client:
        while chunk := client.recv(65536):
            received += chunk
    return received

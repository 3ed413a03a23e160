"""Tests for framework/websocket/handler.py: ``WebSocketHandler`` over real sockets.

The application runs on the test's own event loop (``peers.running``) and the
test talks to it with ``websocket_connect`` or ``peers.RawClient``, which can
send anything at all. Each handler a test needs is declared beside it.
Everything is closed before a test ends (warnings are errors), and no test
asserts a duration: waits are on events, bounded.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import pytest

from framework.httpclient import HTTPClientError, HTTPRequest
from framework.testing import serve
from framework.web import Application
from framework.websocket import (
    WebSocketClosedError,
    WebSocketHandler,
    websocket_connect,
)
from tests.framework.harness import run
from tests.framework.websocket.peers import (
    ClosingHandler,
    EchoHandler,
    Log,
    RawClient,
    client_frame,
    close_payload,
    running,
)

# -- messages ---------------------------------------------------------------------


def test_text_binary_and_json_echo_with_websocket_connect() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            await conn.write_message("héllo wörld")
            assert await conn.read_message() == "héllo wörld"
            await conn.write_message(b"\x00\xff binary", binary=True)
            assert await conn.read_message() == b"\x00\xff binary"
            await conn.write_message({"a": [1, 2], "b": "c"})
            assert await conn.read_message() == '{"a": [1, 2], "b": "c"}'
            await conn.write_message(b"bytes as text")
            assert await conn.read_message() == "bytes as text"
            with pytest.raises(ValueError):
                conn.write_message(b"\xff not utf-8")
            conn.close()
            assert await conn.read_message() is None
            await log.closed.wait()
        assert log.messages() == ["héllo wörld", b"\x00\xff binary", '{"a": [1, 2], "b": "c"}', "bytes as text"]
        # The web layer saw one finished request: on_finish ran once, at the upgrade.
        assert log.events[0] == ("finish",) and log.events.count(("finish",)) == 1

    run(main)


def test_a_one_megabyte_message_each_way() -> None:
    async def main() -> None:
        big = bytes(range(256)) * 4096
        async with running(EchoHandler, Log()) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            await conn.write_message(big, binary=True)
            assert await conn.read_message() == big
            await conn.write_message("é" * 500_000)
            assert await conn.read_message() == "é" * 500_000
            conn.close()
            assert await conn.read_message() is None

    run(main)


def test_route_arguments_reach_open() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws/room%201")
            await log.opened.wait()
            conn.close()
            await log.closed.wait()
        assert log.events[1] == ("open", ("room 1",))

    run(main)


def test_fragmented_message_from_a_raw_client() -> None:
    async def main() -> None:
        log = Log()
        data = "a κόσμε 𝄞".encode()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port)
            assert raw.status == 101 and raw.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
            # Cut inside "κ" (2 bytes) and inside the 4-byte clef.
            raw.send(client_frame(0x1, data[:3], fin=False))
            raw.send(client_frame(0x0, data[3:12], fin=False))
            raw.send(client_frame(0x0, data[12:]))
            assert await raw.frame() == (True, 0x1, data)
            raw.send(client_frame(0x8, close_payload(1000)))
            assert await raw.close_frame() == (1000, b"")
            assert await raw.server_closed()
            await raw.aclose()
            await log.closed.wait()
        assert log.messages() == [data.decode()]

    run(main)


def test_ping_between_fragments_is_answered_at_once() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port)
            raw.send(client_frame(0x2, b"first half ", fin=False))
            raw.send(client_frame(0x9, b"ping data"))
            assert await raw.frame() == (True, 0xA, b"ping data")  # before the message is complete
            raw.send(client_frame(0x0, b"second half"))
            assert await raw.frame() == (True, 0x2, b"first half second half")
            raw.send(client_frame(0x8))
            assert await raw.close_frame() == (None, b"")
            await raw.aclose()
            await log.closed.wait()
        assert ("ping", b"ping data") in log.events

    run(main)


class PingingHandler(EchoHandler):
    def open(self, *args: Any) -> None:
        super().open(*args)
        self.ping(b"from server")


def test_server_ping_gets_pong_and_on_pong_runs() -> None:
    async def main() -> None:
        log = Log()
        async with running(PingingHandler, log) as port:
            pongs: list[bytes] = []
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            conn.on_pong = pongs.append  # type: ignore[method-assign,assignment]
            conn.ping("from client")
            await conn.write_message("sync")  # the echo comes after the pong to our ping
            assert await conn.read_message() == "sync"
            assert pongs == [b"from client"]
            while ("pong", b"from server") not in log.events:
                await asyncio.sleep(0.005)
            conn.close()
            await log.closed.wait()

    run(main)


def test_keepalive_pings_from_settings() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log, websocket_ping_interval=0.01, websocket_ping_timeout=0.05) as port:
            raw = await RawClient.connect(port)
            assert await raw.frame() == (True, 0x9, b"")
            # Never answer: the server gives up and says why.
            assert await raw.close_frame() == (1001, b"ping timeout")
            await raw.aclose()
            await log.closed.wait()

    run(main)


# -- invalid frames close with the right code -------------------------------------


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        pytest.param(client_frame(0x2, b"x" * 1001), 1009, id="oversize"),
        pytest.param(client_frame(0x2, b"x" * 600, fin=False) + client_frame(0x0, b"x" * 600), 1009, id="oversize-fragments"),
        pytest.param(client_frame(0x1, b"ok" + b"\xc0\xaf"), 1007, id="bad-utf8"),
        pytest.param(client_frame(0x1, b"unmasked", masked=False), 1002, id="unmasked"),
        pytest.param(client_frame(0x5, b"x"), 1002, id="reserved-opcode"),
        pytest.param(client_frame(0x9, b"x" * 126), 1002, id="long-control-frame"),
        pytest.param(client_frame(0xA, b"x", fin=False), 1002, id="fragmented-control-frame"),
        pytest.param(client_frame(0x1, b"x", rsv=1), 1002, id="rsv-without-extension"),
        pytest.param(client_frame(0x0, b"x"), 1002, id="continuation-first"),
        pytest.param(client_frame(0x8, close_payload(1005)), 1002, id="close-code-1005"),
        pytest.param(client_frame(0x8, b"\x03"), 1002, id="one-byte-close"),
    ],
)
def test_invalid_frames_close_with_the_right_code(frames: bytes, code: int) -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log, websocket_max_message_size=1000) as port:
            raw = await RawClient.connect(port)
            raw.send(frames)
            received, _ = await raw.close_frame()
            assert received == code
            assert await raw.server_closed()
            await raw.aclose()
            await log.closed.wait()
        assert log.events[-1] == ("close", None, None) and log.events.count(log.events[-1]) == 1

    run(main)


# -- closing ---------------------------------------------------------------------


def test_client_close_code_and_reason_reach_the_server() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            conn.close(1000, "goodbye ✓")
            assert await conn.read_message() is None
            assert conn.close_code == 1000  # the server echoed the code
            await log.closed.wait()
            await asyncio.sleep(0.01)  # give a second on_close a chance to (wrongly) happen
        assert [e for e in log.events if e[0] == "close"] == [("close", 1000, "goodbye ✓")]

    run(main)


def test_server_initiated_close() -> None:
    async def main() -> None:
        log = Log()
        async with running(ClosingHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            await conn.write_message("close")
            assert await conn.read_message() is None
            assert (conn.close_code, conn.close_reason) == (4001, "server says bye")
            await log.closed.wait()
        assert log.events[-1] == ("close", 4001, None)  # the client echoed the code alone

    run(main)


def test_abrupt_disconnect_runs_on_close() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port)
            raw.send(client_frame(0x1, b"hi"))
            assert await raw.frame() == (True, 0x1, b"hi")
            raw.writer.transport.abort()  # no Close frame, a reset
            await log.closed.wait()
            log.handler = None
        assert log.events[-1] == ("close", None, None)

    run(main)


def test_write_after_the_client_left_raises() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port)
            await log.opened.wait()
            await raw.aclose()
            await log.closed.wait()
            assert log.handler is not None
            with pytest.raises(WebSocketClosedError):
                log.handler.write_message("anyone?")
            with pytest.raises(WebSocketClosedError):
                log.handler.ping()

    run(main)


# -- the opening handshake --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {"Sec-WebSocket-Key": None}, 400),
        ("GET", {"Sec-WebSocket-Key": "dG9vIHNob3J0"}, 400),
        ("GET", {"Sec-WebSocket-Version": "8"}, 426),
        ("GET", {"Upgrade": None}, 400),
        ("GET", {"Connection": "keep-alive"}, 400),
        ("POST", {"Content-Length": "0"}, 405),
    ],
)
def test_handshake_errors(method: str, headers: dict[str, str | None], status: int) -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            raw = await RawClient.connect(port, method=method, headers=headers)
            assert raw.status == status
            if status == 426:
                assert raw.headers["sec-websocket-version"] == "13"
            if status == 405:
                assert raw.headers["allow"] == "GET"
            await raw.aclose()
        assert not log.opened.is_set()

    run(main)


def test_check_origin_is_same_origin_by_default() -> None:
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            cross = await RawClient.connect(port, headers={"Origin": "http://evil.example"})
            assert cross.status == 403 and b"Cross origin" in cross.body
            await cross.aclose()
            same = await RawClient.connect(port, headers={"Origin": f"http://127.0.0.1:{port}"})
            assert same.status == 101
            same.send(client_frame(0x8))
            await same.close_frame()
            await same.aclose()
            await log.closed.wait()

    run(main)


class AnyOriginHandler(EchoHandler):
    def check_origin(self, origin: str) -> bool:
        return origin.endswith(".example")


def test_check_origin_can_be_overridden() -> None:
    async def main() -> None:
        log = Log()
        async with running(AnyOriginHandler, log) as port:
            request = HTTPRequest(f"ws://127.0.0.1:{port}/ws", headers={"Origin": "https://friend.example"})
            conn = await websocket_connect(request)
            conn.close()
            await log.closed.wait()

    run(main)


TRUSTED = "https://trusted.example"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"Origin": TRUSTED}, 101, id="trusted-origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site", "Origin": TRUSTED}, 101, id="trusted-cross-site"),
        pytest.param({"Sec-Fetch-Site": "same-origin", "Origin": "https://cdn.example"}, 101, id="same-origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site", "Origin": "http://{host}"}, 403, id="cross-site-claiming-host"),
        pytest.param({"Sec-Fetch-Site": "same-site", "Origin": "https://evil.example"}, 403, id="same-site"),
        pytest.param({"Origin": "https://evil.example"}, 403, id="foreign-origin"),
        pytest.param({"Origin": "http://{host}"}, 101, id="origin-is-host"),
        pytest.param({}, 101, id="no-origin"),
    ],
)
def test_sec_fetch_site_and_trusted_origins_decide_the_handshake(headers: dict[str, str], status: int) -> None:
    # Tornado 6.6: checked on every handshake, whatever cross_origin_protection says.
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log, trusted_origins=[TRUSTED]) as port:
            sent = {k: v.format(host=f"127.0.0.1:{port}") for k, v in headers.items()}
            raw = await RawClient.connect(port, headers=sent)
            assert raw.status == status
            if status == 101:
                raw.send(client_frame(0x8))
                await raw.close_frame()
                await log.closed.wait()
            else:
                assert b"Cross origin" in raw.body
            await raw.aclose()

    run(main)


class PartnerHandler(EchoHandler):
    def check_trusted_origin(self, origin: str) -> bool:
        self.log.events.append(("asked", origin))
        return origin.endswith(".partner.example")


def test_check_trusted_origin_is_the_default_check_origin() -> None:
    async def main() -> None:
        log = Log()
        async with running(PartnerHandler, log) as port:
            refused = await RawClient.connect(port, headers={"Origin": "https://evil.example"})
            assert refused.status == 403
            await refused.aclose()
            same = await RawClient.connect(port, headers={"Sec-Fetch-Site": "same-origin", "Origin": "https://x.example"})
            assert same.status == 101  # not asked: known to be same-origin
            same.send(client_frame(0x8))
            await same.close_frame()
            await same.aclose()
            await log.closed.wait()
        assert [e for e in log.events if e[0] == "asked"] == [("asked", "https://evil.example")]

    run(main)


def test_ping_timeout_defaults_to_the_interval() -> None:
    # Tornado 6.5: a missing pong closes one interval after the ping (here it
    # was max(3 x interval, 30 s), so this waited 30 s).
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log, websocket_ping_interval=0.05) as port:
            raw = await RawClient.connect(port)
            assert await raw.frame() == (True, 0x9, b"")
            assert await asyncio.wait_for(raw.close_frame(), 5.0) == (1001, b"ping timeout")
            await raw.aclose()
            await log.closed.wait()

    run(main)


@pytest.mark.parametrize(
    ("settings", "timeout"),
    [
        ({"websocket_ping_interval": 10}, 10.0),
        ({"websocket_ping_interval": 10, "websocket_ping_timeout": 60}, 10.0),
        ({"websocket_ping_interval": 5, "websocket_ping_timeout": 2}, 2.0),
        ({"websocket_ping_interval": 5, "websocket_ping_timeout": 0}, 0.0),
        ({"websocket_ping_timeout": 5}, None),
        ({}, None),
    ],
)
def test_ping_timeout_property_follows_tornados_rule(settings: dict[str, Any], timeout: float | None) -> None:
    handler = object.__new__(WebSocketHandler)
    handler.application = Application([], **settings)
    assert handler.ping_timeout == timeout


class ChatHandler(EchoHandler):
    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        self.log.events.append(("offered", subprotocols))
        return "chat.v2" if "chat.v2" in subprotocols else None


def test_subprotocol_selection() -> None:
    async def main() -> None:
        log = Log()
        async with running(ChatHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["chat.v1", "chat.v2"])
            assert conn.selected_subprotocol == "chat.v2"
            await log.opened.wait()
            assert log.handler is not None and log.handler.selected_subprotocol == "chat.v2"
            conn.close()
            await log.closed.wait()
            plain = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            assert plain.selected_subprotocol is None
            plain.close()
            assert await plain.read_message() is None
        assert ("offered", ["chat.v1", "chat.v2"]) in log.events and ("offered", []) in log.events

    run(main)


class BadSubprotocolHandler(EchoHandler):
    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "not-offered"


def test_selecting_a_subprotocol_not_offered_is_a_server_error(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with running(BadSubprotocolHandler, Log()) as port:
            with pytest.raises(HTTPClientError) as caught:
                await websocket_connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["a"])
            assert caught.value.code == 500

    run(main)


# -- async open and on_message ------------------------------------------------------


class SlowOpenHandler(EchoHandler):
    async def open(self, *args: Any) -> None:
        for _ in range(20):
            await asyncio.sleep(0)
        self.log.events.append(("opened",))
        super().open(*args)


def test_messages_wait_for_an_async_open() -> None:
    async def main() -> None:
        log = Log()
        async with running(SlowOpenHandler, log) as port:
            raw = await RawClient.connect(port)
            raw.send(client_frame(0x1, b"sent at once"))
            assert await raw.frame() == (True, 0x1, b"sent at once")
            raw.send(client_frame(0x8))
            await raw.close_frame()
            await raw.aclose()
            await log.closed.wait()
        kinds = [e[0] for e in log.events]
        assert kinds.index("opened") < kinds.index("message")

    run(main)


class SlowMessageHandler(EchoHandler):
    async def on_message(self, message: str | bytes) -> None:
        # Earlier messages take longer: without ordering the replies would reverse.
        for _ in range(10 * (5 - int(message))):
            await asyncio.sleep(0)
        self.log.events.append(("message", message))
        await self.write_message(message)


def test_async_on_message_keeps_order() -> None:
    async def main() -> None:
        log = Log()
        async with running(SlowMessageHandler, log) as port:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            for i in range(5):
                await conn.write_message(str(i))
            assert [await conn.read_message() for _ in range(5)] == ["0", "1", "2", "3", "4"]
            conn.close()
            await log.closed.wait()
        assert log.messages() == ["0", "1", "2", "3", "4"]

    run(main)


class FailingHandler(EchoHandler):
    def on_message(self, message: str | bytes) -> None:
        raise RuntimeError("handler bug")


def test_exception_in_on_message_closes_with_1011(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        log = Log()
        async with running(FailingHandler, log) as port:
            raw = await RawClient.connect(port)
            raw.send(client_frame(0x1, b"boom"))
            assert await raw.close_frame() == (1011, b"internal error")
            await raw.aclose()
            await log.closed.wait()

    run(main)
    assert "handler bug" in caplog.text


def test_with_the_threaded_test_server() -> None:
    """``framework.testing.serve``: the server on its own loop in a thread, the client here."""
    closed = threading.Event()

    class ThreadedEcho(WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message)

        def on_close(self) -> None:
            closed.set()

    with serve(Application([(r"/ws", ThreadedEcho)])) as server:

        async def main() -> None:
            conn = await websocket_connect(f"ws://127.0.0.1:{server.port}/ws")
            await conn.write_message("across threads")
            assert await conn.read_message() == "across threads"
            conn.close()
            assert await conn.read_message() is None

        run(main)
        assert closed.wait(10)


def test_an_independent_client_websocket_client_library() -> None:
    """Interoperability: the ``websocket-client`` package (when installed) against the threaded server."""
    client = pytest.importorskip("websocket")
    closed = threading.Event()
    seen: list[tuple[int | None, str | None]] = []

    class InteropEcho(WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

        def on_close(self) -> None:
            seen.append((self.close_code, self.close_reason))
            closed.set()

    with serve(Application([(r"/ws", InteropEcho)])) as server:
        ws = client.create_connection(f"ws://127.0.0.1:{server.port}/ws", timeout=10)
        try:
            ws.send("interop ✓")
            assert ws.recv() == "interop ✓"
            ws.send_binary(b"\x00\x01" * 40000)
            assert ws.recv() == b"\x00\x01" * 40000
            ws.ping(b"are you there")
            opcode, frame = ws.recv_data_frame(control_frame=True)
            assert opcode == client.ABNF.OPCODE_PONG and frame.data == b"are you there"
        finally:
            ws.close(status=1000, reason=b"bye")
        assert closed.wait(10)
    assert seen == [(1000, "bye")]


def test_server_drain_closes_websockets_with_going_away() -> None:
    async def main() -> None:
        log = Log()
        app = Application([(r"/ws", EchoHandler, {"log": log})])
        server = app.listen(0, "127.0.0.1")
        await asyncio.sleep(0)
        port = server.sockets[0].getsockname()[1]
        conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
        await conn.write_message("before")
        assert await conn.read_message() == "before"
        server.stop()
        report = await server.drain(5)
        assert await conn.read_message() is None
        assert conn.close_code == 1001
        assert (report.finished, report.aborted) == (1, 0)
        await log.closed.wait()

    run(main)


# -- a peer that sends without reading (issue 12) -------------------------------------


def test_ping_flood_from_a_client_that_never_reads_keeps_the_server_backlog_bounded() -> None:
    # Before: every ping's pong was queued (40 MB of pings, +33 MB of server
    # memory). Now the server stops reading while its writes are backed up,
    # so the client's own send blocks and the server's queue stays small.
    async def main() -> None:
        log = Log()
        async with running(EchoHandler, log) as port:
            client = await RawClient.connect(port)
            sock = client.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await asyncio.wait_for(log.opened.wait(), 5)
            assert log.handler is not None and log.handler.ws_connection is not None
            server_side = log.handler.ws_connection
            pings = client_frame(0x9, b"p" * 125) * 512  # about 67 KB per write
            sent, peak = 0, 0
            for _ in range(16 * 1024 * 1024 // len(pings)):  # up to 16 MB
                client.send(pings)
                try:
                    await asyncio.wait_for(client.writer.drain(), 1.0)
                except TimeoutError:
                    break  # blocked: the server stopped reading, as it should
                sent += len(pings)
                if server_side.transport is not None:
                    peak = max(peak, server_side.transport.get_write_buffer_size())
            if server_side.transport is not None:
                peak = max(peak, server_side.transport.get_write_buffer_size())
            assert peak < 1024 * 1024, f"server queued {peak} bytes of pongs after {sent} bytes of pings"
            assert sent < 16 * 1024 * 1024  # the client was held back by TCP
            client.writer.transport.abort()
            await asyncio.wait_for(log.closed.wait(), 5)

    run(main)

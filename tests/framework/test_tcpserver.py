"""``framework/tcpserver.py``: Tornado's TCP echo demo with ``tornado`` -> ``framework``, and the listening API."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest

from framework.iostream import IOStream, SSLIOStream, StreamClosedError
from framework.netutil import bind_sockets
from framework.tcpclient import TCPClient
from framework.tcpserver import TCPServer
from tests.framework.harness import free_port, run


class EchoServer(TCPServer):
    """The shape of Tornado's ``demos/tcpecho/server.py``: echo each line until the client goes."""

    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        while True:
            try:
                data = await stream.read_until(b"\n")
                if not data.endswith(b"\n"):
                    data = data + b"\n"
                await stream.write(data)
            except StreamClosedError:
                break


async def echo_client(port: int, lines: list[bytes]) -> list[bytes]:
    """The shape of Tornado's ``demos/tcpecho/client.py``."""
    stream = await TCPClient().connect("127.0.0.1", port)
    stream.set_nodelay(True)
    replies = []
    for line in lines:
        await stream.write(line + b"\n")
        replies.append(await stream.read_until(b"\n"))
    stream.close()
    return replies


def test_tornados_tcp_echo_demo_runs() -> None:
    async def test() -> None:
        server = EchoServer()
        port = free_port()
        server.listen(port, "127.0.0.1")
        try:
            results = await asyncio.gather(*(echo_client(port, [b"hello", f"client {i}".encode()]) for i in range(5)))
            for i, replies in enumerate(results):
                assert replies == [b"hello\n", f"client {i}\n".encode()]
        finally:
            server.stop()

    run(test)


def test_handle_stream_may_be_a_plain_method_and_gets_the_address() -> None:
    async def test() -> None:
        seen: list[Any] = []

        class Greeter(TCPServer):
            def handle_stream(self, stream: IOStream, address: Any) -> None:
                seen.append(address)
                stream.write(b"hi\n")

        sockets = bind_sockets(0, "127.0.0.1")
        server = Greeter()
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        stream = await TCPClient().connect("127.0.0.1", port)
        assert await stream.read_until(b"\n") == b"hi\n"
        assert seen[0][0] == "127.0.0.1" and seen[0][1] == stream.socket.getsockname()[1]
        stream.close()
        server.stop()
        server.stop()  # twice is harmless
        with pytest.raises(StreamClosedError):
            await TCPClient().connect("127.0.0.1", port)

    run(test)


def test_bind_then_start_in_one_process() -> None:
    async def test() -> None:
        server = EchoServer()
        port = free_port()
        server.bind(port, "127.0.0.1")
        server.start(1)
        with pytest.raises(RuntimeError):
            server.start(1)
        try:
            assert await echo_client(port, [b"bound"]) == [b"bound\n"]
        finally:
            server.stop()

    run(test)


def test_a_failing_handler_is_logged_and_the_server_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def test() -> None:
        class Broken(TCPServer):
            async def handle_stream(self, stream: IOStream, address: Any) -> None:
                await stream.read_until(b"\n")
                stream.close()
                raise KeyError("handler bug")

        sockets = bind_sockets(0, "127.0.0.1")
        server = Broken()
        server.add_sockets(sockets)
        stream = await TCPClient().connect("127.0.0.1", sockets[0].getsockname()[1])
        await stream.write(b"x\n")
        assert await stream.read_until_close() == b""
        await asyncio.sleep(0.05)
        server.stop()

    run(test)
    assert "handler bug" in caplog.text


def test_max_buffer_size_reaches_the_streams() -> None:
    async def test() -> None:
        class Small(TCPServer):
            async def handle_stream(self, stream: IOStream, address: Any) -> None:
                assert stream.max_buffer_size == 100
                try:
                    await stream.read_until(b"\n")
                except StreamClosedError:
                    pass

        sockets = bind_sockets(0, "127.0.0.1")
        server = Small(max_buffer_size=100)
        server.add_sockets(sockets)
        stream = await TCPClient().connect("127.0.0.1", sockets[0].getsockname()[1])
        stream.write(b"x" * 10000)
        assert await stream.read_until_close() == b""  # the server hung up
        server.stop()

    run(test)


def test_ssl_options_serve_tls(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate

    async def test() -> None:
        handled: list[bool] = []

        class TLSEcho(EchoServer):
            async def handle_stream(self, stream: IOStream, address: Any) -> None:
                handled.append(isinstance(stream, SSLIOStream))
                await super().handle_stream(stream, address)

        sockets = bind_sockets(0, "127.0.0.1")
        server = TLSEcho(ssl_options={"certfile": str(cert), "keyfile": str(key)})
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        stream = await TCPClient().connect("127.0.0.1", port, ssl_options=ssl.create_default_context(cafile=str(cert)))
        assert isinstance(stream, SSLIOStream)
        await stream.write(b"secure\n")
        assert await stream.read_until(b"\n") == b"secure\n"
        assert handled == [True]
        stream.close()
        server.stop()

    run(test)


def test_bad_ssl_options_fail_at_construction() -> None:
    with pytest.raises(ValueError):
        TCPServer(ssl_options={"certfile": "x", "keyfle": "y"})
    with pytest.raises(FileNotFoundError):
        TCPServer(ssl_options={"certfile": "/nonexistent/cert.pem"})

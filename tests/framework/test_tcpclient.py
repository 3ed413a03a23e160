"""``framework/tcpclient.py`` against listeners on 127.0.0.1; each test bounded in time."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from framework.iostream import IOStream, StreamClosedError
from framework.tcpclient import TCPClient

T = TypeVar("T")


def run(test: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await asyncio.wait_for(test(), 10)

    return asyncio.run(main())


def listener() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def test_connect_returns_a_connected_stream() -> None:
    async def test() -> None:
        server = listener()
        stream = await TCPClient().connect("127.0.0.1", server.getsockname()[1], max_buffer_size=1234)
        assert isinstance(stream, IOStream) and stream.max_buffer_size == 1234
        accepted, _ = await asyncio.get_running_loop().sock_accept(server)
        peer = IOStream(accepted)
        await stream.write(b"ping\n")
        assert await peer.read_until(b"\n") == b"ping\n"
        stream.close()
        peer.close()
        server.close()

    run(test)


def test_localhost_resolves_and_connects_whichever_family_listens() -> None:
    async def test() -> None:
        server = listener()  # IPv4 only; "localhost" may resolve to ::1 first
        stream = await TCPClient().connect("localhost", server.getsockname()[1])
        assert stream.socket.getpeername()[0] == "127.0.0.1"
        stream.close()
        server.close()

    run(test)


def test_refused_connection_is_a_stream_closed_error() -> None:
    async def test() -> None:
        probe = listener()
        port = probe.getsockname()[1]
        probe.close()
        with pytest.raises(StreamClosedError) as info:
            await TCPClient().connect("127.0.0.1", port, af=socket.AF_INET)
        assert isinstance(info.value.real_error, ConnectionRefusedError)

    run(test)


def test_timeout_covers_the_tls_handshake() -> None:
    async def test() -> None:
        server = listener()  # accepts (backlog) but never answers the TLS hello
        context = ssl.create_default_context()
        for timeout in (0.2, datetime.timedelta(seconds=0.2)):
            with pytest.raises(TimeoutError):
                await TCPClient().connect("127.0.0.1", server.getsockname()[1], ssl_options=context, timeout=timeout)
        with pytest.raises(TypeError):
            await TCPClient().connect("127.0.0.1", server.getsockname()[1], timeout="soon")  # type: ignore[arg-type]
        server.close()

    run(test)


def test_source_ip_and_port_are_bound() -> None:
    async def test() -> None:
        server = listener()
        probe = listener()
        source_port = probe.getsockname()[1]
        probe.close()
        stream = await TCPClient().connect("127.0.0.1", server.getsockname()[1], source_ip="127.0.0.1", source_port=source_port)
        assert stream.socket.getsockname() == ("127.0.0.1", source_port)
        stream.close()
        only_port = await TCPClient().connect("127.0.0.1", server.getsockname()[1], source_port=0, source_ip="127.0.0.1")
        assert only_port.socket.getsockname()[0] == "127.0.0.1"
        only_port.close()
        server.close()

    run(test)


def test_tls_connect_checks_the_certificate(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate

    async def test() -> None:
        from framework.netutil import bind_sockets
        from framework.tcpserver import TCPServer

        class Quiet(TCPServer):
            def handle_stream(self, stream: IOStream, address: object) -> None:
                stream.read_until_close()

        sockets = bind_sockets(0, "127.0.0.1")
        server = Quiet(ssl_options={"certfile": str(cert), "keyfile": str(key)})
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        with pytest.raises(StreamClosedError) as info:
            await TCPClient().connect("127.0.0.1", port, ssl_options={})  # system CAs only
        assert isinstance(info.value.real_error, ssl.SSLError)
        stream = await TCPClient().connect("127.0.0.1", port, ssl_options={"ca_certs": str(cert)})
        stream.close()
        server.stop()

    run(test)


def test_a_resolver_decides_where_a_name_connects() -> None:
    """Tornado's ``TCPClient(resolver=...)``: an ``OverrideResolver`` sends a made-up name to the listener."""

    async def test() -> None:
        from framework.netutil import OverrideResolver, Resolver

        server = listener()
        port = server.getsockname()[1]
        resolver = OverrideResolver(resolver=Resolver(), mapping={("service.invalid", 80): ("127.0.0.1", port)})
        client = TCPClient(resolver=resolver)
        stream = await client.connect("service.invalid", 80)
        assert stream.socket.getpeername() == ("127.0.0.1", port)
        stream.close()
        client.close()  # the resolver stays the caller's
        assert await resolver.resolve("127.0.0.1", 1) == [(socket.AF_INET, ("127.0.0.1", 1))]
        server.close()

    run(test)


def test_a_resolver_that_finds_nothing_is_a_closed_stream() -> None:
    class Nothing:
        async def resolve(
            self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
        ) -> list[tuple[int, object]]:
            return []

    async def test() -> None:
        with pytest.raises(StreamClosedError):
            await TCPClient(resolver=Nothing()).connect("anything.invalid", 1)

    run(test)


class Recording:
    """A resolver that records what it was asked and sends every name to one port of 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.calls: list[tuple[str, int, socket.AddressFamily]] = []
        self.closed = False

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, object]]:
        self.calls.append((host, port, family))
        return [(socket.AF_INET, ("127.0.0.1", self.port))]

    def close(self) -> None:
        self.closed = True


def test_a_given_resolver_is_used_and_left_open() -> None:
    async def test() -> None:
        server = listener()
        resolver = Recording(server.getsockname()[1])
        client = TCPClient(resolver=resolver)
        stream = await client.connect("example.invalid", 80)
        assert resolver.calls == [("example.invalid", 80, socket.AF_UNSPEC)]
        assert stream.socket.getpeername() == ("127.0.0.1", resolver.port)
        stream.close()
        client.close()
        assert not resolver.closed
        server.close()

    run(test)


def test_resolver_configure_chooses_what_a_plain_tcpclient_uses() -> None:
    """As in Tornado, ``TCPClient()`` builds ``netutil.Resolver()``, owns it, and closes it."""
    from framework.netutil import Resolver

    made: list[Configured] = []

    class Configured(Resolver):
        def initialize(self, port: int) -> None:
            self.port = port
            self.closed = False
            made.append(self)

        async def resolve(
            self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
        ) -> list[tuple[int, object]]:
            return [(socket.AF_INET, ("127.0.0.1", self.port))]

        def close(self) -> None:
            self.closed = True

    async def test() -> None:
        server = listener()
        saved = Resolver._save_configuration()
        Resolver.configure(Configured, port=server.getsockname()[1])
        try:
            client = TCPClient()
        finally:
            Resolver._restore_configuration(saved)
        assert made == [client.resolver]
        stream = await client.connect("example.invalid", 80)
        assert stream.socket.getpeername() == server.getsockname()
        stream.close()
        client.close()
        assert made[0].closed
        server.close()

    run(test)

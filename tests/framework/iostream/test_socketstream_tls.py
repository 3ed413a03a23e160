"""Tests for framework/iostream/socketstream.py over TLS: ``SSLIOStream`` and ``start_tls``, on 127.0.0.1.

The certificate is the session's self-signed one (``tests/conftest.py``).
Each test runs its own loop, bounded in time.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import pytest

from framework.iostream import (
    SSLIOStream,
    StreamClosedError,
)
from tests.framework.harness import run
from tests.framework.iostream.pairs import pair


def client_context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


async def tls_pair(certificate: tuple[Path, Path]) -> tuple[SSLIOStream, SSLIOStream]:
    cert, key = certificate
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    client = SSLIOStream(socket.socket(), ssl_options=client_context(cert))
    connecting = client.connect(listener.getsockname())
    accepted, _ = await asyncio.get_running_loop().sock_accept(listener)
    listener.close()
    server = SSLIOStream(accepted, ssl_options={"certfile": str(cert), "keyfile": str(key)})
    await connecting
    await server.wait_for_handshake()
    return server, client


def test_ssl_streams_talk_over_tls(certificate: tuple[Path, Path]) -> None:
    async def test() -> None:
        server, client = await tls_pair(certificate)
        await client.write(b"secret\n")
        assert await server.read_until(b"\n") == b"secret\n"
        payload = b"s" * (2 * 1024 * 1024)
        writing = server.write(payload)
        assert await client.read_bytes(len(payload)) == payload
        await writing
        client.close()
        assert await server.read_until_close() == b""

    run(test)


def test_ssl_connect_to_an_untrusted_server_fails(certificate: tuple[Path, Path]) -> None:
    async def test() -> None:
        cert, key = certificate
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        client = SSLIOStream(socket.socket())  # system CAs: our self-signed cert is not among them
        connecting = client.connect(listener.getsockname())
        accepted, _ = await asyncio.get_running_loop().sock_accept(listener)
        server = SSLIOStream(accepted, ssl_options={"certfile": str(cert), "keyfile": str(key)})
        with pytest.raises(StreamClosedError) as info:
            await connecting
        assert isinstance(info.value.real_error, ssl.SSLError)
        server.close()
        listener.close()

    run(test)


def test_start_tls_upgrades_both_ends(certificate: tuple[Path, Path]) -> None:
    async def test() -> None:
        cert, key = certificate
        server, client = await pair()
        await client.write(b"STARTTLS\n")
        assert await server.read_until(b"\n") == b"STARTTLS\n"
        closed = asyncio.Event()
        server.set_close_callback(closed.set)
        server_tls = server.start_tls(True, {"certfile": str(cert), "keyfile": str(key)})
        client_tls = client.start_tls(False, client_context(cert), server_hostname="127.0.0.1")
        secure_server, secure_client = await server_tls, await client_tls
        assert isinstance(secure_server, SSLIOStream) and isinstance(secure_client, SSLIOStream)
        await secure_client.write(b"over tls\n")
        assert await secure_server.read_until(b"\n") == b"over tls\n"
        secure_client.close()
        await closed.wait()  # the close callback moved to the TLS stream

    run(test)


def test_start_tls_needs_an_idle_stream(certificate: tuple[Path, Path]) -> None:
    async def test() -> None:
        server, client = await pair()
        reading = server.read_bytes(1)
        with pytest.raises(ValueError, match="not idle"):
            server.start_tls(True, {"certfile": str(certificate[0]), "keyfile": str(certificate[1])})
        server.close()
        with pytest.raises(StreamClosedError):
            await reading
        client.close()

    run(test)

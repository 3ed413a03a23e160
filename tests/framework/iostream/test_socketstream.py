"""Tests for framework/iostream/socketstream.py: ``IOStream``'s connect, over real sockets on 127.0.0.1.

Its TLS side (``SSLIOStream``, ``start_tls``) is in ``test_socketstream_tls.py``.
Each test runs its own loop, bounded in time.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from framework.iostream import (
    IOStream,
    StreamClosedError,
)
from tests.framework.harness import run


def test_connect_failure_is_a_stream_closed_error() -> None:
    async def test() -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        address = probe.getsockname()
        probe.close()  # nothing listens there now
        stream = IOStream(socket.socket())
        with pytest.raises(StreamClosedError) as info:
            await stream.connect(address)
        assert isinstance(info.value.real_error, ConnectionRefusedError)
        assert stream.closed()

    run(test)


def test_writes_and_reads_may_start_before_connect_finishes() -> None:
    async def test() -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        client = IOStream(socket.socket())
        connected = client.connect(listener.getsockname())
        client.write(b"early\n")
        reply = client.read_until(b"\n")
        accepted, _ = await asyncio.get_running_loop().sock_accept(listener)
        server = IOStream(accepted)
        assert await server.read_until(b"\n") == b"early\n"
        await server.write(b"back\n")
        assert await connected is client
        assert await reply == b"back\n"
        client.set_nodelay(True)
        assert client.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        client.set_nodelay(False)
        assert not client.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert client.fileno() >= 0
        listener.close()
        server.close()
        client.close()

    run(test)

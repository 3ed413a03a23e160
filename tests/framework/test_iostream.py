"""``framework/iostream/`` over real sockets on 127.0.0.1; each test runs its own loop, bounded in time."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

from framework.iostream import (
    IOStream,
    PipeIOStream,
    SSLIOStream,
    StreamBufferFullError,
    StreamClosedError,
    UnsatisfiableReadError,
    ssl_options_to_context,
)
from tests.framework.harness import run


async def pair(**options: Any) -> tuple[IOStream, IOStream]:
    """An accepted stream and a connected client stream, both with ``options``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    client = IOStream(socket.socket(), **options)
    connecting = client.connect(listener.getsockname())
    accepted, _ = await asyncio.get_running_loop().sock_accept(listener)
    listener.close()
    await connecting
    return IOStream(accepted, **options), client


def test_read_until_returns_data_through_the_delimiter() -> None:
    async def test() -> None:
        server, client = await pair()
        await client.write(b"first\nsecond\n")
        assert await server.read_until(b"\n") == b"first\n"
        assert await server.read_until(b"\n") == b"second\n"
        reading = server.read_until(b"\r\n")
        for piece in (b"sp", b"lit\r", b"\nrest"):
            await client.write(piece)
        assert await reading == b"split\r\n"
        assert await server.read_bytes(4) == b"rest"
        server.close()
        client.close()

    run(test)


def test_read_until_beyond_max_bytes_closes_with_an_unsatisfiable_read() -> None:
    async def test() -> None:
        server, client = await pair()
        await client.write(b"123456")
        with pytest.raises(StreamClosedError) as info:
            await server.read_until(b"def", max_bytes=5)
        assert isinstance(info.value.real_error, UnsatisfiableReadError)
        assert server.closed()
        client.close()

    run(test)


def test_read_until_within_max_bytes_succeeds() -> None:
    async def test() -> None:
        server, client = await pair()
        await client.write(b"abcdef")
        assert await server.read_until(b"def", max_bytes=6) == b"abcdef"
        server.close()
        client.close()

    run(test)


def test_read_until_regex() -> None:
    async def test() -> None:
        server, client = await pair()
        await client.write(b"HEAD 42 tail")
        assert await server.read_until_regex(rb"\d+") == b"HEAD 42"
        with pytest.raises(StreamClosedError):
            await server.read_until_regex(rb"\d", max_bytes=3)
        client.close()

    run(test)


def test_read_bytes_whole_and_partial() -> None:
    async def test() -> None:
        server, client = await pair()
        await client.write(b"abc")
        assert await server.read_bytes(10, partial=True) == b"abc"
        await client.write(b"defgh")
        assert await server.read_bytes(2) == b"de"
        assert await server.read_bytes(0) == b""
        assert await server.read_bytes(3) == b"fgh"
        with pytest.raises(ValueError):
            server.read_bytes(-1)
        server.close()
        client.close()

    run(test)


def test_read_into_fills_a_buffer() -> None:
    async def test() -> None:
        server, client = await pair()
        buf = bytearray(4)
        reading = server.read_into(buf)
        await client.write(b"ab")
        await asyncio.sleep(0.01)
        assert not reading.done()
        await client.write(b"cdef")
        assert await reading == 4 and buf == b"abcd"
        small = bytearray(10)
        assert await server.read_into(small, partial=True) == 2 and small[:2] == b"ef"
        server.close()
        client.close()

    run(test)


def test_read_until_close_returns_everything_and_buffered_data_outlives_the_close() -> None:
    async def test() -> None:
        server, client = await pair()
        await client.write(b"all of it")
        client.close()
        assert await server.read_until_close() == b"all of it"
        assert server.closed()
        assert await server.read_until_close() == b""
        server2, client2 = await pair()
        await client2.write(b"line\nhalf")
        client2.close()
        await asyncio.sleep(0.05)
        assert await server2.read_until(b"\n") == b"line\n"  # read after the peer closed
        assert await server2.read_bytes(100, partial=True) == b"half"
        with pytest.raises(StreamClosedError):
            await server2.read_until(b"\n")

    run(test)


def test_a_second_read_while_one_is_pending_is_refused() -> None:
    async def test() -> None:
        server, client = await pair()
        pending = server.read_bytes(1)
        with pytest.raises(RuntimeError, match="Already reading"):
            server.read_until(b"\n")
        server.close()
        with pytest.raises(StreamClosedError):
            await pending
        client.close()

    run(test)


def test_close_callback_runs_once_when_the_peer_closes() -> None:
    async def test() -> None:
        server, client = await pair()
        closed = asyncio.Event()
        calls: list[int] = []

        def on_close() -> None:
            calls.append(1)
            closed.set()

        server.set_close_callback(on_close)
        client.close()
        await closed.wait()
        await asyncio.sleep(0.01)
        assert calls == [1] and server.closed()
        late = asyncio.Event()
        server.set_close_callback(late.set)  # already closed: called anyway
        await late.wait()

    run(test)


def test_writes_after_close_raise_with_the_real_error() -> None:
    async def test() -> None:
        server, client = await pair()
        server.close(exc_info=ConnectionResetError("gone"))
        with pytest.raises(StreamClosedError) as info:
            server.write(b"x")
        assert isinstance(info.value.real_error, ConnectionResetError)
        assert isinstance(server.error, ConnectionResetError)
        client.close()

    run(test)


def test_a_large_write_resolves_once_the_peer_has_taken_it() -> None:
    async def test() -> None:
        server, client = await pair()
        payload = b"x" * (8 * 1024 * 1024)
        writing = client.write(payload)
        await asyncio.sleep(0.01)
        assert not writing.done() and client.writing()
        received = await server.read_bytes(len(payload))
        await writing
        assert received == payload and not client.writing()
        server.close()
        client.close()

    run(test)


def test_a_peer_that_outruns_the_reader_is_held_back_not_buffered() -> None:
    async def test() -> None:
        server, client = await pair(read_chunk_size=4096)
        writing = client.write(b"y" * (8 * 1024 * 1024))
        await asyncio.sleep(0.2)
        # Nobody reads on the server side: it stopped reading after a chunk or so.
        assert len(server._buffer) < 1024 * 1024
        assert not writing.done()
        assert len(await server.read_bytes(8 * 1024 * 1024)) == 8 * 1024 * 1024
        await writing
        server.close()
        client.close()

    run(test)


def test_a_read_that_overflows_max_buffer_size_closes_the_stream() -> None:
    async def test() -> None:
        server, client = await pair(max_buffer_size=1024)
        reading = server.read_until(b"\n")
        client.write(b"z" * 4096)
        with pytest.raises(StreamClosedError) as info:
            await reading
        assert isinstance(info.value.real_error, StreamBufferFullError)
        client.close()

    run(test)


def test_max_write_buffer_size_refuses_a_write_that_would_overflow() -> None:
    async def test() -> None:
        server, client = await pair(max_write_buffer_size=1024 * 1024)
        with pytest.raises(StreamBufferFullError):
            for _ in range(100):  # the kernel takes a few MiB first; then the limit holds
                client.write(b"w" * (512 * 1024))
        server.close()
        client.close()

    run(test)


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


# -- TLS ---------------------------------------------------------------------------


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


def test_ssl_options_dict_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown ssl_options"):
        ssl_options_to_context({"certfil": "x"}, server_side=True)
    context = ssl_options_to_context({"cert_reqs": ssl.CERT_NONE}, server_side=False)
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


# -- pipes -------------------------------------------------------------------


def test_a_pipe_carries_bytes_from_its_write_end_to_its_read_end() -> None:
    async def test() -> None:
        read_fd, write_fd = os.pipe()
        reader, writer = PipeIOStream(read_fd), PipeIOStream(write_fd)
        assert reader.fileno() == read_fd
        await writer.write(b"first line\nthe rest")
        assert await reader.read_until(b"\n") == b"first line\n"
        writer.close()  # the reader sees the end of the pipe
        assert await reader.read_until_close() == b"the rest"
        assert reader.closed()

    run(test)


def test_a_pipe_stream_closed_at_once_still_closes_its_descriptor() -> None:
    async def test() -> None:
        read_fd, write_fd = os.pipe()
        PipeIOStream(write_fd).close()
        reader = PipeIOStream(read_fd)
        assert await reader.read_until_close() == b""

    run(test)


def test_writing_to_the_read_end_closes_the_stream_with_ebadf() -> None:
    async def test() -> None:
        read_fd, write_fd = os.pipe()
        reader = PipeIOStream(read_fd)
        with pytest.raises(StreamClosedError) as info:
            reader.write(b"wrong way")
        assert isinstance(info.value.real_error, OSError) and info.value.real_error.errno == errno.EBADF
        assert reader.closed()
        os.close(write_fd)

    run(test)


def test_the_write_end_notices_the_reader_going_away() -> None:
    async def test() -> None:
        read_fd, write_fd = os.pipe()
        writer = PipeIOStream(write_fd)
        gone = asyncio.Event()
        writer.set_close_callback(gone.set)
        await writer.write(b"x")
        os.close(read_fd)
        await gone.wait()
        with pytest.raises(StreamClosedError):
            writer.write(b"y")

    run(test)

"""Tests for framework/iostream/base.py: reads, writes, buffers and the close, over real sockets on 127.0.0.1.

``BaseIOStream`` holds the read buffer, the one pending read, write flow
control and the close; these tests drive it through ``IOStream`` pairs. Each
test runs its own loop, bounded in time.
"""

from __future__ import annotations

import asyncio

import pytest

from framework.iostream import (
    StreamBufferFullError,
    StreamClosedError,
    UnsatisfiableReadError,
)
from tests.framework.harness import run
from tests.framework.iostream.pairs import pair


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

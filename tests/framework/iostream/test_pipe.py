"""Tests for framework/iostream/pipe.py: ``PipeIOStream`` on both ends of an ``os.pipe()``.

Each test runs its own loop, bounded in time.
"""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

from framework.iostream import (
    PipeIOStream,
    StreamClosedError,
)
from tests.framework.harness import run


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

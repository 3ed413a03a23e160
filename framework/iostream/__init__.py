"""Byte streams over TCP and TLS with Tornado's ``IOStream`` API, on asyncio transports.

Mirrors ``tornado.iostream`` for code that speaks its own protocol over TCP
(``TCPServer.handle_stream``, ``TCPClient.connect``): ``read_until``,
``read_until_regex``, ``read_bytes``, ``read_into``, ``read_until_close``,
``write``, ``start_tls``. The HTTP server does not use it (its connections are
asyncio protocols of their own); ``StreamClosedError`` is also what HTTP
handlers catch when the client has gone. No HTTP here.

Strategy: a stream owns one asyncio ``Protocol`` whose callbacks feed a read
buffer; at most one read is pending, and after every change (data, a new
read, the close) the pending read is checked against the buffer. Reading from
the socket goes on while a read is waiting for more, or until ``read_chunk_size``
bytes are buffered ahead of any read; then the transport is paused
(``pause_reading``), so a peer that sends faster than the application reads
is held back by TCP instead of filling memory. A read that cannot be satisfied
within ``max_buffer_size`` closes the stream. Writes go straight to the
transport; the write limits are set to zero so that asyncio calls
``resume_writing`` exactly when its buffer is empty, which is when write
futures resolve.

Differences from Tornado: a write's future resolves when the transport's whole
buffer has drained (Tornado tracks each write's own end); a second read while
one is pending raises ``RuntimeError`` (Tornado: ``AssertionError``);
``SSLIOStream`` takes a plain socket (the TLS layer is asyncio's, not an
``ssl.SSLSocket``); a read failing because the buffer filled fails with
``StreamClosedError`` whose ``real_error`` is the ``StreamBufferFullError``.
``PipeIOStream`` serves one end of a pipe (a subprocess's stdin, stdout or
stderr: ``process.Subprocess``) through asyncio's pipe transports.

A package that only re-exports (Tornado's ``tornado.iostream`` path). Modules
behind it: ``errors`` (``StreamClosedError``, ``UnsatisfiableReadError``,
``StreamBufferFullError``), ``base`` (``BaseIOStream`` with its read buffer,
pending read and asyncio protocol; ``DEFAULT_MAX_BUFFER_SIZE``,
``DEFAULT_READ_CHUNK_SIZE``), ``socketstream`` (``IOStream`` and
``SSLIOStream``), ``tls`` (``ssl_options_to_context``), ``pipe``
(``PipeIOStream``) and ``futures`` (the loop streams run on, and settling
their futures once). Imports point one way: ``errors``, ``futures`` and
``tls`` import no sibling; ``base`` imports ``errors`` and ``futures``;
``socketstream`` and ``pipe`` build on ``base``. From the rest of the
framework only ``ioloop`` is imported.
"""

from framework.iostream.base import DEFAULT_MAX_BUFFER_SIZE as DEFAULT_MAX_BUFFER_SIZE
from framework.iostream.base import DEFAULT_READ_CHUNK_SIZE as DEFAULT_READ_CHUNK_SIZE
from framework.iostream.base import BaseIOStream as BaseIOStream
from framework.iostream.base import ExcInfo as ExcInfo
from framework.iostream.base import gen_log as gen_log
from framework.iostream.errors import StreamBufferFullError as StreamBufferFullError
from framework.iostream.errors import StreamClosedError as StreamClosedError
from framework.iostream.errors import UnsatisfiableReadError as UnsatisfiableReadError
from framework.iostream.pipe import PipeIOStream as PipeIOStream
from framework.iostream.socketstream import IOStream as IOStream
from framework.iostream.socketstream import SSLIOStream as SSLIOStream
from framework.iostream.tls import ssl_options_to_context as ssl_options_to_context

__all__ = [
    "BaseIOStream",
    "IOStream",
    "PipeIOStream",
    "SSLIOStream",
    "StreamBufferFullError",
    "StreamClosedError",
    "UnsatisfiableReadError",
    "ssl_options_to_context",
]

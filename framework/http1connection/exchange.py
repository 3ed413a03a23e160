"""The ``HTTPConnection`` of one request on a server connection: Tornado's ``HTTP1Connection``.

What a handler writes through (``write_headers``, ``write``, ``finish``, or
``finish_prepared`` for a whole response at once): it decides the response's
framing with ``http1``, serialises the head there, and hands the bytes to its
connection's protocol (``protocol.HTTP1ServerProtocol``), which writes or corks
them and moves on to the next request when the response is finished. A fresh
object per request, so a handler that writes after its response finished
cannot write into the next pipelined one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from framework import http1
from framework.httputil import HTTPConnection, HTTPHeaders, HTTPOutputError, ResponseStartLine
from framework.iostream import IOStream
from framework.serverstate import BodyClock, ConnectionContext, ServerConfig

__all__ = ["ConnectionProtocol", "HTTP1Connection"]

gen_log = logging.getLogger("framework.general")


class ConnectionProtocol(Protocol):
    """What an exchange uses of its connection (``protocol.HTTP1ServerProtocol``).

    Named here so that this module need not import ``protocol`` (which imports
    it), not even for types.
    """

    config: ServerConfig
    parser: http1.RequestParser
    current: HTTP1Connection | None
    draining: bool
    request_complete: bool
    body: BodyClock | None

    def send(self, data: bytes) -> Awaitable[None]:
        """Write (or cork) the bytes; the result completes when the transport wants more."""

    def response_finished(self, conn: HTTP1Connection) -> None:
        """The response of ``conn`` is complete: close, or go on to the next request."""

    def close(self) -> None:
        """Close after what was written is sent."""

    def detach(
        self, conn: HTTP1Connection, on_server_drain: Callable[[], object] | None = None
    ) -> tuple[asyncio.Transport, bytes]:
        """Give up the transport to another protocol (see ``HTTP1Connection.detach_transport``)."""


class HTTP1Connection(HTTPConnection):
    """The ``HTTPConnection`` of one request on a connection.

    A fresh object per request, so a handler that writes after its response
    finished cannot write into the next pipelined response.
    """

    __slots__ = (
        "_proto",
        "context",
        "_method",
        "_target",
        "_version",
        "_request_keep_alive",
        "expect_continue",
        "_headers_written",
        "_finished",
        "_chunked",
        "_expected",
        "_written",
        "_close_callback",
        "keep_alive",
    )

    def __init__(self, proto: ConnectionProtocol, context: ConnectionContext, head: http1.RequestHead) -> None:
        self._proto = proto
        self.context = context
        # What the response needs of the request's head, not the head itself:
        # it would live as long as the response takes, with its list of
        # pairs (a long poll's whole wait: loadtest/longpoll_fanout.py).
        self._method = head.method
        self._target = head.target
        self._version = head.version
        self._request_keep_alive = head.keep_alive
        #: The request asked for ``100 Continue`` before its body.
        self.expect_continue = head.expect_continue
        self._headers_written = False
        self._finished = False
        self._chunked = False
        self._expected: int | None = None
        self._written = 0
        self._close_callback: Callable[[], None] | None = None
        self.keep_alive = False

    # Tornado's HTTP1Connection API used by applications.

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` if the connection closes before the response finished."""
        self._close_callback = callback

    def set_max_body_size(self, max_body_size: int) -> None:
        """Change the body limit for this request (before its body is read).

        Once the body is all read there is nothing left to limit, and the
        connection's parser may already be another request's (pipelined) or
        the server's shared idle one: the call then changes nothing.
        """
        proto = self._proto
        if proto.current is self and not proto.request_complete:
            proto.parser.set_max_body_size(max_body_size)

    def set_body_timeout(self, timeout: float) -> None:
        """Change the body inactivity timeout for this request (nothing once its body is in, or without one)."""
        proto = self._proto
        if proto.current is self and proto.body is not None:
            proto.body.timeout = timeout

    def close(self) -> None:
        """Close the connection (after flushing what was written); the request is abandoned."""
        if self._proto.current is self:
            self._proto.close()

    def detach_transport(self, on_server_drain: Callable[[], object] | None = None) -> tuple[asyncio.Transport, bytes]:
        """Hand the connection to another protocol, as a WebSocket does after its 101.

        The server stops parsing and timing the connection; the caller installs
        its own protocol with ``transport.set_protocol()``. The server still
        knows the transport for a graceful drain: ``on_server_drain`` is called
        then (a WebSocket sends its close frame), and the transport is aborted
        if it is still open when the drain times out.

        Returns:
            The transport and the bytes already received after this request.

        Raises:
            RuntimeError: this request is not the connection's current one,
                or the connection is closed.
        """
        return self._proto.detach(self, on_server_drain)

    def detach(self) -> IOStream:
        """Take the connection over as an ``IOStream``; HTTP stops here (Tornado's ``HTTP1Connection.detach``).

        Bytes the client sent after this request come first on the stream.

        Raises:
            RuntimeError: see ``detach_transport``.
        """
        transport, received = self.detach_transport()
        return IOStream.from_transport(transport, received)

    def write_headers(self, start_line: ResponseStartLine, headers: HTTPHeaders, chunk: bytes | None = None) -> Awaitable[None]:
        """Frame and send the response head (and first chunk) in one write.

        Raises:
            ValueError: a header name or value is unsafe (CR, LF, NUL).
            RuntimeError: headers were already written.
        """
        if self._headers_written:
            raise RuntimeError("write_headers() called twice")
        proto = self._proto
        # Speed (bench_inprocess): the three framing fields are read from the
        # lower-case dict directly (HTTPHeaders.get's rule: values joined by
        # commas), not with three HTTPHeaders.get calls.
        fields = headers.fields
        length = fields.get("content-length")
        # By position (see frame_response): method, version, status,
        # content_length, transfer_encoding, connection, keep_alive.
        framing = http1.frame_response(
            self._method,
            self._version,
            start_line.code,
            None if length is None else length[0] if len(length) == 1 else ",".join(length),
            headers.get("Transfer-Encoding") if "transfer-encoding" in fields else None,
            headers.get("Connection") if "connection" in fields else None,
            self._request_keep_alive and proto.request_complete and not proto.draining and not proto.config.no_keep_alive,
        )
        if chunk and framing.length is not None and framing.has_body and len(chunk) > framing.length:
            raise HTTPOutputError(f"{len(chunk)} body bytes for Content-Length {framing.length}")
        # Nothing is committed until the head serialised: after a ValueError
        # the handler may answer again (a 500) with a different framing.
        data = http1.serialize_response_fields(
            start_line.code, fields, extra=framing.extra_headers, reason=start_line.reason or None
        )
        self._chunked, self._expected, self.keep_alive = framing.chunked, framing.length, framing.keep_alive
        self._headers_written = True
        if chunk and framing.has_body:
            # What _frame() does; the length was checked above.
            self._written = len(chunk)
            data += http1.encode_chunk(chunk) if framing.chunked else chunk
        return proto.send(data)

    def finish_prepared(
        self,
        status: int,
        reason: str,
        prepared: http1.PreparedFields,
        fields: Sequence[tuple[str, str]],
        body: bytes,
    ) -> Awaitable[None]:
        """Send a whole response of prepared fields in one write, framed without a header map, and finish it.

        What ``write_headers`` and ``finish`` send of the same fields and body
        (``HTTPConnection.finish_prepared``; an empty reason is the status's
        own phrase there too); ``http1`` frames and checks it. One call for
        what is most responses, from the handler's ``finish()``.

        Raises:
            ValueError: a status without a body (1xx, 204, 304), or a name,
                value or reason that is unsafe.
            RuntimeError: headers were already written.
        """
        if self._headers_written:
            raise RuntimeError("write_headers() called twice")
        proto = self._proto
        # write_headers' keep-alive rule and commit, inline there and here (a call each less).
        keep_alive = self._request_keep_alive and proto.request_complete and not proto.draining and not proto.config.no_keep_alive
        reason = reason or http1.reason_phrase(status)
        data = None
        if keep_alive:
            data = http1.usual_prepared_response(self._method, self._version, status, reason, prepared.block, fields, body, True)
        if data is not None:  # (framed as usual: kept open, the whole body counted by its length)
            self._expected = self._written = len(body)
            self.keep_alive = True
        else:
            data, framing = http1.prepared_response(
                self._method, self._version, status, reason, prepared, fields, body, keep_alive
            )
            self._chunked, self._expected, self.keep_alive = framing.chunked, framing.length, framing.keep_alive
            if framing.has_body:
                self._written = len(body)
        self._headers_written = self._finished = True
        self._close_callback = None  # (finish()'s reason: no cycle through the handler)
        result = proto.send(data)
        proto.response_finished(self)
        return result

    def write(self, chunk: bytes) -> Awaitable[None]:
        """Send a body chunk, framed as the headers decided."""
        if not self._headers_written or self._finished:
            raise RuntimeError("write() before write_headers() or after finish()")
        if not chunk:
            return self._proto.send(b"")
        return self._proto.send(self._frame(chunk))

    def _frame(self, chunk: bytes) -> bytes:
        self._written += len(chunk)
        if self._expected is not None and self._written > self._expected:
            self.keep_alive = False
            raise HTTPOutputError(f"wrote {self._written} body bytes, Content-Length is {self._expected}")
        return http1.encode_chunk(chunk) if self._chunked else chunk

    def finish(self) -> None:
        """Complete the response; the server moves on to the next request or closes."""
        if self._finished:
            return
        self._finished = True
        # The close callback is a bound method of the handler, which holds
        # the request, which holds this connection: a reference cycle the
        # cyclic GC would have to find. Nothing calls it after the response
        # finished, so drop it (bench_inprocess: 23 unreachable objects per
        # request before, 0 after).
        self._close_callback = None
        if not self._headers_written:
            raise RuntimeError("finish() before write_headers()")
        if self._chunked:
            self._proto.send(http1.LAST_CHUNK)
        elif self._expected is not None and self._written != self._expected:
            gen_log.warning(
                "response to %s %s had %d body bytes, Content-Length said %d; closing",
                self._method,
                self._target,
                self._written,
                self._expected,
            )
            self.keep_alive = False
        self._proto.response_finished(self)

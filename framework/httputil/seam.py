"""The seam between server and application (Tornado's shape).

The server calls ``HTTPServerConnectionDelegate.start_request`` once per
request and drives the returned ``HTTPMessageDelegate``; the application
answers through the ``HTTPConnection`` verbs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from framework import http1
from framework.httputil.headers import HTTPHeaders
from framework.httputil.startline import RequestStartLine, ResponseStartLine


class HTTPConnection:
    """The verbs an application uses to answer one request (Tornado's ``HTTPConnection``).

    The server implements it; tests may implement it over a fake transport.
    Empty ``__slots__``, so that an implementation with slots of its own
    carries no ``__dict__`` (one is made per request and lives as long as
    it: loadtest/longpoll_fanout.py); a subclass without them gets one.
    """

    __slots__ = ()

    def write_headers(
        self,
        start_line: ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> Awaitable[None]:
        """Send the status line and headers, optionally with the first body chunk.

        Returns:
            An awaitable that completes when the transport can take more data.
        """
        raise NotImplementedError()

    def finish_prepared(
        self, status: int, reason: str, prepared: http1.PreparedFields, fields: Sequence[tuple[str, str]], body: bytes
    ) -> Awaitable[None] | None:
        """Send a whole response on prepared fields and finish it, or None if this connection cannot (Not in Tornado).

        Args: as ``http1.prepared_response`` (the server's connection frames
        it so); ``fields`` are the response's own, after the prepared ones.

        Returns:
            As ``write_headers``, once the response is finished as by
            ``finish``; None here, with nothing sent: the caller sends the
            same fields through ``write_headers`` and ``finish`` instead.
        """
        return None

    def write(self, chunk: bytes) -> Awaitable[None]:
        """Send a body chunk (framed as the headers decided)."""
        raise NotImplementedError()

    def finish(self) -> None:
        """The response is complete."""
        raise NotImplementedError()

    def set_max_body_size(self, max_body_size: int) -> None:
        """Change this request's body limit; bytes beyond it are a 413 (Tornado's, on ``HTTP1Connection``).

        Takes effect for the body still to come: call it from
        ``headers_received`` or a streaming handler's ``prepare()``. A
        connection that reads no body (a fake in tests) may ignore it.
        """

    def set_body_timeout(self, timeout: float) -> None:
        """Change how long this request's body may stall (Tornado's, on ``HTTP1Connection``)."""

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` if the client goes away before the response is finished (Tornado's).

        A connection that cannot close early (a fake in tests) may ignore it.
        """

    def detach_transport(self, on_server_drain: Callable[[], object] | None = None) -> tuple[asyncio.Transport, bytes]:
        """Give the transport to another protocol (a WebSocket after its 101, ``RequestHandler.detach``).

        Not in Tornado, whose connections hand over an ``IOStream``
        (``detach()``): here the transport is what another protocol takes.

        Returns:
            The transport and the bytes received after this request.

        Raises:
            NotImplementedError: this connection cannot be handed over.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot hand its transport to another protocol")


class HTTPMessageDelegate:
    """Receives one request as it arrives (Tornado's ``HTTPMessageDelegate``).

    ``headers_received`` and ``data_received`` may return an awaitable: the
    server reads no further from the connection until it completes, which is
    the flow control that lets a streaming handler write to disk at its pace.
    Empty ``__slots__``, as on ``HTTPConnection`` and for the same reason.
    """

    __slots__ = ()

    def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> Awaitable[None] | None:
        """The request line and headers have arrived."""
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """A piece of the body has arrived."""
        return None

    def finish(self) -> None:
        """The whole request has arrived."""

    def on_connection_close(self) -> None:
        """The connection closed before the whole request arrived.

        As in Tornado, a delegate whose headers arrived gets either ``finish()``
        or this, never both: a client that leaves while the response is being
        prepared is told through ``HTTPConnection.set_close_callback``.
        """


class HTTPServerConnectionDelegate:
    """Creates a message delegate per request (Tornado's ``HTTPServerConnectionDelegate``)."""

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        """Return the delegate that will receive the request arriving on ``request_conn``."""
        raise NotImplementedError()

    def on_close(self, server_conn: object) -> None:
        """A connection closed."""

"""Opening TCP connections as ``IOStream``s (Tornado's ``tcpclient``).

Strategy (a "happy eyeballs lite", RFC 8305 in spirit): resolve the host, split
the addresses into the family of the first one (primary) and the other
(secondary). Primary addresses are tried one after another; if none has
connected after ``_SECONDARY_DELAY`` seconds (or the primary ones run out), the
secondary family starts in parallel. The first connection wins and every other
attempt is closed. Tornado does the same with the same 0.3 s delay. Names are
resolved by the ``resolver`` given (any object with Tornado's
``resolve(host, port, family)``, such as ``netutil.OverrideResolver``), else by
a ``netutil.Resolver()`` of the client's own, so ``Resolver.configure`` chooses
it, as in Tornado. No HTTP here.
"""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from collections.abc import Awaitable
from typing import Any, Protocol

from framework.iostream import (
    IOStream,
    SSLIOStream,
    StreamClosedError,
    ssl_options_to_context,
)
from framework.netutil import Resolver

__all__ = ["TCPClient"]

_SECONDARY_DELAY = 0.3
"""Seconds the primary address family has alone before the secondary one starts."""

Address = tuple[socket.AddressFamily, Any]


class Resolves(Protocol):
    """What ``TCPClient`` needs of a resolver: ``netutil.Resolver``'s one verb."""

    def resolve(self, host: str, port: int, family: socket.AddressFamily = ...) -> Awaitable[list[tuple[int, Any]]]:
        """``(family, address)`` pairs for ``host:port``."""
        ...


class TCPClient:
    """A factory of client connections (Tornado's ``TCPClient``).

    Args:
        resolver: resolves host names (``netutil.Resolver`` or anything
            with its ``resolve``); it stays the caller's, :meth:`close`
            leaves it open. None: a ``netutil.Resolver()`` of the client's
            own (whatever ``Resolver.configure`` chose; by default the
            event loop's ``getaddrinfo``), which :meth:`close` closes. As in
            Tornado.
    """

    def __init__(self, resolver: Resolves | None = None) -> None:
        self._own_resolver: Resolver | None = None
        if resolver is None:
            resolver = self._own_resolver = Resolver()
        self.resolver: Resolves = resolver

    def close(self) -> None:
        """Close the resolver this client made; a given one is the caller's to close (as in Tornado)."""
        if self._own_resolver is not None:
            self._own_resolver.close()

    async def connect(
        self,
        host: str,
        port: int,
        af: socket.AddressFamily = socket.AF_UNSPEC,
        ssl_options: ssl.SSLContext | dict[str, Any] | None = None,
        max_buffer_size: int | None = None,
        source_ip: str | None = None,
        source_port: int | None = None,
        timeout: float | datetime.timedelta | None = None,
    ) -> IOStream:
        """Connect to ``host:port`` and return the stream (an ``SSLIOStream`` with ``ssl_options``).

        Mirrors ``TCPClient.connect``. ``timeout`` covers resolving,
        connecting and the TLS handshake: seconds from now or a ``timedelta``.
        (Tornado's documentation calls a number an absolute loop time, but
        its code, which applications rely on, treats it as seconds from now;
        so does this.) ``source_port`` without ``source_ip`` binds to the
        loopback address of the family, as Tornado does.

        Raises:
            StreamClosedError: no address could be connected to (``real_error``
                holds the last error).
            TimeoutError: the timeout passed first.
            OSError: the host name could not be resolved.
            TypeError: ``timeout`` is neither a number nor a ``timedelta``.
        """
        if isinstance(timeout, datetime.timedelta):
            timeout = timeout.total_seconds()
        elif timeout is not None and not isinstance(timeout, (int, float)):
            raise TypeError(f"Unsupported timeout {timeout!r}")
        context = None if ssl_options is None else ssl_options_to_context(ssl_options, server_side=False)
        attempt = _Connector(host, context, max_buffer_size, source_ip, source_port)
        if timeout is None:
            return await self._connect(attempt, host, port, af)
        try:
            return await asyncio.wait_for(self._connect(attempt, host, port, af), timeout)
        except TimeoutError:
            raise TimeoutError("Timeout") from None

    async def _connect(self, attempt: _Connector, host: str, port: int, af: socket.AddressFamily) -> IOStream:
        return await attempt.run(await self._resolve(host, port, af))

    async def _resolve(self, host: str, port: int, af: socket.AddressFamily) -> list[Address]:
        pairs = await self.resolver.resolve(host, port, af)
        return [(socket.AddressFamily(family), address) for family, address in pairs]


class _Connector:
    """One ``connect`` call: its attempts, the winner, the last error."""

    def __init__(
        self,
        host: str,
        context: ssl.SSLContext | None,
        max_buffer_size: int | None,
        source_ip: str | None,
        source_port: int | None,
    ) -> None:
        self.host = host
        self.context = context
        self.max_buffer_size = max_buffer_size
        self.source_ip = source_ip
        self.source_port = source_port
        self.streams: list[IOStream] = []
        self.last_error: BaseException | None = None

    async def run(self, addresses: list[Address]) -> IOStream:
        if not addresses:
            raise StreamClosedError(real_error=OSError("no addresses to connect to"))
        primary = [a for a in addresses if a[0] == addresses[0][0]]
        secondary = [a for a in addresses if a[0] != addresses[0][0]]
        try:
            return await self._race(primary, secondary)
        finally:
            for stream in self.streams:  # every attempt but the winner (removed from the list)
                stream.close()

    async def _race(self, primary: list[Address], secondary: list[Address]) -> IOStream:
        first = asyncio.ensure_future(self._in_turn(primary))
        try:
            await asyncio.wait_for(asyncio.shield(first), _SECONDARY_DELAY)
        except (TimeoutError, StreamClosedError, OSError):
            pass
        if first.done() and not first.cancelled() and first.exception() is None:
            return first.result()
        second = asyncio.ensure_future(self._in_turn(secondary))
        pending = {first, second}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.exception() is None:
                        return task.result()
        finally:
            for task in pending:
                task.cancel()
        raise StreamClosedError(real_error=self.last_error)

    async def _in_turn(self, addresses: list[Address]) -> IOStream:
        """Try ``addresses`` one after the other; the first to connect is returned."""
        for family, address in addresses:
            stream = self._new_stream(family)
            if stream is None:
                continue
            self.streams.append(stream)
            try:
                await stream.connect(address, server_hostname=self.host)
            except StreamClosedError as error:
                self.last_error = error.real_error or error
                continue
            self.streams.remove(stream)
            return stream
        raise StreamClosedError(real_error=self.last_error)

    def _new_stream(self, family: socket.AddressFamily) -> IOStream | None:
        """A stream on a new socket of ``family``, bound to the source address if one was asked for."""
        sock = socket.socket(family, socket.SOCK_STREAM)
        source = self._source(family)
        if source is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(source)
            except OSError as error:
                sock.close()
                self.last_error = error
                return None
        if self.context is not None:
            return SSLIOStream(sock, ssl_options=self.context, max_buffer_size=self.max_buffer_size)
        return IOStream(sock, max_buffer_size=self.max_buffer_size)

    def _source(self, family: socket.AddressFamily) -> tuple[str, int] | None:
        if self.source_ip is None and not self.source_port:
            return None
        ip = self.source_ip
        if ip is None:
            ip = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        return (ip, self.source_port or 0)

"""Listening sockets (Tornado's ``netutil``): bind before forking, accept by hand if you must.

Strategy: a server that uses every core binds its sockets once, in the parent,
and then forks (``process.fork_processes``): each child inherits the same
listening sockets and the kernel hands each new connection to one of the
processes waiting in ``accept``. ``reuse_port=True`` is the other way: each
process binds its own socket to the same port (``SO_REUSEPORT``) and the
kernel spreads connections over them. No HTTP here: ``HTTPServer`` serves the
sockets these functions make, ``add_accept_handler`` serves any protocol.

Beside them, Tornado's pluggable name resolution: ``Resolver`` is a
``util.Configurable`` family (``Resolver.configure(...)`` chooses what
``Resolver()`` builds); ``TCPClient`` takes one, and the default one asks the
event loop's ``getaddrinfo`` (a thread of asyncio's executor), never blocking
the loop. And Tornado's two helpers for ``ssl_options`` dicts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import ipaddress
import os
import socket
import ssl
import stat
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from framework.concurrent import dummy_executor
from framework.ioloop import IOLoop
from framework.iostream import ssl_options_to_context as _context_for
from framework.util import Configurable

__all__ = [
    "DEFAULT_BACKLOG",
    "BlockingResolver",
    "DefaultExecutorResolver",
    "DefaultLoopResolver",
    "ExecutorResolver",
    "OverrideResolver",
    "Resolver",
    "ThreadedResolver",
    "add_accept_handler",
    "bind_sockets",
    "bind_unix_socket",
    "is_valid_ip",
    "ssl_options_to_context",
    "ssl_wrap_socket",
]

Addresses = list[tuple[int, Any]]
"""What ``Resolver.resolve`` returns: ``(family, address)`` pairs, each address fit for ``socket.connect``."""

DEFAULT_BACKLOG = 1024
"""Connections the kernel queues before ``accept`` (capped by ``net.core.somaxconn``); Tornado uses 128."""


def bind_sockets(
    port: int,
    address: str | None = None,
    family: socket.AddressFamily = socket.AF_UNSPEC,
    backlog: int = DEFAULT_BACKLOG,
    flags: int | None = None,
    reuse_port: bool = False,
) -> list[socket.socket]:
    """Listening, non-blocking sockets for ``address:port`` (Tornado's ``bind_sockets``).

    Args:
        port: the port; 0 picks a free one, the same for every address found.
        address: a host name or address; None or "" means every interface.
        family: ``AF_INET`` or ``AF_INET6`` to keep to one; by default both.
        backlog: the ``listen()`` queue length.
        flags: ``getaddrinfo`` flags (``AI_PASSIVE`` by default).
        reuse_port: set ``SO_REUSEPORT``, so other processes may bind the same port.

    Returns:
        One socket per distinct address ``address`` resolves to. An IPv6
        address this host cannot use (IPv6 disabled, as in many containers)
        is skipped.

    Raises:
        OSError: the address is taken or cannot be bound.
        ValueError: ``reuse_port`` on a system without ``SO_REUSEPORT``.
    """
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("the platform does not support SO_REUSEPORT")
    infos = socket.getaddrinfo(
        address or None, port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE if flags is None else flags
    )
    sockets: list[socket.socket] = []
    seen: set[object] = set()
    for fam, kind, proto, _, sockaddr in infos:
        if sockaddr in seen:
            continue
        seen.add(sockaddr)
        if port == 0 and sockets:  # every address gets the port the first one was given
            sockaddr = (sockaddr[0], sockets[0].getsockname()[1], *sockaddr[2:])
        sock = _bound_socket(fam, kind, proto, sockaddr, reuse_port=reuse_port)
        if sock is None:
            continue
        sock.listen(backlog)
        sockets.append(sock)
    return sockets


def _bound_socket(family: int, kind: int, proto: int, sockaddr: Any, *, reuse_port: bool) -> socket.socket | None:
    """A non-blocking socket bound to ``sockaddr``; None for an IPv6 address this host cannot use."""
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            # One socket per family: "::" must not also claim the IPv4 port.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setblocking(False)
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        if family == socket.AF_INET6 and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            return None
        raise
    return sock


def bind_unix_socket(file: str, mode: int = 0o600, backlog: int = DEFAULT_BACKLOG) -> socket.socket:
    """A listening, non-blocking Unix socket at path ``file`` (Tornado's ``bind_unix_socket``).

    A socket file left by an earlier run is replaced; any other file there is not.

    Raises:
        ValueError: ``file`` exists and is not a socket.
        OSError: binding failed.
    """
    try:
        existing = os.stat(file)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(existing.st_mode):
            raise ValueError(f"{file} exists and is not a socket; refusing to replace it")
        os.remove(file)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.bind(file)
        os.chmod(file, mode)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def add_accept_handler(sock: socket.socket, callback: Callable[[socket.socket, Any], None]) -> Callable[[], None]:
    """Call ``callback(connection, address)`` for each connection accepted on ``sock`` (Tornado's).

    Each time the socket is readable, up to ``backlog``-many waiting
    connections are accepted in one go, so a burst costs one wake-up, not one
    per connection; the listening socket never blocks the loop.

    Returns:
        A function that stops accepting (it leaves ``sock`` open).
    """
    io_loop = IOLoop.current()
    removed = False

    def accept_waiting(fd: socket.socket, events: int) -> None:
        for _ in range(DEFAULT_BACKLOG):
            if removed:
                return
            try:
                connection, address = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up while it waited in the queue
            callback(connection, address)

    def remove_handler() -> None:
        nonlocal removed
        io_loop.remove_handler(sock)
        removed = True

    io_loop.add_handler(sock, accept_waiting, IOLoop.READ)
    return remove_handler


def is_valid_ip(ip: str) -> bool:
    """True when ``ip`` is an IPv4 or IPv6 address (not a host name, not empty)."""
    if not ip or "\x00" in ip:
        return False
    try:
        ipaddress.ip_address(ip.split("%", 1)[0])  # a zone id (fe80::1%eth0) is allowed
    except ValueError:
        return False
    return True


# -- name resolution ---------------------------------------------------------


class Resolver(Configurable):
    """Asynchronous name resolution, with an implementation chosen by ``configure`` (Tornado's ``Resolver``).

    ``Resolver()`` builds the configured implementation, ``DefaultLoopResolver``
    unless ``Resolver.configure(impl, **kwargs)`` chose another (a class or its
    dotted name, such as ``"framework.netutil.ThreadedResolver"``). Tornado
    also lists ``CaresResolver`` and ``TwistedResolver`` (its ``platform``
    modules); they do not exist here.
    """

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return Resolver

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return DefaultLoopResolver

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> Addresses:
        """Resolve ``host`` (a name or a literal address) for a stream connection to ``port``.

        Mirrors ``Resolver.resolve`` (an awaitable; no ``callback``).

        Returns:
            ``(family, address)`` pairs, in the resolver's order of preference.

        Raises:
            OSError: the name cannot be resolved (``socket.gaierror`` is one).
        """
        raise NotImplementedError()

    def close(self) -> None:
        """Release what the resolver holds (an executor, a wrapped resolver); the base holds nothing."""


def _resolve_addr(host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> Addresses:
    """The blocking lookup every executor-based resolver runs."""
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    return [(fam, address) for fam, _, _, _, address in infos]


class DefaultLoopResolver(Resolver):
    """The default: the event loop's ``getaddrinfo`` (Tornado's ``DefaultLoopResolver``).

    asyncio runs the lookup in its default executor, so the loop never waits.
    """

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> Addresses:
        """See :meth:`Resolver.resolve`."""
        loop = IOLoop.current().asyncio_loop
        infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        return [(fam, address) for fam, _, _, _, address in infos]


class DefaultExecutorResolver(Resolver):
    """``socket.getaddrinfo`` through ``IOLoop.run_in_executor`` (Tornado's; deprecated there since 6.2).

    Same behaviour as :class:`DefaultLoopResolver` here: both run the lookup
    in the loop's default executor.
    """

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> Addresses:
        """See :meth:`Resolver.resolve`."""
        return await IOLoop.current().run_in_executor(None, _resolve_addr, host, port, family)


class ExecutorResolver(Resolver):
    """``socket.getaddrinfo`` on a given ``concurrent.futures.Executor`` (Tornado's; deprecated there since 5.0).

    Args:
        executor: where lookups run; None runs them at once, on the loop's
            thread (blocking it, as Tornado's ``dummy_executor`` does).
        close_executor: shut ``executor`` down in :meth:`close` (never the
            stand-in used for None).
    """

    def initialize(self, executor: concurrent.futures.Executor | None = None, close_executor: bool = True) -> None:
        """Keep the executor (``Configurable`` calls this in place of ``__init__``)."""
        self.executor: concurrent.futures.Executor | None = executor if executor is not None else dummy_executor
        self.close_executor = close_executor and executor is not None

    def close(self) -> None:
        """Shut the executor down if this resolver owns it; the resolver is unusable afterwards."""
        if self.close_executor and self.executor is not None:
            self.executor.shutdown()
        self.executor = None

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> Addresses:
        """See :meth:`Resolver.resolve`.

        Raises:
            RuntimeError: the resolver was closed.
        """
        if self.executor is None:
            raise RuntimeError("the resolver is closed")
        return await asyncio.wrap_future(self.executor.submit(_resolve_addr, host, port, family))


class BlockingResolver(ExecutorResolver):
    """``socket.getaddrinfo`` on the loop's own thread, which waits meanwhile (Tornado's; deprecated since 5.0)."""

    def initialize(self) -> None:  # type: ignore[override]
        """No executor: lookups run at once."""
        super().initialize()


class ThreadedResolver(ExecutorResolver):
    """``socket.getaddrinfo`` on a thread pool shared by every instance (Tornado's; deprecated since 5.0).

    The pool is made by the first instance, with its ``num_threads``; later
    instances share it whatever they ask for, as in Tornado. A process
    forked afterwards makes its own (threads do not survive a fork).

    Args:
        num_threads: the pool's size, if this instance creates it.
    """

    _threadpool: ClassVar[concurrent.futures.ThreadPoolExecutor | None] = None
    _threadpool_pid: ClassVar[int | None] = None

    def initialize(self, num_threads: int = 10) -> None:  # type: ignore[override]
        """Share (or create) the pool; closing this resolver leaves the pool running."""
        super().initialize(executor=ThreadedResolver._shared_pool(num_threads), close_executor=False)

    @classmethod
    def _shared_pool(cls, num_threads: int) -> concurrent.futures.ThreadPoolExecutor:
        pid = os.getpid()
        if ThreadedResolver._threadpool is None or ThreadedResolver._threadpool_pid != pid:
            ThreadedResolver._threadpool = concurrent.futures.ThreadPoolExecutor(num_threads)
            ThreadedResolver._threadpool_pid = pid
        return ThreadedResolver._threadpool


OverrideKey = str | tuple[str, int] | tuple[str, int, socket.AddressFamily]


class OverrideResolver(Resolver):
    """Another resolver with some answers replaced, for tests and local set-ups (Tornado's).

    Args:
        resolver: the resolver asked for everything not overridden.
        mapping: keys are a host (``"example.com"``), a host and port
            (``("example.com", 443)``), or a host, port and family; values
            are a host for the first kind and a ``(host, port)`` pair for
            the others. The most specific key that matches wins.
    """

    def initialize(self, resolver: Resolver, mapping: Mapping[OverrideKey, Any]) -> None:
        """Keep the wrapped resolver and the overrides."""
        self.resolver = resolver
        self.mapping = mapping

    def close(self) -> None:
        """Close the wrapped resolver too."""
        self.resolver.close()

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> Addresses:
        """See :meth:`Resolver.resolve`."""
        if (host, port, family) in self.mapping:
            host, port = self.mapping[(host, port, family)]
        elif (host, port) in self.mapping:
            host, port = self.mapping[(host, port)]
        elif host in self.mapping:
            host = self.mapping[host]
        return await self.resolver.resolve(host, port, family)


# -- TLS options -------------------------------------------------------------


def ssl_options_to_context(ssl_options: ssl.SSLContext | dict[str, Any], server_side: bool | None = None) -> ssl.SSLContext:
    """An ``SSLContext`` for Tornado's ``ssl_options`` dict (a context is returned as is).

    Mirrors ``netutil.ssl_options_to_context``; keys: ``certfile``,
    ``keyfile``, ``ca_certs``, ``cert_reqs``, ``ciphers``, ``ssl_version``.
    Difference: without ``server_side`` (Tornado then warns and makes a
    context for either side, with the deprecated ``PROTOCOL_TLS``), a dict
    with a ``certfile`` makes a server context and any other a client one.

    Raises:
        ValueError: a key outside that list.
    """
    if server_side is None:
        server_side = isinstance(ssl_options, dict) and "certfile" in ssl_options
    return _context_for(ssl_options, server_side=server_side)


def ssl_wrap_socket(
    socket: socket.socket,
    ssl_options: ssl.SSLContext | dict[str, Any],
    server_hostname: str | None = None,
    server_side: bool | None = None,
    **kwargs: Any,
) -> ssl.SSLSocket:
    """Wrap ``socket`` in TLS with ``ssl_options`` (a context or a dict); mirrors ``netutil.ssl_wrap_socket``.

    ``kwargs`` go to ``SSLContext.wrap_socket``. ``server_side`` left out is
    taken from the context (a server context wraps the server side).
    """
    context = ssl_options_to_context(ssl_options, server_side=server_side)
    if server_side is None:
        server_side = context.protocol == ssl.PROTOCOL_TLS_SERVER
    return context.wrap_socket(socket, server_hostname=server_hostname, server_side=server_side, **kwargs)

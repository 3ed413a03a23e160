"""Listening sockets (Tornado's ``netutil``): bind before forking, accept by hand if you must.

Strategy: a server that uses every core binds its sockets once, in the parent,
and then forks (``process.fork_processes``): each child inherits the same
listening sockets and the kernel hands each new connection to one of the
processes waiting in ``accept``. ``reuse_port=True`` is the other way: each
process binds its own socket to the same port (``SO_REUSEPORT``) and the
kernel spreads connections over them. No HTTP here: ``HTTPServer`` serves the
sockets these functions make, ``add_accept_handler`` serves any protocol.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import stat
from collections.abc import Callable
from typing import Any

from framework.ioloop import IOLoop

__all__ = ["DEFAULT_BACKLOG", "add_accept_handler", "bind_sockets", "bind_unix_socket", "is_valid_ip"]

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
    infos = socket.getaddrinfo(address or None, port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE if flags is None else flags)
    sockets: list[socket.socket] = []
    seen: set[Any] = set()
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

    def accept_waiting(fd: Any, events: int) -> None:
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

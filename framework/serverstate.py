"""What one server's connections share: its settings, each client's context, the state they report to.

``HTTPServer`` (listening, accepting, draining) and each connection's
``HTTP1ServerProtocol`` (``http1connection``) meet here rather than in each
other's attributes, as uvicorn's ``ServerState`` joins its server and
protocols: the server makes a ``ServerConfig`` and a ``ServerState``; a
connection reads its settings from the state, registers itself, and reports
when it closes or hands its transport to another protocol (a WebSocket).
The server knows a connection only as a ``ServedConnection``, the few verbs
a drain needs. ``ConnectionContext`` is where a request came from, with the
``xheaders`` rules that decide when a proxy's word is believed.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import ipaddress
import math
import socket
import ssl
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from framework import http1
from framework.httputil import HTTPHeaders, HTTPServerConnectionDelegate

__all__ = [
    "ConnectionContext",
    "DeadlineWheel",
    "ParserPool",
    "ServedConnection",
    "ServerConfig",
    "ServerState",
    "TimedConnection",
    "is_trusted",
    "parse_networks",
]


class ServedConnection(Protocol):
    """A connection as its server sees it: enough to count, drain and close it."""

    draining: bool

    @property
    def current(self) -> object | None:
        """The request being answered, or None between requests."""

    @property
    def is_idle(self) -> bool:
        """True between requests, waiting for the next one."""

    def close(self) -> None:
        """Close after what was written is sent."""

    def abort(self) -> None:
        """Close at once, dropping what is unsent."""


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclasses.dataclass(slots=True)
class ConnectionContext:
    """Where a request came from: ``remote_ip`` and ``protocol`` (after ``xheaders``), and its TLS session."""

    address: Any
    remote_ip: str | None
    protocol: str
    # The TLS session of an https connection (the client's certificate is there), else None.
    ssl_object: ssl.SSLObject | None = None

    def apply_xheaders(
        self, headers: HTTPHeaders, trusted_downstream: frozenset[str], trusted_proxies: tuple[IPNetwork, ...]
    ) -> None:
        """Trust the proxy's ``X-Real-Ip``/``X-Forwarded-For`` and ``X-Forwarded-Proto``.

        Called only for a peer in ``trusted_proxies``. The client is the
        rightmost ``X-Forwarded-For`` entry that is not a trusted proxy (or a
        ``trusted_downstream`` address): entries further left are the
        client's to forge. (The server's lists, passed in rather than kept in
        every connection's context: loadtest/conn_memory.py.)
        """
        forwarded = headers.get("X-Forwarded-For", "")
        ip = headers.get("X-Real-Ip") or _forwarded_client(forwarded, trusted_downstream, trusted_proxies)
        if ip and _is_ip(ip):
            self.remote_ip = ip
        proto = headers.get("X-Scheme") or headers.get("X-Forwarded-Proto") or ""
        proto = proto.split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            self.protocol = proto


def _forwarded_client(forwarded: str, trusted_downstream: frozenset[str], trusted_proxies: tuple[IPNetwork, ...]) -> str | None:
    """The rightmost ``X-Forwarded-For`` hop that is not one of ours (only without ``X-Real-Ip``,
    which a proxy like nginx sets: then no hop needs parsing)."""
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    while hops and (hops[-1] in trusted_downstream or is_trusted(hops[-1], trusted_proxies)):
        hops.pop()
    return hops[-1] if hops else None


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses and CIDR networks (``"10.0.0.1"``, ``"172.16.0.0/12"``, ``"::1"``) as networks.

    Raises:
        ValueError: an entry is neither (a host name is refused: trust is
            decided on the peer's address, never on a name that could change).
    """
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def is_trusted(ip: str | None, networks: tuple[IPNetwork, ...]) -> bool:
    """True when ``ip`` lies in one of ``networks`` (an IPv4-mapped IPv6 address counts as IPv4)."""
    if ip is None or not networks:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _is_ip(text: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except (OSError, ValueError):
            pass
    return False


class BodyClock:
    """The clock of one request body being read: its timeout, and what ``body_deadline``'s rate rule counts.

    Made when a request with a body starts and dropped once the body is in,
    so an idle connection, or one whose request waits for the application,
    holds none of it (loadtest/conn_memory.py: bytes per idle connection).
    ``timeout`` starts as the server's ``body_timeout``; a handler may change
    it for its request (``HTTP1Connection.set_body_timeout``). ``started``
    moves on by the time spent waiting for the application (from
    ``waited_since``), which is never counted against the client.
    """

    __slots__ = ("timeout", "started", "received", "waited_since")

    def __init__(self, timeout: float | None, started: float) -> None:
        self.timeout = timeout
        self.started = started
        self.received = 0
        self.waited_since = 0.0


def body_deadline(now: float, timeout: float, started: float, received: int, min_rate: float | None) -> float:
    """When a request body being read times out: ``timeout`` of silence, and a minimum average rate.

    The rate rule is Apache mod_reqtimeout's ``body=T,MinRate=R``: the body
    gets ``timeout`` seconds of grace from ``started``, plus one second for
    every ``min_rate`` bytes ``received``. A client trickling a byte every few
    seconds resets the silence timer forever, but not this one.
    """
    deadline = now + timeout
    if min_rate:
        deadline = min(deadline, started + timeout + received / min_rate)
    return deadline


@dataclasses.dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything a connection needs to know of its server's settings, resolved once."""

    xheaders: bool
    no_keep_alive: bool
    limits: http1.Limits
    header_timeout: float
    idle_connection_timeout: float
    body_timeout: float | None
    max_connections: int | None
    trusted_downstream: frozenset[str]
    ssl_context: ssl.SSLContext | None
    min_body_rate: float | None = None
    trusted_proxies: tuple[IPNetwork, ...] = ()
    decompress_request: bool = False
    protocol: str | None = None  # the scheme requests report, whatever the socket (Tornado's ``protocol``)


class TimedConnection(Protocol):
    """What the deadline wheel calls when a connection's slot comes due."""

    def on_deadline_slot(self) -> None:
        """The slot this connection was in has passed: check the deadline, act or re-arm."""


class DeadlineWheel:
    """Connection deadlines in one-second slots, with one loop timer per slot, not per connection.

    Strategy: every open connection has a deadline (the idle keep-alive one,
    75 s by default, when nothing else), so a ``TimerHandle`` each costs
    about 230 bytes per idle connection (``loadtest/conn_memory.py``). Here a
    connection joins the set of the second its deadline falls in (rounded
    up), and that second has one timer; when it fires, each member checks
    its own deadline and times out or joins a later slot. A deadline that
    moves later (the usual case: a request answered, the idle timeout
    re-armed) changes nothing here; the member re-joins when its old slot
    fires. Timeouts fire up to a second late, which no HTTP timeout here
    minds (the shortest default is ``header_timeout``, 10 s).
    """

    __slots__ = ("_slots",)

    def __init__(self) -> None:
        self._slots: dict[int, _Slot] = {}

    def arm(self, conn: TimedConnection, deadline: float) -> int:
        """Put ``conn`` into the slot of ``deadline`` (loop time); returns the slot, for ``disarm``.

        The slot's own int, which every member shares: a new one per
        connection would be 32 bytes each (loadtest/conn_memory.py).
        """
        second = math.ceil(deadline)
        slot = self._slots.get(second)
        if slot is None:
            timer = asyncio.get_running_loop().call_at(second, self._fire, second)
            slot = self._slots[second] = _Slot(second, timer)
        slot.members[conn] = None
        return slot.second

    def disarm(self, conn: TimedConnection, second: int) -> None:
        """Take ``conn`` out of the slot of ``second`` (it closed, or needs an earlier one)."""
        slot = self._slots.get(second)
        if slot is None:
            return
        slot.members.pop(conn, None)
        if not slot.members:
            del self._slots[second]
            slot.timer.cancel()

    def _fire(self, second: int) -> None:
        slot = self._slots.pop(second, None)
        if slot is not None:
            for conn in slot.members:
                conn.on_deadline_slot()

    def __len__(self) -> int:
        """Connections with a deadline armed."""
        return sum(len(slot.members) for slot in self._slots.values())


class _Slot:
    """One second of ``DeadlineWheel``: its members and the loop timer that fires it."""

    __slots__ = ("second", "members", "timer")

    def __init__(self, second: int, timer: asyncio.TimerHandle) -> None:
        self.second = second
        # Dict keys (the values unused), not a set: a set of N connections
        # takes up to 128 bytes each after it grows, a dict about 40
        # (loadtest/conn_memory.py).
        self.members: dict[TimedConnection, None] = {}
        self.timer = timer


class ParserPool:
    """Request parsers lent to connections while they read and answer a request.

    Strategy: an idle keep-alive connection needs no parser of its own (its
    buffer is empty and its state is "before a head"), so it holds the
    pool's shared ``idle`` parser, which is never fed, and takes a real one
    when bytes arrive; it gives that back once a response leaves its buffer
    empty, and also as soon as a whole request is read and nothing follows
    it, so a request the application takes its time over (a long poll) holds
    no parser either. 10,000 idle connections then hold no parser each but share the
    few that active ones use (about 170 bytes per idle connection,
    ``loadtest/conn_memory.py``). Spares are kept up to a bound, so a burst
    of activity does not keep its parsers forever.
    """

    __slots__ = ("idle", "_limits", "_spare")

    SPARE_MAX = 256

    def __init__(self, limits: http1.Limits) -> None:
        self._limits = limits
        self._spare: list[http1.RequestParser] = []
        #: The parser every idle connection points to: empty, before a head, never fed.
        self.idle = http1.RequestParser(limits)

    def take(self) -> http1.RequestParser:
        """A parser ready for a new request (a spare one, or a new one)."""
        spare = self._spare
        return spare.pop() if spare else http1.RequestParser(self._limits)

    def give_back(self, parser: http1.RequestParser) -> bool:
        """Take back a parser whose connection goes idle; False when it must stay with its connection.

        Only a parser as good as new is lent again: between messages, nothing
        buffered, and no EOF seen (a client that half-closed while its request
        was answered leaves its parser saying "no more input", which would
        refuse the next connection's first bytes). The bound may still drop
        a good one (True: the connection holds the idle parser either way).
        """
        if parser is self.idle:
            return True  # never a spare: lent out, it would be fed
        if not parser.reusable:
            return False
        if len(self._spare) < self.SPARE_MAX:
            self._spare.append(parser)
        return True


class ServerState:
    """What one server's connections share and report to (as uvicorn's ``ServerState``).

    ``HTTPServer`` makes one and reads it to drain, close and count; each
    ``HTTP1ServerProtocol`` reads its settings here, registers when it is
    made, and reports when it closes or is handed to another protocol.
    Neither side touches the other's private attributes: this is the seam.

    Attributes:
        config: the server's settings, resolved once.
        delegate: the application (``HTTPServerConnectionDelegate``) that
            every request is started on.
        connections: the open HTTP connections (as dict keys: a dict costs
            less per entry than a set). Connections add and remove
            themselves (``add``, ``remove``); others only read it.
        deadlines: the connections' timeouts, in one-second slots.
        parsers: the request parsers connections borrow while not idle.
        upgraded: transports handed to another protocol (a WebSocket after
            its 101), each with the callback that asks it to close when the
            server drains; weak, so closed ones go away by themselves.
        corked: the bytes each connection holds back until the end of the
            loop iteration, to be written then with the others (the
            connection module's corked writes: a long poll's fan-out, the
            answers to one iteration's requests).
        corking: whether writes are corked now (one went out this
            iteration already).
        corked_by: the process and thread (``(pid, thread id)``) that last
            corked here, or None: the exit hook writes a stopped server's
            corked bytes in that thread only (``corkexit``, which sets it).
        context: the context the server was made in, where a connection
            starts its pipelined requests (``call_soon``'s own copy would be
            the finishing request's: its context variables would pass on).
        written: the done Future a write returns when the transport wants
            more (Tornado's writes return a Future), one for every write on
            the loop it was made on (``written_on``).
    """

    __slots__ = (
        "_closed_waiter", "config", "connections", "corked", "corked_by", "corking", "deadlines", "delegate", "parsers",
        "upgraded", "context", "written", "__weakref__",
    )  # fmt: skip

    def __init__(self, config: ServerConfig, delegate: HTTPServerConnectionDelegate) -> None:
        self.config = config
        self.delegate = delegate
        self.deadlines = DeadlineWheel()
        self.parsers = ParserPool(config.limits)
        self.connections: dict[ServedConnection, None] = {}
        self.upgraded: weakref.WeakKeyDictionary[asyncio.Transport, Callable[[], object] | None] = weakref.WeakKeyDictionary()
        self.corked: dict[ServedConnection, bytes] = {}
        self.corking = False
        self.corked_by: tuple[int, int] | None = None
        self.written: asyncio.Future[None] | None = None
        self.context = contextvars.copy_context()
        self._closed_waiter: asyncio.Future[None] | None = None

    def written_on(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """``written`` for ``loop``, made done there if it is not yet: once per connection, not per write.

        One done Future serves every write: awaiting it, or adding a callback
        to it (which asyncio schedules at once), changes nothing in it.
        """
        written = self.written
        if written is None or written.get_loop() is not loop:
            written = self.written = loop.create_future()
            written.set_result(None)
        return written

    def add(self, conn: ServedConnection) -> int:
        """Count a new connection in; return the descriptors now open, upgraded ones too (``max_connections``)."""
        self.connections[conn] = None
        return len(self.connections) + len(self.upgraded)

    def remove(self, conn: ServedConnection) -> None:
        """Take ``conn`` out of the open connections (it is closing)."""
        self.connections.pop(conn, None)

    def closed(self, conn: ServedConnection) -> None:
        """``conn`` is gone: tell the delegate (``on_close``); wake ``wait_closed`` when none is left."""
        self.delegate.on_close(conn)
        waiter = self._closed_waiter
        if not self.connections and waiter is not None and not waiter.done():
            waiter.set_result(None)

    def hand_off(
        self, conn: ServedConnection, transport: asyncio.Transport, on_server_drain: Callable[[], object] | None
    ) -> None:
        """``conn`` gave its transport to another protocol: it is closed as HTTP, kept as ``upgraded``."""
        self.remove(conn)
        self.upgraded[transport] = on_server_drain
        self.closed(conn)

    async def wait_closed(self) -> None:
        """Return once no HTTP connection is open (upgraded ones are not waited for)."""
        while self.connections:
            if self._closed_waiter is None or self._closed_waiter.done():
                self._closed_waiter = asyncio.get_running_loop().create_future()
            await self._closed_waiter

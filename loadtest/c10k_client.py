"""The client half of ``c10k.py``: hold N idle keep-alive connections, then fan out M long-polls.

Strategy: one small ``asyncio.Protocol`` per connection (no StreamReader, no
task per idle connection), so the client itself holds 10,000 connections in a
few tens of MB. Every phase is bounded: connects and answers have a timeout
each, every phase has its own deadline, and the caller wraps the whole run in a
global one. Errors are counted by kind, never raised: a run that meets a limit
still reports how far it got.

At each point where memory should be read (``before``, ``held``,
``polls_before``, ``polls_held``) the client awaits ``mark(name, info)``: the
caller samples memory there while the connections stay exactly as they are.
Run inside a container, ``c10k.py --client`` turns marks into JSON lines on
stdout and waits for an acknowledgement on stdin (the host reads the
containers' cgroups meanwhile). Standard library only: it runs in the locust
image as it is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

__all__ = [
    "Config",
    "Mark",
    "Response",
    "ResponseReader",
    "Target",
    "percentile",
    "run",
    "summarize_latencies",
]

#: ``await mark(name, info)``: the caller reads memory while the connections are held.
Mark = Callable[[str, dict[str, Any]], Awaitable[None]]


def log(message: str) -> None:
    """Progress on stderr: stdout carries the marks and the result."""
    print(f"c10k: {message}", file=sys.stderr, flush=True)


# -- the wire ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """Where requests go: ``host:port`` and the Host header to send."""

    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"an http:// URL with a host is needed, not {url!r}")
        return cls(parts.hostname, parts.port or 80)

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def get(self, path: str, *, cookie: str = "") -> bytes:
        """A keep-alive GET request."""
        extra = f"Cookie: {cookie}\r\n" if cookie else ""
        return f"GET {path} HTTP/1.1\r\nHost: {self.netloc}\r\nUser-Agent: c10k\r\n{extra}\r\n".encode("latin-1")

    def post_form(self, path: str, fields: dict[str, str], *, cookie: str = "", xsrf: str = "") -> bytes:
        """A keep-alive POST of an urlencoded form (XSRF token in the header, as scripts send it)."""
        body = urlencode(fields).encode("ascii")
        extra = (f"Cookie: {cookie}\r\n" if cookie else "") + (f"X-XSRFToken: {xsrf}\r\n" if xsrf else "")
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.netloc}\r\nUser-Agent: c10k\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        )
        return head.encode("latin-1") + body


@dataclasses.dataclass(frozen=True, slots=True)
class Response:
    """One parsed response: status, lower-cased header pairs, body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


class ResponseReader:
    """Just enough HTTP/1.1 response parsing for this client: Content-Length or chunked bodies.

    ``feed(data)`` returns the response once it is complete, else ``None``.
    Malformed input raises ``ValueError`` (the connection counts it as an error).
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.head: tuple[int, list[tuple[str, str]]] | None = None
        self.body_start = 0

    def feed(self, data: bytes) -> Response | None:
        self.buffer += data
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return None
            self.head = parse_head(bytes(self.buffer[:end]))
            self.body_start = end + 4
        status, headers = self.head
        body = self.complete_body(headers)
        if body is None:
            return None
        self.buffer.clear()
        self.head = None
        return Response(status, headers, body)

    def complete_body(self, headers: list[tuple[str, str]]) -> bytes | None:
        rest = bytes(self.buffer[self.body_start :])
        if ("transfer-encoding", "chunked") in headers:
            return dechunk(rest)
        lengths = [value for key, value in headers if key == "content-length"]
        length = int(lengths[0]) if lengths else 0
        return rest[:length] if len(rest) >= length else None


def parse_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    """Status and header pairs (names lower-cased) of a response head."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"malformed header line {line[:80]!r}")
        headers.append((name.strip().lower(), value.strip()))
    return int(rest[:3]), headers


def dechunk(data: bytes) -> bytes | None:
    """The body of a complete chunked encoding, or ``None`` while more is needed."""
    body = bytearray()
    position = 0
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(data[position:line_end].split(b";")[0], 16)
        if size == 0:  # the last chunk: done once the (usually empty) trailer section has ended
            return bytes(body) if data.find(b"\r\n\r\n", line_end) >= 0 else None
        chunk_start = line_end + 2
        if len(data) < chunk_start + size + 2:
            return None
        body += data[chunk_start : chunk_start + size]
        position = chunk_start + size + 2


class Connection(asyncio.Protocol):
    """One client connection: ``ask(request)`` sends it and waits for the whole response."""

    __slots__ = ("open", "reader", "transport", "waiter")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reader = ResponseReader()
        self.waiter: asyncio.Future[Response] | None = None
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.open = True

    def data_received(self, data: bytes) -> None:
        try:
            response = self.reader.feed(data)
        except ValueError as exc:
            self.fail(exc)
            return
        if response is not None and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self.fail(ConnectionResetError(f"closed by the peer ({exc or 'EOF'})"))

    def fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        if self.transport is not None and not isinstance(exc, ConnectionResetError):
            self.transport.abort()

    def ask(self, request: bytes) -> asyncio.Future[Response]:
        """Send ``request``; the future resolves with the response (or a connection error)."""
        self.waiter = asyncio.get_running_loop().create_future()
        self.reader = ResponseReader()
        if not self.open or self.transport is None:
            self.waiter.set_exception(ConnectionResetError("already closed"))
        else:
            self.transport.write(request)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()  # no FIN handshake per connection: the server sees a reset


def error_name(exc: BaseException) -> str:
    """A short name an error is counted under (``timeout``, ``ConnectionRefusedError``...)."""
    return "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__


async def connect(target: Target, timeout: float) -> Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(loop.create_connection(Connection, target.host, target.port), timeout)
    return protocol


async def exchange(conn: Connection, request: bytes, timeout: float) -> Response:
    return await asyncio.wait_for(conn.ask(request), timeout)


# -- statistics ----------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def summarize_latencies(seconds: list[float]) -> dict[str, float | int | None]:
    """Count, p50, p99 and max in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "count": len(seconds),
        "p50_ms": ms(percentile(seconds, 0.50)),
        "p99_ms": ms(percentile(seconds, 0.99)),
        "max_ms": ms(max(seconds) if seconds else None),
        "mean_ms": ms(statistics.fmean(seconds) if seconds else None),
    }


# -- the run --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """What one run does; every duration in seconds."""

    url: str
    connections: int = 10_000
    pollers: int = 5_000
    path: str = "/chat/healthz"
    chat_prefix: str = "/chat/"
    hold: float = 15.0
    probes: int = 200
    concurrency: int = 200
    timeout: float = 10.0
    ramp_timeout: float = 180.0
    settle: float = 2.0
    fanout_timeout: float = 60.0


async def connect_counted(target: Target, timeout: float, errors: Counter[str]) -> Connection | None:
    """A new connection, or None with the failure counted by kind (a run reports errors, never raises them)."""
    try:
        return await connect(target, timeout)
    except (OSError, TimeoutError) as exc:
        errors[error_name(exc)] += 1
        return None


async def open_held(config: Config, target: Target) -> tuple[list[Connection], Counter[str], float]:
    """Phase 1: open the connections, one request each; returns those held, the errors, the seconds taken."""
    gate = asyncio.Semaphore(config.concurrency)
    request = target.get(config.path)
    errors: Counter[str] = Counter()
    held: list[Connection] = []

    async def one() -> None:
        async with gate:
            conn = await connect_counted(target, config.timeout, errors)
            if conn is None:
                return
            try:
                response = await exchange(conn, request, config.timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                errors[error_name(exc)] += 1
                conn.close()
                return
            if response.status != 200:
                errors[f"status {response.status}"] += 1
            held.append(conn)

    started = time.monotonic()
    await bounded(config.ramp_timeout, [one() for _ in range(config.connections)], errors)
    return held, errors, time.monotonic() - started


async def bounded(deadline: float, jobs: list[Awaitable[None]], errors: Counter[str]) -> None:
    """Run ``jobs`` at once; those unfinished at ``deadline`` are cancelled and counted."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    if pending:
        errors["phase deadline"] += len(pending)
        await asyncio.wait(pending)


async def probe(config: Config, target: Target) -> dict[str, Any]:
    """While the connections are held: ``probes`` fresh requests on new connections, spaced over ``hold``."""
    spacing = config.hold / max(config.probes, 1)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    request = target.get(config.path)
    ends = time.monotonic() + config.hold

    async def one() -> None:
        started = time.perf_counter()
        conn = None
        try:
            conn = await connect(target, config.timeout)
            response = await exchange(conn, request, config.timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            errors[error_name(exc)] += 1
            return
        finally:
            if conn is not None:
                conn.close()
        if response.status == 200:
            latencies.append(time.perf_counter() - started)
        else:
            errors[f"status {response.status}"] += 1

    tasks = []
    for _ in range(config.probes):
        tasks.append(asyncio.ensure_future(one()))
        await asyncio.sleep(spacing)
    await bounded(max(ends - time.monotonic(), 0) + config.timeout, tasks, errors)
    return {**summarize_latencies(latencies), "errors": dict(errors), "latencies_ms": rounded_ms(latencies)}


def rounded_ms(seconds: list[float]) -> list[float]:
    return [round(value * 1000, 3) for value in seconds]


async def second_request(config: Config, target: Target, held: list[Connection]) -> dict[str, Any]:
    """After the hold: one more request on every held connection; how many answered."""
    gate = asyncio.Semaphore(config.concurrency)
    request = target.get(config.path)
    errors: Counter[str] = Counter()
    answered = 0
    closed_while_idle = sum(1 for conn in held if not conn.open)

    async def one(conn: Connection) -> None:
        nonlocal answered
        async with gate:
            try:
                response = await exchange(conn, request, config.timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                errors[error_name(exc)] += 1
                return
            if response.status == 200:
                answered += 1
            else:
                errors[f"status {response.status}"] += 1

    await bounded(config.ramp_timeout, [one(conn) for conn in held], errors)
    return {"tried": len(held), "answered": answered, "closed_while_idle": closed_while_idle, "errors": dict(errors)}


async def hold_phase(config: Config, target: Target, mark: Mark) -> dict[str, Any]:
    """Phase 1 whole: before -> ramp -> held (probes meanwhile) -> second request -> close."""
    await mark("before", {"phase": "hold"})
    log(f"opening {config.connections} keep-alive connections to {target.netloc}{config.path}")
    held, errors, ramp_seconds = await open_held(config, target)
    log(f"held {len(held)} in {ramp_seconds:.1f}s; errors {dict(errors) or 'none'}")
    await asyncio.sleep(min(config.settle, config.hold))
    await mark("held", {"phase": "hold", "connections": len(held)})
    probes = await probe(config, target)
    log(f"probes: p50 {probes['p50_ms']} ms, p99 {probes['p99_ms']} ms, errors {probes['errors'] or 'none'}")
    second = await second_request(config, target, held)
    log(f"second request: {second['answered']}/{second['tried']} answered")
    for conn in held:
        conn.close()
    return {
        "tried": config.connections,
        "held": len(held),
        "ramp_seconds": round(ramp_seconds, 2),
        "open_errors": dict(errors),
        "hold_seconds": config.hold,
        "probe": probes,
        "second_request": second,
    }


# -- phase 2: chat fan-out -----------------------------------------------------------


async def chat_session(config: Config, target: Target, room: str) -> tuple[str, str]:
    """The ``_xsrf`` cookie a browser gets on the room page: ``(cookie header, token)``."""
    conn = await connect(target, config.timeout)
    try:
        response = await exchange(conn, target.get(f"{config.chat_prefix}room/{quote(room)}"), config.timeout)
    finally:
        conn.close()
    for value in response.header_values("set-cookie"):
        name, _, rest = value.partition("=")
        if name.strip() == "_xsrf":
            token = rest.split(";")[0].strip().strip('"')
            return f"_xsrf={token}", token
    raise ValueError(f"no _xsrf cookie from the room page (status {response.status})")


async def post_message(config: Config, target: Target, room: str, body: str, session: tuple[str, str]) -> str:
    """``POST <prefix>a/message/new``; returns the new message's id (an opaque cursor)."""
    cookie, token = session
    request = target.post_form(
        f"{config.chat_prefix}a/message/new", {"room": room, "nick": "c10k", "body": body}, cookie=cookie, xsrf=token
    )
    conn = await connect(target, config.timeout)
    try:
        response = await exchange(conn, request, config.timeout)
    finally:
        conn.close()
    if response.status != 200:
        raise ValueError(f"posting a message: status {response.status} {response.body[:200]!r}")
    return str(json.loads(response.body)["id"])


class Poller:
    """One long-poll client: polls from ``cursor`` until a message arrives, re-polling on empty answers."""

    def __init__(self, conn: Connection, request: bytes) -> None:
        self.conn = conn
        self.request = request
        self.received_at: float | None = None
        self.error: str | None = None
        self.polls = 0

    async def run(self, config: Config) -> None:
        # An empty answer is the server's poll timeout: ask again with the same cursor at once;
        # a reconnect hint (a drain, Redis away) says how long to wait first.
        while self.received_at is None:
            self.polls += 1
            try:
                response = await exchange(self.conn, self.request, config.fanout_timeout + 30)
            except (OSError, TimeoutError, ValueError) as exc:
                self.error = error_name(exc)
                return
            if response.status != 200:
                self.error = f"status {response.status}"
                return
            answer = json.loads(response.body)
            if answer.get("messages"):
                self.received_at = time.perf_counter()
            elif answer.get("reconnect"):  # draining, or the store is away: come back as told
                await asyncio.sleep(float(answer.get("retry_after", 1)))


async def fanout_phase(config: Config, target: Target, mark: Mark) -> dict[str, Any]:
    """Phase 2: M long-polls on one room, one message, time until each poller has it."""
    room = "c10k-" + secrets.token_hex(4)
    session = await chat_session(config, target, room)
    cursor = await post_message(config, target, room, "room created", session)
    request = target.post_form(
        f"{config.chat_prefix}a/message/updates", {"room": room, "cursor": cursor}, cookie=session[0], xsrf=session[1]
    )
    await mark("polls_before", {"phase": "fanout"})
    log(f"starting {config.pollers} long-polls in room {room} after message {cursor}")
    pollers, errors, tasks = await start_pollers(config, target, request)
    await asyncio.sleep(config.settle)
    waiting = sum(1 for task in tasks if not task.done())
    await mark("polls_held", {"phase": "fanout", "connections": waiting})
    sent = time.perf_counter()
    await post_message(config, target, room, "hello, everyone", session)
    posted = time.perf_counter() - sent
    _, late = await asyncio.wait(tasks, timeout=config.fanout_timeout) if tasks else (set(), set())
    for task in late:
        task.cancel()
    for poller in pollers:
        poller.conn.close()
    return fanout_report(config, pollers, errors, sent, waiting, posted, late=len(late), room=room)


async def start_pollers(
    config: Config, target: Target, request: bytes
) -> tuple[list[Poller], Counter[str], list[asyncio.Task[None]]]:
    """Open the pollers' connections (``concurrency`` at a time) and start each one's poll."""
    gate = asyncio.Semaphore(config.concurrency)
    errors: Counter[str] = Counter()
    pollers: list[Poller] = []
    tasks: list[asyncio.Task[None]] = []

    async def one() -> None:
        async with gate:
            conn = await connect_counted(target, config.timeout, errors)
            if conn is None:
                return
            poller = Poller(conn, request)
            pollers.append(poller)
            tasks.append(asyncio.ensure_future(poller.run(config)))

    await bounded(config.ramp_timeout, [one() for _ in range(config.pollers)], errors)
    return pollers, errors, tasks


def fanout_report(
    config: Config, pollers: list[Poller], errors: Counter[str], sent: float, waiting: int, posted: float, *, late: int, room: str
) -> dict[str, Any]:
    """The fan-out's figures: who got the message, and how long after it was sent."""
    delivery = sorted(p.received_at - sent for p in pollers if p.received_at is not None)
    for poller in pollers:
        if poller.error is not None and poller.received_at is None:
            errors[poller.error] += 1
    return {
        "room": room,
        "tried": config.pollers,
        "opened": len(pollers),
        "waiting_at_post": waiting,
        "delivered": len(delivery),
        "not_delivered_in_time": late,
        "errors": dict(errors),
        "post_seconds": round(posted, 4),
        "repolls": sum(max(p.polls - 1, 0) for p in pollers),
        "delivery": summarize_latencies(delivery),
        "delivery_ms": rounded_ms(delivery),
    }


async def run(config: Config, mark: Mark, result: dict[str, Any]) -> None:
    """Both phases (a phase with a count of 0 is skipped), filling ``result`` as each one ends.

    Filled in place so that a run cut short by the global deadline still
    reports the phases it finished, and names the one it was in.
    """
    target = Target.from_url(config.url)
    result.update({"url": config.url, "config": dataclasses.asdict(config)})
    if config.connections > 0:
        result["phase"] = "hold"
        result["hold"] = await hold_phase(config, target, mark)
    if config.pollers > 0:
        result["phase"] = "fanout"
        try:
            result["fanout"] = await fanout_phase(config, target, mark)
        except (OSError, TimeoutError, ValueError) as exc:
            log(f"fan-out could not start: {exc!r}")
            result["fanout"] = {"tried": config.pollers, "delivered": 0, "errors": {error_name(exc): 1}, "failure": str(exc)}
    result["phase"] = "done"

"""The test suite's one async harness: servers on ephemeral ports, bounded waits, raw clients.

Two ways to run a server, each used where it reads best:

- on the test's own event loop (``async_test`` + ``serving``): the test and
  the handler share the loop, so they share state without locks, and raw
  asyncio streams (``connect``, ``read_response``) write hostile bytes and
  read responses without trusting the framework's own parser;
- in a background thread (``running`` + ``fetch``/``raw_exchange``): the
  test stays synchronous and talks to the server with ``requests`` or a plain
  socket, as a browser or a script would.

Every wait is bounded (``TEST_TIMEOUT``, ``WAIT``) and no helper
measures a duration: a wait that runs out fails the test, it never times it.
Everything a helper opens it closes (warnings are errors in this suite).

Import it as ``from tests.framework.harness import ...``: with
``--import-mode=importlib`` (pyproject.toml) pytest imports each test file as a
module of the ``tests`` namespace package, so this module resolves from any
working directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from framework.httpserver import HTTPServer
from framework.httputil import HTTPConnection, HTTPHeaders, ResponseStartLine
from framework.testing import ServerThread, serve
from framework.web import Application

TEST_TIMEOUT = 30.0  # seconds an async test may run; pytest-timeout (60 s) is the outer bound
WAIT = 5.0  # seconds a test waits for bytes, or a condition, that must come


# -- running coroutines ------------------------------------------------------------


def async_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test function in a fresh event loop, bounded by ``TEST_TIMEOUT``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), TEST_TIMEOUT))

    return wrapper


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main()`` in a fresh event loop, bounded by ``TEST_TIMEOUT``."""
    asyncio.run(asyncio.wait_for(main(), TEST_TIMEOUT))


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate()`` holds, polling the loop; fail after ``WAIT``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        assert loop.time() < deadline, "condition never became true"
        await asyncio.sleep(0.005)


def wait_until(predicate: Callable[[], bool]) -> None:
    """``eventually`` for a test's own thread (the server runs in another): poll; fail after ``WAIT``."""
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.01)


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (just bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- a server on this loop ----------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(app: Any, **kwargs: Any) -> AsyncIterator[tuple[HTTPServer, int]]:
    """An ``HTTPServer(app, **kwargs)`` on an ephemeral port of this loop; stopped and closed afterwards.

    ``app`` is anything ``HTTPServer`` takes: an ``Application``, another
    ``HTTPServerConnectionDelegate``, or a plain ``handle(request)`` callable.
    """
    server = HTTPServer(app, **kwargs)
    server.listen(0, "127.0.0.1")
    port = server.sockets[0].getsockname()[1]
    await asyncio.sleep(0)  # let the create_server task run
    try:
        yield server, port
    finally:
        server.stop()
        await server.close_all_connections()


@contextlib.asynccontextmanager
async def connect(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A raw asyncio stream to ``127.0.0.1:port``, closed afterwards."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclasses.dataclass
class Response:
    """One response as read off the wire by ``read_response``."""

    version: str
    code: int
    reason: str
    header_list: list[tuple[str, str]]
    body: bytes
    raw_body: bytes  # as framed on the wire (chunked framing included)

    @property
    def headers(self) -> dict[str, str]:
        """Lower-cased names; a repeated name keeps its last value."""
        return {name.lower(): value for name, value in self.header_list}


async def read_response(reader: asyncio.StreamReader, *, method: str = "GET") -> Response:
    """Read one response, framed as RFC 9112 6.3 says (a deliberately small client)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    lines = head[:-4].decode("latin-1").split("\r\n")
    version, code_text, reason = (lines[0].split(" ", 2) + [""])[:3]
    code = int(code_text)
    pairs = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        pairs.append((name, value.strip()))
    response = Response(version, code, reason, pairs, b"", b"")
    headers = response.headers
    if method == "HEAD" or code < 200 or code in (204, 304):
        return response
    if headers.get("transfer-encoding", "").lower() == "chunked":
        response.body, response.raw_body = await _read_chunked(reader)
    elif "content-length" in headers:
        response.body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), WAIT)
        response.raw_body = response.body
    else:
        response.body = await read_to_eof(reader)
        response.raw_body = response.body
    return response


async def _read_chunked(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(body, body as framed) of a chunked body, checking each chunk's CRLF."""
    raw = bytearray()
    body = bytearray()
    while True:
        size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), WAIT)
        raw += size_line
        size = int(size_line.split(b";")[0], 16)
        data = await asyncio.wait_for(reader.readexactly(size + 2), WAIT)
        raw += data
        assert data.endswith(b"\r\n")
        if size == 0:
            return bytes(body), bytes(raw)
        body += data[:-2]


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes; fails the test if it does not close."""
    return await asyncio.wait_for(reader.read(), WAIT)


async def is_closed(reader: asyncio.StreamReader) -> bool:
    """True when the server has closed (or reset) the connection with nothing more to send."""
    try:
        return await read_to_eof(reader) == b""
    except ConnectionResetError:
        return True


def get(path: str = "/", *, version: str = "HTTP/1.1", headers: str = "") -> bytes:
    """The bytes of a GET request (with a Host header in HTTP/1.1); ``headers`` are CRLF-terminated lines."""
    host = "Host: test\r\n" if version == "HTTP/1.1" else ""
    return f"GET {path} {version}\r\n{host}{headers}\r\n".encode("latin-1")


def post(path: str, body: bytes, *, headers: str = "") -> bytes:
    """The bytes of a POST request with a Content-Length body."""
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    return head.encode("latin-1") + body


def respond(conn: HTTPConnection, body: bytes = b"", *, code: int = 200, headers: dict[str, str] | None = None) -> None:
    """Answer from a delegate: a Content-Length body in one write, then finish."""
    fields = HTTPHeaders({"Content-Length": str(len(body)), **(headers or {})})
    conn.write_headers(ResponseStartLine("HTTP/1.1", code, ""), fields, body)
    conn.finish()


# -- a server in a thread ------------------------------------------------------------


@contextlib.contextmanager
def running(handlers: list[Any], **settings: Any) -> Iterator[ServerThread]:
    """An ``Application(handlers, **settings)`` served from a background thread on an ephemeral port."""
    with serve(Application(handlers, **settings)) as server:
        yield server


def fetch(server: ServerThread, path: str, method: str = "GET", **kwargs: Any) -> requests.Response:
    """One request in its own Session, redirects not followed; the body is read and everything closed."""
    kwargs.setdefault("allow_redirects", False)
    kwargs.setdefault("timeout", 10)
    with requests.Session() as session:
        with session.request(method, server.url(path), **kwargs) as response:
            response.content  # read it before the connection closes
    return response


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` on a fresh socket to ``127.0.0.1:port`` and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        received = []
        while chunk := sock.recv(65536):
            received.append(chunk)
    return b"".join(received)


def split_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers with lower-case names, body) of one raw response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def decode_chunked(body: bytes) -> list[bytes]:
    """The chunks of a chunked body, checking the framing as it goes."""
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert body == b"\r\n", body
            return chunks
        chunks.append(body[:size])
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


def app_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """ERROR records of the application logger (the access log is separate)."""
    return [r for r in caplog.records if r.name == "framework.application" and r.levelno >= logging.ERROR]


def self_signed_certificate(where: Path, common_name: str, alt_name: str) -> tuple[Path, Path]:
    """A certificate (one day, RSA 2048) and its key in ``where``, made with the openssl command.

    ``alt_name`` is the subjectAltName entry, e.g. ``IP:127.0.0.1`` or
    ``DNS:example.invalid``. Skips the test when openssl is not installed.
    """
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a self-signed certificate")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", f"/CN={common_name}",
         "-addext", f"subjectAltName={alt_name}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key

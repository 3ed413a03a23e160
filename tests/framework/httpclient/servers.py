"""The servers the client tests talk to: a tiny raw HTTP server written here.

Each test declares the server behaviour it needs beside it: a handler that
reads requests off the stream (``read_request``) and writes bytes back, so that
misbehaving servers (truncating, resetting, stalling, sending bad chunks) are
as easy to write as good ones. ``Server`` counts connections; ``client()`` is
an ``AsyncHTTPClient`` of the test's own, closed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from framework.httpclient import (
    AsyncHTTPClient,
    HTTPResponse,
)


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
    """Read one request (Content-Length or chunked body); None at a clean EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
    if headers.get("expect") == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
    return Request(method, target, headers, body)


def response(status: int = 200, body: bytes = b"", *headers: str, reason: str = "X") -> bytes:
    """A Content-Length framed response."""
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def echo(request: Request) -> bytes:
    """Answer with the request as JSON, so tests can look at what was sent."""
    data = {
        "method": request.method,
        "target": request.target,
        "headers": request.headers,
        "body": request.body.decode("latin-1"),
    }
    return response(200, json.dumps(data).encode(), "Content-Type: application/json")


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def keep_alive(respond: Callable[[Request], bytes | Awaitable[bytes]]) -> Handler:
    """A handler answering every request on a connection until the client closes it."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader, writer)) is not None:
            answer = respond(request)
            writer.write(answer if isinstance(answer, bytes) else await answer)
            await writer.drain()

    return handler


@dataclass
class Server:
    """An asyncio server on 127.0.0.1 that counts connections and requests."""

    handler: Handler
    ssl_context: ssl.SSLContext | None = None
    connections: int = 0
    port: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # stopped by __aexit__; ending normally keeps 3.11's streams quiet
        finally:
            self.closed.set()
            writer.close()


@contextlib.asynccontextmanager
async def client(**kwargs: Any) -> AsyncIterator[AsyncHTTPClient]:
    http = AsyncHTTPClient(force_instance=True, **kwargs)
    try:
        yield http
    finally:
        http.close()


def body_json(resp: HTTPResponse) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resp.body)
    return data

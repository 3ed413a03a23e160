"""Run a WSGI application inside this framework's server: Tornado's ``tornado.wsgi``.

Strategy: ``WSGIContainer(app)`` is a request callback, so it serves both
``HTTPServer(WSGIContainer(app))`` and a ``FallbackHandler`` route that hands
some paths of an ``Application`` to a WSGI app (Django, Flask). WSGI is
blocking: the application and each step through its response iterable run in
``executor`` (a thread pool, as Tornado 6.3+ recommends) or, without one, on
the event loop itself, where a slow WSGI request stalls every connection.
The response is buffered and sent with one write, as Tornado does.

Given to ``HTTPServer`` directly, the container is also an
``HTTPServerConnectionDelegate``: the body is collected without the form
parsing the server does for plain callbacks (the WSGI application parses its
own body), and the server's body size limit still applies.

Differences from Tornado: an exception from the WSGI application, or a
response it gets wrong (no ``start_response``, a header with CR/LF), is
logged and answered with a 500 instead of leaving the client waiting; the
request's headers are not modified (Tornado pops ``Content-Type`` and
``Content-Length`` from them while building the environ); the default
``Server`` header is this framework's.
"""

from __future__ import annotations

import concurrent.futures
import io
import logging
import sys
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar, TypeVarTuple

from framework.httpserver import CallbackDelegate
from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    ResponseStartLine,
    split_host_and_port,
)
from framework.ioloop import IOLoop
from framework.log import access_log, app_log

__all__ = ["WSGIContainer"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class _Response:
    """What the WSGI application said through ``start_response`` and ``write``."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: _ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        """PEP 3333's ``start_response``; returns the legacy ``write`` callable.

        Nothing is sent before the application returns, so a second call
        (with ``exc_info``, from an error handler) may always replace the first.
        """
        self.status, self.headers = status, list(headers)
        return self.chunks.append


class WSGIContainer(HTTPServerConnectionDelegate):
    """Serve a WSGI application (Tornado's ``WSGIContainer``).

    Args:
        wsgi_application: the PEP 3333 callable.
        executor: where the application runs; None runs it on the event loop
            (blocking it), as Tornado does without an executor.
    """

    def __init__(self, wsgi_application: WSGIApp, executor: concurrent.futures.Executor | None = None) -> None:
        self.wsgi_application = wsgi_application
        self.executor = executor
        # Given to HTTPServer directly: the body is collected, never parsed as a form.
        self._unparsed = CallbackDelegate(self, parse_body=False)

    def __call__(self, request: HTTPServerRequest) -> None:
        """Answer ``request`` through ``request.connection`` (an ``HTTPServer`` request callback)."""
        IOLoop.current().spawn_callback(self.handle_request, request)

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        """The server's entry point when the container is given to ``HTTPServer`` directly."""
        return self._unparsed.start_request(server_conn, request_conn)

    async def handle_request(self, request: HTTPServerRequest) -> None:
        """Run the application for ``request`` and write its response (Tornado 6.3's coroutine)."""
        try:
            response = await self._run(request)
            status, reason = self._status(response)
            headers = self._headers(response, status)
        except Exception:  # noqa: BLE001 - whatever the application raised, the client gets a 500
            app_log.error("WSGI application failed for %s", request, exc_info=True)
            response, (status, reason) = _Response(), (500, "Internal Server Error")
            headers = self._headers(response, status)
        self._write(request, status, reason, headers, b"".join(response.chunks))

    async def _run(self, request: HTTPServerRequest) -> _Response:
        response = _Response()
        result = await self._call(self.wsgi_application, self.environ(request), response.start_response)
        try:
            chunks = iter(result)
            while (chunk := await self._call(_next_chunk, chunks)) is not None:
                response.chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                await self._call(close)
        return response

    async def _call(self, func: Callable[[*_Ts], _T], *args: *_Ts) -> _T:
        if self.executor is None:
            return func(*args)
        return await IOLoop.current().run_in_executor(self.executor, func, *args)

    @staticmethod
    def _status(response: _Response) -> tuple[int, str]:
        if response.status is None:
            raise RuntimeError("WSGI application did not call start_response")
        code, _, reason = response.status.partition(" ")
        return int(code), reason

    @staticmethod
    def _headers(response: _Response, status: int) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name, value in response.headers:
            headers.add(name, value)
        if status != 304:
            headers.setdefault("Content-Length", str(sum(map(len, response.chunks))))
            headers.setdefault("Content-Type", "text/html; charset=UTF-8")
        headers.setdefault("Server", "framework")
        return headers

    def _write(self, request: HTTPServerRequest, status: int, reason: str, headers: HTTPHeaders, body: bytes) -> None:
        connection = request.connection
        assert connection is not None  # a request from the server always has one
        try:
            connection.write_headers(ResponseStartLine("HTTP/1.1", status, reason), headers, body)
        except ValueError:  # a header the application set cannot be sent (CR, LF)
            app_log.error("WSGI application gave an invalid response for %s", request, exc_info=True)
            status = 500
            error = HTTPHeaders({"Content-Length": "0", "Server": "framework"})
            connection.write_headers(ResponseStartLine("HTTP/1.1", 500, "Internal Server Error"), error, b"")
        connection.finish()
        self._log(status, request)

    def environ(self, request: HTTPServerRequest) -> dict[str, Any]:
        """The PEP 3333 environ for ``request`` (Tornado's ``WSGIContainer.environ``)."""
        host, port = split_host_and_port(request.host)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            # PEP 3333: native strings holding the undecoded bytes as latin-1.
            "PATH_INFO": urllib.parse.unquote_to_bytes(request.path).decode("latin-1"),
            "QUERY_STRING": request.query,
            "REMOTE_ADDR": request.remote_ip or "",
            "SERVER_NAME": host,
            "SERVER_PORT": str(port or (443 if request.protocol == "https" else 80)),
            "SERVER_PROTOCOL": request.version,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": request.protocol,
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": self.executor is not None,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for name, value in request.headers.items():
            key = name.replace("-", "_").upper()
            environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
        return environ

    def _log(self, status: int, request: HTTPServerRequest) -> None:
        level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
        if access_log.isEnabledFor(level):
            summary = f"{request.method} {request.uri} ({request.remote_ip})"
            access_log.log(level, "%d %s %.2fms", status, summary, 1000.0 * request.request_time())


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    """One step through the response iterable (in the executor: it may block)."""
    return next(chunks, None)

"""Test support: run an application on a real server on an ephemeral port.

Strategy: tests are ordinary synchronous pytest functions that talk to the
server with a real HTTP client (``requests``, ``httpx``, a raw socket). The
server therefore runs on its own IOLoop in a background thread, started and
stopped by ``serve()`` or the pytest fixtures below; nothing is mocked.
``AsyncHTTPTestCase`` keeps Tornado's unittest-style API for code written
against it.

Fixtures (enable with ``pytest_plugins = ["framework.testing"]`` in a
``conftest.py``): define an ``app`` fixture returning an ``Application``; then
``http_server`` is the running ``ServerThread``, ``base_url`` its URL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
import unittest
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from framework.httpclient import AsyncHTTPClient, HTTPResponse
from framework.httpserver import DrainReport, HTTPServer
from framework.httputil import HTTPServerConnectionDelegate
from framework.ioloop import IOLoop

__all__ = ["AsyncHTTPTestCase", "ServerThread", "gen_test", "serve"]

_T = TypeVar("_T")


class ServerThread:
    """An ``HTTPServer`` for ``app`` on 127.0.0.1, served by a loop in a daemon thread.

    Args:
        app: an ``Application`` or any ``HTTPServerConnectionDelegate``/callable.
        server_kwargs: passed to ``HTTPServer`` (limits, timeouts, ``xheaders``).
    """

    def __init__(self, app: HTTPServerConnectionDelegate | Callable[..., Any], **server_kwargs: Any) -> None:
        self.app = app
        self._server_kwargs = server_kwargs
        self.io_loop: IOLoop | None = None
        self.server: HTTPServer | None = None
        self.port = 0
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="framework-test-server", daemon=True)

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start serving; returns once the port accepts connections.

        Raises:
            RuntimeError: the server did not start within ``timeout``.
        """
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("test server did not start")
        if self._error is not None:
            raise RuntimeError("test server failed to start") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._listen())
        except BaseException as exc:
            self._error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _listen(self) -> None:
        self.io_loop = IOLoop.current()
        self.server = HTTPServer(self.app, **self._server_kwargs)
        self.server.listen(0, "127.0.0.1")
        self.port = self.server.sockets[0].getsockname()[1]
        await asyncio.sleep(0)  # let the listening task run

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base_url + path

    def run(self, func: Callable[[], Awaitable[_T]], timeout: float = 30.0) -> _T:
        """Run a coroutine function on the server's loop and return its result."""
        loop = self._loop()

        async def call() -> _T:
            return await func()

        future = asyncio.run_coroutine_threadsafe(call(), loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self.io_loop is None:
            raise RuntimeError("server not started")
        return self.io_loop.asyncio_loop

    def stop(self, drain_timeout: float = 5.0) -> DrainReport | None:
        """Stop accepting, drain connections, stop the loop and join the thread."""
        report = None
        if self.server is not None and self._thread.is_alive():
            server = self.server

            async def shutdown() -> DrainReport:
                server.stop()
                return await server.drain(drain_timeout)

            report = self.run(shutdown, timeout=drain_timeout + 5)
            self._loop().call_soon_threadsafe(self._loop().stop)
        self._thread.join(10)
        return report


@contextlib.contextmanager
def serve(app: HTTPServerConnectionDelegate | Callable[..., Any], **server_kwargs: Any) -> Iterator[ServerThread]:
    """Context manager: a running ``ServerThread`` for ``app``, stopped on exit."""
    server = ServerThread(app, **server_kwargs).start()
    try:
        yield server
    finally:
        server.stop()


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is only needed for the fixtures
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def http_server(app: Any) -> Iterator[ServerThread]:
        """The ``app`` fixture, served on an ephemeral port for one test."""
        with serve(app) as server:
            yield server

    @pytest.fixture
    def base_url(http_server: ServerThread) -> str:
        """Base URL of the running ``http_server``."""
        return http_server.base_url


class AsyncHTTPTestCase(unittest.TestCase):
    """Tornado's unittest base class: ``get_app()`` served on an ephemeral port.

    Each test gets a fresh IOLoop (``self.io_loop``) that runs only while a
    ``fetch`` or ``gen_test`` coroutine runs, as in Tornado. ``fetch(path)``
    returns a ``framework.httpclient.HTTPResponse`` without raising on
    error statuses.
    """

    def get_app(self) -> HTTPServerConnectionDelegate:
        """Override: the application under test."""
        raise NotImplementedError()

    def get_httpserver_options(self) -> dict[str, Any]:
        """Override: keyword arguments for ``HTTPServer``."""
        return {}

    def setUp(self) -> None:
        super().setUp()
        self.io_loop = IOLoop()
        self.io_loop.make_current()
        self._app = self.get_app()
        self.http_server = HTTPServer(self._app, **self.get_httpserver_options())
        self.http_client = AsyncHTTPClient(force_instance=True)

        async def listen() -> None:
            self.http_server.listen(0, "127.0.0.1")
            await asyncio.sleep(0)

        self.io_loop.run_sync(listen)

    def tearDown(self) -> None:
        server = self.http_server

        async def shutdown() -> None:
            server.stop()
            await server.close_all_connections()
            self.http_client.close()

        self.io_loop.run_sync(shutdown, timeout=10)
        IOLoop.clear_current()
        self.io_loop.close(all_fds=True)
        super().tearDown()

    def get_http_port(self) -> int:
        """The server's port."""
        return int(self.http_server.sockets[0].getsockname()[1])

    def get_url(self, path: str) -> str:
        """``http://127.0.0.1:<port><path>``."""
        return f"http://127.0.0.1:{self.get_http_port()}{path}"

    def fetch(self, path: str, raise_error: bool = False, **kwargs: Any) -> HTTPResponse:
        """Fetch ``path`` (or an absolute URL) from the test server, running the loop until done."""
        url = path if path.lower().startswith(("http://", "https://")) else self.get_url(path)
        timeout = float(kwargs.pop("timeout", 10.0))

        async def go() -> HTTPResponse:
            return await self.http_client.fetch(url, raise_error=raise_error, **kwargs)

        return self.io_loop.run_sync(go, timeout=timeout)


def gen_test(func: Callable[..., Any] | None = None, *, timeout: float = 10.0) -> Any:
    """Run an ``async def`` (or ``gen.coroutine``) test method on ``self.io_loop`` (Tornado's ``gen_test``)."""

    def decorate(method: Callable[..., Any]) -> Callable[..., None]:
        @functools.wraps(method)
        def wrapper(self: AsyncHTTPTestCase, *args: Any, **kwargs: Any) -> None:
            self.io_loop.run_sync(lambda: method(self, *args, **kwargs), timeout=timeout)

        return wrapper

    return decorate(func) if func is not None else decorate

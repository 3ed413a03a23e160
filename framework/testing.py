"""Test support: Tornado's unittest classes, and real servers for pytest.

Strategy: two styles, both on real sockets, nothing mocked.

- Tornado's (``AsyncTestCase``, ``AsyncHTTPTestCase``, ``AsyncHTTPSTestCase``,
  ``gen_test``, ``ExpectLog``, ``main``): each test gets a fresh ``IOLoop``
  that runs only while the test waits (``wait``, ``fetch``, a ``gen_test``
  coroutine), so server, client and test share one thread. An exception
  raised by a callback that ``setUp`` or the test scheduled through the
  IOLoop is routed to the test (``ioloop.run_with_exception_handler``) and
  fails it, instead of only being logged.
- pytest's: ``ServerThread``/``serve`` run the server on its own IOLoop in a
  background thread, so a test is an ordinary synchronous function that talks
  to it with any client (``requests``, ``httpx``, a raw socket).

Fixtures (enable with ``pytest_plugins = ["framework.testing"]`` in a
``conftest.py``): define an ``app`` fixture returning an ``Application``; then
``http_server`` is the running ``ServerThread``, ``base_url`` its URL.

``testing.crt``/``testing.key`` beside this module are a self-signed
certificate for ``localhost``/``127.0.0.1``/``::1`` (made once with
``openssl req -x509 -newkey rsa:2048 -nodes -days 36500``), for
``AsyncHTTPSTestCase``: the key is public, never use it for anything else.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import logging
import os
import re
import signal
import socket
import sys
import threading
import traceback
import types
import unittest
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Self, TypeVar

from framework.gen import coroutine
from framework.httpclient import AsyncHTTPClient, HTTPResponse
from framework.httpserver import DrainReport, HTTPServer
from framework.httputil import HTTPServerConnectionDelegate
from framework.ioloop import IOLoop, run_with_exception_handler
from framework.log import app_log
from framework.netutil import bind_sockets

if TYPE_CHECKING:
    from framework.options import OptionParser

__all__ = [
    "AsyncHTTPSTestCase", "AsyncHTTPTestCase", "AsyncTestCase", "ExpectLog", "ServerThread",
    "bind_unused_port", "gen_test", "get_async_test_timeout", "main", "serve",
]  # fmt: skip

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
        except BaseException as exc:  # noqa: BLE001 - handed to start(), which raises it
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
    def http_server(app: HTTPServerConnectionDelegate | Callable[..., Any]) -> Iterator[ServerThread]:
        """The ``app`` fixture, served on an ephemeral port for one test."""
        with serve(app) as server:
            yield server

    @pytest.fixture
    def base_url(http_server: ServerThread) -> str:
        """Base URL of the running ``http_server``."""
        return http_server.base_url


# -- Tornado's unittest support ---------------------------------------------------

_TIMEOUT_ENV = "ASYNC_TEST_TIMEOUT"
_DEFAULT_TIMEOUT = 5.0
_HERE = os.path.dirname(os.path.abspath(__file__))


def get_async_test_timeout() -> float:
    """Seconds ``wait``, ``fetch`` and ``gen_test`` allow: ``$ASYNC_TEST_TIMEOUT``, else 5.

    Mirrors ``tornado.testing.get_async_test_timeout``. Difference: a value
    that is not a number is an error rather than silently ignored.

    Raises:
        ValueError: ``ASYNC_TEST_TIMEOUT`` is set but not a number.
    """
    text = os.environ.get(_TIMEOUT_ENV)
    if text is None:
        return _DEFAULT_TIMEOUT
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{_TIMEOUT_ENV} must be a number of seconds, not {text!r}") from None


def bind_unused_port(*, reuse_port: bool = False, address: str = "127.0.0.1") -> tuple[socket.socket, int]:
    """A listening IPv4 socket on a free port, and the port (Tornado's ``bind_unused_port``).

    Serve it with ``server.add_sockets([sock])``.
    """
    sock = bind_sockets(0, address, family=socket.AF_INET, reuse_port=reuse_port)[0]
    return sock, int(sock.getsockname()[1])


class AsyncTestCase(unittest.TestCase):
    """A ``unittest.TestCase`` whose tests run on a fresh ``IOLoop`` (``self.io_loop``).

    Mirrors ``tornado.testing.AsyncTestCase``. Write tests as ``async def``
    methods decorated with ``gen_test``, or in the older style: start work,
    have its callback call ``self.stop(value)``, and ``self.wait()`` runs the
    loop until then and returns the value.

    A test fails when a callback it (or ``setUp``) scheduled through the
    IOLoop raises, when it is an undecorated ``async def`` (which would
    otherwise pass without running), and when a coroutine it left running
    at ``tearDown`` ends with an exception other than its cancellation. Such
    coroutines are cancelled, as in Tornado: a worker started in ``setUp``
    that runs until cancelled is fine.

    Differences: the loop is closed by a cleanup (so also when a subclass's
    ``setUp`` fails) rather than in ``tearDown``.
    """

    io_loop: IOLoop

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)
        self.__stopped = False
        self.__running = False
        self.__failure: BaseException | None = None
        self.__stop_args: Any = None
        self.__timeout: asyncio.TimerHandle | None = None

    def setUp(self) -> None:
        super().setUp()
        self.io_loop = self.get_new_ioloop()
        self.io_loop.make_current()
        self.addCleanup(self.__close_loop, self.io_loop)

    def get_new_ioloop(self) -> IOLoop:
        """The loop for one test; override to use another (Tornado deprecates doing so)."""
        return IOLoop()

    def tearDown(self) -> None:
        self.__finish_leftover_tasks()
        super().tearDown()
        self._raise_recorded_failure()

    # -- where exceptions go ------------------------------------------------

    # unittest's private hooks (Python 3.8+), as Tornado uses them: the whole
    # of a subclass's setUp and test method run inside the exception handler.
    def _callSetUp(self) -> None:
        run_with_exception_handler(self.__handle_exception, super()._callSetUp)  # type: ignore[misc]

    def _callTestMethod(self, method: Callable[[], object]) -> None:
        result = run_with_exception_handler(self.__handle_exception, method)
        if isinstance(result, (types.CoroutineType, types.GeneratorType)):
            result.close()
            raise TypeError("Generator and coroutine test methods should be decorated with framework.testing.gen_test")
        if result is not None:
            raise ValueError(f"Return value from test method ignored: {result!r}")
        self._raise_recorded_failure()

    def __handle_exception(self, exc: BaseException) -> None:
        """Keep the first exception a callback raised for the test to raise; stop ``wait``."""
        if self.__failure is None:
            self.__failure = exc
        else:
            app_log.error("multiple unhandled exceptions in test", exc_info=exc)
        self.stop()

    def _raise_recorded_failure(self) -> None:
        """Raise (once) the exception a callback left, if any."""
        failure, self.__failure = self.__failure, None
        if failure is not None:
            raise failure

    # -- stop and wait ------------------------------------------------------

    def stop(self, _arg: Any = None, **kwargs: Any) -> None:
        """Make the pending (or next) ``wait()`` return ``_arg``, or ``kwargs`` as a dict.

        Mirrors ``AsyncTestCase.stop``.
        """
        if _arg is not None and kwargs:
            raise TypeError("stop() takes one positional argument or keyword arguments, not both")
        self.__stop_args = kwargs or _arg
        if self.__running:
            self.io_loop.stop()
            self.__running = False
        self.__stopped = True

    def wait(self, condition: Callable[[], bool] | None = None, timeout: float | None = None) -> Any:
        """Run the loop until ``stop()`` is called, and return what was passed to it.

        Mirrors ``AsyncTestCase.wait``.

        Args:
            condition: if given, keep running after each ``stop()`` until it is true.
            timeout: seconds before the test fails (``get_async_test_timeout()``
                if None; 0 for none).

        Raises:
            AssertionError: ``timeout`` passed first (``self.failureException``).
        """
        limit = get_async_test_timeout() if timeout is None else timeout
        if not self.__stopped:
            if limit:
                self.__timeout = self.io_loop.call_later(limit, self.__timed_out, limit)
            while True:
                self.__running = True
                self.io_loop.start()
                if self.__failure is not None or condition is None or condition():
                    break
            if self.__timeout is not None:
                self.__timeout.cancel()
                self.__timeout = None
        self.__stopped = False
        self._raise_recorded_failure()
        result, self.__stop_args = self.__stop_args, None
        return result

    def __timed_out(self, limit: float) -> None:
        self.__handle_exception(self.failureException(f"Async operation timed out after {limit} seconds"))

    # -- the end of a test --------------------------------------------------

    def __finish_leftover_tasks(self) -> None:
        """Cancel the coroutines still running; keep the first real error one ended with."""
        loop = self.io_loop.asyncio_loop
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        self.io_loop.run_sync(lambda: asyncio.wait(pending, timeout=get_async_test_timeout()))
        for task in pending:
            if task.done() and not task.cancelled() and task.exception() is not None:
                self.__handle_exception(task.exception())  # type: ignore[arg-type]

    @staticmethod
    def __close_loop(io_loop: IOLoop) -> None:
        """Cancel what still runs, let closing transports finish, close the loop."""
        loop = io_loop.asyncio_loop
        if loop.is_closed():
            return
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        io_loop.run_sync(lambda: asyncio.wait(pending, timeout=1.0) if pending else asyncio.sleep(0))
        loop.run_until_complete(loop.shutdown_asyncgens())
        IOLoop.clear_current()
        io_loop.close(all_fds=True)


class AsyncHTTPTestCase(AsyncTestCase):
    """An ``AsyncTestCase`` serving ``get_app()`` on 127.0.0.1 on a free port.

    Mirrors ``tornado.testing.AsyncHTTPTestCase``: ``self.http_server`` and
    ``self.http_client`` share the test's ``io_loop``; ``fetch(path)`` runs it
    until the response arrives. Override ``get_app`` (and perhaps
    ``get_httpserver_options``, ``get_http_client``, ``get_http_server``).
    ``get_http_port()`` and ``get_url()`` work inside ``get_app``.
    """

    http_server: HTTPServer
    http_client: AsyncHTTPClient

    def setUp(self) -> None:
        super().setUp()
        sock, self.__port = bind_unused_port()
        try:
            self.http_client = self.get_http_client()
            self._app = self.get_app()
            self.http_server = self.get_http_server()
        except BaseException:
            sock.close()
            raise
        self.http_server.add_sockets([sock])

    def get_app(self) -> HTTPServerConnectionDelegate | Callable[..., Any]:
        """Override: the application under test."""
        raise NotImplementedError()

    def get_http_client(self) -> AsyncHTTPClient:
        """The client ``fetch`` uses: the loop's shared ``AsyncHTTPClient``."""
        return AsyncHTTPClient()

    def get_http_server(self) -> HTTPServer:
        """The server for ``get_app()``, made with ``get_httpserver_options()``."""
        return HTTPServer(self._app, **self.get_httpserver_options())

    def get_httpserver_options(self) -> dict[str, Any]:
        """Override: keyword arguments for ``HTTPServer`` (limits, ``xheaders``, ...)."""
        return {}

    def get_http_port(self) -> int:
        """The port the server listens on."""
        return self.__port

    def get_protocol(self) -> str:
        """``http`` (``https`` in ``AsyncHTTPSTestCase``)."""
        return "http"

    def get_url(self, path: str) -> str:
        """``<protocol>://127.0.0.1:<port><path>``."""
        return f"{self.get_protocol()}://127.0.0.1:{self.get_http_port()}{path}"

    def fetch(self, path: str, raise_error: bool = False, **kwargs: Any) -> HTTPResponse:
        """Fetch ``path`` (or an absolute URL) from the test server, running the loop until done.

        Mirrors ``AsyncHTTPTestCase.fetch``: ``kwargs`` go to
        ``AsyncHTTPClient.fetch``; an error status is returned, not raised,
        unless ``raise_error``. The loop runs at most
        ``get_async_test_timeout()`` seconds.

        Raises:
            TimeoutError: no response in time.
            HTTPClientError: an error status and ``raise_error`` is true.
        """
        url = path if path.lower().startswith(("http://", "https://")) else self.get_url(path)
        return self.io_loop.run_sync(
            lambda: self.http_client.fetch(url, raise_error=raise_error, **kwargs), timeout=get_async_test_timeout()
        )

    def tearDown(self) -> None:
        self.http_server.stop()
        self.io_loop.run_sync(self.__shut_down, timeout=get_async_test_timeout())
        del self.http_server
        del self._app
        super().tearDown()

    async def __shut_down(self) -> None:
        await self.http_server.close_all_connections()
        self.http_client.close()


class AsyncHTTPSTestCase(AsyncHTTPTestCase):
    """``AsyncHTTPTestCase`` over TLS, with the self-signed test certificate.

    Mirrors ``tornado.testing.AsyncHTTPSTestCase``: the client does not
    verify the certificate; ``get_ssl_options()`` may return other options.
    """

    def get_http_client(self) -> AsyncHTTPClient:
        return AsyncHTTPClient(force_instance=True, defaults={"validate_cert": False})

    def get_httpserver_options(self) -> dict[str, Any]:
        return {"ssl_options": self.get_ssl_options()}

    def get_ssl_options(self) -> dict[str, Any]:
        """Override: ``HTTPServer``'s ``ssl_options`` (a dict or an ``SSLContext``)."""
        return self.default_ssl_options()

    @staticmethod
    def default_ssl_options() -> dict[str, str]:
        """The test certificate and key shipped beside this module."""
        return {"certfile": os.path.join(_HERE, "testing.crt"), "keyfile": os.path.join(_HERE, "testing.key")}

    def get_protocol(self) -> str:
        return "https"


def gen_test(func: Callable[..., Any] | None = None, *, timeout: float | None = None) -> Any:
    """Run a coroutine test method on ``self.io_loop``, failing it after ``timeout`` seconds.

    Mirrors ``tornado.testing.gen_test``: use it bare (``@gen_test``) or
    with a timeout (``@gen_test(timeout=30)``); ``async def`` methods and
    ``yield``-style generators (run as ``gen.coroutine``) both work. With no
    ``timeout``, ``get_async_test_timeout()`` applies, read when the test runs
    (Tornado reads it when the module is imported). A timeout raises
    ``TimeoutError`` naming where the test was waiting.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., None]:
        start = method if inspect.iscoroutinefunction(method) else coroutine(method)

        @functools.wraps(method)
        def wrapper(self: AsyncTestCase, *args: Any, **kwargs: Any) -> None:
            limit = get_async_test_timeout() if timeout is None else timeout
            self.io_loop.run_sync(lambda: _finish_within(limit, start(self, *args, **kwargs)))
            self._raise_recorded_failure()

        return wrapper

    return decorate(func) if func is not None else decorate


async def _finish_within(limit: float, work: Awaitable[_T]) -> _T:
    """Await ``work`` for ``limit`` seconds; then cancel it and say where it was waiting.

    Raises:
        TimeoutError: ``limit`` passed first.
    """
    task = asyncio.ensure_future(work)
    await asyncio.wait([task], timeout=limit)
    if task.done():
        return task.result()
    where = _suspended_at(task)
    task.cancel()
    await asyncio.wait([task], timeout=1.0)
    raise TimeoutError(f"Async operation timed out after {limit} seconds{where}")


def _suspended_at(task: asyncio.Future[Any]) -> str:
    """The coroutine frames a task is suspended in, outermost first, as traceback lines."""
    frames = []
    current: object = task.get_coro() if isinstance(task, asyncio.Task) else None
    while current is not None:
        frame = getattr(current, "cr_frame", None) or getattr(current, "gi_frame", None)
        if frame is None:
            break
        frames.append((frame, frame.f_lineno))
        current = getattr(current, "cr_await", None) or getattr(current, "gi_yieldfrom", None)
    if not frames:
        return ""
    return "; it was waiting at:\n" + "".join(traceback.StackSummary.extract(frames).format())


class ExpectLog(logging.Filter):
    """Context manager: swallow log records matching ``regex``; fail if none came.

    Mirrors ``tornado.testing.ExpectLog``. It filters records logged on
    ``logger`` itself (a filter on a logger does not see its children's
    records). ``logged_stack`` tells whether any record carried a traceback.

    Args:
        logger: the logger, or its name (``""`` for the root logger).
        regex: matched (``re.match``) against each record's message.
        required: fail on exit if nothing matched.
        level: the level a matching record must have (others pass through,
            with a warning); the logger is lowered to it meanwhile if needed.

    Differences: ``required`` and ``level`` are keyword-only; a missing
    required message raises ``AssertionError`` (a test failure, where
    Tornado raises a bare ``Exception``) naming the pattern and the logger;
    a match below WARNING without ``level`` is accepted without Tornado's
    DeprecationWarning.
    """

    def __init__(self, logger: logging.Logger | str, regex: str, *, required: bool = True, level: int | None = None) -> None:
        super().__init__()
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.regex = re.compile(regex)
        self.required = required
        self.level = level
        self.matched = 0
        self.logged_stack = False
        self._original_level: int | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            self.logged_stack = True
        message = record.getMessage()
        if not self.regex.match(message):
            return True
        if self.level is not None and record.levelno != self.level:
            expected = logging.getLevelName(self.level)
            app_log.warning("Got expected log message %r at unexpected level (%s vs %s)", message, expected, record.levelname)
            return True
        self.matched += 1
        return False

    def __enter__(self) -> Self:
        if self.level is not None and self.level < self.logger.getEffectiveLevel():
            self._original_level = self.logger.level
            self.logger.setLevel(self.level)
        self.logger.addFilter(self)
        return self

    def __exit__(self, typ: type[BaseException] | None, value: BaseException | None, tb: types.TracebackType | None) -> None:
        if self._original_level is not None:
            self.logger.setLevel(self._original_level)
            self._original_level = None
        self.logger.removeFilter(self)
        if typ is None and self.required and not self.matched:
            raise AssertionError(
                f"did not get expected log message matching {self.regex.pattern!r} on logger {self.logger.name!r}"
            )


_MAIN_FLAGS = {
    "verbose": "show each test's name", "quiet": "show only failures",
    "failfast": "stop at the first failure", "catch": "ctrl-c waits for the current test, then reports",
    "buffer": "hide the output of passing tests",
}  # fmt: skip


def main(**kwargs: Any) -> None:
    """Run tests as ``unittest.main`` does, taking ``framework.options`` flags too.

    Mirrors ``tornado.testing.main``: ``python -m framework.testing
    tests.test_app`` runs the named tests; a test script ending in
    ``framework.testing.main()`` runs those named on its command line, or
    else its ``all()`` suite. The command line is parsed by the global
    ``framework.options`` first, so ``--logging=debug`` works, as do
    ``--verbose``, ``--quiet``, ``--failfast``, ``--catch``, ``--buffer``
    and ``--exception_on_interrupt=false``. Difference: a script without
    ``all()`` runs its own test cases (Tornado fails). Exits with
    ``unittest.main``'s status.

    Args:
        kwargs: passed to ``unittest.main``.
    """
    from framework.options import define, options, parse_command_line

    if "exception_on_interrupt" not in options:
        define("exception_on_interrupt", type=bool, default=True,
               help="If true (default), ctrl-c raises KeyboardInterrupt with a traceback; if false, exits at once.")  # fmt: skip
        for name, text in _MAIN_FLAGS.items():
            define(name, type=bool, default=None, help=text)
    argv = [sys.argv[0], *parse_command_line(sys.argv)]
    if not options.exception_on_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    kwargs.update(_unittest_arguments(options))
    if len(argv) > 1:
        unittest.main(module=None, argv=argv, **kwargs)
    elif __name__ == "__main__":
        sys.exit("No tests specified")
    elif hasattr(sys.modules["__main__"], "all"):
        unittest.main(defaultTest="all", argv=argv, **kwargs)
    else:
        unittest.main(module="__main__", argv=argv, **kwargs)


def _unittest_arguments(options: OptionParser) -> dict[str, int | bool]:
    """``unittest.main`` keywords for the flags given on the command line."""
    arguments: dict[str, int | bool] = {}
    if options.verbose:
        arguments["verbosity"] = 2
    if options.quiet:
        arguments["verbosity"] = 0
    for flag, keyword in (("failfast", "failfast"), ("catch", "catchbreak"), ("buffer", "buffer")):
        if options[flag]:
            arguments[keyword] = True
    return arguments


if __name__ == "__main__":
    main()

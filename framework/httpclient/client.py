"""The clients: ``AsyncHTTPClient`` with its slots, pool and redirects, and ``HTTPClient``.

Strategy: each ``fetch`` is one asyncio task. Each hop (the request, then each
redirect) waits in FIFO order for one of ``max_clients`` slots, takes the most
recently used idle connection for its (scheme, host, port, TLS settings) or
opens one, and runs one exchange on it. A connection goes back to the pool
only if the response allowed keep-alive and was read to its end; an idle one
is closed after ``idle_timeout`` seconds or by ``close()``. A reused connection
found closed before any response byte arrived (the server's keep-alive timer
fired just as we sent) is retried once on a fresh connection, for idempotent
methods only.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import functools
import inspect
import ssl
import time
import urllib.parse
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, Self, cast

from framework import http1
from framework.ioloop import IOLoop
from framework.netutil import OverrideResolver, Resolver
from framework.util import Configurable, import_object

from .connection import (
    REDIRECT_CODES,
    Connection,
    Hop,
    Target,
    open_connection,
    receive_response,
    send_request,
    serialize_head,
)
from .messages import (
    DEFAULTABLE,
    HTTPRequest,
    HTTPResponse,
    HTTPStreamClosedError,
    HTTPTimeoutError,
    Options,
    resolve_options,
)

__all__ = ["AsyncHTTPClient", "HTTPClient"]

# RFC 9110 9.2.2: these may be repeated, so a request lost with a stale
# keep-alive connection can be sent again.
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


# Dropped when a redirect leaves the original origin, as libcurl and Tornado do.
_CREDENTIAL_HEADERS: Final = ("Authorization", "Cookie")


def _redirected(request: HTTPRequest, response: HTTPResponse, original_url: str) -> HTTPRequest:
    """The request that follows ``response``'s Location, as browsers do it.

    303 (except after HEAD), and 301/302 after POST, become a GET without
    body; 307 and 308 repeat the method and body. A Location on another
    origin than ``original_url`` (the URL the fetch started from) gets no
    credentials: see :func:`_drop_credentials`.
    """
    new = copy.copy(request)
    new.headers = request.headers.copy()
    new.url = urllib.parse.urljoin(request.url, response.headers["Location"])
    if _is_cross_origin(original_url, new.url):
        _drop_credentials(new)
    code, method = response.code, request.method
    if (code == 303 and method != "HEAD") or (code in (301, 302) and method == "POST"):
        new.method = "GET"
        new.body = None
        new.body_producer = None
        for name in ("Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding"):
            new.headers.pop(name, None)
    new.headers.pop("Host", None)  # the new URL may name another host
    return new


def _is_cross_origin(original_url: str, new_url: str) -> bool:
    """Whether ``new_url`` differs from ``original_url`` in scheme or netloc.

    The netlocs are compared as written, as Tornado does: no default ports
    are filled in and case is kept, so ``http://h/`` and ``http://h:80/``
    count as two origins. Erring that way drops credentials, never leaks them.
    """
    before, after = urllib.parse.urlsplit(original_url), urllib.parse.urlsplit(new_url)
    return (before.scheme, before.netloc) != (after.scheme, after.netloc)


def _drop_credentials(request: HTTPRequest) -> None:
    """Strip what would authenticate ``request`` to another origin, in place.

    Mirrors Tornado's ``simple_httpclient``: the ``Authorization`` and
    ``Cookie`` headers, ``auth_username``/``auth_password`` and any user info
    in the URL go. Proxy headers stay (neither client has proxies), and
    credentials in the client's ``defaults`` apply again, as they would to a
    direct fetch of the new URL. Tornado rebuilds the netloc from the parsed
    host, lowercasing it and losing IPv6 brackets; here it is kept as written.
    """
    request.auth_username = None
    request.auth_password = None
    parts = urllib.parse.urlsplit(request.url)
    if "@" in parts.netloc:
        request.url = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    for name in _CREDENTIAL_HEADERS:
        request.headers.pop(name, None)


def _is_redirect(response: HTTPResponse) -> bool:
    return response.code in REDIRECT_CODES and "Location" in response.headers


def _positive_or_none(seconds: float) -> float | None:
    """Tornado treats a timeout of 0 as none."""
    return seconds if seconds > 0 else None


# validate_cert, ca_certs, and ssl_options frozen: its items sorted, or the SSLContext, or None.
_SSLKey = tuple[bool, str | None, tuple[tuple[str, Any], ...] | ssl.SSLContext | None]
_PoolKey = tuple[str, str, int, _SSLKey | None]


def _ssl_key(opts: Options) -> _SSLKey:
    """What makes two TLS configurations interchangeable, for pooling and caching."""
    options = opts.ssl_options
    frozen = tuple(sorted(options.items())) if isinstance(options, dict) else options
    return (opts.validate_cert, opts.ca_certs, frozen)


def make_ssl_context(opts: Options) -> ssl.SSLContext:
    """A client context from ``validate_cert``, ``ca_certs`` and an ``ssl_options`` dict.

    The dict takes the ``ssl.wrap_socket``-style keys Tornado accepts:
    ``certfile``, ``keyfile``, ``ca_certs`` and ``cert_reqs``.
    """
    context = ssl.create_default_context(cafile=opts.ca_certs)
    options = opts.ssl_options if isinstance(opts.ssl_options, dict) else {}
    unknown = set(options) - {"certfile", "keyfile", "ca_certs", "cert_reqs"}
    if unknown:
        raise ValueError(f"unsupported ssl_options keys: {sorted(unknown)}")
    if "ca_certs" in options:
        context.load_verify_locations(options["ca_certs"])
    if "certfile" in options:
        context.load_cert_chain(options["certfile"], options.get("keyfile"))
    verify_mode = options.get("cert_reqs", ssl.CERT_REQUIRED if opts.validate_cert else ssl.CERT_NONE)
    context.check_hostname = verify_mode != ssl.CERT_NONE
    context.verify_mode = verify_mode
    return context


class AsyncHTTPClient(Configurable):
    """A non-blocking HTTP/1.1 client with pooled keep-alive connections.

    Mirrors ``tornado.httpclient.AsyncHTTPClient`` (its ``simple_httpclient``
    implementation): ``AsyncHTTPClient()`` returns the same instance for the
    same event loop, and its arguments are ignored once one exists, unless
    ``force_instance=True``. ``AsyncHTTPClient.configure(impl, **kwargs)``
    chooses the subclass ``AsyncHTTPClient()`` builds and arguments added to
    every construction (``util.Configurable``); subclasses customise
    ``initialize``. Differences: connections are kept alive and reused;
    proxies are absent (and so is Tornado's curl client: configuring it is an
    ``ImportError``); ``idle_timeout`` is an addition; ``configure`` refuses,
    at once, an argument the chosen class does not take; arguments after
    ``defaults`` are keyword-only (Tornado's second positional argument is
    ``hostname_mapping``, here it is ``defaults``).

    Args:
        max_clients: requests in flight at once; the rest wait in FIFO order.
        defaults: values for ``HTTPRequest`` options a request leaves as None.
        force_instance: make a private instance instead of the shared one.
        resolver: where connections look host names up (a
            ``netutil.Resolver``); it stays the caller's, :meth:`close`
            leaves it open. None: a ``netutil.Resolver()`` of the client's
            own (``Resolver.configure`` chooses it), closed by :meth:`close`.
        hostname_mapping: overrides, as ``netutil.OverrideResolver``'s
            ``mapping``: ``{"example.com": "127.0.0.1"}``, or keys
            ``(host, port)`` with ``(host, port)`` values. The connection goes
            to the mapped address; the URL's host stays in the ``Host``
            header, the TLS server name and the pool's key.
        max_header_size: bytes of a response head (default 64 KiB).
        max_body_size: bytes of a response body, after decompression
            (default 100 MiB).
        idle_timeout: seconds an unused keep-alive connection is kept.

    Raises:
        ValueError: ``defaults`` names an option that cannot be defaulted.
    """

    _instances: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncHTTPClient]]
    _instances = weakref.WeakKeyDictionary()

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return AsyncHTTPClient

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return AsyncHTTPClient

    @classmethod
    def configure(cls, impl: type[Configurable] | str | None, **kwargs: Any) -> None:
        """Choose the class ``AsyncHTTPClient()`` builds, and arguments for every construction.

        Mirrors ``AsyncHTTPClient.configure``: ``configure(None,
        max_clients=100)`` keeps the class and changes a default. Instances
        already made (one per event loop is shared) are not changed.

        Raises:
            ValueError: ``impl`` is not an ``AsyncHTTPClient`` subclass.
            TypeError: ``kwargs`` names an argument its ``initialize`` does not take.
            ImportError: ``impl`` is a dotted name that cannot be imported.
        """
        chosen = import_object(impl) if isinstance(impl, str) else impl
        target = chosen if isinstance(chosen, type) and issubclass(chosen, AsyncHTTPClient) else AsyncHTTPClient
        inspect.signature(target.initialize).bind_partial(**kwargs)
        super().configure(chosen, **kwargs)

    def __new__(cls, *args: Any, force_instance: bool = False, **kwargs: Any) -> Self:
        loop = IOLoop.current().asyncio_loop
        existing = None if force_instance else AsyncHTTPClient._instances.get(loop)
        if isinstance(existing, cls):
            return existing
        impl: type[AsyncHTTPClient] = cls
        if cls is AsyncHTTPClient:
            configured = cls.configured_class()
            assert issubclass(configured, AsyncHTTPClient)  # configure() checked it
            impl = configured
            kwargs = {**(cls._save_configuration()[1] or {}), **kwargs}
        self = object.__new__(impl)
        # initialize, not __init__: __init__ would run again on the shared instance.
        self.initialize(*args, **kwargs)
        self._cached = not force_instance
        if self._cached:
            AsyncHTTPClient._instances[loop] = self
        return cast(Self, self)

    def initialize(
        self,
        max_clients: int = 10,
        defaults: Mapping[str, Any] | None = None,
        *,
        resolver: Resolver | None = None,
        hostname_mapping: Mapping[Any, Any] | None = None,
        max_header_size: int | None = None,
        max_body_size: int | None = None,
        idle_timeout: float = 60.0,
    ) -> None:
        """Set the client up (arguments as the class docstring); subclasses extend it.

        Raises:
            ValueError: ``defaults`` names an option that cannot be defaulted.
        """
        unknown = set(defaults or {}) - DEFAULTABLE
        if unknown:
            raise ValueError(f"defaults cannot set {sorted(unknown)}; known: {sorted(DEFAULTABLE)}")
        base = http1.Limits()
        self.max_clients = max_clients
        self.defaults = dict(defaults or {})
        self._limits = http1.Limits(
            max_header_bytes=max_header_size or base.max_header_bytes,
            max_body_bytes=max_body_size or base.max_body_bytes,
        )
        self._idle_timeout = idle_timeout
        self._own_resolver = resolver is None
        self.resolver: Resolver = Resolver() if resolver is None else resolver
        if hostname_mapping is not None:
            self.resolver = OverrideResolver(resolver=self.resolver, mapping=hostname_mapping)
        # Weak, so that the instance cache's value does not keep its key alive.
        self._loop_ref = weakref.ref(IOLoop.current().asyncio_loop)
        self._closed = False
        self._cached = False
        self._active = 0  # requests holding a slot
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._idle: dict[_PoolKey, list[Connection]] = {}
        self._ssl_contexts: dict[_SSLKey, ssl.SSLContext] = {}
        self._tasks: set[asyncio.Task[HTTPResponse]] = set()

    def close(self) -> None:
        """Close idle connections and stop sharing this instance (``AsyncHTTPClient.close``).

        Requests in flight finish first, then close their connections. A
        resolver the client made is closed too; a given one is not.
        """
        self._close_idle()

    def _close_idle(self) -> list[Connection]:
        if self._own_resolver and not self._closed:
            self.resolver.close()
        self._closed = True
        loop = self._loop_ref()
        if self._cached and loop is not None and AsyncHTTPClient._instances.get(loop) is self:
            del AsyncHTTPClient._instances[loop]
        closing = [conn for conns in self._idle.values() for conn in conns]
        self._idle.clear()
        for conn in closing:
            conn.abort()
        return closing

    async def _close_and_wait(self) -> None:
        """``close()``, then wait until the sockets are released (``HTTPClient`` closes its loop next)."""
        closing = self._close_idle()
        if closing:
            await asyncio.wait([conn.closed for conn in closing], timeout=5.0)

    def fetch(
        self,
        request: str | HTTPRequest,
        raise_error: bool | Callable[[HTTPResponse], object] = True,
        *,
        callback: Callable[[HTTPResponse], object] | None = None,
        **kwargs: Any,
    ) -> asyncio.Future[HTTPResponse]:
        """Start a request and return a future of its ``HTTPResponse``.

        Mirrors ``AsyncHTTPClient.fetch``. As in Tornado 6, ``raise_error=False``
        only stops non-2xx statuses from raising; a request that got no
        response (connection refused, timeout, malformed or truncated response)
        still raises. With ``callback`` (Tornado 4's style, also accepted in
        place of ``raise_error``) nothing raises: the callback is called on the
        loop with the response, whose ``error`` says what went wrong.

        Args:
            request: a URL, or an ``HTTPRequest`` (then no ``kwargs``).
            raise_error: raise ``HTTPClientError`` for non-2xx responses.
            callback: called with the response instead of raising.
            **kwargs: ``HTTPRequest`` arguments, when ``request`` is a URL.

        Raises:
            RuntimeError: the client is closed.
            ValueError: ``kwargs`` given with an ``HTTPRequest``.
        """
        if self._closed:
            raise RuntimeError("fetch() called on a closed AsyncHTTPClient")
        if callable(raise_error):
            callback, raise_error = raise_error, True
        if isinstance(request, HTTPRequest):
            if kwargs:
                raise ValueError("kwargs can't be used if request is an HTTPRequest object")
        else:
            request = HTTPRequest(request, **kwargs)
        loop = self._loop_ref()
        if loop is None:
            raise RuntimeError("the event loop of this AsyncHTTPClient no longer exists")
        if callback is None:
            task = loop.create_task(self._fetch_raising(request, raise_error))
        else:
            task = loop.create_task(self._fetch_with_callback(request, callback))
        self._tasks.add(task)  # asyncio holds tasks only weakly
        task.add_done_callback(self._tasks.discard)
        return task

    # -- one fetch ---------------------------------------------------------------

    async def _fetch_raising(self, request: HTTPRequest, raise_error: bool) -> HTTPResponse:
        response = await self._fetch_response(request)
        if response.error is not None and (raise_error or not response._error_is_response_code):
            raise response.error
        return response

    async def _fetch_with_callback(self, request: HTTPRequest, callback: Callable[[HTTPResponse], object]) -> HTTPResponse:
        response = await self._fetch_response(request)
        IOLoop.current().add_callback(callback, response)  # logs what the callback raises
        return response

    async def _fetch_response(self, original: HTTPRequest) -> HTTPResponse:
        """Run a fetch with its redirects; failures become a 599 response, never an exception."""
        loop = asyncio.get_running_loop()
        start_time, started = time.time(), loop.time()
        request = original
        try:
            opts = resolve_options(original, self.defaults)
            redirects_left = opts.max_redirects if opts.follow_redirects else 0
            while True:
                target = Target.parse(request.url)
                head, chunked = serialize_head(request, opts, target)
                hop = Hop(request, original, opts, target, head, chunked, redirects_left > 0)
                response = await self._fetch_hop(hop)
                if not (hop.may_redirect and _is_redirect(response)):
                    break
                request = _redirected(request, response, original.url)
                # Again: a hop to another origin has lost its credentials.
                opts = resolve_options(request, self.defaults)
                redirects_left -= 1
        except Exception as exc:
            response = HTTPResponse(original, 599, error=exc, effective_url=request.url)
        response.start_time = start_time
        response.request_time = loop.time() - started
        return response

    async def _fetch_hop(self, hop: Hop) -> HTTPResponse:
        opts = hop.opts
        await self._acquire_slot(_positive_or_none(min(opts.connect_timeout, opts.request_timeout)))
        deadline = asyncio.timeout(_positive_or_none(opts.request_timeout))
        try:
            async with deadline:
                return await self._exchange_with_retry(hop)
        except TimeoutError:
            if deadline.expired():
                raise HTTPTimeoutError("Timeout during request") from None
            raise
        finally:
            self._release_slot()

    # -- slots -------------------------------------------------------------------

    async def _acquire_slot(self, queue_timeout: float | None) -> None:
        """Wait, in FIFO order, until fewer than ``max_clients`` requests are in flight."""
        if self._active < self.max_clients and not self._waiters:
            self._active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        timer = None
        if queue_timeout is not None:
            error = HTTPTimeoutError("Timeout in request queue")
            timer = asyncio.get_running_loop().call_later(queue_timeout, _fail_waiter, waiter, error)
        try:
            await waiter  # _release_slot hands its slot over: _active stays counted
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release_slot()  # granted, but the fetch was cancelled meanwhile
            raise
        finally:
            if timer is not None:
                timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _release_slot(self) -> None:
        """Hand this slot to the longest waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._active -= 1

    # -- connections -------------------------------------------------------------

    async def _exchange_with_retry(self, hop: Hop) -> HTTPResponse:
        key: _PoolKey = (hop.target.scheme, hop.target.host, hop.target.port, None)
        if hop.target.scheme == "https":
            key = key[:3] + (_ssl_key(hop.opts),)
        conn = self._take_idle(key)
        if conn is not None:
            try:
                return await self._exchange(conn, key, hop)
            except HTTPStreamClosedError:
                # The server closed this idle connection as we reused it.
                request = hop.request
                if conn.received or request.method not in _IDEMPOTENT or request.body_producer:
                    raise
        return await self._exchange(await self._connect(hop), key, hop)

    async def _exchange(self, conn: Connection, key: _PoolKey, hop: Hop) -> HTTPResponse:
        """One request and response on ``conn``, which then returns to the pool or closes."""
        conn.begin(hop.request.method)
        try:
            awaiting_continue = await send_request(conn, hop)
            response, reusable = await receive_response(conn, hop, awaiting_continue)
        except BaseException:
            conn.abort()
            raise
        if reusable and not self._closed:
            self._put_idle(key, conn)
        else:
            conn.close()
        return response

    async def _connect(self, hop: Hop) -> Connection:
        context = self._ssl_context(hop.opts) if hop.target.scheme == "https" else None
        limit = asyncio.timeout(_positive_or_none(hop.opts.connect_timeout))
        try:
            async with limit:
                _, conn = await open_connection(self.resolver, hop.target, self._limits, context)
        except TimeoutError:
            if limit.expired():
                raise HTTPTimeoutError("Timeout while connecting") from None
            raise
        return conn

    def _ssl_context(self, opts: Options) -> ssl.SSLContext:
        if isinstance(opts.ssl_options, ssl.SSLContext):
            return opts.ssl_options
        key = _ssl_key(opts)
        context = self._ssl_contexts.get(key)
        if context is None:  # loading CA files is slow: once per configuration
            context = self._ssl_contexts[key] = make_ssl_context(opts)
        return context

    def _take_idle(self, key: _PoolKey) -> Connection | None:
        """The freshest usable idle connection for ``key``; stale ones are closed on the way."""
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()  # the most recently used is the least likely to be stale
            conn.idle_timer, timer = None, conn.idle_timer
            if timer is not None:
                timer.cancel()
            if conn.reusable:
                return conn
            conn.abort()
        return None

    def _put_idle(self, key: _PoolKey, conn: Connection) -> None:
        self._idle.setdefault(key, []).append(conn)
        loop = asyncio.get_running_loop()
        conn.idle_timer = loop.call_later(self._idle_timeout, self._expire_idle, key, conn)

    def _expire_idle(self, key: _PoolKey, conn: Connection) -> None:
        idle = self._idle.get(key, [])
        if conn in idle:
            idle.remove(conn)
            if not idle:
                del self._idle[key]
        conn.idle_timer = None
        conn.close()


def _fail_waiter(waiter: asyncio.Future[None], error: BaseException) -> None:
    if not waiter.done():
        waiter.set_exception(error)


class HTTPClient:
    """A blocking client for scripts and tests (``tornado.httpclient.HTTPClient``).

    It owns a private ``IOLoop`` (its own asyncio loop, never the thread's
    current one) and runs each fetch to completion with ``run_sync``, so it
    cannot be used while an event loop runs in the same thread.

    Args:
        async_client_class: the ``AsyncHTTPClient`` class to drive.
        **kwargs: arguments for that class's constructor.
    """

    def __init__(self, async_client_class: type[AsyncHTTPClient] | None = None, **kwargs: Any) -> None:
        self._closed = False
        self._io_loop = IOLoop()
        client_class = async_client_class or AsyncHTTPClient

        def make_client() -> AsyncHTTPClient:
            return client_class(force_instance=True, **kwargs)

        try:
            self._async_client = self._io_loop.run_sync(make_client)
        except BaseException:
            self._io_loop.close()
            raise

    def fetch(self, request: str | HTTPRequest, **kwargs: Any) -> HTTPResponse:
        """Run a request to completion and return its response.

        Args:
            request: a URL or an ``HTTPRequest``.
            **kwargs: ``raise_error`` and, for a URL, ``HTTPRequest`` arguments.

        Raises:
            HTTPClientError: a non-2xx response (unless ``raise_error=False``)
                or a request that got no response (code 599).
            RuntimeError: the client is closed.
        """
        if self._closed:
            raise RuntimeError("fetch() called on a closed HTTPClient")
        return self._io_loop.run_sync(functools.partial(self._async_client.fetch, request, **kwargs))

    def close(self) -> None:
        """Close the connections and the private loop; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._io_loop.run_sync(self._async_client._close_and_wait)
        self._io_loop.close()

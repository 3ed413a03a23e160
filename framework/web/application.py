"""``Application``: the routing table and settings, and the server's delegate.

The server knows it only as an ``HTTPServerConnectionDelegate``: for each
request ``start_request`` (inherited from ``routing.Router``) finds a route
and returns a ``_HandlerDelegate``, which buffers the body (or streams it to a
``@stream_request_body`` handler) and hands the handler to ``lifecycle``'s
functions, which run its steps.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from framework import routing
from framework.httpserver import HTTPServer
from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPServerRequest,
    RequestStartLine,
)
from framework.log import access_log
from framework.logsite import LogSite
from framework.template import TemplateOptions
from framework.web import lifecycle
from framework.web.compression import GZipContentEncoding, OutputTransform
from framework.web.handler import RequestHandler
from framework.web.redirect import ErrorHandler
from framework.web.settings import AppSettings, LiveSettings
from framework.web.static import StaticFileHandler
from framework.web.uimodules import UIModule, collect_ui_modules

__all__ = ["Application", "log_access"]


class _ApplicationRouter(routing.ReversibleRuleRouter):
    """Rules whose targets may be ``RequestHandler`` classes."""

    def __init__(self, application: Application, rules: Iterable[Any] | None = None) -> None:
        self.application = application
        super().__init__(rules)

    def process_rule(self, rule: routing.Rule) -> routing.Rule:
        rule = super().process_rule(rule)
        if isinstance(rule.target, (list, tuple)):
            rule.target = _ApplicationRouter(self.application, rule.target)
        return rule

    def get_target_delegate(self, target: Any, request: HTTPServerRequest, **target_params: Any) -> HTTPMessageDelegate | None:
        if isinstance(target, type) and issubclass(target, RequestHandler):
            return self.application.get_handler_delegate(request, target, **target_params)
        return super().get_target_delegate(target, request, **target_params)

    def literal_handler_rule(self, path: str) -> routing.Rule | None:
        """The rule ``find_handler`` would pick for ``path`` when it is a literal route to a handler class.

        None when the path is not in the literal-path dict or its target is
        something else (the caller then asks ``find_handler``).
        """
        if self._index.size != len(self.rules):
            self._refresh_index()
        hit = self._index.literals.get(path)
        if hit is None:
            return None
        rule = hit[1]
        target = rule.target
        return rule if isinstance(target, type) and issubclass(target, RequestHandler) else None


class Application(routing.ReversibleRouter):
    """A web application: routes, settings, and the entry point for the server.

    Mirrors Tornado's ``Application(handlers, default_host=None,
    transforms=None, **settings)``. Settings are Tornado's; they are read
    once into ``self.config`` (typed) and stay available as the
    ``self.settings`` dict. ``transforms`` lists ``OutputTransform``
    classes; ``compress_response`` adds ``GZipContentEncoding`` to it.

    Raises:
        ValueError: a bad route pattern, a duplicate route name, or a setting
            that is a near miss of a known one.
    """

    def __init__(
        self,
        handlers: Iterable[Any] | None = None,
        default_host: str | None = None,
        transforms: Any = None,
        **settings: Any,
    ) -> None:
        self.config: AppSettings
        # Tornado's dict; changing it later re-resolves self.config (see LiveSettings).
        self.settings: dict[str, Any] = LiveSettings(settings, self._settings_changed)
        self.default_host = default_host
        self.ui_methods: dict[str, Callable[..., Any]] = _collect_ui_methods(self.config.ui_methods)
        self.ui_modules: dict[str, type[UIModule]] = collect_ui_modules(settings.get("ui_modules"))
        self.transforms: list[type[OutputTransform]] = _resolve_transforms(transforms, self.config.compress_response)
        self.template_options = TemplateOptions(
            autoescape=self.config.autoescape,
            auto_reload=not self.config.compiled_template_cache,
            globals=tuple(sorted(self.config.template_globals.items())),
        )
        self._reversed: dict[tuple[str, tuple[object, ...], tuple[type, ...]], str] = {}  # reverse_url's answers (see there)
        self.wildcard_router = _ApplicationRouter(self, list(self._static_rules()) + list(handlers or ()))
        self.default_router = _ApplicationRouter(self, [routing.Rule(routing.AnyMatches(), self.wildcard_router)])
        if self.config.autoreload:
            from framework import autoreload  # debug only: production never imports it

            autoreload.start()
        # A subclass that routes its own way always goes through find_handler.
        cls = type(self)
        self._literal_fast_path = (
            cls.find_handler is _BASE_FIND_HANDLER and cls.get_handler_delegate is _BASE_GET_HANDLER_DELEGATE
        )

    def _settings_changed(self, config: AppSettings) -> None:
        self.config = config

    def _static_rules(self) -> Iterable[Any]:
        static_path = self.config.static_path
        if static_path is None:
            return ()
        handler_class = self.config.static_handler_class or StaticFileHandler
        args = dict(self.config.static_handler_args or {}, path=static_path)
        prefix = self.config.static_url_prefix
        return [
            (prefix.rstrip("/") + "/(.*)", handler_class, args),
            (r"/(favicon\.ico)", handler_class, args),
            (r"/(robots\.txt)", handler_class, args),
        ]

    # -- serving --------------------------------------------------------

    def listen(self, port: int, address: str = "", **kwargs: Any) -> HTTPServer:
        """Start an ``HTTPServer`` for this application on ``address:port``.

        ``family``, ``backlog``, ``flags`` and ``reuse_port`` go to
        ``bind_sockets``; other keyword arguments to ``HTTPServer``
        (``xheaders``, ``max_body_size``, timeouts, ...). Returns the server,
        as Tornado does.
        """
        server_keys = {"family", "backlog", "flags", "reuse_port"}
        bind_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in server_keys}
        server = HTTPServer(self, **kwargs)
        server.listen(port, address, **bind_kwargs)
        return server

    def add_transform(self, transform_class: type[OutputTransform]) -> None:
        """Add an ``OutputTransform`` class every later response passes through (Tornado's)."""
        self.transforms.append(transform_class)

    def add_handlers(self, host_pattern: str, host_handlers: Iterable[Any]) -> None:
        """Add routes that apply to requests for hosts matching ``host_pattern``.

        Host patterns are tried in the order they were added (as in Tornado),
        all before the catch-all table given to the constructor; a host table
        without a matching route falls through to the next.
        """
        self._reversed.clear()
        host_matcher = routing.HostMatches(host_pattern)
        rule = routing.Rule(host_matcher, _ApplicationRouter(self, host_handlers))
        self.default_router.rules.insert(-1, rule)
        if self.default_host is not None:
            default = routing.DefaultHostMatches(self, host_matcher.host_pattern)
            self.wildcard_router.add_rules([(default, host_handlers)])

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        """The delegate for a request arriving on ``request_conn``: it routes once the headers are in.

        Speed (bench_inprocess): one ``_HandlerDelegate`` both routes and runs
        the handler, where ``Router.start_request`` would wrap the handler's
        delegate in a routing delegate that forwards every call.
        """
        return _HandlerDelegate(self, request_conn, server_conn)

    def _route(self, request: HTTPServerRequest) -> routing.Rule | None:
        """The literal route to a handler class that ``find_handler`` would pick, without building its delegate."""
        if self._literal_fast_path and len(self.default_router.rules) == 1:
            return self.wildcard_router.literal_handler_rule(request.path)
        return None

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate:
        """The delegate for ``request``: a route's handler, the default handler, or 404."""
        if len(self.default_router.rules) == 1:
            # No host-specific tables: the only rule sends everything to the
            # wildcard router, so ask it directly (one routing level less per request).
            found = self.wildcard_router.find_handler(request)
        else:
            found = self.default_router.find_handler(request)
        if found is not None:
            return found
        if self.config.default_handler_class is not None:
            return self.get_handler_delegate(request, self.config.default_handler_class, dict(self.config.default_handler_args))
        return self.get_handler_delegate(request, ErrorHandler, {"status_code": 404})

    def get_handler_delegate(
        self,
        request: HTTPServerRequest,
        target_class: type[RequestHandler],
        target_kwargs: dict[str, Any] | None = None,
        path_args: list[bytes] | None = None,
        path_kwargs: dict[str, bytes] | None = None,
    ) -> _HandlerDelegate:
        """A delegate that runs ``target_class`` for ``request``."""
        delegate = _HandlerDelegate(self, request.connection, request.server_connection)
        delegate.set_target(request, target_class, target_kwargs, path_args, path_kwargs)
        return delegate

    def reverse_url(self, name: str, *args: Any) -> str:
        """The path of the route named ``name``, with ``args`` filled in and escaped.

        Raises:
            KeyError: no route has that name.
        """
        # Templates ask for the same routes with the same arguments on every
        # render (the redirects demo's page: 17 times). The answer depends only
        # on the routing table, and adding routes clears this. Argument types
        # are part of the key (True == 1, but they reverse differently); the
        # table stops growing at _REVERSED_MAX entries, so arguments from
        # requests (ids) cannot make it grow without bound.
        try:
            key = (name, args, tuple(map(type, args)))
            known = self._reversed.get(key)
        except TypeError:  # an unhashable argument: computed every time
            return self._reverse(name, args)
        if known is not None:
            return known
        url = self._reverse(name, args)
        if len(self._reversed) < _REVERSED_MAX:
            self._reversed[key] = url
        return url

    def _reverse(self, name: str, args: tuple[object, ...]) -> str:
        url = self.default_router.reverse_url(name, *args)
        if url is None:
            raise KeyError(f"{name} not found in named urls")
        return url

    def static_url(self, path: str, include_version: bool = True, **kwargs: Any) -> str:
        """URL of a static file, with ``?v=<hash>`` so browsers may cache it forever."""
        if self.config.static_path is None:
            raise RuntimeError("static_url() needs the 'static_path' setting")
        handler_class = self.config.static_handler_class or StaticFileHandler
        return str(handler_class.make_static_url(self.settings, path, include_version=include_version))

    def log_request(self, handler: RequestHandler) -> None:
        """Write the access log line: status, request, time. Override via ``log_function``.

        Mirrors Tornado's ``log_request``. The default line is ``log_access(handler)``;
        a ``log_function`` that adds to it (metrics) rather than replacing it calls that.
        """
        log_function = self.config.log_function
        if log_function is not None:
            log_function(handler)
            return
        log_access(handler)


# Application's own routing methods, taken once: a subclass's, or one patched onto
# Application later (a tracing wrapper), makes every request go through find_handler.
_BASE_FIND_HANDLER = Application.find_handler
_BASE_GET_HANDLER_DELEGATE = Application.get_handler_delegate


def log_access(handler: RequestHandler) -> None:
    """The default access log line of a finished request (what ``log_request`` writes).

    The record also carries the request as fields (``extra``), for a
    structured formatter such as ``framework.log.JSONFormatter``:
    ``request_id``, ``method``, ``path`` (without the query, which may
    hold secrets), ``status``, ``duration_ms``, ``client``. The text line
    does not change.
    """
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    if not access_log.isEnabledFor(level):
        return
    request = handler.request
    elapsed = 1000.0 * request.request_time()
    rid = request.request_id
    fields = {
        "request_id": rid, "method": request.method, "path": request.path, "status": status,
        "duration_ms": round(elapsed, 3), "client": request.remote_ip,
    }  # fmt: skip
    args: tuple[object, ...]
    if rid is None:
        message, args = "%d %s %s (%s) %.2fms", (status, request.method, request.uri, request.remote_ip, elapsed)
    else:
        message, args = "%d %s %s (%s) %.2fms rid=%s", (status, request.method, request.uri, request.remote_ip, elapsed, rid)
    if type(access_log) is not logging.Logger:  # (a logger class of the program's own: its log() decides)
        access_log.log(level, message, *args, extra=fields)
        return
    # The record access_log.log() would make, made here: its caller lookup
    # (a walk up the stack that finds this function) is a fifth of a logged
    # request's logging, and LogSite makes the record itself in half the time
    # makeRecord takes. Filters, handlers and a custom record factory still apply.
    try:
        record = _ACCESS_SITE.record(access_log, level, message, args, fields)
    except KeyError:  # a record factory of the program's own set one of the fields already (a request id): its value stays
        record = _ACCESS_SITE.record(access_log, level, message, args, {})
        for key, value in fields.items():
            record.__dict__.setdefault(key, value)
    access_log.handle(record)


_ACCESS_SITE = LogSite(log_access.__code__)
"""Where the access log's records say they come from, as the caller lookup would have found: ``log_access``."""


_REVERSED_MAX = 1024  # reverse_url answers an Application keeps

# A request id a client or proxy may send: short and unremarkable, so it can
# go into logs and a response header as it is.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _request_id(received: str | None) -> str:
    """The request id to use: the one received if it is well-formed, else a new one."""
    if received is not None and _VALID_REQUEST_ID.fullmatch(received):
        return received
    return secrets.token_hex(8)


def _resolve_transforms(transforms: Any, compress_response: bool) -> list[type[OutputTransform]]:
    """The ``transforms`` argument as a list, with gzip added for ``compress_response``.

    Raises:
        ValueError: an item is not an ``OutputTransform`` subclass.
    """
    resolved = list(transforms or ())
    for item in resolved:
        if not (isinstance(item, type) and issubclass(item, OutputTransform)):
            raise ValueError(f"transforms: {item!r} is not an OutputTransform subclass")
    if compress_response and not any(issubclass(t, GZipContentEncoding) for t in resolved):
        resolved.append(GZipContentEncoding)
    return resolved


def _collect_ui_methods(methods: object) -> dict[str, Callable[..., Any]]:
    """``ui_methods`` may be a dict, a module, or a list of either (as in Tornado)."""
    if isinstance(methods, (list, tuple)):
        merged: dict[str, Callable[..., Any]] = {}
        for item in methods:
            merged.update(_collect_ui_methods(item))
        return merged
    if isinstance(methods, dict):
        return dict(methods)
    names = [n for n in dir(methods) if not n.startswith("_")]
    return {n: getattr(methods, n) for n in names if callable(getattr(methods, n)) and not isinstance(getattr(methods, n), type)}


_NO_KWARGS: dict[str, Any] = {}
_NO_PATH_ARGS: list[bytes] = []
_NO_PATH_KWARGS: dict[str, bytes] = {}


class _HandlerDelegate(HTTPMessageDelegate):
    """Receives one request for a handler class and runs the handler's lifecycle.

    Made in one of two ways. ``get_handler_delegate`` makes it for a request
    already routed (Tornado's shape). ``Application.start_request`` makes it
    before routing: ``headers_received`` then builds the request and routes
    it, taking a literal route to a handler class straight from the table
    and otherwise asking ``find_handler``, whose delegate it forwards to
    unless that is a handler delegate it can take the target from.
    """

    __slots__ = (
        "application",
        "connection",
        "server_conn",
        "request",
        "handler_class",
        "handler_kwargs",
        "path_args",
        "path_kwargs",
        "chunks",
        "stream",
        "handler",
        "body_error",
        "forward",
    )

    def __init__(self, application: Application, connection: HTTPConnection | None, server_conn: object) -> None:
        self.application = application
        self.connection = connection
        self.server_conn = server_conn
        self.request: HTTPServerRequest | None = None
        self.handler_class: type[RequestHandler] = RequestHandler
        # Shared empty ones until set_target has real ones: three objects
        # less per request (bench_inprocess; a long poll holds its delegate,
        # loadtest/longpoll_fanout.py). Only ever replaced, never mutated.
        self.handler_kwargs: dict[str, Any] = _NO_KWARGS
        self.path_args: list[bytes] = _NO_PATH_ARGS
        self.path_kwargs: dict[str, bytes] = _NO_PATH_KWARGS
        self.chunks: list[bytes] | None = None  # made by the first body chunk
        self.stream = False
        self.handler: RequestHandler | None = None
        self.body_error: HTTPInputError | None = None
        # The delegate of a route whose target is not a handler class.
        self.forward: HTTPMessageDelegate | None = None

    def set_target(
        self,
        request: HTTPServerRequest,
        handler_class: type[RequestHandler],
        handler_kwargs: dict[str, Any] | None = None,
        path_args: list[bytes] | None = None,
        path_kwargs: dict[str, bytes] | None = None,
    ) -> None:
        """Bind the routed request and the handler class that will answer it."""
        self.request = request
        self.handler_class = handler_class
        if handler_kwargs:
            self.handler_kwargs = handler_kwargs
        if path_args:
            self.path_args = path_args
        if path_kwargs:
            self.path_kwargs = path_kwargs
        header = self.application.config.request_id_header
        if header is not None:
            request.request_id = _request_id(request.headers.get(header))
        self.stream = handler_class._stream_request_body
        if handler_class.max_body_size is not None and request.connection is not None:
            request.connection.set_max_body_size(handler_class.max_body_size)

    def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> Awaitable[None] | None:
        if self.request is None:
            request = HTTPServerRequest.from_start_line(start_line, headers, self.connection, self.server_conn)
            rule = self.application._route(request)
            if rule is not None:
                self.set_target(request, rule.target, rule.target_kwargs)
            else:
                forward = self._find_handler(request)
                if forward is not None:
                    self.forward = forward
                    return forward.headers_received(start_line, headers)
        if not self.stream:
            return None
        return lifecycle.stream_started(self._make_handler())

    def _find_handler(self, request: HTTPServerRequest) -> HTTPMessageDelegate | None:
        """Route through ``find_handler``; returns a delegate to forward to, if any."""
        found: HTTPMessageDelegate | None = self.application.find_handler(request)
        if found is None:  # a subclass's find_handler may give up: 404, as Router does
            found = self.application.get_handler_delegate(request, ErrorHandler, {"status_code": 404})
        if type(found) is _HandlerDelegate and found.request is request:
            # Take the target over instead of forwarding to a second delegate.
            self.request, self.handler_class, self.stream = request, found.handler_class, found.stream
            self.handler_kwargs, self.path_args, self.path_kwargs = found.handler_kwargs, found.path_args, found.path_kwargs
            return None
        return found

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.forward is not None:
            return self.forward.data_received(chunk)
        if self.stream:
            return None if self.handler is None else lifecycle.stream_chunk(self.handler, chunk)
        if self.chunks is None:
            self.chunks = [chunk]
        else:
            self.chunks.append(chunk)
        return None

    def finish(self) -> None:
        if self.forward is not None:
            self.forward.finish()
            return
        if self.stream:
            if self.handler is not None:
                lifecycle.stream_ended(self.handler)
            return
        request = self.request
        assert request is not None  # headers_received routed it
        if self.chunks:
            request.body = b"".join(self.chunks)
        self.chunks = None
        if request.body:
            try:
                request.parse_body()
            except HTTPInputError as exc:
                self.body_error = exc
        self._execute()

    def on_connection_close(self) -> None:
        if self.forward is not None:
            self.forward.on_connection_close()
            return
        # The handler learns of it through the connection's close callback.
        self.chunks = None

    def _make_handler(self) -> RequestHandler:
        assert self.request is not None  # headers_received routed it
        handler = self.handler_class(self.application, self.request, **self.handler_kwargs)
        if self.path_args or self.path_kwargs:  # else the handler makes empty ones if read
            handler.path_args = self.path_args  # type: ignore[assignment]
            handler.path_kwargs = self.path_kwargs  # type: ignore[assignment]
        self.handler = handler
        return handler

    def _execute(self) -> None:
        try:
            handler = self._make_handler()
        except Exception as exc:
            assert self.request is not None  # headers_received routed it
            lifecycle.fail_without_handler(self.request, exc)
            return
        lifecycle.execute(handler, self.body_error)

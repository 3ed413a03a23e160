"""``RequestHandler``: one instance per request, subclassed by applications.

Strategy: the class is large only in its public surface (users subclass one
class, as in Tornado); this module keeps the response (status, headers,
body, finishing, errors, ETags) and the rest comes from mixins and small
modules: ``lifecycle`` (the order of ``prepare()``, the HTTP method and the
error handling), ``cookies`` (cookies, signed cookies, XSRF), ``rendering``
(templates and UI modules), ``arguments`` (decoding arguments), ``errors``
(the exceptions), ``decorators`` (Tornado's handler decorators). What the
handler needs of its application is the ``contracts.HandlerApplication``
protocol, so nothing here imports ``Application``.
"""

from __future__ import annotations

import datetime
import http.cookies
import logging
import time
import traceback
import types
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, TypeVar

from framework import escape, http1
from framework.httputil import (
    HTTPHeaders,
    HTTPInputError,
    HTTPServerRequest,
    ResponseStartLine,
    format_timestamp,
)
from framework.iostream import IOStream
from framework.web.arguments import ArgumentReader
from framework.web.compression import OutputTransform
from framework.web.contracts import HandlerApplication
from framework.web.cookies import CookieMixin
from framework.web.errors import HTTPError
from framework.web.lifecycle import LifecycleMixin
from framework.web.locale import Locale, get_locale
from framework.web.rendering import TemplateMixin
from framework.web.responsehead import body_etag, prepared_headers
from framework.web.security import CrossOriginMixin

__all__ = ["RequestHandler"]

app_log = logging.getLogger("framework.application")
gen_log = logging.getLogger("framework.general")

_F = TypeVar("_F", bound=Callable[..., Any])

# What set_header/add_header take (Tornado's ``_HeaderTypes``); anything else is a TypeError.
_HeaderValue = str | bytes | int | datetime.datetime


_NO_CHUNKS: tuple[()] = ()  # an empty write buffer, shared (see RequestHandler.clear)
_NO_FIELDS: tuple[()] = ()  # a prepared response's own fields when it has none
_new_tuple = tuple.__new__


class RequestHandler(LifecycleMixin, CookieMixin, CrossOriginMixin, TemplateMixin, ArgumentReader):
    """Base class for request handlers (Tornado's ``RequestHandler``).

    Define ``get()``, ``post()`` and so on; each may be a plain method, an
    ``async def`` or a ``gen.coroutine``. Groups of the route's regex arrive
    as arguments (strings, percent-decoded).

    One difference from Tornado: the hooks (``initialize``, ``prepare``,
    ``on_finish``, ``on_connection_close``, ``set_default_headers``,
    ``compute_etag``, ``check_etag_header``, ``set_etag_header``, and
    ``flush`` as ``finish()`` calls it) are looked up on the class, which
    lets the server skip the base's no-op ones and send a response that set
    no header of its own without building a header map. A hook assigned to a
    handler instance (``self.flush = ...``) is not called where the class's
    is the base's: define it on a subclass.
    """

    SUPPORTED_METHODS: ClassVar[tuple[str, ...]] = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")
    _stream_request_body: ClassVar[bool] = False
    max_body_size: ClassVar[int | None] = None
    """The largest request body this handler accepts, or None for the server's limit.

    Not in Tornado, where only a ``@stream_request_body`` handler can change
    its limit, in ``prepare()``, and a buffered handler's body is read whole
    (up to the server's limit) before the handler exists. Set here, the limit
    applies as soon as the request's head is routed to the handler: a body
    over it is answered 413 as it arrives (before any ``100 Continue`` when
    its ``Content-Length`` already says so), so an endpoint that takes a
    short form never reads megabytes first.
    """

    # Set by finish() and by the first chunk through ``transforms``; read
    # only when the application has transforms, so class defaults until then.
    _finishing: bool = False
    _method_context = None  # (set with _method_task, for an async method only)
    _transforms: list[OutputTransform] | None = None
    # Set by _send_prepared: the prepared fields, this response's own fields
    # and the body's length, from which _headers makes the map if read.
    _prepared_sent: tuple[http1.PreparedFields, Sequence[tuple[str, str]], int] | None = None
    # Header fields set before the header map exists, on names the framework
    # does not decide itself: sent after the defaults on the prepared path,
    # or put in the map when one is made (set_header; class default until then).
    _own_fields: dict[str, str] | None = None

    def __init__(self, application: HandlerApplication, request: HTTPServerRequest, **kwargs: Any) -> None:
        self.application = application
        self.request = request
        # The route's groups, made on first read where it has none (see path_args).
        self._path_args: list[str] | None = None
        self._path_kwargs: dict[str, str] | None = None
        self._headers_written = False
        self._finished = False
        self._auto_finish = True
        # Made on first use by the cookie and template mixins. Set here, not
        # left to class defaults or looked up in __dict__: both cost more per
        # request on CPython 3.11 (loadtest/instructions.py).
        self._new_cookies = None
        self._ui = None
        self._method_task = None
        self.clear()  # sets the headers, the write buffer and the status, as in Tornado
        # The two hooks below are skipped where the class keeps the base's
        # no-op (a bound method and a call less per request).
        cls = type(self)
        if request.connection is not None and cls.on_connection_close is not _BASE_ON_CONNECTION_CLOSE:
            request.connection.set_close_callback(self.on_connection_close)
        if kwargs or cls.initialize is not _BASE_INITIALIZE:
            self.initialize(**kwargs)

    @property
    def path_args(self) -> list[str]:
        """The route's unnamed groups, decoded, as the method's positional arguments (Tornado's attribute).

        A route without any gets a new empty list here, on first read, rather
        than one per request: a long poll holds its handler for its whole
        wait (loadtest/longpoll_memory.py).
        """
        args = self._path_args
        if args is None:
            args = self._path_args = []
        return args

    @path_args.setter
    def path_args(self, value: list[str]) -> None:
        self._path_args = value

    @property
    def path_kwargs(self) -> dict[str, str]:
        """The route's named groups, decoded, as the method's keyword arguments (Tornado's attribute)."""
        kwargs = self._path_kwargs
        if kwargs is None:
            kwargs = self._path_kwargs = {}
        return kwargs

    @path_kwargs.setter
    def path_kwargs(self, value: dict[str, str]) -> None:
        self._path_kwargs = value

    # -- hooks for subclasses ------------------------------------------------

    def _initialize(self) -> None:
        """Receive the route's keyword arguments; store them, produce no output."""

    # Typed as a loose callable so subclasses may declare their own keywords.
    initialize: Callable[..., None] = _initialize

    def on_finish(self) -> None:
        """Called after the response was sent: clean-up and logging go here."""

    def on_connection_close(self) -> None:
        """Called when the client goes away before the response was finished.

        Long-poll handlers override it to stop waiting. Not guaranteed to be
        prompt if the client vanishes without closing the connection.
        """

    def set_default_headers(self) -> None:
        """Override to set headers on every response (also on error pages)."""

    def get_current_user(self) -> Any:
        """Override to identify the user, e.g. from a signed cookie."""
        return None

    def get_user_locale(self) -> Locale | None:
        """Override to choose the locale from the user's settings; None means use the browser's."""
        return None

    def get_browser_locale(self, default: str = "en_US") -> Locale:
        """The supported locale closest to ``Accept-Language`` (Tornado's method).

        Codes are tried in order of their ``q`` values (``q=0`` means "not
        this one"); ``default`` is used when the header is absent or names no
        code, else ``framework.locale``'s default locale.
        """
        codes: list[tuple[str, float]] = []
        for part in self.request.headers.get("Accept-Language", "").split(","):
            code, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            if code and quality > 0:
                codes.append((code, quality))
        codes.sort(key=lambda pair: -pair[1])
        return get_locale(*[code for code, _ in codes]) if codes else get_locale(default)

    # -- properties ---------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        """The application's settings dict (``self.application.settings``)."""
        return self.application.settings

    @property
    def current_user(self) -> Any:
        """The user, from ``get_current_user()`` called once per request; assignable."""
        if not hasattr(self, "_current_user"):
            self._current_user = self.get_current_user()
        return self._current_user

    @current_user.setter
    def current_user(self, value: Any) -> None:
        self._current_user = value

    @property
    def locale(self) -> Locale:
        """The user's locale: ``get_user_locale()`` or else the browser's."""
        if not hasattr(self, "_locale"):
            self._locale = self.get_user_locale() or self.get_browser_locale()
        return self._locale

    @locale.setter
    def locale(self, value: Locale) -> None:
        self._locale = value

    # -- the response head -----------------------------------------------

    def clear(self) -> None:
        """Reset headers and body to their defaults (Tornado's ``clear``)."""
        # The default headers (the request id's among them) are made on first use (see _headers).
        self._header_map: HTTPHeaders | None = None
        if self._prepared_sent is not None:  # (read from the class default until a prepared response)
            self._prepared_sent = None
        if self._own_fields is not None:  # (likewise, until a header is set)
            self._own_fields = None
        if type(self).set_default_headers is not _BASE_SET_DEFAULT_HEADERS:  # (the base's is a no-op: a call less)
            self.set_default_headers()
        # Nothing written yet: a shared empty tuple rather than a list per
        # response (a long poll holds its handler for its whole wait:
        # loadtest/longpoll_fanout.py); the first write makes the list.
        self._write_buffer: list[bytes] | tuple[()] = _NO_CHUNKS
        self._status_code = 200
        self._reason = "OK"

    @property
    def _headers(self) -> HTTPHeaders:
        """The response's header map, made from the defaults when first used.

        Private in Tornado too, where applications read it all the same. Not
        made by ``clear()``: a long poll waits without one until it answers
        (loadtest/longpoll_memory.py), and its ``Date`` is the time of the
        answer rather than of the request.
        """
        headers = self._header_map
        if headers is not None:
            return headers
        sent = self._prepared_sent
        if sent is not None:  # what _send_prepared sent, as a map (a reader after finish())
            headers = self._header_map = prepared_headers(*sent)
            return headers
        return self._make_header_map()

    @_headers.setter
    def _headers(self, value: HTTPHeaders) -> None:
        self._header_map = value

    def _make_header_map(self) -> HTTPHeaders:
        """The default headers, as the response's header map (the hot path calls this, not the property)."""
        prepared = self.application.config.default_fields.now()  # Server, Content-Type, Date, nosniff, ...
        headers = self._header_map = HTTPHeaders.adopt(dict(prepared.fields))
        if self.request.request_id is not None:
            headers[self.application.config.request_id_header or "X-Request-Id"] = self.request.request_id
        own = self._own_fields
        if own is not None:  # (set before there was a map: they go in now, in their order)
            headers.fields.update((name, [value]) for name, value in own.items())
            self._own_fields = None
        return headers

    def set_status(self, status_code: int, reason: str | None = None) -> None:
        """Set the status; a non-standard code needs a ``reason``.

        A reason that could not be sent (a control character, or a character
        beyond latin-1: often input quoted in an error) is mended, each such
        character becoming ``?``, and the status kept: the phrase is advisory
        (RFC 9112 4), and an error about bad input must not become a 500.

        Raises:
            ValueError: unknown code without a reason, or a code that is not
                three digits (RFC 9110 15: 100-999); the status is then left
                as it was.
        """
        if not 100 <= status_code <= 999:
            raise ValueError(f"invalid status code {status_code}: a status code is three digits")
        if reason is not None:
            phrase = http1.sendable_reason(escape.to_unicode(reason))
        else:
            phrase = http1.reason_phrase(status_code)
            if phrase == "Unknown":
                raise ValueError(f"unknown status code {status_code}: pass a reason")
        self._status_code = status_code
        self._reason = phrase

    def get_status(self) -> int:
        """The status set so far."""
        return self._status_code

    def set_header(self, name: str, value: _HeaderValue) -> None:
        """Set a response header, replacing others of that name.

        Raises:
            ValueError: the value holds a control character other than HTAB
                (RFC 9110 5.5) or a character beyond latin-1, or the name is
                invalid.
        """
        text = self._convert_header_value(name, value)
        if self._header_map is None and self._prepared_sent is None:
            # No map yet: a name the framework does not decide (not a default
            # field, the framing's, ETag or the request id's), or Content-Type
            # (its defaults have a prepared variant per type), is kept aside, so
            # the response can still go out on prepared fields (_send_prepared).
            key = name.lower()
            if key not in self.application.config.default_fields.decided or key == "content-type":
                own = self._own_fields
                if own is None:
                    self._own_fields = {key: text}
                else:
                    own[key] = text
                return
        self._headers[name] = text

    def add_header(self, name: str, value: _HeaderValue) -> None:
        """Add a response header, keeping others of that name (``Set-Cookie``)."""
        self._headers.add(name, self._convert_header_value(name, value))

    def clear_header(self, name: str) -> None:
        """Remove a header set earlier (no error if absent)."""
        if name in self._headers:
            del self._headers[name]

    @staticmethod
    def _convert_header_value(name: str, value: object) -> str:
        if isinstance(value, str):
            text = value
        elif isinstance(value, bytes):
            text = value.decode("latin-1")
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, datetime.datetime):
            text = format_timestamp(value)
        else:
            raise TypeError(f"unsupported header value {value!r}")
        # Speed (bench_inprocess, set_header 0.8 -> 0.3 µs): a name seen
        # before and a printable ASCII value (no control character at all)
        # need no regex.
        if name not in _CHECKED_NAMES or not text.isascii() or not text.isprintable():
            http1.validate_header_field(name, text)
            _check_sendable("header value", text)
            if len(_CHECKED_NAMES) < 1000:
                _CHECKED_NAMES.add(name)
        return text

    # -- the body ---------------------------------------------------------

    def write(self, chunk: str | bytes | dict[str, Any]) -> None:
        """Buffer output: ``str`` (UTF-8), ``bytes``, or a ``dict`` sent as JSON.

        Raises:
            RuntimeError: after ``finish()``.
            TypeError: a list or another type (JSON lists are not written:
                a top-level JSON array was an old cross-site leak).
        """
        if self._finished:
            raise RuntimeError("cannot write() after finish()")
        if type(chunk) is str:  # the usual case first, _buffer() inline (a call per response)
            data = chunk.encode("utf-8")
            buffer = self._write_buffer
            if buffer:
                buffer.append(data)
            else:
                self._write_buffer = [data]
            return
        if isinstance(chunk, dict):
            chunk = escape.json_encode(chunk)
            self.set_header("Content-Type", "application/json; charset=UTF-8")
        elif not isinstance(chunk, (bytes, str)):
            message = "write() only accepts bytes, str and dict"
            if isinstance(chunk, list):
                message += "; wrap a list in a dict (a JSON array at the top level is unsafe)"
            raise TypeError(message)
        self._buffer(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)

    def _buffer(self, data: bytes) -> None:
        buffer = self._write_buffer
        if buffer:
            buffer.append(data)
        else:  # the first chunk: a new list (until then the shared empty tuple, see clear())
            self._write_buffer = [data]

    def flush(self, include_footers: bool = False) -> Awaitable[None]:
        """Send what is buffered now; the response becomes chunked if no length is known.

        Returns:
            The connection's answer: on the server, a Future (as Tornado's
            ``flush``) done when the transport can take more, failed with
            ``StreamClosedError`` if the client has gone.
        """
        chunk = b"".join(self._write_buffer)
        self._write_buffer = _NO_CHUNKS
        connection = self.request.connection
        if connection is None:
            raise RuntimeError("this request has no connection to answer on (made without one, as in a unit test)")
        if self.application.transforms:
            chunk = self._transform(chunk)
        if not self._headers_written:
            if self.request.method == "HEAD":
                chunk = b""
            if self._new_cookies is not None:
                for cookie in self._cookie_headers():
                    self._headers.add("Set-Cookie", cookie)
            # tuple.__new__ skips the named tuple's Python-level __new__ (bench_inprocess).
            start_line = _new_tuple(ResponseStartLine, (self.request.version, self._status_code, self._reason))
            headers = self._header_map  # read, not the property (speed: bench_inprocess)
            result = connection.write_headers(start_line, headers if headers is not None else self._make_header_map(), chunk)
            # Only once they are out: if serialising raised, send_error() may still answer 500.
            self._headers_written = True
            return result
        if self.request.method == "HEAD":
            chunk = b""
        return connection.write(chunk)

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Awaitable[None]:
        """Complete the response; ``on_finish()`` runs after.

        Returns:
            What ``flush()`` returns: on the server, a Future (as Tornado's
            ``finish``) done when the transport can take more.

        Raises:
            RuntimeError: ``finish()`` was called already.
        """
        if self._finished:
            raise RuntimeError("finish() called twice")
        if chunk is not None:
            self.write(chunk)
        result = None
        if not self._headers_written and self._header_map is None:
            result = self._send_prepared()  # (sent and finished, if not None)
        if result is None:  # (the response has a header map, or needs one)
            if not self._headers_written:
                self._prepare_final_headers()
            if self.application.transforms:
                # Only they read it. A new attribute set this late would make
                # CPython 3.11 give each handler a dict of its own once thousands
                # exist at once (a long poll's fan-out), so it is not set for none.
                self._finishing = True
            result = self.flush()
            self.request.connection.finish()  # type: ignore[union-attr]  # flush() raised if it is None
        self._finished = True
        self.request._finish_time = time.time()
        self.application.log_request(self)
        if type(self).on_finish is not _BASE_ON_FINISH:  # (the base's is a no-op: a call less)
            self.on_finish()
        if self._ui is not None:  # UI methods and modules hold the handler: drop the cycle
            self._ui = None
        if self._method_task is not None:  # (an async method's: else nothing to release, and a call less)
            self._release_after_finish()
        return result

    def _send_prepared(self) -> Awaitable[None] | None:
        """Send and finish the whole response on the application's prepared default fields; None if it needs a header map.

        For a response that set no cookie and no header the framework sets
        itself but Content-Type (the handler's own fields follow the defaults),
        goes through no transform and has a body (not 1xx, 204 or 304): the
        usual one. The
        connection frames it without a header map and finishes it
        (``finish_prepared``):
        about a third of a long poll's wake (loadtest/longpoll_fanout.py
        --instructions). What it sends is what the header map would have
        held, and ``_headers`` reads it back afterwards.
        """
        request = self.request
        connection = request.connection
        status = self._status_code
        if connection is None or self._new_cookies is not None or self.application.transforms:
            return None
        if type(self).flush is not _BASE_FLUSH:  # (Tornado's finish() calls it: a handler's own runs)
            return None
        if status < 200 or status == 204 or status == 304:
            return None
        fields: Sequence[tuple[str, str]] = _NO_FIELDS
        request_id = request.request_id
        if request_id is not None:
            fields = [((self.application.config.request_id_header or "X-Request-Id").lower(), request_id)]
        own = self._own_fields
        content_type = None
        if own is not None:  # (the handler's own fields, after the request id's as in the map)
            content_type = own.get("content-type")
            if content_type is None:
                fields = [*fields, *own.items()]
            else:  # (in the defaults' place: the prepared variant of that type holds it)
                fields = [*fields, *(field for field in own.items() if field[0] != "content-type")]
        if status == 200 and request.method in ("GET", "HEAD"):
            cls = type(self)
            if (
                cls.set_etag_header is not _BASE_SET_ETAG_HEADER
                or cls.compute_etag is not _BASE_COMPUTE_ETAG
                or cls.check_etag_header is not _BASE_CHECK_ETAG_HEADER
                or "if-none-match" in request.headers.fields
            ):
                return None  # (an ETag of the handler's own, or a 304 to decide)
            etag = ("etag", body_etag(self._write_buffer))
            fields = [etag] if not fields else [*fields, etag]
        chunks = self._write_buffer
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        defaults = self.application.config.default_fields
        if content_type is None:
            second, prepared = defaults.current  # (read inline while the second lasts: a call less)
            if int(time.time()) != second:
                prepared = defaults.now()
        else:
            typed = defaults.typed(content_type)
            if typed is None:
                return None  # (more types this second than are kept prepared)
            prepared = typed
        result = connection.finish_prepared(status, self._reason, prepared, fields, body)
        if result is None:
            return None  # (a connection other than the server's: a test's, say)
        self._write_buffer = _NO_CHUNKS
        self._headers_written = True
        self._prepared_sent = (prepared, fields, len(body))
        return result

    def _prepare_final_headers(self) -> None:
        """ETag/304 and Content-Length, decided once the whole body is known."""
        # Speed (bench_inprocess): the header map's lower-case dict is read
        # and written directly for the names decided here, instead of an
        # HTTPHeaders call (and its lower()) per check.
        headers = self._header_map
        fields = (headers if headers is not None else self._make_header_map()).fields
        if self._status_code == 200 and self.request.method in ("GET", "HEAD") and "etag" not in fields:
            cls = type(self)
            if cls.set_etag_header is _BASE_SET_ETAG_HEADER and cls.compute_etag is _BASE_COMPUTE_ETAG:
                # Both, inlined (two calls less: longpoll_fanout.py); our own quoted
                # hex digest needs none of set_header's checks.
                fields["etag"] = [body_etag(self._write_buffer)]
            else:
                self.set_etag_header()
            # The base check_etag_header finds nothing to match without an
            # If-None-Match, the usual request: not called then (a call less).
            if (
                "if-none-match" in self.request.headers.fields or cls.check_etag_header is not _BASE_CHECK_ETAG_HEADER
            ) and self.check_etag_header():
                self._write_buffer = _NO_CHUNKS
                self.set_status(304)
        status = self._status_code  # read after the ETag check, which may make it 304
        if status in (204, 304) or 100 <= status < 200:
            for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
                self.clear_header(name)
            self._write_buffer = _NO_CHUNKS
        elif "content-length" not in fields:
            chunks = self._write_buffer
            fields["content-length"] = [str(len(chunks[0]) if len(chunks) == 1 else sum(map(len, chunks)))]

    def _transform(self, chunk: bytes) -> bytes:
        """Pass a chunk through the application's ``transforms`` (Tornado's ``OutputTransform``s).

        The first chunk may change the status and headers (``transform_first_chunk``);
        the transforms are made for this request when it is flushed first.
        """
        finishing = self._finishing
        active = self._transforms
        if active is not None:
            for transform in active:
                chunk = transform.transform_chunk(chunk, finishing)
            return chunk
        active = self._transforms = [make(self.request) for make in self.application.transforms]
        status = self._status_code
        for transform in active:
            status, self._headers, chunk = transform.transform_first_chunk(status, self._headers, chunk, finishing)
        if status != self._status_code:
            self.set_status(status)
        return chunk

    def redirect(self, url: str, permanent: bool = False, status: int | None = None) -> None:
        """Redirect: 302 by default, 301 if ``permanent``, or any 3xx ``status``.

        Raises:
            HTTPError: 400 when ``url`` holds a control character (CR, LF,
                NUL, any CTL but HTAB), which can never go out in ``Location``.
            RuntimeError: headers were already sent.
            ValueError: ``status`` is not a 3xx code.
        """
        if self._headers_written:
            raise RuntimeError("cannot redirect after headers have been written")
        if not http1.field_value_is_safe(url):
            # The target usually carries input (a path, a next= parameter): a
            # control character there is the client's error, not ours.
            raise HTTPError(400, "redirect target %r holds a control character", url[:200])
        if status is None:
            status = 301 if permanent else 302
        elif not 300 <= status <= 399:
            raise ValueError(f"redirect status must be 3xx, got {status}")
        self.set_status(status)
        self.set_header("Location", escape.utf8(url).decode("latin-1"))
        self.finish()

    # -- errors ---------------------------------------------------------

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Answer with an error page from ``write_error`` (Tornado's ``send_error``)."""
        if self._headers_written:
            gen_log.error("cannot send error response after headers written")
            if not self._finished:
                try:
                    self.finish()
                except Exception:
                    gen_log.error("failed to flush partial response", exc_info=True)
            return
        self.clear()
        reason = kwargs.get("reason")
        exc_info = kwargs.get("exc_info")
        if exc_info is not None and isinstance(exc_info[1], HTTPError) and exc_info[1].reason:
            reason = exc_info[1].reason
        try:
            self.set_status(status_code, reason=reason)
        except ValueError:
            self.set_status(500)
        if self._status_code == 405:
            allowed = [m for m in self.SUPPORTED_METHODS if self._implements(m)]
            self.set_header("Allow", ", ".join(allowed))
        try:
            self.write_error(self._status_code, **kwargs)
        except Exception:
            app_log.error("uncaught exception in write_error", exc_info=True)
        if not self._finished:
            self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write an error page; override for custom pages.

        ``kwargs["exc_info"]`` holds the exception when one caused the error;
        with the ``serve_traceback`` setting (on in debug) the default page
        shows the traceback.
        """
        exc_info = kwargs.get("exc_info")
        if self.application.config.serve_traceback and exc_info:
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            for line in traceback.format_exception(*exc_info):
                self.write(line)
            self.finish()
            return
        title = escape.xhtml_escape(f"{status_code}: {self._reason}")
        self.finish(f"<html><title>{title}</title><body>{title}</body></html>")

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        """Log an exception once, with the request line; HTTPErrors log as warnings."""
        if isinstance(value, HTTPError):
            if value.log_message:
                summary = f"{value.status_code} {self._request_summary()}: {value.log_message % value.args}"
                gen_log.warning(summary)
            return
        if isinstance(value, HTTPInputError):
            gen_log.warning("%d %s: %s", value.status, self._request_summary(), value.message)
            return
        app_log.error("Uncaught exception %s\n%r", self._request_summary(), self.request, exc_info=(typ, value, tb))  # type: ignore[arg-type]

    def _request_summary(self) -> str:
        return f"{self.request.method} {self.request.uri} ({self.request.remote_ip})"

    # -- ETags ------------------------------------------------------------

    def compute_etag(self) -> str | None:
        """A hash of the body, or None to send no ETag (override to customise)."""
        return body_etag(self._write_buffer)

    def set_etag_header(self) -> None:
        """Set ``Etag`` from ``compute_etag()``."""
        etag = self.compute_etag()
        if etag is not None:
            # (The usual response, with neither hook overridden, never calls
            # this: _prepare_final_headers sets the default ETag itself.)
            self.set_header("Etag", etag)

    def check_etag_header(self) -> bool:
        """True when the request's ``If-None-Match`` matches our ``Etag`` (weak comparison)."""
        # The request's field dict read directly (no HTTPHeaders.get call): this
        # runs for every 200 GET (bench_inprocess).
        values = self.request.headers.fields.get("if-none-match")
        if not values:
            return False
        theirs = ",".join(values)
        ours = (self._headers.get("Etag") or "").removeprefix("W/")
        if not ours:
            return False
        if theirs.strip() == "*":
            return True
        return any(tag.strip().removeprefix("W/") == ours for tag in theirs.split(","))

    # -- URLs and helpers -----------------------------------------------

    def reverse_url(self, name: str, *args: Any) -> str:
        """The path of the named route (``Application.reverse_url``)."""
        return self.application.reverse_url(name, *args)

    def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str:
        """URL of a file under ``static_path``, versioned by content hash.

        With ``include_host`` the URL is absolute; left out, it defaults to
        the handler's ``include_host`` attribute, if it has one (Tornado's).

        Raises:
            HTTPError: 403 for a ``path`` leading out of ``static_path``.
        """
        url = self.application.static_url(path, **kwargs)
        if include_host is None:
            include_host = getattr(self, "include_host", False)
        if include_host:
            return f"{self.request.protocol}://{self.request.host}{url}"
        return url

    def require_setting(self, name: str, feature: str = "this feature") -> None:
        """Raise if a setting the handler needs is missing.

        Raises:
            RuntimeError: the setting is absent.
        """
        # A setting the framework reads is checked where it reads it (the typed config).
        if not getattr(self.application.config, name, self.application.settings.get(name)):
            raise RuntimeError(f"you must define the {name!r} setting in your application to use {feature}")

    @property
    def cookies(self) -> dict[str, http.cookies.Morsel[str]]:
        """The request's cookies (``self.request.cookies``)."""
        return self.request.cookies

    def detach(self) -> IOStream:
        """Take the connection over as an ``IOStream``; HTTP processing stops (Tornado's ``detach``).

        For protocols that start with an HTTP request and go on as something
        else: the handler counts as finished (``finish()`` and ``on_finish``
        never run, nothing buffered is sent) and the stream is yours to
        write a response on, or anything else, and to close. Bytes the client
        sent after the request come first on the stream.

        Raises:
            RuntimeError: the request has no connection, or it cannot be
                handed over (not the connection's current request, closed).
        """
        connection = self.request.connection
        if connection is None:
            raise RuntimeError("detach(): this request has no connection")
        try:
            transport, received = connection.detach_transport()
        except NotImplementedError as exc:
            raise RuntimeError(f"detach(): {exc}") from None
        self._finished = True
        return IOStream.from_transport(transport, received)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """Receive a piece of the body; only ``@stream_request_body`` handlers define it."""
        raise NotImplementedError()

    def _implements(self, method: str) -> bool:
        """True when the subclass defines the method (the base class defines none)."""
        return getattr(type(self), method.lower(), None) is not None


# Header names that passed http1.validate_header_field (bounded: a handler
# setting endless distinct names must not grow it).
_CHECKED_NAMES: set[str] = set()


# The base class's own hooks, as defined above. Where a subclass keeps one
# that does nothing, the call is skipped (``type(self).hook is not _BASE_...``).
# Taken here once, not read from RequestHandler at each request: a hook patched
# onto RequestHandler itself (as tracing tools wrap on_finish) is then a hook
# of its own, and runs. A hook assigned to a handler instance is not seen:
# define it on a subclass.
_BASE_INITIALIZE = RequestHandler.initialize
_BASE_ON_CONNECTION_CLOSE = RequestHandler.on_connection_close
_BASE_SET_DEFAULT_HEADERS = RequestHandler.set_default_headers
_BASE_ON_FINISH = RequestHandler.on_finish
_BASE_CHECK_ETAG_HEADER = RequestHandler.check_etag_header
_BASE_COMPUTE_ETAG = RequestHandler.compute_etag
_BASE_SET_ETAG_HEADER = RequestHandler.set_etag_header
_BASE_FLUSH = RequestHandler.flush


def _check_sendable(what: str, text: str) -> None:
    """Refuse text a response head cannot carry: a CTL but HTAB (RFC 9110 5.5), or beyond latin-1.

    Raises:
        ValueError: as above (checked when set, so the handler can catch it).
    """
    if not http1.field_value_is_safe(text):
        raise ValueError(f"unsafe {what} {text!r} (a control character)")
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {text!r} is not latin-1; encode it first (e.g. RFC 8187)") from None

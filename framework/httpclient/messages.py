"""What a fetch is and what it yields: requests, responses and errors.

``HTTPRequest`` keeps Tornado's option names and leaves unset options as None;
``resolve_options`` fills them, once per fetch, from the client's ``defaults``
and then the built-in values of ``Options``, so the rest of the client reads
one typed, frozen object instead of re-checking None everywhere (Tornado's
``_RequestProxy`` answers the same question attribute by attribute).
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from framework import httputil
from framework.iostream import StreamClosedError

__all__ = [
    "DEFAULTABLE",
    "BodyProducer",
    "HTTPClientError",
    "HTTPError",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPStreamClosedError",
    "HTTPTimeoutError",
    "Options",
    "StreamClosedError",
    "resolve_options",
]

BodyProducer = Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None] | None]
"""``producer(write)``: calls ``write(chunk)`` and may await what it returns."""

# -- errors ----------------------------------------------------------------


class HTTPClientError(Exception):
    """A fetch failed: ``code`` is the response status, or 599 when no response came.

    Mirrors ``tornado.httpclient.HTTPClientError``; ``response`` is the
    complete response when the error is its non-2xx status.
    """

    def __init__(self, code: int, message: str | None = None, response: HTTPResponse | None = None) -> None:
        # Not super(): in HTTPStreamClosedError that is OSError, which reads errno.
        Exception.__init__(self, code, message)
        self.code = code
        self.message = message or httputil.responses.get(code, "Unknown")
        self.response = response

    def __str__(self) -> str:
        return f"HTTP {self.code}: {self.message}"

    __repr__ = __str__


HTTPError = HTTPClientError
"""Tornado's older name, kept as an alias as Tornado keeps it."""


class HTTPTimeoutError(HTTPClientError):
    """Code 599: connecting, waiting in the queue or the whole request took too long."""

    def __init__(self, message: str) -> None:
        super().__init__(599, message)


class HTTPStreamClosedError(HTTPClientError, StreamClosedError):
    """Code 599: the connection closed or was reset before the exchange was complete.

    Tornado's ``simple_httpclient`` raises this ``HTTPClientError`` when the
    server closes early. Here it is also ``framework.iostream``'s
    ``StreamClosedError`` (an ``OSError``), whose ``real_error`` holds the
    socket error behind a reset, so either ``except`` clause catches it.

    Args:
        message: what was cut short, for example the truncated body.
        real_error: the socket error, such as ``ConnectionResetError``.
    """

    def __init__(self, message: str, real_error: BaseException | None = None) -> None:
        StreamClosedError.__init__(self, real_error)
        HTTPClientError.__init__(self, 599, message)


# -- requests and responses --------------------------------------------------


class HTTPRequest:
    """One request: URL, method, headers, body and options (``tornado.httpclient.HTTPRequest``).

    Options left as None take the client's ``defaults``, then the built-in
    ones (20 s timeouts, redirects followed up to 5 times, gzip accepted,
    certificates checked). A ``str`` body is sent UTF-8 encoded.
    ``body_producer(write)`` streams a body instead: ``write(bytes)`` returns
    an awaitable to wait on for flow control, and the body is chunked unless
    the headers give a Content-Length. ``streaming_callback(chunk)`` takes the
    response body in place of ``HTTPResponse.body``; if it returns an awaitable
    (it is a coroutine function, say) that is awaited before the next chunk,
    as in Tornado 6.6. ``header_callback(line)`` is called for each line of
    the head and, as in Tornado, not awaited. Differences from Tornado: options after
    ``body`` are keyword-only; proxies, ``network_interface``, client
    certificates as arguments (use ``ssl_options``) and curl hooks are absent.
    """

    def __init__(
        self,
        url: str,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        *,
        auth_username: str | None = None,
        auth_password: str | None = None,
        auth_mode: str | None = None,
        connect_timeout: float | None = None,
        request_timeout: float | None = None,
        if_modified_since: datetime.datetime | float | None = None,
        follow_redirects: bool | None = None,
        max_redirects: int | None = None,
        user_agent: str | None = None,
        decompress_response: bool | None = None,
        streaming_callback: Callable[[bytes], object] | None = None,
        header_callback: Callable[[str], object] | None = None,
        body_producer: BodyProducer | None = None,
        allow_nonstandard_methods: bool | None = None,
        validate_cert: bool | None = None,
        ca_certs: str | None = None,
        ssl_options: dict[str, Any] | ssl.SSLContext | None = None,
        expect_100_continue: bool = False,
    ) -> None:
        self.url = url
        self.method = method
        self.headers = httputil.HTTPHeaders(headers or {})
        self.body = body  # the property setter encodes a str
        self.auth_username = auth_username
        self.auth_password = auth_password
        self.auth_mode = auth_mode
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.if_modified_since = if_modified_since
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.decompress_response = decompress_response
        self.streaming_callback = streaming_callback
        self.header_callback = header_callback
        self.body_producer = body_producer
        self.allow_nonstandard_methods = allow_nonstandard_methods
        self.validate_cert = validate_cert
        self.ca_certs = ca_certs
        self.ssl_options = ssl_options
        self.expect_100_continue = expect_100_continue
        self.start_time = time.time()

    @property
    def body(self) -> bytes | None:
        """The request body; assigning a ``str`` stores its UTF-8 encoding."""
        return self._body

    @body.setter
    def body(self, value: bytes | str | None) -> None:
        self._body = value.encode("utf-8") if isinstance(value, str) else value

    def __repr__(self) -> str:
        return f"HTTPRequest({self.method} {self.url})"


class HTTPResponse:
    """The outcome of a fetch (``tornado.httpclient.HTTPResponse``).

    ``error`` is None for 2xx responses, an ``HTTPClientError`` for other
    statuses, or the exception of a request that got no response (code 599).
    ``request`` is the request as given, ``effective_url`` where redirects
    led. Difference from Tornado: arguments after ``error`` are keyword-only.
    """

    def __init__(
        self,
        request: HTTPRequest,
        code: int,
        headers: httputil.HTTPHeaders | None = None,
        buffer: io.BytesIO | None = None,
        effective_url: str | None = None,
        error: BaseException | None = None,
        *,
        request_time: float | None = None,
        time_info: dict[str, float] | None = None,
        reason: str | None = None,
        start_time: float | None = None,
    ) -> None:
        self.request = request
        self.code = code
        self.reason = reason or httputil.responses.get(code, "Unknown")
        self.headers = headers if headers is not None else httputil.HTTPHeaders()
        self.buffer = buffer
        self._body: bytes | None = None
        self.effective_url = effective_url or request.url
        self.request_time = request_time
        self.time_info = time_info or {}
        self.start_time = start_time
        self._error_is_response_code = error is None and not 200 <= code < 300
        if self._error_is_response_code:
            error = HTTPClientError(code, self.reason, response=self)
        self.error = error

    @property
    def body(self) -> bytes:
        """The response body (empty when it went to ``streaming_callback``)."""
        if self.buffer is None:
            return b""
        if self._body is None:
            self._body = self.buffer.getvalue()
        return self._body

    def rethrow(self) -> None:
        """Raise ``error`` if there is one."""
        if self.error is not None:
            raise self.error

    def __repr__(self) -> str:
        return f"HTTPResponse(code={self.code}, effective_url={self.effective_url!r})"


# -- per-request settings, resolved once -------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    """The options a request did not set, filled from client defaults then built-ins."""

    connect_timeout: float = 20.0
    request_timeout: float = 20.0
    follow_redirects: bool = True
    max_redirects: int = 5
    user_agent: str = "framework.httpclient"
    decompress_response: bool = True
    allow_nonstandard_methods: bool = False
    validate_cert: bool = True
    ca_certs: str | None = None
    ssl_options: dict[str, Any] | ssl.SSLContext | None = None
    auth_username: str | None = None
    auth_password: str | None = None
    auth_mode: str = "basic"


DEFAULTABLE: Final = frozenset(f.name for f in dataclasses.fields(Options))


def resolve_options(request: HTTPRequest, defaults: Mapping[str, Any]) -> Options:
    """Each option from the request, else the client's ``defaults``, else ``Options``'s own."""
    chosen = {}
    for name in DEFAULTABLE:
        value = getattr(request, name)
        if value is None:
            value = defaults.get(name)
        if value is not None:
            chosen[name] = value
    return Options(**chosen)

"""HTTP data types shared by server, client and application, and the seam between them.

The seam has Tornado's shape. The server calls
``HTTPServerConnectionDelegate.start_request(server_conn, request_conn)`` once
per request and drives the returned ``HTTPMessageDelegate`` with
``headers_received``, ``data_received``, ``finish`` and
``on_connection_close``; the application answers through the
``HTTPConnection`` verbs ``write_headers``, ``write`` and ``finish``. Nothing
here knows sockets, routing or handlers, which is why the server never imports
the web layer and the web layer never touches a transport.

This module imports only ``http1``, ``multipart`` and ``escape`` from the
framework (DESIGN.md's import rules).
"""

from __future__ import annotations

import asyncio
import calendar
import datetime
import email.utils
import http.cookies
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, NamedTuple, TypeVar, overload

from framework import http1, multipart

__all__ = [
    "HTTPConnection",
    "HTTPFile",
    "HTTPHeaders",
    "HTTPInputError",
    "HTTPMessageDelegate",
    "HTTPOutputError",
    "HTTPServerConnectionDelegate",
    "HTTPServerRequest",
    "RequestStartLine",
    "ResponseStartLine",
    "encode_username_password",
    "format_timestamp",
    "parse_body_arguments",
    "parse_cookie",
    "parse_multipart_form_data",
    "parse_qs_bytes",
    "parse_request_start_line",
    "parse_response_start_line",
    "qs_to_qsl",
    "responses",
    "split_host_and_port",
    "url_concat",
]

gen_log = logging.getLogger("framework.general")

_T = TypeVar("_T")

responses: dict[int, str] = {
    code: http1.reason_phrase(code) for code in range(100, 600) if http1.reason_phrase(code) != "Unknown"
}
"""Status code -> standard reason phrase (Tornado's ``httputil.responses``)."""


class HTTPInputError(Exception):
    """A request body or argument could not be decoded (answered with ``status``, 400 by default).

    Args:
        message: what was wrong, shown as the error page's reason.
        status: 413 when a limit was exceeded (too many parts, a field too large).
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class HTTPOutputError(Exception):
    """The application produced an invalid response (for example, too many bytes)."""


class RequestStartLine(NamedTuple):
    """The request line: method, target (path and query), version."""

    method: str
    path: str
    version: str


class ResponseStartLine(NamedTuple):
    """The status line: version, code, reason."""

    version: str
    code: int
    reason: str


# The canonical display form of a field name lives with the grammar (the
# writer needs it too); these names keep this module's spelling.
_display_names = http1.DISPLAY_NAMES
_display_name = http1.field_display_name


class HTTPHeaders(MutableMapping[str, str]):
    """Case-insensitive, multi-valued header map (Tornado's ``HTTPHeaders``).

    ``headers["Set-Cookie"]`` returns the values joined by commas, as RFC 9110
    allows for list-valued fields; ``get_list`` returns them separately and
    ``get_all`` yields every ``(name, value)`` pair, a name's values together
    in order of arrival. Names are shown normalised (``Content-Type``).

    Attributes:
        fields: the storage, ``{lower-case name: [values]}`` (what ``adopt``
            wraps): the public fast path for serialisers and the hot path,
            which read and write it without a ``lower()`` per call. Writers
            keep its three rules: keys are lower-case, no list is empty, and
            a list is replaced, never changed in place (maps may share
            lists: every response starts from one shared set of defaults).
            Not in Tornado, whose ``HTTPHeaders`` keeps this private.
    """

    __slots__ = ("fields",)

    def __init__(self, *args: Any, **kwargs: str) -> None:
        # lower-case name -> values; the display name is derived when needed.
        self.fields: dict[str, list[str]] = {}
        if len(args) == 1 and type(args[0]) is HTTPHeaders:
            self.fields = {k: list(v) for k, v in args[0].fields.items()}
        elif len(args) == 1 and type(args[0]) is dict and not kwargs:
            # What update() would do, without a __setitem__ call per item
            # (speed: HTTPHeaders({...}) per response, bench_inprocess).
            self.fields = {name.lower(): [value] for name, value in args[0].items()}
        elif args or kwargs:
            self.update(*args, **kwargs)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> HTTPHeaders:
        """Build from the parser's ``(name, value)`` list, keeping every value."""
        headers = cls()
        values = headers.fields
        for name, value in pairs:
            key = name.lower()
            existing = values.get(key)
            if existing is None:
                values[key] = [value]
            else:
                existing.append(value)
        return headers

    @classmethod
    def adopt(cls, fields: dict[str, list[str]]) -> HTTPHeaders:
        """Wrap a ``{lower-case name: [values]}`` dict (the parser's ``RequestHead.fields``) without copying."""
        headers = cls.__new__(cls)
        headers.fields = fields
        return headers

    @classmethod
    def parse(cls, headers: str) -> HTTPHeaders:
        """Parse a CRLF-separated header block (no start line).

        Raises:
            HTTPInputError: a line is not a valid header field.
        """
        lines = [ln.encode("latin-1") for ln in headers.replace("\r\n", "\n").split("\n") if ln]
        try:
            pairs = http1.parse_fields(lines)
        except http1.ProtocolError as exc:
            raise HTTPInputError(exc.message) from None
        return cls.from_pairs(pairs)

    def add(self, name: str, value: str) -> None:
        """Add a value without replacing the ones already there."""
        key = name.lower()
        existing = self.fields.get(key)
        # A new list rather than an append: lists may be shared between maps.
        self.fields[key] = [value] if existing is None else [*existing, value]

    def get_list(self, name: str) -> list[str]:
        """Every value of ``name``, or an empty list."""
        return list(self.fields.get(name.lower(), ()))

    def get_all(self) -> Iterator[tuple[str, str]]:
        """Every ``(name, value)`` pair, repeated names included."""
        return iter(self.pairs())

    def pairs(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair as a list (what a serialiser wants, built in one go)."""
        names = _display_names  # the cache, read inline (speed: no call per field, bench_inprocess)
        return [
            (names[key] if key in names else _display_name(key), value) for key, values in self.fields.items() for value in values
        ]

    def parse_line(self, line: str) -> None:
        """Add one ``Name: value`` line."""
        for name, value in HTTPHeaders.parse(line).get_all():
            self.add(name, value)

    @overload
    def get(self, name: str, /) -> str | None: ...

    @overload
    def get(self, name: str, /, default: str | _T) -> str | _T: ...

    def get(self, name: str, /, default: Any = None) -> Any:
        """The comma-joined values of ``name``, or ``default`` (no exception on a miss)."""
        values = self.fields.get(name.lower())
        if values is None:
            return default
        return values[0] if len(values) == 1 else ",".join(values)

    def __setitem__(self, name: str, value: str) -> None:
        self.fields[name.lower()] = [value]

    def __getitem__(self, name: str) -> str:
        values = self.fields[name.lower()]
        return values[0] if len(values) == 1 else ",".join(values)

    def __delitem__(self, name: str) -> None:
        del self.fields[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.fields

    def __len__(self) -> int:
        return len(self.fields)

    def __iter__(self) -> Iterator[str]:
        return (_display_name(key) for key in self.fields)

    def copy(self) -> HTTPHeaders:
        """An independent copy."""
        return HTTPHeaders(self)

    __copy__ = copy

    def __str__(self) -> str:
        return "".join(f"{n}: {v}\r\n" for n, v in self.get_all())

    def __repr__(self) -> str:
        return f"HTTPHeaders({list(self.get_all())!r})"


class HTTPFile(dict[str, Any]):
    """An uploaded file: ``filename``, ``content_type`` and ``body``.

    A dict (the tutorial reads ``info["filename"]``) whose keys are also
    attributes (``info.filename``), as Tornado's ``HTTPFile`` is.
    """

    def __init__(self, filename: str, content_type: str, body: bytes) -> None:
        super().__init__(filename=filename, content_type=content_type, body=body)

    @property
    def filename(self) -> str:
        return str(self["filename"])

    @property
    def content_type(self) -> str:
        return str(self["content_type"])

    @property
    def body(self) -> bytes:
        return bytes(self["body"])


class HTTPConnection:
    """The verbs an application uses to answer one request (Tornado's ``HTTPConnection``).

    The server implements it; tests may implement it over a fake transport.
    Empty ``__slots__``, so that an implementation with slots of its own
    carries no ``__dict__`` (one is made per request and lives as long as
    it: loadtest/longpoll_fanout.py); a subclass without them gets one.
    """

    __slots__ = ()

    def write_headers(
        self,
        start_line: ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> Awaitable[None]:
        """Send the status line and headers, optionally with the first body chunk.

        Returns:
            An awaitable that completes when the transport can take more data.
        """
        raise NotImplementedError()

    def write_prepared(
        self, status: int, reason: str, prepared: http1.PreparedFields, fields: Sequence[tuple[str, str]], body: bytes
    ) -> Awaitable[None] | None:
        """Send a whole response on prepared fields, or None if this connection cannot (Not in Tornado).

        Args: as ``http1.prepared_response`` (the server's connection frames
        it so); ``fields`` are the response's own, after the prepared ones.

        Returns:
            As ``write_headers``; None here: the caller sends the same
            fields through ``write_headers`` instead.
        """
        return None

    def write(self, chunk: bytes) -> Awaitable[None]:
        """Send a body chunk (framed as the headers decided)."""
        raise NotImplementedError()

    def finish(self) -> None:
        """The response is complete."""
        raise NotImplementedError()

    def set_max_body_size(self, max_body_size: int) -> None:
        """Change this request's body limit; bytes beyond it are a 413 (Tornado's, on ``HTTP1Connection``).

        Takes effect for the body still to come: call it from
        ``headers_received`` or a streaming handler's ``prepare()``. A
        connection that reads no body (a fake in tests) may ignore it.
        """

    def set_body_timeout(self, timeout: float) -> None:
        """Change how long this request's body may stall (Tornado's, on ``HTTP1Connection``)."""

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` if the client goes away before the response is finished (Tornado's).

        A connection that cannot close early (a fake in tests) may ignore it.
        """

    def detach_transport(self, on_server_drain: Callable[[], object] | None = None) -> tuple[asyncio.Transport, bytes]:
        """Give the transport to another protocol (a WebSocket after its 101, ``RequestHandler.detach``).

        Not in Tornado, whose connections hand over an ``IOStream``
        (``detach()``): here the transport is what another protocol takes.

        Returns:
            The transport and the bytes received after this request.

        Raises:
            NotImplementedError: this connection cannot be handed over.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot hand its transport to another protocol")


class HTTPMessageDelegate:
    """Receives one request as it arrives (Tornado's ``HTTPMessageDelegate``).

    ``headers_received`` and ``data_received`` may return an awaitable: the
    server reads no further from the connection until it completes, which is
    the flow control that lets a streaming handler write to disk at its pace.
    Empty ``__slots__``, as on ``HTTPConnection`` and for the same reason.
    """

    __slots__ = ()

    def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> Awaitable[None] | None:
        """The request line and headers have arrived."""
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """A piece of the body has arrived."""
        return None

    def finish(self) -> None:
        """The whole request has arrived."""

    def on_connection_close(self) -> None:
        """The connection closed before the whole request arrived.

        As in Tornado, a delegate whose headers arrived gets either ``finish()``
        or this, never both: a client that leaves while the response is being
        prepared is told through ``HTTPConnection.set_close_callback``.
        """


class HTTPServerConnectionDelegate:
    """Creates a message delegate per request (Tornado's ``HTTPServerConnectionDelegate``)."""

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        """Return the delegate that will receive the request arriving on ``request_conn``."""
        raise NotImplementedError()

    def on_close(self, server_conn: object) -> None:
        """A connection closed."""


class HTTPServerRequest:
    """One HTTP request, as handlers see it (Tornado's ``HTTPServerRequest``).

    ``remote_ip`` and ``protocol`` come from the connection's ``context``
    (which applies ``xheaders`` when the server trusts a proxy). Query
    arguments are parsed at construction; cookies lazily on first use.

    Slots, with a ``__dict__`` for any other attribute an application sets:
    a request lives as long as its response takes (a long poll's whole
    wait). ``query_arguments``, ``arguments``, ``body_arguments`` and
    ``files`` are made on first use, so a request that has none holds no
    empty dicts (loadtest/longpoll_fanout.py: bytes per waiter).
    """

    __slots__ = (
        "method",
        "uri",
        "version",
        "headers",
        "body",
        "remote_ip",
        "protocol",
        "host",
        "connection",
        "server_connection",
        "path",
        "query",
        "request_id",
        "_query_arguments",
        "_arguments",
        "_body_arguments",
        "_files",
        "_cookies",
        "_start_time",
        "_finish_time",
        "__dict__",
        "__weakref__",
    )

    def __init__(
        self,
        method: str | None = None,
        uri: str | None = None,
        version: str = "HTTP/1.0",
        headers: HTTPHeaders | None = None,
        body: bytes | None = None,
        host: str | None = None,
        files: dict[str, list[HTTPFile]] | None = None,
        connection: HTTPConnection | None = None,
        start_line: RequestStartLine | None = None,
        server_connection: object | None = None,
    ) -> None:
        if start_line is not None:
            method, uri, version = start_line
        headers = headers if headers is not None else HTTPHeaders()
        # Any mapping, as in Tornado (a plain dict in a test), kept as given.
        host = host or headers.get("Host") or "127.0.0.1"
        self._set_up(method or "GET", uri or "/", version, headers, host, connection, server_connection)
        if body:
            self.body = body
        if files:
            self.files = files

    @classmethod
    def from_start_line(
        cls, start_line: RequestStartLine, headers: HTTPHeaders, connection: HTTPConnection | None, server_connection: object
    ) -> HTTPServerRequest:
        """The request a server received: what ``__init__`` builds from the same arguments, for less.

        Not in Tornado. Positional and without ``__init__``'s optional
        arguments: a call with keyword arguments and the defaults sorted out
        costs about as much again as the request's fields themselves, once
        per request (loadtest/instructions.py).
        """
        request = cls.__new__(cls)
        host = headers.fields.get("host")  # HTTPHeaders.get's rule, without the call
        text = (host[0] if len(host) == 1 else ",".join(host)) if host else ""
        request._set_up(start_line[0], start_line[1], start_line[2], headers, text or "127.0.0.1", connection, server_connection)
        return request

    def _set_up(
        self,
        method: str,
        uri: str,
        version: str,
        headers: HTTPHeaders,
        host: str,
        connection: HTTPConnection | None,
        server_connection: object,
    ) -> None:
        """Set every attribute: the one body of both constructors."""
        self.method = method
        self.uri = uri
        self.version = version
        self.headers = headers
        self.body = b""
        context = getattr(connection, "context", None)
        self.remote_ip: str | None = getattr(context, "remote_ip", None)
        self.protocol: str = getattr(context, "protocol", "http")
        self.host = host
        self.connection = connection
        self.server_connection = server_connection
        self._start_time = time.time()
        self._finish_time: float | None = None
        self.path, _, self.query = uri.partition("?")
        if self.query:
            query_arguments = parse_qs_bytes(self.query, keep_blank_values=True)
            self._query_arguments: dict[str, list[bytes]] | None = query_arguments
            self._arguments: dict[str, list[bytes]] | None = {k: list(v) for k, v in query_arguments.items()}
        else:  # the usual case: made on first use, if ever
            self._query_arguments = None
            self._arguments = None
        self._body_arguments: dict[str, list[bytes]] | None = None
        self._files: dict[str, list[HTTPFile]] | None = None
        self._cookies: http.cookies.SimpleCookie | None = None
        # Set by the application when it tracks request ids (X-Request-Id).
        self.request_id: str | None = None

    @property
    def query_arguments(self) -> dict[str, list[bytes]]:
        """Arguments of the query string: ``{name: [raw bytes values]}`` (Tornado's)."""
        found = self._query_arguments
        if found is None:
            found = self._query_arguments = {}
        return found

    @query_arguments.setter
    def query_arguments(self, value: dict[str, list[bytes]]) -> None:
        self._query_arguments = value

    @property
    def arguments(self) -> dict[str, list[bytes]]:
        """Query and body arguments together, query ones first (Tornado's)."""
        found = self._arguments
        if found is None:
            found = self._arguments = {}
        return found

    @arguments.setter
    def arguments(self, value: dict[str, list[bytes]]) -> None:
        self._arguments = value

    @property
    def body_arguments(self) -> dict[str, list[bytes]]:
        """Arguments of a urlencoded or multipart body, once ``parse_body`` ran (Tornado's)."""
        found = self._body_arguments
        if found is None:
            found = self._body_arguments = {}
        return found

    @body_arguments.setter
    def body_arguments(self, value: dict[str, list[bytes]]) -> None:
        self._body_arguments = value

    @property
    def files(self) -> dict[str, list[HTTPFile]]:
        """Uploaded files by field name, once ``parse_body`` ran (Tornado's)."""
        found = self._files
        if found is None:
            found = self._files = {}
        return found

    @files.setter
    def files(self, value: dict[str, list[HTTPFile]]) -> None:
        self._files = value

    @property
    def host_name(self) -> str:
        """The host without its port, lower-cased (for host-based routing)."""
        return split_host_and_port(self.host.lower())[0]

    @property
    def cookies(self) -> dict[str, http.cookies.Morsel[str]]:
        """Cookies sent by the client, parsed once (Tornado's ``request.cookies``)."""
        if self._cookies is None:
            self._cookies = http.cookies.SimpleCookie()
            for header in self.headers.get_list("Cookie"):
                for name, value in parse_cookie(header).items():
                    try:
                        self._cookies[name] = value
                    except http.cookies.CookieError:
                        pass  # a name SimpleCookie refuses (browsers send some): skip it
        return dict(self._cookies)

    def full_url(self) -> str:
        """The reconstructed URL: ``protocol://host/uri``."""
        return f"{self.protocol}://{self.host}{self.uri}"

    def get_ssl_certificate(self, binary_form: bool = False) -> dict[str, Any] | bytes | None:
        """The client's TLS certificate, or None (Tornado's ``get_ssl_certificate``).

        None on a plain connection, when the client sent none, or when the
        server did not ask for one: set ``verify_mode`` on the server's
        ``ssl.SSLContext`` (``CERT_OPTIONAL``/``CERT_REQUIRED``) with the
        CAs to check it against. ``binary_form`` gives the DER bytes instead
        of the decoded dict (which holds only a certificate that verified).
        """
        ssl_object = getattr(getattr(self.connection, "context", None), "ssl_object", None)
        if ssl_object is None:
            return None
        try:
            certificate: dict[str, Any] | bytes | None = ssl_object.getpeercert(binary_form=binary_form)
        except ValueError:  # the handshake has not completed
            return None
        return certificate or None

    def request_time(self) -> float:
        """Seconds this request took, or has taken so far."""
        end = self._finish_time if self._finish_time is not None else time.time()
        return end - self._start_time

    def parse_body(self) -> None:
        """Fill ``body_arguments``, ``arguments`` and ``files`` from ``body``.

        Public for the layers that collect a body (the server's callback
        adapter, ``Application``); Tornado calls it ``_parse_body``, which
        stays as an alias.
        """
        if not self.body:
            return
        # The slots read once here, not through their properties (a call each, per form POST).
        body_arguments = {} if self._body_arguments is None else self._body_arguments
        files = {} if self._files is None else self._files
        parse_body_arguments(self.headers.get("Content-Type", ""), self.body, body_arguments, files, self.headers)
        self._body_arguments, self._files = body_arguments, files
        arguments = self.arguments
        for name, values in body_arguments.items():
            merged = arguments.get(name)
            if merged is None:
                arguments[name] = values[:]  # a copy: the two dicts never share a list
            else:
                merged.extend(values)

    _parse_body = parse_body  # Tornado's name

    def __repr__(self) -> str:
        return f"HTTPServerRequest(method={self.method!r}, uri={self.uri!r}, remote_ip={self.remote_ip!r})"


def parse_qs_bytes(qs: str | bytes, keep_blank_values: bool = False) -> dict[str, list[bytes]]:
    """Parse a query string into ``{name: [raw bytes values]}`` (Tornado's ``parse_qs_bytes``).

    Values stay bytes (decoded by the handler, which answers 400 for bad
    UTF-8); names are decoded as latin-1 so no input fails here. Pairs are
    separated by ``&`` only; ``+`` is a space, then ``%XX`` escapes are
    decoded (an invalid escape stays as it is); a pair without ``=``, or
    with an empty value, counts only with ``keep_blank_values``: what
    ``urllib.parse.parse_qs(qs, encoding="latin-1")`` gives, with the values
    encoded back to latin-1.

    Strategy: the pairs are split as bytes, ``+`` becomes a space, and only
    a part holding ``%`` goes through ``unquote_to_bytes`` (speed: a
    five-field form body costs a third of ``parse_qsl``'s time,
    ``loadtest/bench.py``'s form workload).

    Raises:
        UnicodeEncodeError: a value of a ``str`` ``qs`` holds a character
            beyond latin-1 (it cannot become bytes as sent).
    """
    if isinstance(qs, bytes):
        data = qs
    else:
        try:
            data = qs.encode("latin-1")
        except UnicodeEncodeError:  # text no wire sends (a hand-made request): the standard library's way
            return _parse_qs_text(qs, keep_blank_values)
    result: dict[str, list[bytes]] = {}
    unquote = urllib.parse.unquote_to_bytes
    for part in data.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        if not (value or keep_blank_values):
            continue
        # find(), not ``in``: CPython 3.11 first tries a bytes operand of
        # ``in`` as an integer, and builds and drops a TypeError each time
        # (about 1.7k instructions; 20 per five-field form). replace() gives
        # the part itself back when there is no "+".
        name = name.replace(b"+", b" ")
        if name.find(b"%") >= 0:
            name = unquote(name)
        value = value.replace(b"+", b" ")
        if value.find(b"%") >= 0:
            value = unquote(value)
        key = name.decode("latin-1")
        values = result.get(key)
        if values is None:
            result[key] = [value]
        else:
            values.append(value)
    return result


def _parse_qs_text(qs: str, keep_blank_values: bool) -> dict[str, list[bytes]]:
    """``parse_qs_bytes`` for text beyond latin-1: names stay as they are, values must encode to latin-1."""
    result: dict[str, list[bytes]] = {}
    for name, value in urllib.parse.parse_qsl(qs, keep_blank_values=keep_blank_values, encoding="latin-1", errors="strict"):
        result.setdefault(name, []).append(value.encode("latin-1"))
    return result


def qs_to_qsl(qs: Mapping[str, list[_T]]) -> Iterator[tuple[str, _T]]:
    """``{k: [v1, v2]}`` -> ``(k, v1), (k, v2)``."""
    for name, values in qs.items():
        for value in values:
            yield name, value


def url_concat(url: str, args: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> str:
    """Append query arguments to ``url``, keeping any it already has."""
    if not args:
        return url
    parsed = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
    items = args.items() if isinstance(args, Mapping) else args
    query.extend((str(k), str(v)) for k, v in items)
    return urllib.parse.urlunparse(parsed._replace(query=urllib.parse.urlencode(query)))


def parse_body_arguments(
    content_type: str,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    headers: HTTPHeaders | None = None,
) -> None:
    """Parse a form body into ``arguments`` (and ``files``, for multipart bodies).

    Bodies with a ``Content-Encoding`` are left alone: they must be decoded
    first. Other content types are not form data and are ignored.

    Raises:
        HTTPInputError: the body is not valid for its declared type.
    """
    if headers is not None and headers.get("Content-Encoding", "identity") != "identity":
        gen_log.warning("unsupported Content-Encoding %r: body arguments not parsed", headers["Content-Encoding"])
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        parsed = parse_qs_bytes(body, keep_blank_values=True)  # never fails on bytes
        if not arguments:  # the usual empty dict: take the new lists as they are
            arguments.update(parsed)
            return
        for name, values in parsed.items():
            arguments.setdefault(name, []).extend(values)
    elif media_type == "multipart/form-data":
        _parse_multipart_body(content_type, body, arguments, files)


def _parse_multipart_body(
    content_type: str, body: bytes, arguments: dict[str, list[bytes]], files: dict[str, list[HTTPFile]]
) -> None:
    """A buffered multipart body, through the same streaming decoder handlers use part by part."""
    try:
        fields, uploads = multipart.parse_multipart(content_type, body)
    except multipart.MultipartError as exc:
        raise HTTPInputError(f"invalid multipart body: {exc.message}", exc.status) from None
    for name, values in fields.items():
        arguments.setdefault(name, []).extend(values)
    for name, parts in uploads.items():
        files.setdefault(name, []).extend(HTTPFile(filename, ctype, data) for filename, ctype, data in parts)


def parse_multipart_form_data(
    boundary: bytes, data: bytes, arguments: dict[str, list[bytes]], files: dict[str, list[HTTPFile]]
) -> None:
    """Parse a ``multipart/form-data`` body into ``arguments`` and ``files`` (Tornado's function).

    The boundary is the Content-Type's parameter, quoted or not. The body goes
    through ``framework.multipart``'s decoder, as every multipart body does.
    Unlike Tornado, which logs a warning and returns, a malformed body raises.

    Raises:
        HTTPInputError: malformed body or boundary (400), or over a limit (413).
    """
    if boundary.startswith(b'"') and boundary.endswith(b'"') and len(boundary) >= 2:
        boundary = boundary[1:-1]
    if b'"' in boundary or b"\\" in boundary:
        raise HTTPInputError(f"invalid multipart boundary {boundary[:80]!r}")
    content_type = f'multipart/form-data; boundary="{boundary.decode("latin-1")}"'
    _parse_multipart_body(content_type, data, arguments, files)


def parse_request_start_line(line: str) -> RequestStartLine:
    """``"GET /foo HTTP/1.1"`` -> ``RequestStartLine("GET", "/foo", "HTTP/1.1")`` (Tornado's function).

    The grammar is ``framework.http1``'s, so this accepts exactly the request
    lines the server accepts: HTTP/1.0 and HTTP/1.1 only (Tornado takes any
    ``HTTP/1.x``).

    Raises:
        HTTPInputError: the line is malformed.
    """
    try:
        return RequestStartLine(*http1.parse_request_line(line))
    except http1.ProtocolError as exc:
        raise HTTPInputError(f"Malformed HTTP request line: {exc.message}") from None


def parse_response_start_line(line: str) -> ResponseStartLine:
    """``"HTTP/1.1 200 OK"`` -> ``ResponseStartLine("HTTP/1.1", 200, "OK")`` (Tornado's function).

    Raises:
        HTTPInputError: the line is malformed (the client's parser's rule).
    """
    try:
        return ResponseStartLine(*http1.parse_status_line(line, 400))
    except http1.ProtocolError as exc:
        raise HTTPInputError(f"Error parsing response start line: {exc.message}") from None


def encode_username_password(username: str | bytes, password: str | bytes) -> bytes:
    """``username:password`` as bytes, for HTTP basic authentication (Tornado's function).

    Strings are encoded as UTF-8 (RFC 7617's ``charset="UTF-8"``).
    """
    user = username.encode("utf-8") if isinstance(username, str) else username
    secret = password.encode("utf-8") if isinstance(password, str) else password
    return user + b":" + secret


def parse_cookie(cookie: str) -> dict[str, str]:
    """Parse a ``Cookie`` header leniently, as browsers send it (RFC 6265 5.4)."""
    result: dict[str, str] = {}
    for chunk in cookie.split(";"):
        name, eq, value = chunk.partition("=")
        name, value = name.strip(), value.strip()
        if not eq and not value:
            name, value = "", name
        if not name and not value:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        result[name] = urllib.parse.unquote(value)
    return result


def split_host_and_port(netloc: str) -> tuple[str, int | None]:
    """``"example.com:8080"`` -> ``("example.com", 8080)``; IPv6 brackets kept off."""
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = netloc.rpartition(":") if netloc.count(":") == 1 else (netloc, "", "")
    return host, int(port_text) if port_text.isdigit() else None


def format_timestamp(ts: float | int | tuple[int, ...] | time.struct_time | datetime.datetime) -> str:
    """An HTTP date (RFC 9110 5.6.7) for a timestamp, time tuple or datetime."""
    if isinstance(ts, (int, float)):
        seconds = float(ts)
    elif isinstance(ts, (tuple, time.struct_time)):
        seconds = float(calendar.timegm(tuple(ts)))
    elif isinstance(ts, datetime.datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=datetime.UTC)
        seconds = ts.timestamp()
    else:
        raise TypeError(f"unknown timestamp type {ts!r}")
    return email.utils.formatdate(seconds, usegmt=True)

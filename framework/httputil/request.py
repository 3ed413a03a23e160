"""``HTTPServerRequest``: one HTTP request, as handlers see it (Tornado's)."""

from __future__ import annotations

import http.cookies
import time
from typing import Any

from framework.http1 import HOST_VALUE
from framework.httputil.errors import HTTPInputError
from framework.httputil.fieldvalues import parse_cookie, split_host_and_port
from framework.httputil.forms import HTTPFile, get_parse_body_config, parse_body_arguments
from framework.httputil.headers import HTTPHeaders
from framework.httputil.query import parse_qs_bytes, too_many_fields
from framework.httputil.seam import HTTPConnection
from framework.httputil.startline import RequestStartLine

# The last Host the request path found good. The C parser keeps the text of a
# field value it saw in the last requests and hands it over again as the same
# str object, so a client's every request after its first skips the regular
# expression (a few thousand instructions: loadtest/instructions.py). An
# identity test: a str equal but not the same is checked again.
_host_checked: list[str] = [""]


def _check_host(host: str) -> None:
    """Refuse a Host that is not ``host[:port]`` (Tornado's rule in ``HTTPServerRequest``).

    Raises:
        HTTPInputError: a character outside ``http1.HOST_VALUE`` (a space, ``/``,
            ``@``, ``?``...), or a comma: two Host fields joined (400).
    """
    if HOST_VALUE.fullmatch(host) is None:
        if "," in host:
            raise HTTPInputError(f"Multiple host headers not allowed: {host[:80]!r}")
        raise HTTPInputError(f"Invalid Host header: {host[:80]!r}")


def _parse_query(query: str) -> dict[str, list[bytes]]:
    """A request's query arguments, no more of them than a urlencoded body may hold (Tornado's rule).

    Tornado 6.5.8 caps both at ``ParseUrlEncodedConfig.max_arguments`` of the
    global ``set_parse_body_config`` (the request is made before any
    per-connection setting could reach it), counting ``&`` before parsing.

    Raises:
        HTTPInputError: too many fields, or text that cannot be bytes (400).
    """
    if too_many_fields(query, get_parse_body_config().urlencoded.max_arguments):
        raise HTTPInputError("Invalid query string: Max number of fields exceeded")
    try:
        return parse_qs_bytes(query, keep_blank_values=True)
    except UnicodeEncodeError as exc:
        raise HTTPInputError(f"Invalid query string: {exc}") from exc


class HTTPServerRequest:
    """One HTTP request, as handlers see it (Tornado's ``HTTPServerRequest``).

    ``remote_ip`` and ``protocol`` come from the connection's ``context``
    (which applies ``xheaders`` when the server trusts a proxy). Query
    arguments are parsed at construction; cookies lazily on first use.
    Construction raises ``HTTPInputError`` (400), as Tornado's does, for a
    Host outside Tornado's rule (``_check_host``) and for a query string of
    more fields than ``ParseUrlEncodedConfig.max_arguments``. An empty Host
    stays empty; only a missing one becomes ``127.0.0.1`` (lenient where
    Tornado refuses an HTTP/1.1 request without one: the HTTP/1.1 parser
    refuses it first).

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
        if host is None:
            host = headers.get("Host")
        if host is None:  # Tornado's default for an HTTP/1.0 request without one
            host = "127.0.0.1"
        else:
            _check_host(host)
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

        Raises:
            HTTPInputError: an invalid Host, or too many query fields (400).
        """
        request = cls.__new__(cls)
        host = headers.fields.get("host")  # HTTPHeaders.get's rule, without the call
        if not host:  # no Host field (an empty list is none either)
            text = "127.0.0.1"
        else:
            text = host[0] if len(host) == 1 else ",".join(host)
            if text is not _host_checked[0]:  # (the C parser hands a repeated Host over as the same str)
                if HOST_VALUE.fullmatch(text) is None:  # _check_host's test inline: the call only to refuse
                    _check_host(text)
                _host_checked[0] = text
        request._set_up(start_line[0], start_line[1], start_line[2], headers, text, connection, server_connection)
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
        try:  # a server's connection: three attribute reads, not three getattr() calls (about 1k instructions)
            context = connection.context  # type: ignore[union-attr]
            remote_ip, protocol = context.remote_ip, context.protocol
        except AttributeError:  # no connection (a request made in a test), or one without that context
            context = getattr(connection, "context", None)
            remote_ip, protocol = getattr(context, "remote_ip", None), getattr(context, "protocol", "http")
        self.remote_ip: str | None = remote_ip
        self.protocol: str = protocol
        self.host = host
        self.connection = connection
        self.server_connection = server_connection
        self._start_time = time.time()
        self._finish_time: float | None = None
        self.path, _, self.query = uri.partition("?")
        if self.query:
            query_arguments = _parse_query(self.query)
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

"""HTTP data types shared by server, client and application, and the seam between them.

The seam has Tornado's shape. The server calls
``HTTPServerConnectionDelegate.start_request(server_conn, request_conn)`` once
per request and drives the returned ``HTTPMessageDelegate`` with
``headers_received``, ``data_received``, ``finish`` and
``on_connection_close``; the application answers through the
``HTTPConnection`` verbs ``write_headers``, ``write`` and ``finish``. Nothing
here knows sockets, routing or handlers, which is why the server never imports
the web layer and the web layer never touches a transport.

A package that only re-exports (Tornado's ``tornado.httputil`` path). Modules
behind it: ``seam`` (``HTTPConnection``, ``HTTPMessageDelegate``,
``HTTPServerConnectionDelegate``), ``headers`` (``HTTPHeaders``), ``request``
(``HTTPServerRequest``), ``forms`` (form bodies, ``HTTPFile`` and the parsing limits), ``query``
(query strings), ``startline`` (request and status lines, ``responses``),
``fieldvalues`` (cookies, hosts, HTTP dates, basic credentials) and ``errors``.

This package imports only ``http1``, ``multipart`` and ``escape`` from the
framework (DESIGN.md's import rules).
"""

from framework.httputil.errors import HTTPInputError as HTTPInputError
from framework.httputil.errors import HTTPOutputError as HTTPOutputError
from framework.httputil.fieldvalues import encode_username_password as encode_username_password
from framework.httputil.fieldvalues import format_timestamp as format_timestamp
from framework.httputil.fieldvalues import parse_cookie as parse_cookie
from framework.httputil.fieldvalues import split_host_and_port as split_host_and_port
from framework.httputil.forms import HTTPFile as HTTPFile
from framework.httputil.forms import ParseBodyConfig as ParseBodyConfig
from framework.httputil.forms import ParseMultipartConfig as ParseMultipartConfig
from framework.httputil.forms import ParseUrlEncodedConfig as ParseUrlEncodedConfig
from framework.httputil.forms import gen_log as gen_log
from framework.httputil.forms import parse_body_arguments as parse_body_arguments
from framework.httputil.forms import parse_multipart_form_data as parse_multipart_form_data
from framework.httputil.forms import set_parse_body_config as set_parse_body_config
from framework.httputil.headers import HTTPHeaders as HTTPHeaders
from framework.httputil.query import parse_qs_bytes as parse_qs_bytes
from framework.httputil.query import qs_to_qsl as qs_to_qsl
from framework.httputil.query import url_concat as url_concat
from framework.httputil.request import HTTPServerRequest as HTTPServerRequest
from framework.httputil.seam import HTTPConnection as HTTPConnection
from framework.httputil.seam import HTTPMessageDelegate as HTTPMessageDelegate
from framework.httputil.seam import HTTPServerConnectionDelegate as HTTPServerConnectionDelegate
from framework.httputil.startline import RequestStartLine as RequestStartLine
from framework.httputil.startline import ResponseStartLine as ResponseStartLine
from framework.httputil.startline import parse_request_start_line as parse_request_start_line
from framework.httputil.startline import parse_response_start_line as parse_response_start_line
from framework.httputil.startline import responses as responses

__all__ = [
    "HTTPConnection",
    "HTTPFile",
    "HTTPHeaders",
    "HTTPInputError",
    "HTTPMessageDelegate",
    "HTTPOutputError",
    "HTTPServerConnectionDelegate",
    "HTTPServerRequest",
    "ParseBodyConfig",
    "ParseMultipartConfig",
    "ParseUrlEncodedConfig",
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
    "set_parse_body_config",
    "split_host_and_port",
    "url_concat",
]

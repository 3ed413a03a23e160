"""Sans-IO HTTP/1.1: the only home of the message grammar (RFC 9110, RFC 9112).

A package that only re-exports: ``grammar`` (events, limits, the rules both
directions share), ``head`` (the grammar of a received head: start lines, field
lines, what the fields decide about framing), ``parser`` (the pull parsers and
their states) and ``writer`` (serialisers, response framing). ``NEED_DATA``
is the one "feed me more" sentinel of every sans-IO decoder in ``framework``
(``multipart`` and WebSocket frames return this same object), and
``TCHAR`` the one token rule (``multipart`` builds on it).

Contract: no sockets, no asyncio, no imports from the rest of ``framework``.
Bytes go in through ``feed()``; events come out of ``next_event()``; errors are
``ProtocolError(message, status)`` carrying the status a server should answer.

Strategy: a pull parser over one ``bytearray``. The head is located with a
single ``find`` that remembers how far it already looked, so a client trickling
one byte at a time costs linear time; consumed bytes are deleted from the front
of the bytearray, which CPython does without copying the rest. Once a message
is complete the parser reports ``PAUSED`` and keeps any pipelined bytes in its
buffer until the server, having answered, calls ``start_next()``: the buffer is
the pipelining queue. Validation of a whole head is one regex pass for
forbidden characters plus a ``partition`` per header line: no pattern here can
backtrack.

The same body machinery (Content-Length, chunked with extensions and trailers,
read-until-close) serves ``RequestParser`` on the server and ``ResponseParser``
in the client. Response heads and chunks are serialised here too, with header
names and values checked so that nothing a handler sets can split a response.

``urlencoded`` reads ``application/x-www-form-urlencoded`` bytes (form bodies,
query strings): not HTTP/1.1 grammar, but bytes of a request decoded the same
way, with a compiled twin built with the parser's.

Accelerator: ``speedups`` (one module from the files ``speedups*.c``, compiled
by ``pip install -e .`` where a C compiler and the Python headers exist, and in
the service image's build stage) holds fast paths for the two steps every
request takes: splitting a request head and serialising a response head. Each
answers only for the plain common case and returns None otherwise, and then the
pure-Python code, the reference, runs as if it were absent; so its result is
None or exactly Python's, and every error is still raised by Python. (Its
urlencoded decoder answers every input, with exactly what ``urlencoded``'s
Python gives.) Without the build the package is pure Python;
``FRAMEWORK_HTTP1_PURE=1`` in the environment keeps the build unused (read once,
at import).
"""

from framework.http1.grammar import DISPLAY_NAMES as DISPLAY_NAMES
from framework.http1.grammar import FORBIDDEN_IN_HEAD as FORBIDDEN_IN_HEAD
from framework.http1.grammar import NEED_DATA as NEED_DATA
from framework.http1.grammar import PAUSED as PAUSED
from framework.http1.grammar import TCHAR as TCHAR
from framework.http1.grammar import Body as Body
from framework.http1.grammar import EndOfMessage as EndOfMessage
from framework.http1.grammar import Event as Event
from framework.http1.grammar import Limits as Limits
from framework.http1.grammar import ProtocolError as ProtocolError
from framework.http1.grammar import RequestHead as RequestHead
from framework.http1.grammar import ResponseHead as ResponseHead
from framework.http1.grammar import Sentinel as Sentinel
from framework.http1.grammar import field_display_name as field_display_name
from framework.http1.grammar import field_value_is_safe as field_value_is_safe
from framework.http1.grammar import reason_phrase as reason_phrase
from framework.http1.grammar import response_has_body as response_has_body
from framework.http1.grammar import sendable_reason as sendable_reason
from framework.http1.grammar import validate_header_field as validate_header_field
from framework.http1.head import HOST_VALUE as HOST_VALUE
from framework.http1.head import parse_fields as parse_fields
from framework.http1.head import parse_request_line as parse_request_line
from framework.http1.head import parse_status_line as parse_status_line
from framework.http1.parser import RequestParser as RequestParser
from framework.http1.parser import ResponseParser as ResponseParser
from framework.http1.urlencoded import parse_urlencoded as parse_urlencoded
from framework.http1.writer import LAST_CHUNK as LAST_CHUNK
from framework.http1.writer import PreparedFields as PreparedFields
from framework.http1.writer import ResponseFraming as ResponseFraming
from framework.http1.writer import encode_chunk as encode_chunk
from framework.http1.writer import frame_response as frame_response
from framework.http1.writer import prepared_response as prepared_response
from framework.http1.writer import serialize_prepared_response as serialize_prepared_response
from framework.http1.writer import serialize_request_head as serialize_request_head
from framework.http1.writer import serialize_response_fields as serialize_response_fields
from framework.http1.writer import serialize_response_head as serialize_response_head
from framework.http1.writer import usual_prepared_response as usual_prepared_response

__all__ = [
    "Body",
    "DISPLAY_NAMES",
    "EndOfMessage",
    "Event",
    "LAST_CHUNK",
    "Limits",
    "NEED_DATA",
    "PAUSED",
    "ProtocolError",
    "RequestHead",
    "RequestParser",
    "ResponseFraming",
    "ResponseHead",
    "ResponseParser",
    "Sentinel",
    "FORBIDDEN_IN_HEAD",
    "HOST_VALUE",
    "TCHAR",
    "encode_chunk",
    "field_display_name",
    "field_value_is_safe",
    "frame_response",
    "parse_fields",
    "parse_request_line",
    "parse_status_line",
    "parse_urlencoded",
    "reason_phrase",
    "response_has_body",
    "sendable_reason",
    "serialize_request_head",
    "serialize_response_fields",
    "serialize_response_head",
    "validate_header_field",
]

"""Tests for framework/httputil/seam.py: the base classes of the seam between server and application.

No sockets here: the real-socket behaviour of the seam is tested with the server.
"""

from __future__ import annotations

import pytest

from framework import http1
from framework.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    RequestStartLine,
    ResponseStartLine,
)


def test_the_seam_base_classes_define_the_verbs() -> None:
    connection = HTTPConnection()
    start = ResponseStartLine("HTTP/1.1", 200, "OK")
    for call in (lambda: connection.write_headers(start, HTTPHeaders()), lambda: connection.write(b"x"), connection.finish):
        with pytest.raises(NotImplementedError):
            call()
    # A connection that reads no body and cannot close early (a fake in tests) may ignore these.
    assert connection.set_max_body_size(10) is None
    assert connection.set_body_timeout(1.0) is None
    assert connection.set_close_callback(lambda: None) is None
    # Not Tornado's: a connection that cannot send prepared fields says so (the caller writes headers).
    assert connection.finish_prepared(200, "OK", http1.PreparedFields({}), [], b"") is None
    message = HTTPMessageDelegate()
    assert message.headers_received(RequestStartLine("GET", "/", "HTTP/1.1"), HTTPHeaders()) is None
    assert message.data_received(b"chunk") is None  # None: no flow control asked for
    assert message.finish() is None and message.on_connection_close() is None
    server = HTTPServerConnectionDelegate()
    with pytest.raises(NotImplementedError):
        server.start_request(object(), connection)
    assert server.on_close(object()) is None


def test_a_delegate_subclass_is_driven_through_the_verbs() -> None:
    seen: list[object] = []

    class Recorder(HTTPMessageDelegate):
        def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
            seen.append((start_line.method, headers["Host"]))

        def data_received(self, chunk: bytes) -> None:
            seen.append(chunk)

        def finish(self) -> None:
            seen.append("finish")

    class App(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
            return Recorder()

    message = App().start_request(object(), HTTPConnection())
    message.headers_received(RequestStartLine("PUT", "/", "HTTP/1.1"), HTTPHeaders({"Host": "h"}))
    message.data_received(b"ab")
    message.finish()
    assert seen == [("PUT", "h"), b"ab", "finish"]

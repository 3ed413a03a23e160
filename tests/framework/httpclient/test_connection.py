"""Tests for framework/httpclient/connection.py: one exchange on one connection.

What goes on the wire (default headers, bodies, a chunked upload from a
``body_producer``, ``Expect: 100-continue``) and how each response framing is
read (Content-Length, chunked, until close, gzip), and what a misbehaving
server yields: a truncated body, a reset, a bad chunk or status line. And
``open_connection``: the resolver's addresses tried in order, a Unix socket.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from framework import http1, iostream
from framework.httpclient import (
    HTTPClientError,
    HTTPRequest,
    HTTPStreamClosedError,
    StreamClosedError,
)
from framework.httpclient.connection import Target, open_connection
from framework.netutil import Resolver
from tests.framework.harness import free_port, run
from tests.framework.httpclient.servers import (
    Request,
    Server,
    body_json,
    client,
    echo,
    keep_alive,
    read_request,
    response,
)

# -- round trips and framing -------------------------------------------------


def test_get_round_trip_sends_default_headers() -> None:
    async def main() -> None:
        async with Server(keep_alive(echo)) as server, client() as http:
            resp = await http.fetch(server.url("/path?q=1"))
        assert resp.code == 200 and resp.reason == "X" and resp.error is None
        sent = body_json(resp)
        assert sent["method"] == "GET" and sent["target"] == "/path?q=1"
        headers = sent["headers"]
        assert headers["host"] == f"127.0.0.1:{server.port}"
        assert headers["accept-encoding"] == "gzip"
        assert "user-agent" in headers and "content-length" not in headers
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.effective_url == server.url("/path?q=1")
        assert resp.request_time is not None and resp.start_time is not None

    run(main)


def test_post_round_trip_with_str_body_auth_and_defaults() -> None:
    async def main() -> None:
        async with Server(keep_alive(echo)) as server, client(defaults={"user_agent": "ua/1"}) as http:
            resp = await http.fetch(server.url("/form"), method="POST", body="név=1", auth_username="u", auth_password="p")
        sent = body_json(resp)
        assert sent["method"] == "POST"
        assert sent["body"] == "név=1".encode().decode("latin-1")
        assert sent["headers"]["content-length"] == str(len("név=1".encode()))
        assert sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
        assert sent["headers"]["authorization"] == "Basic dTpw"
        assert sent["headers"]["user-agent"] == "ua/1"

    run(main)


def test_chunked_response_is_dechunked() -> None:
    async def respond(request: Request) -> bytes:
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client() as http:
            assert (await http.fetch(server.url())).body == b"hello world"
            assert (await http.fetch(server.url())).body == b"hello world"
        assert server.connections == 1  # a chunked body ends cleanly: kept alive

    run(main)


def test_content_length_response_and_head() -> None:
    async def main() -> None:
        respond = lambda r: response(200, b"" if r.method == "HEAD" else b"0123456789")  # noqa: E731
        async with Server(keep_alive(respond)) as server, client() as http:
            assert (await http.fetch(server.url())).body == b"0123456789"
            head = await http.fetch(server.url(), method="HEAD")
            assert head.body == b"" and head.code == 200

    run(main)


def test_until_close_response_from_http10_server() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader, writer)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    async def main() -> None:
        async with Server(handler) as server, client() as http:
            assert (await http.fetch(server.url())).body == b"all of it"
            assert (await http.fetch(server.url())).body == b"all of it"
        assert server.connections == 2  # no reuse of a connection that framed by closing

    run(main)


def test_gzip_response_is_decompressed_unless_disabled() -> None:
    payload = b"compressible " * 1000
    respond = lambda r: response(200, gzip.compress(payload), "Content-Encoding: gzip")  # noqa: E731

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client() as http:
            resp = await http.fetch(server.url())
            assert resp.body == payload
            assert "Content-Encoding" not in resp.headers
            assert resp.headers["X-Consumed-Content-Encoding"] == "gzip"
            raw = await http.fetch(server.url(), decompress_response=False)
            assert gzip.decompress(raw.body) == payload

    run(main)


def test_corrupt_gzip_body_is_a_clear_error() -> None:
    respond = lambda r: response(200, b"not gzip at all", "Content-Encoding: gzip")  # noqa: E731

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client() as http:
            with pytest.raises(HTTPClientError, match="gzip") as info:
                await http.fetch(server.url())
        assert info.value.code == 599

    run(main)


def test_a_gzip_body_cut_short_is_a_clear_error_and_an_empty_head_answer_is_not() -> None:
    whole = gzip.compress(b"compressible " * 1000)
    respond = lambda r: response(200, whole[:-12] if r.method == "GET" else b"", "Content-Encoding: gzip")  # noqa: E731

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client() as http:
            with pytest.raises(HTTPClientError, match="gzip") as info:
                await http.fetch(server.url())
            assert info.value.code == 599
            head = await http.fetch(server.url(), method="HEAD")
            assert head.code == 200 and head.body == b""

    run(main)


def test_truncated_body_is_a_stream_closed_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader, writer)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        await writer.drain()

    async def main() -> None:
        async with Server(handler) as server, client() as http:
            with pytest.raises(HTTPStreamClosedError) as info:
                await http.fetch(server.url())
        err = info.value
        assert StreamClosedError is iostream.StreamClosedError  # one class framework-wide
        assert isinstance(err, StreamClosedError) and isinstance(err, OSError)
        assert err.code == 599 and "closed before the response was complete" in str(err)

    run(main)


def test_connection_reset_is_a_stream_closed_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader, writer)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST, not FIN

    async def main() -> None:
        async with Server(handler) as server, client() as http:
            with pytest.raises(StreamClosedError) as info:
                await http.fetch(server.url())
        assert isinstance(info.value, HTTPClientError) and info.value.code == 599

    run(main)


def test_bad_chunk_size_is_a_malformed_response_error() -> None:
    respond = lambda r: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"  # noqa: E731

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client() as http:
            with pytest.raises(HTTPClientError, match="Malformed HTTP response") as info:
                await http.fetch(server.url())
        assert info.value.code == 599
        assert not isinstance(info.value, StreamClosedError)
        assert isinstance(info.value.__cause__, http1.ProtocolError)

    run(main)


def test_garbage_status_line_is_a_malformed_response_error() -> None:
    async def main() -> None:
        async with Server(keep_alive(lambda r: b"SMTP ready\r\n\r\n")) as server, client() as http:
            with pytest.raises(HTTPClientError, match="Malformed HTTP response"):
                await http.fetch(server.url())

    run(main)


def test_invalid_requests_are_value_errors() -> None:
    async def main() -> None:
        async with client() as http:
            with pytest.raises(ValueError, match="must be None"):
                await http.fetch("http://127.0.0.1:1/", body=b"x")
            with pytest.raises(ValueError, match="must not be None"):
                await http.fetch("http://127.0.0.1:1/", method="POST")
            with pytest.raises(ValueError, match="scheme"):
                await http.fetch("ftp://127.0.0.1/")
            with pytest.raises(ValueError, match="kwargs"):
                http.fetch(HTTPRequest("http://127.0.0.1:1/"), method="POST")

    run(main)


# -- streaming -------------------------------------------------------------------


def test_body_producer_streams_a_chunked_upload() -> None:
    async def producer(write: Callable[[bytes], Awaitable[None]]) -> None:
        for part in (b"part one, ", b"part two"):
            await write(part)

    async def main() -> None:
        async with Server(keep_alive(echo)) as server, client() as http:
            resp = await http.fetch(server.url(), method="PUT", body_producer=producer)
            sent = body_json(resp)
            assert sent["headers"]["transfer-encoding"] == "chunked"
            assert sent["body"] == "part one, part two"
            sized = await http.fetch(server.url(), method="PUT", body_producer=producer, headers={"Content-Length": "18"})
            assert body_json(sized)["body"] == "part one, part two"
        assert server.connections == 1

    run(main)


def test_expect_100_continue_sends_the_body_after_the_interim_response() -> None:
    async def main() -> None:
        async with Server(keep_alive(echo)) as server, client() as http:
            resp = await http.fetch(server.url(), method="POST", body=b"payload", expect_100_continue=True)
        sent = body_json(resp)
        assert sent["headers"]["expect"] == "100-continue" and sent["body"] == "payload"

    run(main)


def test_streaming_callback_receives_the_body_and_header_callback_the_head() -> None:
    async def respond(request: Request) -> bytes:
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n"

    async def main() -> None:
        chunks: list[bytes] = []
        lines: list[str] = []
        async with Server(keep_alive(respond)) as server, client() as http:
            resp = await http.fetch(server.url(), streaming_callback=chunks.append, header_callback=lines.append)
        assert b"".join(chunks) == b"onetwo" and resp.body == b""
        assert lines[0] == "HTTP/1.1 200 OK\r\n" and "X-A: 1\r\n" in lines and lines[-1] == "\r\n"

    run(main)


@pytest.mark.parametrize("gzipped", [False, True])
def test_coroutine_streaming_callback_is_awaited_before_the_next_chunk(gzipped: bool) -> None:
    # As in Tornado 6.6: each chunk waits for the previous call to finish.
    body = bytes(range(256)) * 4096  # 1 MiB: many reads, and many inflate steps
    encoding = ["Content-Encoding: gzip"] if gzipped else []
    payload = gzip.compress(body) if gzipped else body
    received: list[bytes] = []
    busy = False

    async def consume(chunk: bytes) -> None:
        nonlocal busy
        assert not busy, "a chunk arrived while the previous one was being consumed"
        busy = True
        for _ in range(3):
            await asyncio.sleep(0)
        received.append(chunk)
        busy = False

    async def main() -> None:
        async with Server(keep_alive(lambda r: response(200, payload, *encoding))) as server, client() as http:
            resp = await http.fetch(server.url(), streaming_callback=consume)
        assert resp.body == b"" and b"".join(received) == body and len(received) > 1

    run(main)


# -- open_connection: the resolver's addresses, in order ---------------------------


class Answers(Resolver):
    """A resolver that gives the same addresses for every name."""

    def initialize(self, addresses: list[tuple[int, Any]]) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, Any]]:
        return self.addresses


def test_open_connection_tries_the_next_address_when_one_refuses() -> None:
    async def main() -> None:
        async with Server(keep_alive(echo)) as server:
            refusing = (socket.AF_INET, ("127.0.0.1", free_port()))
            listening = (socket.AF_INET, ("127.0.0.1", server.port))
            async with client(resolver=Answers([refusing, listening])) as http:
                resp = await http.fetch("http://example.invalid/")
            assert body_json(resp)["headers"]["host"] == "example.invalid"
            target = Target.parse("http://example.invalid/")
            with pytest.raises(ConnectionRefusedError):  # the last address's error
                await open_connection(Answers([refusing, refusing]), target, http1.Limits(), None)
            with pytest.raises(OSError, match="no address"):
                await open_connection(Answers([]), target, http1.Limits(), None)

    run(main)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
def test_a_resolver_may_answer_with_a_unix_socket_path(tmp_path: Path) -> None:
    """What Tornado's resolver argument is used for: HTTP to a service on a Unix socket."""
    path = str(tmp_path / "http.sock")

    async def main() -> None:
        handler = keep_alive(echo)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_unix_server(serve, path)
        try:
            async with client(resolver=Answers([(socket.AF_UNIX, path)])) as http:
                resp = await http.fetch("http://unix.invalid/over-a-path")
        finally:
            server.close()
            await server.wait_closed()
        assert body_json(resp)["target"] == "/over-a-path"
        assert body_json(resp)["headers"]["host"] == "unix.invalid"

    run(main)

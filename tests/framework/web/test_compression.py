"""compress_response: gzip for compressible bodies the client accepts, Vary always, never for small or encoded ones."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

import pytest
import requests

from framework.testing import ServerThread, serve
from framework.web import Application, RequestHandler
from tests.framework.harness import decode_chunked, raw_exchange

TEXT = "framework " * 500


class Page(RequestHandler):
    def get(self) -> None:
        self.write(TEXT)


class Tiny(RequestHandler):
    def get(self) -> None:
        self.write("small")


class Png(RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "image/png")
        self.write(b"\x89PNG" + b"\x00" * 5000)


class Streamed(RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        for i in range(3):
            self.write(f"part {i} " * 200)
            await self.flush()
        self.write("end")


@pytest.fixture
def server() -> Iterator[ServerThread]:
    app = Application([(r"/", Page), (r"/tiny", Tiny), (r"/png", Png), (r"/stream", Streamed)], compress_response=True)
    with serve(app) as running:
        yield running


def raw_get(server: ServerThread, path: str, accept: str = "gzip") -> tuple[dict[str, str], bytes]:
    """The response exactly as sent (requests would decompress it)."""
    response = requests.get(server.url(path), headers={"Accept-Encoding": accept}, stream=True, timeout=10)
    body = response.raw.read(decode_content=False)
    return dict(response.headers), body


def test_gzip_when_accepted(server: ServerThread) -> None:
    headers, body = raw_get(server, "/")
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(body) < len(TEXT)
    assert gzip.decompress(body).decode() == TEXT


def test_identity_when_not_accepted_but_vary_still_set(server: ServerThread) -> None:
    for accept in ("identity", "gzip;q=0", "br"):
        headers, body = raw_get(server, "/", accept)
        assert "Content-Encoding" not in headers, accept
        assert headers["Vary"] == "Accept-Encoding"
        assert body.decode() == TEXT


def test_never_for_small_or_already_compressed_bodies(server: ServerThread) -> None:
    headers, body = raw_get(server, "/tiny")
    assert "Content-Encoding" not in headers and body == b"small"
    headers, body = raw_get(server, "/png")
    assert "Content-Encoding" not in headers and "Vary" not in headers and body.startswith(b"\x89PNG")


def test_streamed_body_is_compressed_chunk_by_chunk(server: ServerThread) -> None:
    data = raw_exchange(server.port, b"GET /stream HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head and b"Transfer-Encoding: chunked" in head
    chunks = decode_chunked(body)  # checks each chunk's framing, and the last chunk
    assert len(chunks) > 1  # compressed as it was flushed, not once at the end
    payload = b"".join(chunks)
    expected = "".join(f"part {i} " * 200 for i in range(3)) + "end"
    assert zlib.decompress(payload, 16 + zlib.MAX_WBITS).decode() == expected


def test_off_by_default() -> None:
    with serve(Application([(r"/", Page)])) as running:
        headers, _ = raw_get(running, "/")
    assert "Content-Encoding" not in headers and "Vary" not in headers

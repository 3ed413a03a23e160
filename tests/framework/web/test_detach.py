"""``RequestHandler.detach()`` and ``HTTP1Connection.detach()``: the connection goes on as a plain stream.

Also ``HTTPServerRequest.get_ssl_certificate()``, which reads the same
connection's TLS session.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import requests

from framework.httputil import HTTPServerRequest
from framework.iostream import IOStream
from framework.testing import serve
from framework.web import Application, RequestHandler
from tests.framework.harness import async_test, connect, fetch, read_response, running, serving


class EchoAfterDetach(RequestHandler):
    """Answers in raw bytes on the detached stream, then echoes one line: the protocol is ours now."""

    finished: list[bool] = []

    async def get(self) -> None:
        self.write("never sent: the handler gave HTTP up")
        stream = self.detach()
        assert isinstance(stream, IOStream)
        await stream.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ndetached")
        line = await stream.read_until(b"\n")
        await stream.write(b"echo: " + line)
        stream.close()

    def on_finish(self) -> None:
        self.finished.append(True)


@async_test
async def test_a_detached_handler_speaks_its_own_protocol() -> None:
    EchoAfterDetach.finished.clear()
    async with serving(Application([(r"/", EchoAfterDetach)])) as (_, port), connect(port) as (reader, writer):
        # The line after the request arrives with it: the stream must hand it over first.
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nhello\n")
        response = await read_response(reader)
        assert (response.code, response.body) == (200, b"detached")
        assert await asyncio.wait_for(reader.read(), 10) == b"echo: hello\n"
    assert EchoAfterDetach.finished == []  # detached: finish() and on_finish never ran


@async_test
async def test_a_server_callback_detaches_the_connection_itself() -> None:
    """Tornado's ``HTTP1Connection.detach()`` on a plain ``HTTPServer`` request callback."""
    streams: list[IOStream] = []

    def handle(request: HTTPServerRequest) -> None:
        assert request.connection is not None
        stream = request.connection.detach()  # type: ignore[attr-defined]
        streams.append(stream)
        stream.write(b"raw\n")
        stream.close()

    async with serving(handle) as (_, port), connect(port) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), 10) == b"raw\n"
    assert len(streams) == 1 and streams[0].closed()


class DetachTwice(RequestHandler):
    def get(self) -> None:
        self.detach()
        try:
            self.detach()
        except RuntimeError as exc:
            self.application.settings["second"] = str(exc)


@async_test
async def test_detaching_twice_is_refused() -> None:
    app = Application([(r"/", DetachTwice)])
    async with serving(app) as (_, port), connect(port) as (_, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(100):
            if "second" in app.settings:
                break
            await asyncio.sleep(0.01)
    assert "not the connection's current one" in app.settings["second"]


class CertificateHandler(RequestHandler):
    def get(self) -> None:
        decoded: Any = self.request.get_ssl_certificate()
        der = self.request.get_ssl_certificate(binary_form=True)
        subject = dict(pair[0] for pair in decoded["subject"]) if decoded else None
        self.write({"subject": subject, "der_bytes": len(der) if isinstance(der, bytes) else None})


def test_the_client_certificate_is_read_from_the_tls_session(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server_context.load_verify_locations(cert)  # the client presents the same self-signed certificate
    server_context.verify_mode = ssl.CERT_REQUIRED
    with running([(r"/", CertificateHandler)]) as plain:
        assert fetch(plain, "/").json() == {"subject": None, "der_bytes": None}
    app = Application([(r"/", CertificateHandler)])
    with serve(app, ssl_options=server_context) as server:
        url = f"https://127.0.0.1:{server.port}/"
        with requests.get(
            url, cert=(str(cert), str(key)), verify=str(cert), timeout=10, headers={"Connection": "close"}
        ) as response:
            body = response.json()
    assert body["subject"] == {"commonName": "localhost"}
    assert body["der_bytes"] > 100


def test_a_request_without_a_connection_has_no_certificate() -> None:
    assert HTTPServerRequest(uri="/").get_ssl_certificate() is None

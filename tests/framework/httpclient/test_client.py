"""Tests for framework/httpclient/client.py: ``AsyncHTTPClient`` and ``HTTPClient``.

Redirects, the pool of keep-alive connections, ``max_clients`` and its FIFO
queue, retries of stale connections, timeouts, the callback form, HTTPS, the
blocking client, ``configure``, and the framework's own server at the other
end. The raw servers each test needs are declared beside it
(``servers.py``); every client, server and loop is closed before the test ends
(warnings are errors here), and no test asserts a duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.httpclient import (
    AsyncHTTPClient,
    HTTPClient,
    HTTPClientError,
    HTTPRequest,
    HTTPResponse,
    HTTPTimeoutError,
    StreamClosedError,
)
from framework.ioloop import IOLoop
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

# -- redirects -----------------------------------------------------------------


def redirecting(request: Request) -> bytes:
    if request.target.startswith("/to/"):
        code = int(request.target.split("/")[2])
        return response(code, b"moved", "Location: /echo")
    if request.target == "/loop":
        return response(302, b"", "Location: /loop")
    return echo(request)


@pytest.mark.parametrize(
    ("code", "method"),
    [(301, "GET"), (302, "GET"), (303, "GET"), (307, "POST"), (308, "POST")],
)
def test_redirect_after_post(code: int, method: str) -> None:
    async def main() -> None:
        async with Server(keep_alive(redirecting)) as server, client() as http:
            resp = await http.fetch(server.url(f"/to/{code}"), method="POST", body=b"data")
        sent = body_json(resp)
        assert resp.code == 200 and resp.effective_url == server.url("/echo")
        assert resp.request.url == server.url(f"/to/{code}")  # the request as given
        assert sent["method"] == method
        assert sent["body"] == ("data" if method == "POST" else "")
        assert ("content-length" in sent["headers"]) == (method == "POST")

    run(main)


def test_redirect_bodies_are_not_streamed() -> None:
    async def main() -> None:
        chunks: list[bytes] = []
        async with Server(keep_alive(redirecting)) as server, client() as http:
            resp = await http.fetch(server.url("/to/302"), streaming_callback=chunks.append)
        assert resp.code == 200 and b"moved" not in b"".join(chunks)
        assert json.loads(b"".join(chunks))["target"] == "/echo"

    run(main)


def test_too_many_redirects_is_an_error_carrying_the_last_response() -> None:
    async def main() -> None:
        async with Server(keep_alive(redirecting)) as server, client() as http:
            with pytest.raises(HTTPClientError) as info:
                await http.fetch(server.url("/loop"), max_redirects=3)
            assert info.value.code == 302
            assert info.value.response is not None and info.value.response.code == 302
            plain = await http.fetch(server.url("/loop"), follow_redirects=False, raise_error=False)
            assert plain.code == 302 and plain.headers["Location"] == "/loop"

    run(main)


def hopping(request: Request) -> bytes:
    """``/go/<netloc>/<rest>`` redirects to ``http://<netloc>/<rest>`` (netloc ``same``: to ``/<rest>``)."""
    if not request.target.startswith("/go/"):
        return echo(request)
    netloc, _, rest = request.target[len("/go/") :].partition("/")
    location = f"/{rest}" if netloc == "same" else f"http://{netloc}/{rest}"
    return response(302, b"", f"Location: {location}")


CREDENTIALS: dict[str, Any] = {
    "headers": {"Authorization": "Bearer secret", "Cookie": "sid=secret", "X-Other": "1"},
}


async def follow(
    path: str, *, client_args: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[HTTPResponse, dict[str, str], str]:
    """Fetch ``path`` from server a, where ``{a}`` and ``{b}`` name the netlocs of two servers.

    Both listen on 127.0.0.1, on different ports: two origins. Returns the
    response, the headers that reached the end of the redirects, and b's netloc.
    """
    async with Server(keep_alive(hopping)) as a, Server(keep_alive(hopping)) as b:
        netlocs = {"a": f"127.0.0.1:{a.port}", "b": f"127.0.0.1:{b.port}"}
        async with client(**(client_args or {})) as http:
            resp = await http.fetch(a.url(path.format(**netlocs)), **kwargs)
    return resp, body_json(resp)["headers"], netlocs["b"]


def test_redirect_to_another_origin_drops_authorization_and_cookie() -> None:
    async def main() -> None:
        resp, sent, b = await follow("/go/{b}/echo", **CREDENTIALS)
        assert resp.effective_url == f"http://{b}/echo"
        assert "authorization" not in sent and "cookie" not in sent
        assert sent["x-other"] == "1"

    run(main)


def test_redirect_to_another_origin_drops_auth_username_and_url_user_info() -> None:
    async def main() -> None:
        _, sent, _ = await follow("/go/{b}/echo", auth_username="user", auth_password="pw")
        assert "authorization" not in sent
        resp, sent, b = await follow("/go/u:p@{b}/echo")
        assert "authorization" not in sent and resp.effective_url == f"http://{b}/echo"

    run(main)


def test_redirect_within_the_origin_keeps_credentials() -> None:
    async def main() -> None:
        for path in ("/go/same/echo", "/go/{a}/echo"):  # relative, and absolute to the same netloc
            _, sent, _ = await follow(path, **CREDENTIALS)
            assert sent["authorization"] == "Bearer secret" and sent["cookie"] == "sid=secret"
        _, sent, _ = await follow("/go/same/echo", auth_username="user", auth_password="pw")
        assert sent["authorization"] == "Basic dXNlcjpwdw=="

    run(main)


def test_credentials_dropped_once_stay_dropped_back_on_the_original_origin() -> None:
    async def main() -> None:
        _, sent, _ = await follow("/go/{b}/go/{a}/echo", **CREDENTIALS)
        assert "authorization" not in sent and "cookie" not in sent
        _, sent, _ = await follow("/go/{b}/go/{a}/echo", auth_username="user", auth_password="pw")
        assert "authorization" not in sent

    run(main)


def test_client_default_credentials_apply_to_every_origin_as_in_tornado() -> None:
    async def main() -> None:
        defaults = {"auth_username": "user", "auth_password": "pw"}
        _, sent, _ = await follow("/go/{b}/echo", client_args={"defaults": defaults})
        assert sent["authorization"] == "Basic dXNlcjpwdw=="

    run(main)


# -- pooling and concurrency ---------------------------------------------------


def test_keep_alive_reuses_one_connection_for_sequential_requests() -> None:
    async def main() -> None:
        async with Server(keep_alive(echo)) as server, client() as http:
            for _ in range(4):
                await http.fetch(server.url())
            await http.fetch(server.url(), method="POST", body=b"x")
        assert server.connections == 1

    run(main)


def test_connection_close_response_is_not_reused() -> None:
    respond = lambda r: response(200, b"ok", "Connection: close")  # noqa: E731

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client() as http:
            await http.fetch(server.url())
            await http.fetch(server.url())
        assert server.connections == 2

    run(main)


def test_connection_close_request_is_not_reused() -> None:
    async def main() -> None:
        async with Server(keep_alive(echo)) as server, client() as http:
            await http.fetch(server.url(), headers={"Connection": "close"})
            await http.fetch(server.url())
        assert server.connections == 2

    run(main)


def test_max_clients_bounds_requests_in_flight() -> None:
    in_flight = 0
    peak = 0
    served = 0
    gate = asyncio.Event()
    two_arrived = asyncio.Event()

    async def respond(request: Request) -> bytes:
        nonlocal in_flight, peak, served
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 2:
            two_arrived.set()
        await gate.wait()
        in_flight -= 1
        served += 1
        return response(200, b"ok")

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client(max_clients=2) as http:
            fetches = [http.fetch(server.url(f"/{i}")) for i in range(5)]
            await asyncio.wait_for(two_arrived.wait(), 10)
            for _ in range(20):  # let any wrongly admitted request reach the server
                await asyncio.sleep(0)
            assert peak == 2 and served == 0
            gate.set()
            results = await asyncio.gather(*fetches)
        assert [r.code for r in results] == [200] * 5
        assert peak == 2 and served == 5
        assert server.connections <= 2

    run(main)


def test_queued_requests_are_served_in_fifo_order() -> None:
    order: list[str] = []

    def respond(request: Request) -> bytes:
        order.append(request.target)
        return response(200, b"ok")

    async def main() -> None:
        async with Server(keep_alive(respond)) as server, client(max_clients=1) as http:
            await asyncio.gather(*(http.fetch(server.url(f"/{i}")) for i in range(6)))
        assert order == [f"/{i}" for i in range(6)]
        assert server.connections == 1

    run(main)


def test_stale_pooled_connection_is_retried_for_idempotent_methods_only() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answer one request, then drop the connection upon the next one,
        # as a server whose keep-alive timer fired just then would.
        await read_request(reader, writer)
        writer.write(response(200, b"first"))
        await writer.drain()
        await read_request(reader, writer)

    async def main() -> None:
        async with Server(handler) as server, client() as http:
            await http.fetch(server.url())
            assert (await http.fetch(server.url())).body == b"first"
            assert server.connections == 2
            with pytest.raises(StreamClosedError):
                await http.fetch(server.url(), method="POST", body=b"not idempotent")

    run(main)


def test_idle_connection_is_closed_after_idle_timeout_and_on_close() -> None:
    async def main() -> None:
        async with Server(keep_alive(echo)) as server:
            async with client(idle_timeout=0.05) as http:
                await http.fetch(server.url())
                await asyncio.wait_for(server.closed.wait(), 10)
            server.closed.clear()
            async with client() as http:
                await http.fetch(server.url())
            await asyncio.wait_for(server.closed.wait(), 10)  # close() closed it

    run(main)


def test_async_client_is_one_instance_per_loop_unless_forced() -> None:
    seen: list[AsyncHTTPClient] = []

    async def main() -> None:
        shared = AsyncHTTPClient()
        assert AsyncHTTPClient() is shared
        forced = AsyncHTTPClient(force_instance=True)
        assert forced is not shared
        forced.close()
        shared.close()
        fresh = AsyncHTTPClient()
        assert fresh is not shared
        seen.append(fresh)
        fresh.close()
        with pytest.raises(RuntimeError, match="closed"):
            fresh.fetch("http://127.0.0.1:1/")

    run(main)

    async def other_loop() -> None:
        other = AsyncHTTPClient()
        assert other is not seen[0]
        other.close()

    run(other_loop)


def test_unknown_default_is_refused() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="defaults cannot set"):
            AsyncHTTPClient(force_instance=True, defaults={"request_timout": 1})

    run(main)


# -- errors and timeouts ---------------------------------------------------------


def test_callback_form_gets_the_response_and_never_raises() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with Server(keep_alive(echo)) as server, client() as http:
            got: asyncio.Future[HTTPResponse] = loop.create_future()
            http.fetch(server.url(), callback=got.set_result)
            assert (await got).code == 200
            refused: asyncio.Future[HTTPResponse] = loop.create_future()
            future = http.fetch(f"http://127.0.0.1:{free_port()}/", callback=refused.set_result)
            resp = await refused
            assert resp.code == 599 and isinstance(resp.error, ConnectionRefusedError)
            assert (await future) is resp  # the future resolves too, without raising
            positional: asyncio.Future[HTTPResponse] = loop.create_future()
            http.fetch(server.url(), positional.set_result)  # Tornado 4 took it second
            assert (await positional).code == 200

    run(main)


def test_slow_headers_hit_request_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader, writer)
        await asyncio.Event().wait()  # never answer

    async def main() -> None:
        async with Server(handler) as server, client() as http:
            with pytest.raises(HTTPTimeoutError) as info:
                await http.fetch(server.url(), request_timeout=0.2)
        assert info.value.code == 599 and "Timeout during request" in str(info.value)

    run(main)


def test_queued_request_times_out_in_the_queue() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader, writer)
        await asyncio.Event().wait()

    async def main() -> None:
        async with Server(handler) as server, client(max_clients=1) as http:
            first = http.fetch(server.url(), request_timeout=5)
            with pytest.raises(HTTPTimeoutError, match="queue"):
                await http.fetch(server.url(), request_timeout=0.1)
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first

    run(main)


def test_connection_refused_raises_connection_refused_error() -> None:
    async def main() -> None:
        async with client() as http:
            with pytest.raises(ConnectionRefusedError):
                await http.fetch(f"http://127.0.0.1:{free_port()}/", raise_error=False)

    run(main)


# -- HTTPS -------------------------------------------------------------------------


def test_https_with_ca_certs_and_without_validation(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def main() -> None:
        async with Server(keep_alive(echo), ssl_context=context) as server, client() as http:
            trusted = await http.fetch(server.url(), ca_certs=str(cert))
            assert body_json(trusted)["method"] == "GET"
            again = await http.fetch(server.url(), ca_certs=str(cert))
            assert again.code == 200
            unchecked = await http.fetch(server.url(), validate_cert=False)
            assert unchecked.code == 200
            with pytest.raises(ssl.SSLCertVerificationError):
                await http.fetch(server.url())
        # One connection per TLS configuration; the refused handshake never
        # reaches the handler.
        assert server.connections == 2

    run(main)


# -- the blocking client -------------------------------------------------------------


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = 404 if self.path == "/missing" else 200
        body = f"path={self.path}".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def threaded_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_blocking_http_client(threaded_server: str) -> None:
    http = HTTPClient()
    try:
        assert http.fetch(threaded_server + "/a").body == b"path=/a"
        assert http.fetch(HTTPRequest(threaded_server + "/b")).body == b"path=/b"
        with pytest.raises(HTTPClientError) as info:
            http.fetch(threaded_server + "/missing")
        assert info.value.code == 404
        assert http.fetch(threaded_server + "/missing", raise_error=False).code == 404
    finally:
        http.close()
    http.close()  # twice is fine
    with pytest.raises(RuntimeError):
        http.fetch(threaded_server)
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()  # the private loop never became the thread's loop


# -- against the framework's own server ------------------------------------------------


def test_against_framework_http_server() -> None:
    from framework.httpserver import HTTPServer
    from framework.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine

    def handle(request: HTTPServerRequest) -> None:
        body = f"{request.method} {request.uri} {request.body!r}".encode()
        headers = HTTPHeaders({"Content-Length": str(len(body))})
        request.connection.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), headers, body)
        request.connection.finish()

    async def main() -> None:
        server = HTTPServer(handle)
        server.listen(0, "127.0.0.1")
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            async with client() as http:
                assert (await http.fetch(url + "/a?b=1")).body == b"GET /a?b=1 b''"
                posted = await http.fetch(url + "/p", method="POST", body=b"x=1")
                assert posted.body == b"POST /p b'x=1'"
        finally:
            server.stop()
            await server.close_all_connections()

    run(main)


def test_callback_fetch_started_before_the_loop_runs(threaded_server: str) -> None:
    """The tutorial's shape: fetch with a callback, then start the loop."""
    io_loop = IOLoop()
    io_loop.make_current()
    try:
        http = AsyncHTTPClient()
        assert AsyncHTTPClient() is http
        got: list[HTTPResponse] = []

        def on_response(resp: HTTPResponse) -> None:
            got.append(resp)
            io_loop.stop()

        http.fetch(threaded_server + "/tutorial", callback=on_response)
        io_loop.start()
        assert got[0].body == b"path=/tutorial" and got[0].error is None
        http.close()
        io_loop.run_sync(lambda: asyncio.sleep(0.01))  # let the closed socket go
    finally:
        io_loop.close()
        IOLoop.clear_current()


# -- AsyncHTTPClient.configure -----------------------------------------------------


class CountingClient(AsyncHTTPClient):
    """A configured implementation: Tornado's way to swap the client (its curl client)."""

    def initialize(self, max_clients: int = 10, defaults: Any = None, *, label: str = "", **kwargs: Any) -> None:
        super().initialize(max_clients, defaults, **kwargs)
        self.label = label
        self.fetched = 0

    def fetch(self, request: Any, raise_error: bool = True, **kwargs: Any) -> Any:
        self.fetched += 1
        return super().fetch(request, raise_error, **kwargs)


@pytest.fixture
def restore_client_configuration() -> Iterator[None]:
    saved = AsyncHTTPClient._save_configuration()
    yield
    AsyncHTTPClient._restore_configuration(saved)


@pytest.mark.usefixtures("restore_client_configuration")
def test_configure_changes_defaults_and_the_class_built() -> None:
    async def main() -> None:
        AsyncHTTPClient.configure(None, max_clients=3)
        plain = AsyncHTTPClient(force_instance=True)
        assert type(plain) is AsyncHTTPClient and plain.max_clients == 3
        assert AsyncHTTPClient(force_instance=True, max_clients=5).max_clients == 5  # the caller's wins
        plain.close()
        AsyncHTTPClient.configure(CountingClient, label="configured")
        shared = AsyncHTTPClient()
        assert type(shared) is CountingClient and shared.label == "configured"
        assert AsyncHTTPClient() is shared and CountingClient() is shared
        async with Server(keep_alive(echo)) as server:
            response = await shared.fetch(server.url("/configured"))
        assert body_json(response)["target"] == "/configured" and shared.fetched == 1
        shared.close()
        AsyncHTTPClient.configure("framework.httpclient.AsyncHTTPClient")
        again = AsyncHTTPClient(force_instance=True)
        assert type(again) is AsyncHTTPClient and again.max_clients == 10
        again.close()

    run(main)


@pytest.mark.usefixtures("restore_client_configuration")
def test_configure_fails_loudly() -> None:
    with pytest.raises(TypeError):
        AsyncHTTPClient.configure(None, max_client=3)  # a near miss
    with pytest.raises(ValueError):
        AsyncHTTPClient.configure(dict)  # type: ignore[arg-type]
    with pytest.raises(ImportError):
        AsyncHTTPClient.configure("framework.curl_httpclient.CurlAsyncHTTPClient")
    assert AsyncHTTPClient.configured_class() is AsyncHTTPClient


@pytest.mark.usefixtures("restore_client_configuration")
def test_http_client_builds_the_configured_class() -> None:
    AsyncHTTPClient.configure(CountingClient, label="blocking")
    blocking = HTTPClient()
    try:
        assert isinstance(blocking._async_client, CountingClient)
        assert blocking._async_client.label == "blocking"
    finally:
        blocking.close()

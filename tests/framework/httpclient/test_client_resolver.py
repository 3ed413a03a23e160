"""Tests for framework/httpclient/client.py: where connections go (``resolver=``, ``hostname_mapping=``).

Tornado's ``SimpleAsyncHTTPClient`` arguments: a made-up host name
(``example.invalid``, which no DNS answers) reaches the local server only if
the client asked the resolver, or the mapping, where it is; the URL's host
still names the request (``Host``), the TLS peer (SNI, certificate check) and
the pooled connection. Who closes the resolver: the client its own, never a
given one.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.httpclient import AsyncHTTPClient, HTTPClient, HTTPTimeoutError
from framework.netutil import DefaultLoopResolver, OverrideResolver, Resolver
from tests.framework.harness import run, self_signed_certificate
from tests.framework.httpclient.servers import (
    Server,
    body_json,
    client,
    echo,
    keep_alive,
)


class Recording(Resolver):
    """Answers ``example.invalid`` with 127.0.0.1 and nothing else; remembers every question."""

    def initialize(self) -> None:
        self.calls: list[tuple[str, int, socket.AddressFamily]] = []
        self.closed = False

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, Any]]:
        self.calls.append((host, port, family))
        if host != "example.invalid":
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not known here")
        return [(socket.AF_INET, ("127.0.0.1", port))]

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def restore_configurations() -> Iterator[None]:
    saved_client = AsyncHTTPClient._save_configuration()
    saved_resolver = Resolver._save_configuration()
    yield
    AsyncHTTPClient._restore_configuration(saved_client)
    Resolver._restore_configuration(saved_resolver)


def test_a_given_resolver_decides_where_the_connection_goes() -> None:
    async def main() -> None:
        resolver = Recording()
        async with Server(keep_alive(echo)) as server, client(resolver=resolver) as http:
            url = f"http://example.invalid:{server.port}/echo"
            first = await http.fetch(url)
            second = await http.fetch(url)
        assert body_json(first)["headers"]["host"] == f"example.invalid:{server.port}"
        assert body_json(second)["target"] == "/echo"
        # One connection, pooled under the URL's host: asked once.
        assert server.connections == 1
        assert resolver.calls == [("example.invalid", server.port, socket.AF_UNSPEC)]
        assert not resolver.closed  # the caller's

    run(main)


def test_what_the_resolver_cannot_resolve_fails_the_fetch() -> None:
    async def main() -> None:
        resolver = Recording()
        async with client(resolver=resolver) as http:
            with pytest.raises(socket.gaierror):
                await http.fetch("http://elsewhere.invalid/", raise_error=False)
        assert resolver.calls == [("elsewhere.invalid", 80, socket.AF_UNSPEC)]

    run(main)


def test_hostname_mapping_sends_a_name_to_an_address() -> None:
    async def main() -> None:
        async with Server(keep_alive(echo)) as server, client(hostname_mapping={"example.invalid": "127.0.0.1"}) as http:
            response = await http.fetch(f"http://example.invalid:{server.port}/mapped")
            assert isinstance(http.resolver, OverrideResolver)
        assert body_json(response)["headers"]["host"] == f"example.invalid:{server.port}"
        assert body_json(response)["target"] == "/mapped"

    run(main)


def test_hostname_mapping_by_host_and_port_wraps_the_given_resolver() -> None:
    """The mapping is asked first; what it does not cover goes to the resolver, which stays open."""

    async def main() -> None:
        resolver = Recording()
        async with Server(keep_alive(echo)) as server:
            mapping = {("api.invalid", 443): ("example.invalid", server.port)}
            async with client(resolver=resolver, hostname_mapping=mapping) as http:
                response = await http.fetch("http://api.invalid:443/")
                assert body_json(response)["headers"]["host"] == "api.invalid:443"
        assert resolver.calls == [("example.invalid", server.port, socket.AF_UNSPEC)]
        assert not resolver.closed

    run(main)


def test_connect_timeout_covers_a_resolver_that_never_answers() -> None:
    class Silent(Resolver):
        async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, Any]]:
            await asyncio.Event().wait()
            raise AssertionError("never answered")

    async def main() -> None:
        async with client(resolver=Silent()) as http:
            with pytest.raises(HTTPTimeoutError, match="connecting"):
                await http.fetch("http://example.invalid/", connect_timeout=0.1)

    run(main)


@pytest.mark.usefixtures("restore_configurations")
def test_configure_gives_every_new_client_the_resolver_and_mapping() -> None:
    async def main() -> None:
        resolver = Recording()
        AsyncHTTPClient.configure(None, resolver=resolver, hostname_mapping={"service.invalid": "example.invalid"})
        async with Server(keep_alive(echo)) as server:
            http = AsyncHTTPClient(force_instance=True)
            try:
                response = await http.fetch(f"http://service.invalid:{server.port}/")
            finally:
                http.close()
        assert body_json(response)["headers"]["host"] == f"service.invalid:{server.port}"
        assert resolver.calls == [("example.invalid", server.port, socket.AF_UNSPEC)]
        assert not resolver.closed

    run(main)


@pytest.mark.usefixtures("restore_configurations")
def test_a_client_made_resolver_follows_resolver_configure_and_is_closed_with_the_client() -> None:
    made: list[Recording] = []

    class Counted(Recording):
        def initialize(self) -> None:
            super().initialize()
            made.append(self)

    async def main() -> None:
        Resolver.configure(Counted)
        async with Server(keep_alive(echo)) as server:
            http = AsyncHTTPClient(force_instance=True, hostname_mapping={"other.invalid": "example.invalid"})
            Resolver.configure(None)  # the client has made its resolver already
            response = await http.fetch(f"http://other.invalid:{server.port}/")
            assert made and not made[0].closed
            http.close()
            http.close()
        assert body_json(response)["headers"]["host"] == f"other.invalid:{server.port}"
        assert made[0].calls == [("example.invalid", server.port, socket.AF_UNSPEC)]
        assert made[0].closed  # through the OverrideResolver wrapped around it
        assert type(Resolver()) is DefaultLoopResolver

    run(main)


def test_the_blocking_client_passes_the_resolver_on() -> None:
    resolver = Recording()
    blocking = HTTPClient(resolver=resolver)
    try:
        assert blocking._async_client.resolver is resolver
    finally:
        blocking.close()
    assert not resolver.closed


# -- TLS names the URL's host, not the address ----------------------------------------


@pytest.fixture(scope="module")
def invalid_host_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name ``example.invalid`` only."""
    where = tmp_path_factory.mktemp("tls-invalid")
    return self_signed_certificate(where, "example.invalid", "DNS:example.invalid")


def test_tls_checks_the_certificate_against_the_mapped_name(invalid_host_certificate: tuple[Path, Path]) -> None:
    cert, key = invalid_host_certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server_names: list[str | None] = []

    def record_server_name(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        server_names.append(name)

    context.sni_callback = record_server_name

    async def main() -> None:
        mapping = {"example.invalid": "127.0.0.1"}
        async with Server(keep_alive(echo), ssl_context=context) as server, client(hostname_mapping=mapping) as http:
            response = await http.fetch(f"https://example.invalid:{server.port}/", ca_certs=str(cert))
            assert body_json(response)["headers"]["host"] == f"example.invalid:{server.port}"
            # The certificate does not name 127.0.0.1: only the mapped name passes the check.
            with pytest.raises(ssl.SSLCertVerificationError):
                await http.fetch(f"https://127.0.0.1:{server.port}/", ca_certs=str(cert))
        assert server_names == ["example.invalid", None]  # SNI: the name; an IP address is never sent

    run(main)

"""framework.netutil: sockets bound before serving, Unix sockets, the accept handler, address checks,
resolvers, TLS options."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import framework
from framework.netutil import (
    BlockingResolver,
    DefaultExecutorResolver,
    DefaultLoopResolver,
    ExecutorResolver,
    OverrideResolver,
    Resolver,
    ThreadedResolver,
    add_accept_handler,
    bind_sockets,
    bind_unix_socket,
    is_valid_ip,
    ssl_options_to_context,
    ssl_wrap_socket,
)


def test_port_zero_gives_every_address_the_same_free_port() -> None:
    sockets = bind_sockets(0, "localhost")
    try:
        assert sockets
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1 and ports.pop() > 0
        assert all(not sock.getblocking() for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_a_taken_port_is_an_error_unless_both_reuse_it() -> None:
    (first,) = bind_sockets(0, "127.0.0.1")
    port = first.getsockname()[1]
    try:
        with pytest.raises(OSError):
            bind_sockets(port, "127.0.0.1")
    finally:
        first.close()
    (a,) = bind_sockets(0, "127.0.0.1", reuse_port=True)
    try:
        (b,) = bind_sockets(a.getsockname()[1], "127.0.0.1", reuse_port=True)
        b.close()
    finally:
        a.close()


def test_bind_unix_socket_replaces_a_stale_socket_but_never_a_file(tmp_path: Path) -> None:
    path = str(tmp_path / "app.sock")
    first = bind_unix_socket(path)
    first.close()  # the file stays behind, as after a crash
    second = bind_unix_socket(path, mode=0o660)
    try:
        assert oct(os.stat(path).st_mode & 0o777) == oct(0o660)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
    finally:
        second.close()
    regular = tmp_path / "data.txt"
    regular.write_text("keep me")
    with pytest.raises(ValueError, match="not a socket"):
        bind_unix_socket(str(regular))
    assert regular.read_text() == "keep me"


def test_add_accept_handler_accepts_every_waiting_connection_and_stops_when_removed() -> None:
    async def scenario() -> tuple[int, bool]:
        (listener,) = bind_sockets(0, "127.0.0.1")
        port = listener.getsockname()[1]
        accepted: list[socket.socket] = []
        remove = add_accept_handler(listener, lambda conn, address: accepted.append(conn))
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        for _ in range(100):
            if len(accepted) == 5:
                break
            await asyncio.sleep(0.01)
        remove()
        late = socket.create_connection(("127.0.0.1", port))  # queued by the kernel, never accepted
        await asyncio.sleep(0.05)
        count, still_five = len(accepted), len(accepted) == 5
        for sock in [*accepted, *clients, late, listener]:
            sock.close()
        return count, still_five

    count, still_five = asyncio.run(scenario())  # IOLoop.current() wraps the running loop
    assert count == 5 and still_five


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("fe80::1%eth0", True),
        ("", False),
        ("localhost", False),
        ("256.1.1.1", False),
        ("1.2.3.4\x00", False),
        (" 1.2.3.4", False),
    ],
)
def test_is_valid_ip(text: str, valid: bool) -> None:
    assert is_valid_ip(text) is valid


# -- resolvers ---------------------------------------------------------------


def resolve(
    resolver: Resolver, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
) -> list[tuple[int, object]]:
    async def main() -> list[tuple[int, object]]:
        return await asyncio.wait_for(resolver.resolve(host, port, family), 10)

    return asyncio.run(main())


@pytest.fixture
def default_resolver() -> Iterator[None]:
    """Whatever a test configures, the next one sees the default again."""
    yield
    Resolver.configure(None)


@pytest.mark.parametrize(
    "make",
    [Resolver, DefaultLoopResolver, DefaultExecutorResolver, BlockingResolver, ThreadedResolver, ExecutorResolver],
)
def test_every_resolver_answers_with_family_and_address_pairs(make: Callable[[], Resolver]) -> None:
    resolver = make()
    try:
        assert resolve(resolver, "127.0.0.1", 80) == [(socket.AF_INET, ("127.0.0.1", 80))]
        assert (socket.AF_INET, ("127.0.0.1", 8080)) in resolve(resolver, "localhost", 8080, socket.AF_INET)
    finally:
        resolver.close()


def test_a_name_that_does_not_resolve_is_an_oserror() -> None:
    with pytest.raises(OSError):
        resolve(Resolver(), "no-such-host.invalid", 80)


def test_resolver_configure_chooses_what_resolver_builds(default_resolver: None) -> None:
    assert type(Resolver()) is DefaultLoopResolver
    Resolver.configure("framework.netutil.ThreadedResolver", num_threads=2)
    chosen = Resolver()
    assert type(chosen) is ThreadedResolver
    assert resolve(chosen, "127.0.0.1", 1) == [(socket.AF_INET, ("127.0.0.1", 1))]
    with pytest.raises(ValueError):
        Resolver.configure(dict)  # type: ignore[arg-type]


def test_threaded_resolvers_share_one_pool_that_closing_leaves_running() -> None:
    first, second = ThreadedResolver(), ThreadedResolver(num_threads=3)
    assert first.executor is second.executor
    pool = first.executor
    first.close()
    assert pool is not None and pool.submit(int, "7").result() == 7


def test_an_executor_resolver_shuts_its_executor_down_unless_told_not_to() -> None:
    owned, lent = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    ExecutorResolver(executor=owned).close()
    ExecutorResolver(executor=lent, close_executor=False).close()
    with pytest.raises(RuntimeError):
        owned.submit(int)
    assert lent.submit(int, "3").result() == 3
    lent.shutdown()


def test_a_closed_executor_resolver_refuses_to_resolve() -> None:
    resolver = ExecutorResolver(executor=ThreadPoolExecutor(1))
    resolver.close()
    with pytest.raises(RuntimeError):
        resolve(resolver, "127.0.0.1", 1)


def test_override_resolver_prefers_the_most_specific_key() -> None:
    class Echo(Resolver):
        """Answers with what it was asked, so the test sees what the override passed on."""

        closed = False

        async def resolve(
            self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
        ) -> list[tuple[int, object]]:
            return [(family, (host, port))]

        def close(self) -> None:
            self.closed = True

    inner = Echo()
    resolver = OverrideResolver(
        resolver=inner,
        mapping={
            "example.com": "127.0.1.1",
            ("login.example.com", 443): ("localhost", 1443),
            ("login.example.com", 443, socket.AF_INET6): ("::1", 1443),
        },
    )
    assert resolve(resolver, "example.com", 80) == [(socket.AF_UNSPEC, ("127.0.1.1", 80))]
    assert resolve(resolver, "login.example.com", 443) == [(socket.AF_UNSPEC, ("localhost", 1443))]
    assert resolve(resolver, "login.example.com", 443, socket.AF_INET6) == [(socket.AF_INET6, ("::1", 1443))]
    assert resolve(resolver, "login.example.com", 80) == [(socket.AF_UNSPEC, ("login.example.com", 80))]
    resolver.close()
    assert inner.closed


# -- TLS options -------------------------------------------------------------

CERT = str(Path(framework.__file__).parent / "testing.crt")
KEY = str(Path(framework.__file__).parent / "testing.key")


def test_ssl_options_to_context_reads_the_dict_and_passes_a_context_through() -> None:
    server = ssl_options_to_context({"certfile": CERT, "keyfile": KEY}, server_side=True)
    assert server.protocol == ssl.PROTOCOL_TLS_SERVER
    assert ssl_options_to_context(server) is server
    client = ssl_options_to_context({"cert_reqs": ssl.CERT_NONE}, server_side=False)
    assert client.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert client.verify_mode == ssl.CERT_NONE and not client.check_hostname
    assert ssl_options_to_context({"certfile": CERT, "keyfile": KEY}).protocol == ssl.PROTOCOL_TLS_SERVER
    assert ssl_options_to_context({"ca_certs": CERT}).protocol == ssl.PROTOCOL_TLS_CLIENT
    with pytest.raises(ValueError, match="unknown"):
        ssl_options_to_context({"certfiel": CERT}, server_side=True)


def test_ssl_version_is_the_protocol_of_the_context() -> None:
    context = ssl_options_to_context({"ssl_version": ssl.PROTOCOL_TLS_CLIENT, "ca_certs": CERT}, server_side=False)
    assert context.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_ssl_wrap_socket_wraps_both_ends_of_a_connection() -> None:
    a, b = socket.socketpair()
    server = ssl_wrap_socket(a, {"certfile": CERT, "keyfile": KEY}, do_handshake_on_connect=False)
    client = ssl_wrap_socket(b, {"ca_certs": CERT}, server_hostname="localhost", server_side=False, do_handshake_on_connect=False)
    assert server.server_side and not client.server_side
    with ThreadPoolExecutor(1) as pool:
        server.settimeout(10)
        shaking = pool.submit(server.do_handshake)
        client.settimeout(10)
        client.do_handshake()
        shaking.result(timeout=10)
    client.sendall(b"ping")
    assert server.recv(4) == b"ping"
    server.close()
    client.close()

"""framework.netutil: sockets bound before serving, Unix sockets, the accept handler, address checks."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from framework.netutil import (
    add_accept_handler,
    bind_sockets,
    bind_unix_socket,
    is_valid_ip,
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
    [("127.0.0.1", True), ("::1", True), ("fe80::1%eth0", True), ("", False), ("localhost", False),
     ("256.1.1.1", False), ("1.2.3.4\x00", False), (" 1.2.3.4", False)],
)
def test_is_valid_ip(text: str, valid: bool) -> None:
    assert is_valid_ip(text) is valid

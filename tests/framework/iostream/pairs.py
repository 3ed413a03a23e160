"""Connected streams on 127.0.0.1 for the iostream tests: an accepted stream and its client."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from framework.iostream import IOStream


async def pair(**options: Any) -> tuple[IOStream, IOStream]:
    """An accepted stream and a connected client stream, both with ``options``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    client = IOStream(socket.socket(), **options)
    connecting = client.connect(listener.getsockname())
    accepted, _ = await asyncio.get_running_loop().sock_accept(listener)
    listener.close()
    await connecting
    return IOStream(accepted, **options), client

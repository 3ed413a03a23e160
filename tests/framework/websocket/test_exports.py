"""Tests for framework/websocket/__init__.py: its public names, and a codec that stays sans-IO."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from framework import websocket
from framework.websocket import (
    WebSocketClosedError,
    WebSocketError,
)


@pytest.mark.parametrize("module", ["frames", "deflate", "handshake"])
def test_the_codec_is_sans_io(module: str) -> None:
    """No sockets, no asyncio, nothing from the framework but sans-IO siblings and http1 (its NEED_DATA)."""
    source = Path(websocket.__file__).with_name(f"{module}.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not imported & {"asyncio", "socket", "ssl", "selectors"}
    framework_modules = {name for name in imported if name.startswith("framework")}
    # http1 is sans-IO too and imports nothing from framework (tests/test_layout.py).
    assert framework_modules <= {"framework.websocket.deflate", "framework.http1"}


def test_public_names() -> None:
    for name in ["WebSocketHandler", "WebSocketClientConnection", "WebSocketClosedError", "WebSocketError", "websocket_connect"]:
        assert name in websocket.__all__ and getattr(websocket, name) is not None
    assert issubclass(WebSocketClosedError, WebSocketError)

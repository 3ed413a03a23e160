"""WebSocket (RFC 6455) server handler and client, with Tornado's ``tornado.websocket`` API.

A package that only re-exports. Sans-IO, and tested without sockets:
``frames`` (framing, fragmentation, masking, close frames), ``handshake``
(the opening handshake's fields and keys) and ``deflate`` (permessage-deflate,
RFC 7692). Over asyncio: ``protocol`` (one open connection, either side),
``handler`` (``WebSocketHandler``) and ``client`` (``websocket_connect``).
"""

from framework.websocket.client import WebSocketClientConnection as WebSocketClientConnection
from framework.websocket.client import websocket_connect as websocket_connect
from framework.websocket.frames import DEFAULT_MAX_MESSAGE_SIZE as DEFAULT_MAX_MESSAGE_SIZE
from framework.websocket.frames import CloseCode as CloseCode
from framework.websocket.handler import WebSocketHandler as WebSocketHandler
from framework.websocket.protocol import WebSocketClosedError as WebSocketClosedError
from framework.websocket.protocol import WebSocketError as WebSocketError
from framework.websocket.protocol import WebSocketProtocol as WebSocketProtocol

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "CloseCode",
    "WebSocketClientConnection",
    "WebSocketClosedError",
    "WebSocketError",
    "WebSocketHandler",
    "WebSocketProtocol",
    "websocket_connect",
]

"""Asynchronous and blocking HTTP clients with Tornado's ``tornado.httpclient`` API.

This package only re-exports. ``messages`` holds what a fetch is and yields
(``HTTPRequest``, ``HTTPResponse``, the errors); ``connection`` one
keep-alive connection and one exchange on it, the only place bytes meet
``http1``; ``client`` the clients, with their slots, pool and redirects; ``cli`` the
command line (``python -m framework.httpclient URL``). No
module here imports ``framework.web`` or ``framework.routing``.
"""

from __future__ import annotations

from .cli import main as main
from .client import AsyncHTTPClient as AsyncHTTPClient
from .client import HTTPClient as HTTPClient
from .messages import HTTPClientError as HTTPClientError
from .messages import HTTPError as HTTPError
from .messages import HTTPRequest as HTTPRequest
from .messages import HTTPResponse as HTTPResponse
from .messages import HTTPStreamClosedError as HTTPStreamClosedError
from .messages import HTTPTimeoutError as HTTPTimeoutError
from .messages import StreamClosedError as StreamClosedError

__all__ = [
    "AsyncHTTPClient",
    "HTTPClient",
    "HTTPClientError",
    "HTTPError",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPStreamClosedError",
    "HTTPTimeoutError",
    "StreamClosedError",
    "main",
]

"""Asynchronous and blocking HTTP clients with Tornado's ``tornado.httpclient`` API.

This package only re-exports. ``_messages`` holds what a fetch is and yields
(``HTTPRequest``, ``HTTPResponse``, the errors); ``_connection`` one
keep-alive connection and one exchange on it, the only place bytes meet
``http1``; ``_client`` the clients, with their slots, pool and redirects. No
module here imports ``framework.web`` or ``framework.routing``.
"""

from __future__ import annotations

from ._client import AsyncHTTPClient as AsyncHTTPClient
from ._client import HTTPClient as HTTPClient
from ._messages import HTTPClientError as HTTPClientError
from ._messages import HTTPError as HTTPError
from ._messages import HTTPRequest as HTTPRequest
from ._messages import HTTPResponse as HTTPResponse
from ._messages import HTTPStreamClosedError as HTTPStreamClosedError
from ._messages import HTTPTimeoutError as HTTPTimeoutError
from ._messages import StreamClosedError as StreamClosedError

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
]

"""One HTTP/1.1 server connection (Tornado's ``tornado.http1connection`` path).

A package that only re-exports: ``protocol`` holds ``HTTP1ServerProtocol``,
the asyncio ``Protocol`` of a connection (buffers, keep-alive, pipelining,
timeouts, corked writes), and ``exchange`` holds ``HTTP1Connection``, the
``HTTPConnection`` a request's handler writes its response through. Neither
parses nor serialises HTTP itself: that is ``http1``'s. ``httpserver`` keeps
listening, accepting and draining, and ``serverstate`` holds what the two
share.
"""

from framework.http1connection.exchange import HTTP1Connection as HTTP1Connection
from framework.http1connection.protocol import HTTP1ServerProtocol as HTTP1ServerProtocol

__all__ = ["HTTP1Connection", "HTTP1ServerProtocol"]

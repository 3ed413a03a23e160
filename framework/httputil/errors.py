"""The errors of the HTTP data layer: a request that cannot be decoded, a response that is invalid."""

from __future__ import annotations


class HTTPInputError(Exception):
    """A request body or argument could not be decoded (answered with ``status``, 400 by default).

    Args:
        message: what was wrong, shown as the error page's reason.
        status: 413 when a limit was exceeded (too many parts, a field too large).
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class HTTPOutputError(Exception):
    """The application produced an invalid response (for example, too many bytes)."""

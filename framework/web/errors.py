"""Exceptions a handler raises to end a request: ``HTTPError``, ``Finish``, ``MissingArgumentError``."""

from __future__ import annotations

from typing import Any

from framework import http1

__all__ = ["Finish", "HTTPError", "MissingArgumentError"]


class HTTPError(Exception):
    """Raise to answer with an HTTP error status (Tornado's ``HTTPError``).

    The handler's ``write_error`` renders the page; ``log_message`` (formatted
    with ``args`` the %-way) goes to the log, never to the client.

    Args:
        status_code: the HTTP status to answer with.
        log_message: a message for the log, with ``%s`` placeholders for ``args``.
        reason: a custom reason phrase; required for a non-standard status.
    """

    def __init__(
        self,
        status_code: int = 500,
        log_message: str | None = None,
        *args: Any,
        reason: str | None = None,
    ) -> None:
        super().__init__(status_code, log_message, *args)
        self.status_code = status_code
        self.log_message = log_message
        self.args = args
        self.reason = reason
        if log_message and not args:
            self.log_message = log_message.replace("%", "%%")

    def __str__(self) -> str:
        message = f"HTTP {self.status_code}: {self.reason or http1.reason_phrase(self.status_code)}"
        if self.log_message:
            return f"{message} ({self.log_message % self.args})"
        return message


class Finish(Exception):
    """Raise to end the request without an error page (Tornado's ``Finish``).

    Whatever was written so far is sent; an argument is written first, as
    ``finish(arg)`` would.
    """


class MissingArgumentError(HTTPError):
    """A required argument is absent: 400 with the argument named (Tornado's class)."""

    def __init__(self, arg_name: str) -> None:
        super().__init__(400, "Missing argument %s", arg_name, reason=f"Missing argument {arg_name}")
        self.arg_name = arg_name

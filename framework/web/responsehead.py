"""The header fields the framework itself decides: the defaults with their ``Date``, and the ``ETag``.

Strategy: most responses change no header (a hello world, a long poll's
message, a page), so the application's default fields, with the current
second's ``Date``, are serialised and checked once a second
(``http1.PreparedFields``) and sent as they are; ``RequestHandler`` makes a
header map only for a response that touches one. The default ``ETag`` of a
body that repeats (the same message to thousands of long polls) is hashed
once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence

from framework import http1
from framework.httputil import HTTPHeaders, format_timestamp

__all__ = ["DefaultFields", "body_etag", "prepared_headers"]


class DefaultFields:
    """An application's default fields with this second's ``Date``, serialised once a second.

    ``current`` is ``(second, prepared)``: one tuple, replaced whole, so a
    thread never pairs one second with another's fields. Read it inline and
    call ``now()`` only when ``int(time.time())`` is another second (a call
    less per response: loadtest/instructions.py).
    """

    __slots__ = ("_fields", "_typed", "current", "decided")

    def __init__(self, fields: Mapping[str, list[str]], request_id_name: str = "x-request-id") -> None:
        """``fields``: the defaults in the order they are sent, with a ``date`` placeholder among them.

        ``decided`` is then every (lower-case) name the framework sets itself:
        these, the framing's, ``ETag`` and ``request_id_name``. A handler's
        field of another name may follow the prepared fields as they are.

        Raises:
            ValueError: a name or value could never be sent (checked here, at start-up).
        """
        self._fields = dict(fields)
        self.decided = frozenset(self._fields) | _FRAMING_NAMES | {"etag", request_id_name.lower()}
        second = int(time.time())
        self.current: tuple[int, http1.PreparedFields] = (second, self._prepare(second))
        # This second's variants with another Content-Type (JSON, plain text):
        # one tuple, replaced whole each second, as ``current``.
        self._typed: tuple[int, dict[str, http1.PreparedFields]] = (second, {})

    def now(self) -> http1.PreparedFields:
        """The fields for the current second."""
        second = int(time.time())
        current = self.current
        if second == current[0]:
            return current[1]
        prepared = self._prepare(second)
        self.current = (second, prepared)
        return prepared

    def typed(self, content_type: str) -> http1.PreparedFields | None:
        """The fields for the current second with ``content_type`` for Content-Type (in its place).

        Each type is serialised once a second, for at most ``_TYPES_KEPT``
        types a second; None beyond that (the caller makes a header map).
        ``content_type`` must have passed ``set_header``'s checks.
        """
        second = int(time.time())
        typed = self._typed
        if typed[0] != second:
            typed = self._typed = (second, {})
        prepared = typed[1].get(content_type)
        if prepared is None:
            if len(typed[1]) >= _TYPES_KEPT:
                return None
            try:
                prepared = typed[1][content_type] = self._prepare(second, content_type)
            except ValueError:  # (a value set_header let through that a prepared block refuses: the map's rules decide)
                return None
        return prepared

    def _prepare(self, second: int, content_type: str | None = None) -> http1.PreparedFields:
        fields = dict(self._fields)
        fields["date"] = [format_timestamp(second)]
        if content_type is not None:
            fields["content-type"] = [content_type]
        return http1.PreparedFields(fields)


_FRAMING_NAMES = frozenset({"content-length", "transfer-encoding", "connection"})
_TYPES_KEPT = 16  # Content-Type variants prepared per second


def prepared_headers(prepared: http1.PreparedFields, fields: Sequence[tuple[str, str]], content_length: int) -> HTTPHeaders:
    """The header map of a response sent on prepared fields (``HTTPConnection.finish_prepared``).

    Args:
        prepared: the fields it was sent on.
        fields: its own fields after them, (lower-case name, value) pairs.
        content_length: its body's length.

    Returns:
        A new map of the same fields in the same order (the prepared lists shared, never changed).
    """
    merged = dict(prepared.fields)
    for name, value in fields:
        merged[name] = [value]
    merged["content-length"] = [str(content_length)]
    return HTTPHeaders.adopt(merged)


# The last one-part body of at most _MEMO_LIMIT bytes hashed by body_etag,
# with its tag: one tuple, replaced whole, so a body is never paired with
# another's tag. A long poll's fan-out writes the same message to thousands
# of waiters, a health check or a broadcast the same bytes again and again;
# the SHA-1 (OpenSSL's: about 4,000 instructions however short the body) is
# then computed once, and a different body costs one comparison of bytes
# (loadtest/longpoll_fanout.py --instructions: 2.2k fewer per waiter). Only
# exact bytes are compared and kept.
_MEMO_LIMIT = 4096
_last_etag: tuple[bytes, str] = (b"", f'"{hashlib.sha1(b"").hexdigest()}"')


def body_etag(parts: list[bytes] | tuple[()]) -> str:
    """The default ETag: the quoted SHA-1 of the body's parts (Tornado's ``compute_etag``)."""
    global _last_etag
    if len(parts) == 1:  # the usual case: one write(), hashed without a loop
        body = parts[0]
        if type(body) is not bytes:  # (a subclass may compare as it likes, a buffer may change)
            return f'"{hashlib.sha1(body).hexdigest()}"'
        last = _last_etag
        if body == last[0]:
            return last[1]
        tag = f'"{hashlib.sha1(body).hexdigest()}"'
        if len(body) <= _MEMO_LIMIT:
            _last_etag = (body, tag)
        return tag
    hasher = hashlib.sha1()
    for part in parts:
        hasher.update(part)
    return f'"{hasher.hexdigest()}"'

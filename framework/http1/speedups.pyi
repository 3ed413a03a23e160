"""Type stub of the compiled accelerator ``framework.http1.speedups`` (``speedups*.c``).

Each head function returns None unless its input is the plain common case; the
pure-Python code of ``head``, ``parser`` and ``writer`` is the reference it equals.
``parse_urlencoded`` answers every input, as ``urlencoded``'s Python does.
"""

from collections.abc import Mapping, Sequence
from typing import Any

def parse_request_head(
    head: bytes | bytearray | memoryview, max_headers: int, max_target_bytes: int, /
) -> tuple[str, str, str, list[tuple[str, str]], dict[str, list[str]]] | None:
    """Split a plain request head (no blank line) into (method, target, version, headers, fields), or None."""

def read_request_head(
    head: bytes | bytearray | memoryview, max_headers: int, max_target_bytes: int, /
) -> Any:
    """``parse_request_head``, or the bound RequestHead itself where the head leaves nothing to decide."""

def serialize_response_fields(
    status: int, fields: Mapping[str, list[str]], extra: Sequence[tuple[str, str]], reason: str, version: str, /
) -> bytes | None:
    """Render a response head from ``{lower-case name: [values]}`` plus extra pairs, or None."""

def prepared_response(
    method: str,
    version: str,
    status: int,
    reason: str,
    block: bytes,
    fields: Sequence[tuple[str, str]],
    body: bytes,
    keep_alive: bool,
    /,
) -> bytes | None:
    """The whole of a usual response (kept open, HTTP/1.1, not HEAD, with a body) on prepared fields, or None."""

def bind_request_head(cls: type, /) -> None:
    """Make ``make_request_head`` build ``cls`` (a slots dataclass with RequestHead's fields), or TypeError."""

def make_request_head(
    method: str,
    target: str,
    version: str,
    headers: list[tuple[str, str]],
    keep_alive: bool,
    expect_continue: bool,
    chunked: bool,
    content_length: int | None,
    fields: dict[str, list[str]],
    /,
) -> Any:
    """The bound class's instance with these fields, its ``__init__`` not run."""

def parse_urlencoded(data: bytes | bytearray | memoryview, keep_blank_values: bool, /) -> dict[str, list[bytes]]:
    """An application/x-www-form-urlencoded string as ``{name: [value bytes]}`` (``urlencoded.parse_urlencoded``)."""

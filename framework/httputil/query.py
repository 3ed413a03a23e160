"""Query strings: parsed into raw bytes values, flattened, appended to a URL (Tornado's functions)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from framework.http1 import parse_urlencoded

_T = TypeVar("_T")


def parse_qs_bytes(
    qs: str | bytes, keep_blank_values: bool = False, strict_parsing: bool = False, *, max_num_fields: int | None = None
) -> dict[str, list[bytes]]:
    """Parse a query string into ``{name: [raw bytes values]}`` (Tornado's ``parse_qs_bytes``).

    Values stay bytes (decoded by the handler, which answers 400 for bad
    UTF-8); names are decoded as latin-1 so no input fails here. Pairs are
    separated by ``&`` only; ``+`` is a space, then ``%XX`` escapes are
    decoded (an invalid escape stays as it is); a pair without ``=``, or
    with an empty value, counts only with ``keep_blank_values``: what
    ``urllib.parse.parse_qs(qs, encoding="latin-1")`` gives, with the values
    encoded back to latin-1.

    Strategy: ``http1.parse_urlencoded`` does the work (compiled, where built).

    Args:
        qs: the query string (or a urlencoded body).
        keep_blank_values: keep pairs whose value is empty or missing.
        strict_parsing: refuse an empty pair (``a=1&&b=2``) or one without
            ``=``, as Tornado does, instead of skipping or keeping it.
        max_num_fields: refuse more pairs than this, counted as Tornado
            counts them: one more than the ``&`` in ``qs``, empty pairs
            included.

    Raises:
        ValueError: over ``max_num_fields``, or a pair ``strict_parsing``
            refuses.
        UnicodeEncodeError: a value of a ``str`` ``qs`` holds a character
            beyond latin-1 (it cannot become bytes as sent).
    """
    if isinstance(qs, bytes):
        data = qs
    else:
        try:
            data = qs.encode("latin-1")
        except UnicodeEncodeError:  # text no wire sends (a hand-made request): the standard library's way
            _check_fields(qs.encode("utf-8"), strict_parsing, max_num_fields)
            return _parse_qs_text(qs, keep_blank_values)
    if max_num_fields is not None or strict_parsing:
        _check_fields(data, strict_parsing, max_num_fields)
    return parse_urlencoded(data, keep_blank_values)


def too_many_fields(qs: str | bytes, max_num_fields: int) -> bool:
    """Whether ``qs`` holds more than ``max_num_fields`` pairs, counted as Tornado counts them.

    One more than its ``&``, empty pairs included, before anything is
    decoded: the cheap test the request's query and a form body make too.
    """
    separators = qs.count("&") if isinstance(qs, str) else qs.count(b"&")
    return bool(qs) and separators >= max_num_fields


def _check_fields(data: bytes, strict_parsing: bool, max_num_fields: int | None) -> None:
    """``parse_qs_bytes``'s refusals, checked before any pair is decoded (Tornado's order)."""
    if not data:
        return
    if max_num_fields is not None and too_many_fields(data, max_num_fields):
        raise ValueError("Max number of fields exceeded")
    if strict_parsing:
        for pair in data.split(b"&"):
            if not pair or b"=" not in pair:
                raise ValueError(f"bad query field: {pair!r}")


def _parse_qs_text(qs: str, keep_blank_values: bool) -> dict[str, list[bytes]]:
    """``parse_qs_bytes`` for text beyond latin-1: names stay as they are, values must encode to latin-1."""
    result: dict[str, list[bytes]] = {}
    for name, value in urllib.parse.parse_qsl(qs, keep_blank_values=keep_blank_values, encoding="latin-1", errors="strict"):
        result.setdefault(name, []).append(value.encode("latin-1"))
    return result


def qs_to_qsl(qs: Mapping[str, list[_T]]) -> Iterator[tuple[str, _T]]:
    """``{k: [v1, v2]}`` -> ``(k, v1), (k, v2)``."""
    for name, values in qs.items():
        for value in values:
            yield name, value


def url_concat(url: str, args: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> str:
    """Append query arguments to ``url``, keeping any it already has."""
    if not args:
        return url
    parsed = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
    items = args.items() if isinstance(args, Mapping) else args
    query.extend((str(k), str(v)) for k, v in items)
    return urllib.parse.urlunparse(parsed._replace(query=urllib.parse.urlencode(query)))

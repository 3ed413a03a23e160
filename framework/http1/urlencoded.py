"""``application/x-www-form-urlencoded`` bytes as ``{name: [value bytes]}``: form bodies and query strings.

Not HTTP/1.1 grammar, but the same kind of work on the same bytes: it lives
here, beside the parser, so that its compiled twin (``speedups_urlencoded.c``'s
``parse_urlencoded``) is built with the parser's and stays optional the same
way (``FRAMEWORK_HTTP1_PURE=1``). ``httputil.parse_qs_bytes`` (Tornado's
name) is the public face.

Strategy: the pure-Python code below is the reference; the compiled one, when
built, answers every input with the same result (``tests/framework/http1``
checks the two against each other) in a seventh of the time (a five-field
form body: 0.46 us against 3.1, ``loadtest/bench.py``'s form workload).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from framework.http1.grammar import PURE_PYTHON

__all__ = ["parse_urlencoded"]


def parse_urlencoded_python(data: bytes | bytearray | memoryview, keep_blank_values: bool = False) -> dict[str, list[bytes]]:
    """The reference: ``parse_urlencoded`` without the accelerator.

    ``+`` becomes a space in the whole string at once (it is neither ``&``
    nor ``=``, so the split is the same), the pairs are split as bytes, and
    only a part holding ``%`` goes through ``unquote_to_bytes``, looked for
    only if the string holds one.
    """
    result: dict[str, list[bytes]] = {}
    unquote = urllib.parse.unquote_to_bytes
    # find(), not ``in``: CPython 3.11 first tries a bytes operand of ``in``
    # as an integer, and builds and drops a TypeError each time (about 1.7k
    # instructions).
    if type(data) is not bytes:  # any other buffer is read as the bytes it holds, as the compiled twin reads it
        data = memoryview(data).tobytes()  # (and what is no buffer, an int say, is refused as it refuses it)
    data = data.replace(b"+", b" ")
    escaped = data.find(b"%") >= 0
    for part in data.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        if not (value or keep_blank_values):
            continue
        if escaped:
            if name.find(b"%") >= 0:
                name = unquote(name)
            if value.find(b"%") >= 0:
                value = unquote(value)
        key = name.decode("latin-1")
        values = result.get(key)
        if values is None:
            result[key] = [value]
        else:
            values.append(value)
    return result


parse_urlencoded: Callable[[bytes | bytearray | memoryview, bool], dict[str, list[bytes]]] = parse_urlencoded_python
"""Parse urlencoded bytes: parts split on ``&`` only, each at its first ``=``.

``+`` is a space and ``%XX`` the byte it names, in names and values (an
invalid escape stays as it is); a part without ``=``, or with an empty value,
counts only with ``keep_blank_values``; names are read as Latin-1, so no input
fails. The compiled twin where it is built, else the reference above.
"""
if not PURE_PYTHON:
    try:
        from framework.http1.speedups import parse_urlencoded
    except ImportError:  # not built (no C compiler where it was installed): pure Python
        pass

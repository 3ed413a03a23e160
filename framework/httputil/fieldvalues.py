"""Values of particular header fields, parsed or formatted.

``Authorization`` basic credentials, ``Cookie``, the ``Host`` form
``host[:port]``, and the HTTP-date of ``Date``, ``Expires`` and
``Last-Modified`` (Tornado's functions).
"""

from __future__ import annotations

import calendar
import datetime
import email.utils
import re
import time


def encode_username_password(username: str | bytes, password: str | bytes) -> bytes:
    """``username:password`` as bytes, for HTTP basic authentication (Tornado's function).

    Strings are encoded as UTF-8 (RFC 7617's ``charset="UTF-8"``).
    """
    user = username.encode("utf-8") if isinstance(username, str) else username
    secret = password.encode("utf-8") if isinstance(password, str) else password
    return user + b":" + secret


def parse_cookie(cookie: str) -> dict[str, str]:
    """Parse a ``Cookie`` header leniently, as browsers send it (RFC 6265 5.4).

    Values are taken as sent, as Tornado takes them: no percent-decoding (an
    application that escaped a value unescapes it). A value in double quotes
    loses them, and its backslash escapes are undone: ``\\073`` (octal) is
    ``;``, ``\\"`` is ``"``, which is how ``set_cookie`` (``http.cookies``)
    quotes a value holding characters a bare cookie value cannot.
    """
    result: dict[str, str] = {}
    for chunk in cookie.split(";"):
        name, eq, value = chunk.partition("=")
        name, value = name.strip(), value.strip()
        if not eq and not value:
            name, value = "", name
        if not name and not value:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
            if "\\" in value:
                value = _QUOTED_PAIR.sub(_unescape, value)
        result[name] = value
    return result


# A backslash escape inside a quoted cookie value: three octal digits (a byte,
# as http.cookies writes ";", DEL and latin-1), or any one character.
_QUOTED_PAIR = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))", re.DOTALL)


def _unescape(found: re.Match[str]) -> str:
    octal, character = found.groups()
    return chr(int(octal, 8)) if octal is not None else character


def split_host_and_port(netloc: str) -> tuple[str, int | None]:
    """``"example.com:8080"`` -> ``("example.com", 8080)``; IPv6 brackets kept off."""
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = netloc.rpartition(":") if netloc.count(":") == 1 else (netloc, "", "")
    return host, int(port_text) if port_text.isdigit() else None


def format_timestamp(ts: float | int | tuple[int, ...] | time.struct_time | datetime.datetime) -> str:
    """An HTTP date (RFC 9110 5.6.7) for a timestamp, time tuple or datetime."""
    if isinstance(ts, (int, float)):
        seconds = float(ts)
    elif isinstance(ts, (tuple, time.struct_time)):
        seconds = float(calendar.timegm(tuple(ts)))
    elif isinstance(ts, datetime.datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=datetime.UTC)
        seconds = ts.timestamp()
    else:
        raise TypeError(f"unknown timestamp type {ts!r}")
    return email.utils.formatdate(seconds, usegmt=True)

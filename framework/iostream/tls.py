"""Tornado's ``ssl_options``, turned into the ``ssl.SSLContext`` that asyncio's TLS layer takes."""

from __future__ import annotations

import ssl
from typing import Any


def ssl_options_to_context(ssl_options: ssl.SSLContext | dict[str, Any], *, server_side: bool) -> ssl.SSLContext:
    """Turn Tornado's ``ssl_options`` dict into an ``SSLContext`` (a context is returned as is).

    Tornado has this as ``netutil.ssl_options_to_context`` (so has
    ``framework.netutil``). Keys read: ``certfile``, ``keyfile``,
    ``ca_certs``, ``cert_reqs``, ``ciphers``, ``ssl_version`` (a protocol
    constant for ``ssl.SSLContext``; without it, the ``ssl`` module's
    defaults for that side: a client checks certificates against the
    system's trusted CAs).

    Raises:
        ValueError: an unknown key (Tornado accepts only these too).
    """
    if isinstance(ssl_options, ssl.SSLContext):
        return ssl_options
    unknown = set(ssl_options) - {"certfile", "keyfile", "ca_certs", "cert_reqs", "ciphers", "ssl_version"}
    if unknown:
        raise ValueError(f"unknown ssl_options: {', '.join(sorted(unknown))}")
    purpose = ssl.Purpose.CLIENT_AUTH if server_side else ssl.Purpose.SERVER_AUTH
    if "ssl_version" in ssl_options:
        context = ssl.SSLContext(ssl_options["ssl_version"])
        context.load_default_certs(purpose)
        if "ca_certs" in ssl_options:
            context.load_verify_locations(ssl_options["ca_certs"])
    else:
        context = ssl.create_default_context(purpose, cafile=ssl_options.get("ca_certs"))
    if "certfile" in ssl_options:
        context.load_cert_chain(ssl_options["certfile"], ssl_options.get("keyfile"))
    if "cert_reqs" in ssl_options:
        if ssl_options["cert_reqs"] == ssl.CERT_NONE:
            context.check_hostname = False
        context.verify_mode = ssl_options["cert_reqs"]
    if "ciphers" in ssl_options:
        context.set_ciphers(ssl_options["ciphers"])
    return context

"""Signed values, XSRF tokens and cross-origin protection: pure functions, no I/O.

Mirrors Tornado's ``create_signed_value``, ``decode_signed_value`` and
``get_signature_key_version``, *byte for byte*: a cookie a Tornado application
signed decodes here with the same ``cookie_secret``, and one signed here decodes
in Tornado. Three formats are read; Tornado's two are written:

Version 2 (Tornado's, written by default)::

    2|1:<key_version>|<n>:<timestamp>|<n>:<name>|<n>:<base64 value>|<signature>

- every field but the signature is ``<decimal length>:<bytes>`` followed by ``|``;
  ``key_version`` is ``0`` when the secret is a single key;
- ``timestamp`` is whole seconds since the epoch; the value is standard base64;
- ``signature`` is lowercase hex HMAC-SHA256, keyed by the secret, over
  everything before it (the trailing ``|`` included).

Version 1 (Tornado's oldest, written only on request)::

    <base64 value>|<timestamp>|<signature>

with ``signature`` the hex HMAC-SHA1 of ``name + base64 value + timestamp``.
The concatenation is ambiguous, which is why Tornado moved on; as Tornado does,
a timestamp with a leading zero is refused (it would let digits move between
fields) and a single key is required.

Our own earlier format (read only, so that cookies issued before the move to
Tornado's formats stay valid)::

    2|<key_version>|<timestamp>|<urlsafe base64 value>|<hex HMAC-SHA256>

its MAC taken over ``b"framework-signed-value\\0" + b"<len(name)>:<name>|" +``
the value up to its last ``|``. It is told apart from Tornado's version 2 by its
second field (digits or nothing, never ``<n>:``).

Strategy: the MAC is checked (with ``hmac.compare_digest``) before any field is
believed; the name, the timestamp and the payload are read only after that.
Differences from Tornado, all stricter: a timestamp more than
:data:`MAX_CLOCK_SKEW_SECONDS` in the future is refused in every format (Tornado:
31 days, and only for version 1); misconfiguration raises ``ValueError`` rather
than failing an ``assert``; a dict secret with a version-1 value is ``None``
(Tornado fails inside HMAC).

XSRF token, version 2::

    2|<mask_hex>|<masked_hex>|<timestamp>

``masked`` is the 16-byte XSRF secret XORed with a fresh random ``mask`` of the same
length, so the token's bytes differ in every response while the secret behind them
stays the same: a page compressed together with attacker-chosen text no longer leaks
the secret through its compressed length (the BREACH attack). Tornado uses a 4-byte
mask repeated over the secret; a mask as long as the secret is a one-time pad.
Unlike Tornado, the old unmasked (version 1) token is not accepted.

Cross-origin protection (Tornado 6.6): :func:`cross_origin_refusal` decides from
the ``Sec-Fetch-Site``, ``Origin`` and ``Host`` headers whether a request may
come from where it comes from; ``CrossOriginMixin``, the one class here, gives
``RequestHandler`` the hook ``check_trusted_origin`` and the check the lifecycle
makes before ``prepare()`` of a POST, PUT, DELETE or any other unsafe method.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from framework.web.errors import HTTPError

if TYPE_CHECKING:
    from framework.httputil import HTTPServerRequest

__all__ = [
    "DEFAULT_SIGNED_VALUE_MIN_VERSION",
    "MAX_CLOCK_SKEW_SECONDS",
    "SIGNED_VALUE_VERSION",
    "XSRF_SECRET_BYTES",
    "CrossOriginMixin",
    "Secret",
    "create_signed_value",
    "cross_origin_refusal",
    "decode_signed_value",
    "decode_xsrf_token",
    "encode_xsrf_token",
    "get_signature_key_version",
    "new_xsrf_secret",
    "origin_matches_host",
    "xsrf_tokens_match",
]

SecretKey = str | bytes
#: A single key, or ``{key_version: key}`` for rotation (Tornado's ``cookie_secret``).
Secret = SecretKey | Mapping[int, SecretKey]

#: The format written when no version is asked for (Tornado's default too).
SIGNED_VALUE_VERSION = 2
#: The oldest format read when no ``min_version`` is given (Tornado's default).
DEFAULT_SIGNED_VALUE_MIN_VERSION = 1
#: How far in the future a timestamp may lie before a value is refused. Servers
#: behind one proxy may disagree a little about the time; a value from further
#: ahead was made with a broken clock or by someone holding the key.
MAX_CLOCK_SKEW_SECONDS = 300.0
#: Size of the random XSRF secret behind every token.
XSRF_SECRET_BYTES = 16

_SECONDS_PER_DAY = 86400
_MAC_CONTEXT = b"framework-signed-value\x00"

# All patterns are applied with ``fullmatch``; ``int()`` alone would accept
# " 12", "+12" and "1_2", and ``bytes.fromhex`` accepts spaces.
_DIGITS = re.compile(rb"[0-9]{1,12}")
_V1_VALUE = re.compile(rb"(?P<payload>[A-Za-z0-9+/]*={0,2})\|(?P<timestamp>[1-9][0-9]{0,11})\|(?P<signature>[0-9a-f]{40})")
_V2_SIGNATURE = re.compile(rb"[0-9a-f]{64}")
_OWN_VALUE = re.compile(
    rb"2\|(?P<key_version>[0-9]{0,9})\|(?P<timestamp>[0-9]{1,12})"
    rb"\|(?P<payload>[A-Za-z0-9_-]*={0,2})\|(?P<signature>[0-9a-f]{64})"
)
_XSRF_TOKEN = re.compile(
    rb"2\|(?P<mask>[0-9a-f]{%d})\|(?P<masked>[0-9a-f]{%d})\|(?P<timestamp>[0-9]{1,12})"
    % (2 * XSRF_SECRET_BYTES, 2 * XSRF_SECRET_BYTES)
)


# -- signed values: writing ---------------------------------------------------------


def create_signed_value(
    secret: Secret,
    name: str | bytes,
    value: str | bytes,
    version: int | None = None,
    clock: Callable[[], float] | None = None,
    key_version: int | None = None,
) -> bytes:
    """Sign ``value`` for use under ``name``, stamped with the current time.

    Mirrors ``tornado.web.create_signed_value`` (same parameters, same bytes).
    Difference: misconfiguration raises ``ValueError`` instead of failing an ``assert``.

    Args:
        secret: The key, or ``{key_version: key}`` to allow key rotation.
        name: The cookie (or other) name the value is bound to.
        value: What to sign; ``str`` is encoded as UTF-8.
        version: Format version: ``None`` or ``2`` (HMAC-SHA256), ``1`` (HMAC-SHA1,
            for a peer that reads nothing newer).
        clock: Returns the time in seconds since the epoch; ``time.time`` by default.
        key_version: Which key of a dict ``secret`` signs; required with a dict, and
            carried in the value so the decoder picks the same key.

    Returns:
        ASCII bytes in the format described in the module docstring.

    Raises:
        ValueError: unsupported ``version``; a dict ``secret`` without a valid
            ``key_version`` (or one it lacks), or with version 1; ``key_version``
            with a single secret; an empty key; a clock before the epoch.
        TypeError: a key, name or value that is neither ``str`` nor ``bytes``.
    """
    if version not in (None, 1, 2):
        raise ValueError(f"unsupported signed value version {version!r}; 1 and 2 exist")
    key = _signing_key(secret, key_version)
    timestamp = int((clock or time.time)())
    if timestamp < 0:
        raise ValueError(f"clock returned a time before the epoch: {timestamp}")
    name_bytes = _to_bytes(name, "name")
    payload = base64.b64encode(_to_bytes(value, "value"))
    if version == 1:
        if isinstance(secret, Mapping):
            raise ValueError("signed value version 1 has no key version: use a single secret")
        stamp = b"%d" % timestamp
        return b"|".join([payload, stamp, _hex_hmac(key, hashlib.sha1, name_bytes, payload, stamp)])
    fields = [b"%d" % (key_version or 0), b"%d" % timestamp, name_bytes, payload]
    unsigned = b"2|" + b"".join(b"%d:%s|" % (len(field), field) for field in fields)
    return unsigned + _hex_hmac(key, hashlib.sha256, unsigned)


# -- signed values: reading ---------------------------------------------------------


def decode_signed_value(
    secret: Secret,
    name: str | bytes,
    value: str | bytes | None,
    max_age_days: float = 31,
    clock: Callable[[], float] | None = None,
    min_version: int | None = None,
) -> bytes | None:
    """Return the value a signed value carries, or ``None`` if it is untrustworthy.

    Mirrors ``tornado.web.decode_signed_value``: a missing, malformed, forged or
    expired value is ``None``, never an exception, because cookies are input.
    Reads Tornado's versions 1 and 2 and this module's earlier format (counted as
    version 2). Stricter than Tornado: see the module docstring.

    Args:
        secret: The key, or ``{key_version: key}``; a value whose key version is not
            in the dict is refused, which is how a retired key is revoked.
        name: The name the value must have been signed for.
        value: The signed value as received (``None`` when the cookie is absent).
        max_age_days: Values signed longer ago than this are refused.
        clock: Returns the time in seconds since the epoch; ``time.time`` by default.
        min_version: Oldest format accepted: ``None`` (Tornado's default, 1), 1 or 2.

    Returns:
        The original value as bytes, or ``None``.

    Raises:
        ValueError: ``min_version`` other than None, 1 or 2, or an empty key; these
            are programming errors, not bad input.
    """
    if min_version is None:
        min_version = DEFAULT_SIGNED_VALUE_MIN_VERSION
    if min_version not in (1, 2):
        raise ValueError(f"unsupported min_version {min_version!r}")
    raw = _ascii_or_none(value)
    if not raw:
        return None
    signed: _Signed | None
    if raw.startswith(b"2|"):
        signed = _read_own(secret, name, raw) if _OWN_VALUE.fullmatch(raw) else _read_v2(secret, name, raw)
    elif min_version <= 1:
        signed = _read_v1(secret, name, raw)
    else:
        signed = None
    if signed is None or not _is_fresh(signed.timestamp, max_age_days, clock or time.time):
        return None
    return _b64decode(signed.payload, urlsafe=signed.urlsafe)


def get_signature_key_version(value: str | bytes) -> int | None:
    """Return the key version a signed value claims, without verifying it.

    Mirrors ``tornado.web.get_signature_key_version``: a handler uses it to notice a
    cookie signed with an old key and re-sign it with the current one. Unverified,
    so never use the answer to trust the value.

    Returns:
        The key version (0 for a Tornado version-2 value signed with a single
        key, as in Tornado), or ``None`` for a version-1 value, a value of our
        earlier format without one, or anything malformed.
    """
    raw = _ascii_or_none(value)
    if raw is None or not raw.startswith(b"2|"):
        return None
    own = _OWN_VALUE.fullmatch(raw)
    if own is not None:
        return int(own["key_version"]) if own["key_version"] else None
    fields = _v2_fields(raw)
    return None if fields is None else int(fields[0])


class _Signed:
    """What a format reader found under a valid MAC: the timestamp and the encoded payload."""

    __slots__ = ("payload", "timestamp", "urlsafe")

    def __init__(self, timestamp: int, payload: bytes, *, urlsafe: bool = False) -> None:
        self.timestamp = timestamp
        self.payload = payload
        self.urlsafe = urlsafe


def _read_v2(secret: Secret, name: str | bytes, raw: bytes) -> _Signed | None:
    """Tornado's version 2: length-prefixed fields, HMAC-SHA256 over all of them."""
    fields = _v2_fields(raw)
    if fields is None:
        return None
    key_version, timestamp, signed_name, payload, unsigned, signature = fields
    key = _verification_key(secret, key_version)
    if key is None or not hmac.compare_digest(_hex_hmac(key, hashlib.sha256, unsigned), signature):
        return None
    if signed_name != _to_bytes(name, "name"):
        return None
    return _Signed(int(timestamp), payload)


def _v2_fields(raw: bytes) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes] | None:
    """Split Tornado's version 2 into key version, timestamp, name, payload, signed part, signature."""
    fields: list[bytes] = []
    position = 2  # after "2|"
    for _ in range(4):
        colon = raw.find(b":", position, position + 8)
        if colon < 0 or not raw[position:colon].isdigit():
            return None
        end = colon + 1 + int(raw[position:colon])
        if raw[end : end + 1] != b"|":
            return None
        fields.append(raw[colon + 1 : end])
        position = end + 1
    signature = raw[position:]
    if not (_DIGITS.fullmatch(fields[0]) and _DIGITS.fullmatch(fields[1]) and _V2_SIGNATURE.fullmatch(signature)):
        return None
    return fields[0], fields[1], fields[2], fields[3], raw[:position], signature


def _read_v1(secret: Secret, name: str | bytes, raw: bytes) -> _Signed | None:
    """Tornado's version 1: ``payload|timestamp|HMAC-SHA1(name + payload + timestamp)``."""
    match = _V1_VALUE.fullmatch(raw)
    if match is None or isinstance(secret, Mapping):
        return None
    expected = _hex_hmac(_key_bytes(secret), hashlib.sha1, _to_bytes(name, "name"), match["payload"], match["timestamp"])
    if not hmac.compare_digest(expected, match["signature"]):
        return None
    return _Signed(int(match["timestamp"]), match["payload"])


def _read_own(secret: Secret, name: str | bytes, raw: bytes) -> _Signed | None:
    """This module's earlier format (read only; see the module docstring)."""
    match = _OWN_VALUE.fullmatch(raw)
    if match is None:
        return None
    key = _verification_key(secret, match["key_version"] or None)
    if key is None:
        return None
    unsigned = raw[: match.start("signature") - 1]
    name_bytes = _to_bytes(name, "name")
    message = b"%s%d:%s|%s" % (_MAC_CONTEXT, len(name_bytes), name_bytes, unsigned)
    if not hmac.compare_digest(_hex_hmac(key, hashlib.sha256, message), match["signature"]):
        return None
    return _Signed(int(match["timestamp"]), match["payload"], urlsafe=True)


def _signing_key(secret: Secret, key_version: int | None) -> bytes:
    """The key that signs, checking ``secret`` and ``key_version`` agree."""
    if key_version is not None and (isinstance(key_version, bool) or not isinstance(key_version, int) or key_version < 0):
        raise ValueError(f"key_version must be a non-negative int, not {key_version!r}")
    if not isinstance(secret, Mapping):
        if key_version is not None:
            raise ValueError("key_version is only meaningful with a dict secret {version: key}")
        return _key_bytes(secret)
    if key_version is None:
        raise ValueError("a dict secret needs key_version to choose the signing key")
    if key_version not in secret:
        raise ValueError(f"key_version {key_version} is not in the secret dict")
    return _key_bytes(secret[key_version])


def _verification_key(secret: Secret, version_field: bytes | None) -> bytes | None:
    """The key that should have signed a value, or ``None`` if no such key exists.

    As in Tornado, a single secret verifies whatever key version the value claims
    (the claim is under the MAC, so it cannot be altered); with a dict, the claimed
    version must be present.
    """
    if not isinstance(secret, Mapping):
        return _key_bytes(secret)
    if version_field is None:
        return None
    key = secret.get(int(version_field))
    return None if key is None else _key_bytes(key)


def _hex_hmac(key: bytes, digest: Callable[[], Any], *parts: bytes) -> bytes:
    """Lowercase hex HMAC of the concatenated ``parts``, as ASCII bytes."""
    mac = hmac.new(key, digestmod=digest)
    for part in parts:
        mac.update(part)
    return mac.hexdigest().encode("ascii")


def _b64decode(payload: bytes, *, urlsafe: bool) -> bytes | None:
    """The signed payload decoded; ``None`` for bad padding (only a key holder could sign that)."""
    try:
        return base64.urlsafe_b64decode(payload) if urlsafe else base64.b64decode(payload, validate=True)
    except binascii.Error:
        return None


def _is_fresh(timestamp: int, max_age_days: float, clock: Callable[[], float]) -> bool:
    """Whether ``timestamp`` is neither older than ``max_age_days`` nor from the future."""
    now = clock()
    return now - max_age_days * _SECONDS_PER_DAY <= timestamp <= now + MAX_CLOCK_SKEW_SECONDS


def _key_bytes(key: SecretKey) -> bytes:
    """A key as bytes, refusing the empty key that a missing setting would give."""
    key_bytes = _to_bytes(key, "secret")
    if not key_bytes:
        raise ValueError("the secret is empty")
    return key_bytes


def _to_bytes(value: str | bytes, what: str) -> bytes:
    """UTF-8 encode ``value``; other types are a programming error worth naming."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def _ascii_or_none(value: str | bytes | None) -> bytes | None:
    """Input as ASCII bytes; ``None`` for absent or non-ASCII input (never valid here)."""
    if value is None or isinstance(value, bytes):
        return value
    try:
        return value.encode("ascii")
    except UnicodeEncodeError:
        return None


# -- XSRF tokens ------------------------------------------------------------------


def new_xsrf_secret() -> bytes:
    """Return a fresh random XSRF secret of :data:`XSRF_SECRET_BYTES` bytes."""
    return secrets.token_bytes(XSRF_SECRET_BYTES)


def encode_xsrf_token(secret: bytes, timestamp: float) -> bytes:
    """Encode ``secret`` as a masked token; each call gives different bytes.

    Mirrors the version-2 token of ``RequestHandler.xsrf_token`` (format in the
    module docstring). The timestamp keeps one-second resolution, as in Tornado.

    Args:
        secret: An XSRF secret from :func:`new_xsrf_secret`.
        timestamp: When the secret was created, in seconds since the epoch.

    Raises:
        ValueError: ``secret`` is not :data:`XSRF_SECRET_BYTES` long, or
            ``timestamp`` is negative or not finite.
    """
    if len(secret) != XSRF_SECRET_BYTES:
        raise ValueError(f"an XSRF secret is {XSRF_SECRET_BYTES} bytes, not {len(secret)}")
    if not math.isfinite(timestamp) or timestamp < 0:
        raise ValueError(f"invalid XSRF timestamp {timestamp!r}")
    mask = secrets.token_bytes(len(secret))
    masked = _xor(mask, secret)
    return b"2|%s|%s|%d" % (mask.hex().encode("ascii"), masked.hex().encode("ascii"), int(timestamp))


def decode_xsrf_token(token: bytes | str) -> tuple[bytes, float] | None:
    """Unmask a token from :func:`encode_xsrf_token`.

    Tokens arrive in form fields, headers and cookies, so anything that is not
    exactly the masked format gives ``None`` rather than an exception.

    Returns:
        ``(secret, timestamp)``, or ``None`` for anything else.
    """
    raw = _ascii_or_none(token)
    match = _XSRF_TOKEN.fullmatch(raw) if raw is not None else None
    if match is None:
        return None
    mask = bytes.fromhex(match["mask"].decode("ascii"))
    masked = bytes.fromhex(match["masked"].decode("ascii"))
    return _xor(mask, masked), float(int(match["timestamp"]))


def xsrf_tokens_match(a: bytes, b: bytes) -> bool:
    """Compare two *unmasked* XSRF secrets in constant time.

    Empty secrets never match: an empty value means something upstream failed to
    produce a secret, and two such failures must not pass as agreement.
    """
    if not a or not b:
        return False
    return hmac.compare_digest(a, b)


def _xor(left: bytes, right: bytes) -> bytes:
    """Bytewise XOR of two equal-length strings (masking is its own inverse).

    As two integers: one C operation, where a generator over the bytes runs
    a Python step per byte on every form page that carries a token.
    """
    if len(left) != len(right):
        raise ValueError(f"XOR of {len(left)} and {len(right)} bytes")
    return (int.from_bytes(left) ^ int.from_bytes(right)).to_bytes(len(left))


# -- cross-origin protection ---------------------------------------------------------


def cross_origin_refusal(
    sec_fetch_site: str | None, origin: str | None, host: str | None, is_trusted: Callable[[str], bool]
) -> str | None:
    """Decide whether a request may come from where its headers say it comes from.

    Tornado 6.6's rule (``RequestHandler._check_cross_origin``), which both
    unsafe-method requests (setting ``cross_origin_protection``) and every
    WebSocket handshake go through:

    - ``Sec-Fetch-Site: same-origin`` or ``none`` (typed in, bookmarked): allowed.
    - no ``Sec-Fetch-Site`` (an old browser, plain HTTP, or not a browser): allowed
      without an ``Origin`` (browsers send one), or when the ``Origin``'s host
      and port equal the ``Host`` header (ignoring case, not the scheme), or when
      ``is_trusted(origin)``.
    - any other ``Sec-Fetch-Site`` (``cross-site``, ``same-site``...): allowed
      only when a non-empty ``Origin`` passes ``is_trusted``.

    Args:
        sec_fetch_site: The ``Sec-Fetch-Site`` header, or None.
        origin: The ``Origin`` header, or None.
        host: The ``Host`` header, or None.
        is_trusted: Called with the origin of a request that looks cross-origin.

    Returns:
        None to allow the request, or why it is refused (for the log).
    """
    if sec_fetch_site is None:
        if origin is None or origin_matches_host(origin, host) or is_trusted(origin):
            return None
        return f"Origin {origin!r} not allowed"
    if sec_fetch_site in ("same-origin", "none") or (origin and is_trusted(origin)):
        return None
    return f"Sec-Fetch-Site {sec_fetch_site} & origin {origin!r} not allowed"


def origin_matches_host(origin: str, host: str | None) -> bool:
    """Whether an ``Origin``'s host and port are the ``Host`` header's, ignoring case.

    As in Tornado the scheme is not compared: this is the fallback for requests
    without ``Sec-Fetch-Site`` (mostly plain HTTP), and requiring it would make
    every proxy's ``X-Forwarded-Proto`` part of the security configuration.
    Stricter than Tornado: an origin without a host (``null``, ``file://``)
    matches nothing, not even a request without ``Host`` (HTTP/1.0).
    """
    netloc = urllib.parse.urlsplit(origin).netloc
    return bool(netloc) and netloc.lower() == (host or "").lower()


class _OriginSettings(Protocol):
    """The settings ``CrossOriginMixin`` reads, all fields of ``AppSettings``.

    Named here because this module may not import the web layer's contracts:
    they import the settings, which import this module.
    """

    @property
    def xsrf_cookies(self) -> bool: ...

    @property
    def cross_origin_protection(self) -> bool: ...

    @property
    def trusted_origins(self) -> frozenset[str]: ...


class CrossOriginMixin:
    """Tornado 6.6's cross-origin protection, as methods of ``RequestHandler``.

    The decision is :func:`cross_origin_refusal`; this mixin is its face on a
    handler: the public hook ``check_trusted_origin`` and the check the request
    lifecycle makes before ``prepare()`` for methods other than GET, HEAD
    and OPTIONS.
    """

    if TYPE_CHECKING:  # supplied by RequestHandler
        # Any: RequestHandler's other bases name it HandlerApplication, which
        # this module may not import (see _OriginSettings); read as that below.
        application: Any
        request: HTTPServerRequest

        def check_xsrf_cookie(self) -> None: ...

    def check_trusted_origin(self, origin: str) -> bool:
        """Allow a request that looks cross-origin, given its ``Origin`` header?

        Mirrors Tornado 6.6's ``RequestHandler.check_trusted_origin``. Called
        only with the setting ``cross_origin_protection`` on, for methods other
        than GET, HEAD and OPTIONS, before ``prepare()`` (so it cannot rely on
        what ``prepare`` sets up, such as the current user); never for requests
        known to be same-origin or without an ``Origin`` header. Returning False
        answers 403.

        It is also the default ``WebSocketHandler.check_origin``, so an override
        applies to WebSocket handshakes too.

        Returns:
            Whether ``origin`` (e.g. ``"https://example.com"``) is one of the
            setting ``trusted_origins``. Override to return True for an endpoint
            meant to be called from anywhere, which then must not authenticate
            by cookie alone.
        """
        config: _OriginSettings = self.application.config
        return origin in config.trusted_origins

    def _cross_origin_protection(self) -> None:
        """The checks before ``prepare()`` of an unsafe method: XSRF cookie, then origin.

        Tornado's private step of the same name; the lifecycle calls it only
        for methods other than GET, HEAD and OPTIONS, and only when one of the
        settings ``xsrf_cookies`` and ``cross_origin_protection`` is on.

        Raises:
            HTTPError: 403 when either check fails.
        """
        config: _OriginSettings = self.application.config
        if config.xsrf_cookies:
            self.check_xsrf_cookie()
        if config.cross_origin_protection:
            refusal = self._cross_origin_refusal(self.check_trusted_origin)
            if refusal is not None:
                raise HTTPError(403, "%s", refusal)

    def _cross_origin_refusal(self, is_trusted: Callable[[str], bool]) -> str | None:
        """:func:`cross_origin_refusal` for this request's headers."""
        headers = self.request.headers
        return cross_origin_refusal(headers.get("Sec-Fetch-Site"), headers.get("Origin"), headers.get("Host"), is_trusted)

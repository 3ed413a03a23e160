"""Signed values and XSRF tokens: pure functions, stdlib only, no handler and no I/O.

Mirrors the documented behaviour of Tornado's ``create_signed_value``,
``decode_signed_value`` and ``get_signature_key_version`` (version 2: HMAC-SHA256,
a timestamp, an optional key version for ``cookie_secret`` rotation), and of the
masked tokens behind ``RequestHandler.xsrf_token`` / ``check_xsrf_cookie``. The
*byte formats are our own*; a cookie written by Tornado does not decode here.

Signed value, version 2::

    2|<key_version>|<timestamp>|<payload>|<signature>

- ``key_version``: decimal digits, or empty when the secret is a single key.
- ``timestamp``: whole seconds since the epoch, decimal digits.
- ``payload``: the value in URL-safe base64 (with ``=`` padding).
- ``signature``: lowercase hex HMAC-SHA256, keyed by the secret, over
  ``b"framework-signed-value\\0" + b"<len(name)>:<name>|" + <the value up to its last "|">``.

Strategy: every field the decoder acts on sits under the MAC, and the MAC is checked
(with ``hmac.compare_digest``) before anything else is believed; the timestamp is
only read after that. The cookie name is bound by the MAC rather than stored, so a
value presented under another name fails the same constant-time check as a forged
one, and cookies stay shorter. The name is length-prefixed, so no two
(name, value) pairs share a MAC input; the context prefix keeps these MACs apart from
anything else an application computes with its ``cookie_secret``. Every byte is a
cookie-safe character (RFC 6265 ``cookie-octet``): digits, base64url, ``|``, ``=``.

XSRF token, version 2::

    2|<mask_hex>|<masked_hex>|<timestamp>

``masked`` is the 16-byte XSRF secret XORed with a fresh random ``mask`` of the same
length, so the token's bytes differ in every response while the secret behind them
stays the same: a page compressed together with attacker-chosen text no longer leaks
the secret through its compressed length (the BREACH attack). Tornado uses a 4-byte
mask repeated over the secret; a mask as long as the secret is a one-time pad.
Unlike Tornado, the old unmasked (version 1) token is not accepted.
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
from collections.abc import Callable, Mapping

__all__ = [
    "MAX_CLOCK_SKEW_SECONDS",
    "SIGNED_VALUE_VERSION",
    "XSRF_SECRET_BYTES",
    "Secret",
    "create_signed_value",
    "decode_signed_value",
    "decode_xsrf_token",
    "encode_xsrf_token",
    "get_signature_key_version",
    "new_xsrf_secret",
    "xsrf_tokens_match",
]

SecretKey = str | bytes
#: A single key, or ``{key_version: key}`` for rotation (Tornado's ``cookie_secret``).
Secret = SecretKey | Mapping[int, SecretKey]

#: The only signed-value format written and read here.
SIGNED_VALUE_VERSION = 2
#: How far in the future a timestamp may lie before a value is refused. Servers
#: behind one proxy may disagree a little about the time; a value from further
#: ahead was made with a broken clock or by someone holding the key.
MAX_CLOCK_SKEW_SECONDS = 300.0
#: Size of the random XSRF secret behind every token.
XSRF_SECRET_BYTES = 16

_SECONDS_PER_DAY = 86400
_MAC_CONTEXT = b"framework-signed-value\x00"

# Both patterns are applied with ``fullmatch``; ``int()`` alone would accept
# " 12", "+12" and "1_2", and ``bytes.fromhex`` accepts spaces.
_SIGNED_VALUE = re.compile(
    rb"2\|(?P<key_version>[0-9]{0,9})\|(?P<timestamp>[0-9]{1,12})"
    rb"\|(?P<payload>[A-Za-z0-9_-]*={0,2})\|(?P<signature>[0-9a-f]{64})"
)
_XSRF_TOKEN = re.compile(
    rb"2\|(?P<mask>[0-9a-f]{%d})\|(?P<masked>[0-9a-f]{%d})\|(?P<timestamp>[0-9]{1,12})"
    % (2 * XSRF_SECRET_BYTES, 2 * XSRF_SECRET_BYTES)
)


# -- signed values ----------------------------------------------------------------


def create_signed_value(
    secret: Secret,
    name: str | bytes,
    value: str | bytes,
    *,
    version: int | None = None,
    clock: Callable[[], float] | None = None,
    key_version: int | None = None,
) -> bytes:
    """Sign ``value`` for use under ``name``, stamped with the current time.

    Mirrors ``tornado.web.create_signed_value``. Differences: only version 2 exists
    (Tornado's version 1 was HMAC-SHA1); the byte format is this module's own; and a
    misconfiguration raises ``ValueError`` instead of failing an ``assert``.

    Args:
        secret: The key, or ``{key_version: key}`` to allow key rotation.
        name: The cookie (or other) name the value is bound to.
        value: What to sign; ``str`` is encoded as UTF-8.
        version: Format version; ``None`` or ``2``.
        clock: Returns the time in seconds since the epoch; ``time.time`` by default.
            Tests inject one to control the timestamp.
        key_version: Which key of a dict ``secret`` signs; required with a dict, and
            carried in the value so the decoder picks the same key.

    Returns:
        ASCII bytes in the format described in the module docstring.

    Raises:
        ValueError: unsupported ``version``; a dict ``secret`` without a valid
            ``key_version`` (or one it lacks); ``key_version`` with a single
            secret; an empty key; a clock before the epoch.
        TypeError: a key, name or value that is neither ``str`` nor ``bytes``.
    """
    if version not in (None, SIGNED_VALUE_VERSION):
        raise ValueError(f"unsupported signed value version {version!r}; only 2 is supported")
    key = _signing_key(secret, key_version)
    timestamp = int((clock or time.time)())
    if timestamp < 0:
        raise ValueError(f"clock returned a time before the epoch: {timestamp}")
    payload = base64.urlsafe_b64encode(_to_bytes(value, "value"))
    version_field = b"" if key_version is None else b"%d" % key_version
    unsigned = b"2|%s|%d|%s" % (version_field, timestamp, payload)
    return unsigned + b"|" + _signature(key, name, unsigned)


def decode_signed_value(
    secret: Secret,
    name: str | bytes,
    value: str | bytes | None,
    *,
    max_age_days: float = 31,
    clock: Callable[[], float] | None = None,
    min_version: int | None = None,
) -> bytes | None:
    """Return the value signed by :func:`create_signed_value`, or ``None`` if untrustworthy.

    Mirrors ``tornado.web.decode_signed_value``: a missing, malformed, forged or
    expired value is ``None``, never an exception, because cookies are input.
    Additionally (Tornado checks this only for its version 1) a timestamp more than
    :data:`MAX_CLOCK_SKEW_SECONDS` in the future is refused.

    Args:
        secret: The key, or ``{key_version: key}``; a value whose key version is not
            in the dict is refused, which is how a retired key is revoked.
        name: The name the value must have been signed for.
        value: The signed value as received (``None`` when the cookie is absent).
        max_age_days: Values signed longer ago than this are refused.
        clock: Returns the time in seconds since the epoch; ``time.time`` by default.
        min_version: Oldest format accepted: ``None``, ``1`` or ``2`` all accept
            version 2, the only one that exists here (``1`` is allowed so callers
            written for Tornado keep working).

    Returns:
        The original value as bytes, or ``None``.

    Raises:
        ValueError: ``min_version`` above 2 or below 1, or an empty key; these are
            programming errors, not bad input.
    """
    if min_version is not None and not 1 <= min_version <= SIGNED_VALUE_VERSION:
        raise ValueError(f"unsupported min_version {min_version!r}")
    raw = _ascii_or_none(value)
    match = _SIGNED_VALUE.fullmatch(raw) if raw is not None else None
    if raw is None or match is None:
        return None
    key = _verification_key(secret, match["key_version"])
    if key is None:
        return None
    unsigned = raw[: match.start("signature") - 1]
    if not hmac.compare_digest(_signature(key, name, unsigned), match["signature"]):
        return None
    if not _is_fresh(int(match["timestamp"]), max_age_days, clock or time.time):
        return None
    try:
        return base64.urlsafe_b64decode(match["payload"])
    except binascii.Error:  # bad padding: only a holder of the key could sign that
        return None


def get_signature_key_version(value: str | bytes) -> int | None:
    """Return the key version a signed value claims, without verifying it.

    Mirrors ``tornado.web.get_signature_key_version``: a handler uses it to notice a
    cookie signed with an old key and re-sign it with the current one. Unverified,
    so never use the answer to trust the value.

    Returns:
        The key version, or ``None`` if the value has none or is not a version-2
        signed value.
    """
    raw = _ascii_or_none(value)
    match = _SIGNED_VALUE.fullmatch(raw) if raw is not None else None
    if match is None or not match["key_version"]:
        return None
    return int(match["key_version"])


def _signing_key(secret: Secret, key_version: int | None) -> bytes:
    """The key that signs, checking ``secret`` and ``key_version`` agree."""
    if key_version is not None and (
        isinstance(key_version, bool) or not isinstance(key_version, int) or key_version < 0
    ):
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


def _verification_key(secret: Secret, version_field: bytes) -> bytes | None:
    """The key that should have signed a value, or ``None`` if no such key exists.

    As in Tornado, a single secret verifies whatever key version the value claims
    (the claim is under the MAC, so it cannot be altered); with a dict, the claimed
    version must be present.
    """
    if not isinstance(secret, Mapping):
        return _key_bytes(secret)
    if not version_field:
        return None
    key = secret.get(int(version_field))
    return None if key is None else _key_bytes(key)


def _signature(key: bytes, name: str | bytes, unsigned: bytes) -> bytes:
    """Hex HMAC-SHA256 binding ``name`` to the unsigned part of a value."""
    name_bytes = _to_bytes(name, "name")
    message = b"%s%d:%s|%s" % (_MAC_CONTEXT, len(name_bytes), name_bytes, unsigned)
    return hmac.new(key, message, hashlib.sha256).hexdigest().encode("ascii")


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
    """Bytewise XOR of two equal-length strings (masking is its own inverse)."""
    return bytes(x ^ y for x, y in zip(left, right, strict=True))

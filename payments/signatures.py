"""Sign and verify the payment webhook's `Stockd-Signature` header (pure: no database).

The header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. A sender may
put several v1 entries in it (one per secret while it rotates them); one matching entry is
enough. Entries of other schemes are ignored, so a sender can add a scheme before we read it.
"""

import hmac
import re
from collections.abc import Iterable

from core.signing import HEADER, SCHEME, sign, signature_header
from payments.errors import BadSignature, StaleSignature

__all__ = ["HEADER", "signature_header", "verify"]

TOLERANCE_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _parse(header: str) -> tuple[int, list[str]]:
    """Split a header into its timestamp and its v1 signatures; raise BadSignature if either
    is missing or the timestamp is not a number of seconds."""
    timestamp: int | None = None
    signatures: list[str] = []
    for entry in header.split(","):
        name, equals, value = entry.strip().partition("=")
        if not equals:
            continue
        if name == "t" and timestamp is None and _TIMESTAMP.fullmatch(value):
            timestamp = int(value)
        elif name == SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise BadSignature(f"The {HEADER} header needs t=<unix seconds> and v1=<hex signature>.")
    return timestamp, signatures


def verify(header: str | None, body: bytes, *, secrets: Iterable[str], now: float) -> int:
    """Check that `header` signs `body` with one of `secrets` within the tolerance of `now`.

    Every v1 entry is compared with every secret's signature in constant time. Return the
    signed timestamp. Raise BadSignature if the header is missing or malformed or no entry
    matches; StaleSignature if one matches but was made more than 5 minutes before (or
    after) `now`.
    """
    if not header:
        raise BadSignature(f"The {HEADER} header is missing.")
    timestamp, given = _parse(header)
    expected = [sign(secret, timestamp, body).encode() for secret in secrets if secret]
    # No short cut: every pair is compared, so the time taken says nothing about which is close.
    matched = False
    for signature in given:
        for candidate in expected:
            matched |= hmac.compare_digest(signature.encode(), candidate)
    if not matched:
        raise BadSignature()
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise StaleSignature()
    return timestamp

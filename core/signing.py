"""Sign a body for the `Stockd-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
"<t>.<raw body>")>`. The payment webhook (payments.signatures) verifies incoming ones with it;
outbound webhooks (integrations.delivery) sign theirs the same way."""

import hashlib
import hmac
from collections.abc import Iterable

HEADER = "Stockd-Signature"
SCHEME = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with `secret`."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """Build a header value signing `body` at `timestamp` with each of `secrets`."""
    entries = [f"t={timestamp}"] + [f"{SCHEME}={sign(s, timestamp, body)}" for s in secrets]
    return ",".join(entries)

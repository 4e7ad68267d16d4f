"""Making, finding and revoking API keys.

A key reads `stockd_<prefix>_<secret>`: the prefix finds its row, and the SHA-256 of the whole
key must match the stored hash. Keys are 190 random bits, so a fast hash is enough (no
password-style stretching: nobody can guess a key to test against it); the plain key is
shown once, when it is made, and never stored.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput, NotFound
from integrations.models import ApiKey
from sales.models import Channel
from sales.services import create_channel

KEY_START = "stockd_"
# How often a key's last use is written down (not on every request).
LAST_USED_EVERY = timedelta(minutes=1)


class ApiKeyNotFound(NotFound):
    detail = "No such API key."


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    plain: str  # shown once


def _hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def create_key(
    *, name: str, scopes: list[str], created_by=None, channel: Channel | None = None
) -> NewKey:
    """Make a key with these scopes (bound to `channel`: its holds belong to that sales
    channel); the plain key is in the answer and nowhere else."""
    unknown = sorted(set(scopes) - set(ApiKey.Scope.values))
    if unknown or not scopes:
        raise InvalidInput(f"Choose scopes among {', '.join(ApiKey.Scope.values)}.")
    prefix = secrets.token_hex(4)
    plain = f"{KEY_START}{prefix}_{secrets.token_urlsafe(24)}"
    key = ApiKey.objects.create(
        name=name.strip() or "API key",
        prefix=prefix,
        secret_hash=_hash(plain),
        scopes=sorted(set(scopes)),
        created_by=created_by,
        channel=channel,
    )
    return NewKey(key=key, plain=plain)


@transaction.atomic
def open_channel(*, code: str, name: str, created_by=None) -> tuple[Channel, NewKey]:
    """Open a sales channel with its key (scope `holds`), both or neither; raise
    ChannelExists when the code is taken, and make no key."""
    channel = create_channel(code=code, name=name)
    new = create_key(
        name=f"channel {channel.code}",
        scopes=[ApiKey.Scope.HOLDS],
        created_by=created_by,
        channel=channel,
    )
    return channel, new


def find_key(plain: str) -> ApiKey | None:
    """The active key `plain` is, or None (unknown, malformed or revoked)."""
    if not plain.startswith(KEY_START):
        return None
    prefix, _, _ = plain.removeprefix(KEY_START).partition("_")
    key = (
        ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True)
        .select_related("channel")
        .first()
    )
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(plain)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def revoke_key(key_id: int) -> ApiKey:
    """Revoke a key for good (again: nothing changes). Raise ApiKeyNotFound if unknown."""
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None:
        raise ApiKeyNotFound()
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key

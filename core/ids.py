"""Parse ids taken from URL paths, answering 400 INVALID_ID for malformed ones."""

import uuid

from core.errors import InvalidId
from core.fields import MAX_ID


def parse_int_id(value: str, *, name: str = "id") -> int:
    """Return `value` as a positive 64-bit integer id; raise InvalidId if it is not one."""
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise InvalidId(f"{name} must be a positive integer, got {value[:40]!r}.")
    return int(value)


def parse_uuid(value: str, *, name: str = "id") -> uuid.UUID:
    """Return `value` as a UUID; raise InvalidId if it is not one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidId(f"{name} must be a UUID, got {value[:40]!r}.") from None

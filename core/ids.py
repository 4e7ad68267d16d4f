"""Parse ids taken from URL paths, answering 400 INVALID_ID for malformed ones."""

import uuid

from core.errors import InvalidId

MAX_ID = 2**63 - 1  # the largest id PostgreSQL's bigint holds


def id_from_text(value: str) -> int | None:
    """Return the positive 64-bit integer id a string of ASCII digits names, or None."""
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_ID:
        return None
    return int(value)


def parse_int_id(value: str, *, name: str = "id") -> int:
    """Return `value` as a positive 64-bit integer id; raise InvalidId if it is not one."""
    parsed = id_from_text(value)
    if parsed is None:
        raise InvalidId(f'{name} must be a positive integer id such as "12", got {value[:40]!r}.')
    return parsed


def parse_uuid(value: str, *, name: str = "id") -> uuid.UUID:
    """Return `value` as a UUID; raise InvalidId if it is not one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidId(f"{name} must be a UUID, got {value[:40]!r}.") from None

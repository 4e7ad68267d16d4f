"""Parse ids taken from URL paths, answering 400 INVALID_ID for malformed ones."""

from stockd.errors import InvalidId

_MAX_BIGINT = 2**63 - 1


def parse_int_id(value: str, *, name: str = "id") -> int:
    """Return `value` as a positive 64-bit integer id; raise InvalidId if it is not one."""
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= _MAX_BIGINT:
        raise InvalidId(f"{name} must be a positive integer, got {value[:40]!r}.")
    return int(value)

"""The Idempotency-Key of the request being served, for records far from the view (the stock
ledger names the key that made each change). Each thread or asyncio task sees its own."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_key: ContextVar[str | None] = ContextVar("stockd_idempotency_key", default=None)


def current_idempotency_key() -> str | None:
    """Return the Idempotency-Key the request being served runs under, or None."""
    return _key.get()


@contextmanager
def idempotency_key_in_context(key: str) -> Iterator[str]:
    """Make `key` current until the block ends, then restore the previous one."""
    token = _key.set(key)
    try:
        yield key
    finally:
        _key.reset(token)

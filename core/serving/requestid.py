"""The id of the request being served: taken from the proxy when sane, else made here.

It lives in a context variable, so code far from the view (the event recorder, a log line)
reads it with `current_request_id()` without being handed the request, and each thread or
asyncio task of a server sees its own request's id.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

HEADER = "X-Request-ID"
MAX_LENGTH = 128

_request_id: ContextVar[str | None] = ContextVar("stockd_request_id", default=None)


def current_request_id() -> str | None:
    """Return the id of the request being served, or None outside a request."""
    return _request_id.get()


def is_sane(value: str) -> bool:
    """Tell whether a proxy's id may be kept: 1 to 128 printable ASCII characters, no spaces."""
    return (
        0 < len(value) <= MAX_LENGTH
        and value.isascii()
        and value.isprintable()
        and (" " not in value)
    )


def new_request_id() -> str:
    """Return a fresh id: 32 hex digits."""
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """Return the proxy's id when it is sane, else a fresh one (a bad one is not echoed)."""
    return header if header is not None and is_sane(header) else new_request_id()


@contextmanager
def request_id_in_context(request_id: str) -> Iterator[str]:
    """Make `request_id` current until the block ends, then restore the previous one."""
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)

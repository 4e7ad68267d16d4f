"""Count failed console sign-ins in Django's cache, per client IP and per username.

A fixed window: the first failure starts a WINDOW_SECONDS window for its key, and once
MAX_FAILURES failures have been counted in it, further attempts are refused without checking
the password until the window ends. The cache is shared by every process (Redis in
production), so the limit holds across workers; with the local-memory cache it is per process.
"""

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest

MAX_FAILURES = 5
WINDOW_SECONDS = 5 * 60
_PREFIX = "console-login"


def _client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a client can write that header itself.
    return request.META.get("REMOTE_ADDR") or "unknown"


def _username_key(username: str) -> str:
    # Hashed: any text a client types makes a short, safe cache key.
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    return f"{_PREFIX}:user:{name}"


def _keys(request: HttpRequest, username: str) -> list[str]:
    return [f"{_PREFIX}:ip:{_client_ip(request)}", _username_key(username)]


def retry_after(request: HttpRequest, username: str) -> int | None:
    """Return the seconds until this IP or username may try again, or None if it may now."""
    waits = []
    for key in _keys(request, username):
        entries = cache.get_many([key, f"{key}:since"])
        if entries.get(key, 0) >= MAX_FAILURES:
            since = entries.get(f"{key}:since", time.time())
            waits.append(max(1, int(since + WINDOW_SECONDS - time.time()) + 1))
    return max(waits) if waits else None


def record_failure(request: HttpRequest, username: str) -> None:
    """Count one failed sign-in against the client's IP and the username."""
    for key in _keys(request, username):
        # The count first, then its start: the start then outlives the count it dates.
        if not cache.add(key, 1, WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # the window ended between add() and incr()
                cache.set(key, 1, WINDOW_SECONDS)
        cache.add(f"{key}:since", time.time(), WINDOW_SECONDS)


def forget_username(username: str) -> None:
    """Clear the username's failures after a good sign-in (the IP's count stays)."""
    key = _username_key(username)
    cache.delete_many([key, f"{key}:since"])

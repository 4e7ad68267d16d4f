"""Count failed sign-ins per client IP and per username; refuse more once a client has too many.

The one limit of every sign-in: the storefront's, the console's page and the staff JSON API's.
LOGIN_RATE_LIMIT ("5/5m" by default: five failures in five minutes) is a fixed window per key:
the first failure starts the window, and once the count is reached further attempts are
refused, without checking the password, until the window ends. A client's IP and a username
each have one count shared by the three sign-ins, so moving to another form buys no tries.

The client IP is DRF's (TRUSTED_PROXIES, wired to NUM_PROXIES): REMOTE_ADDR when no proxy is
trusted, else the address the nearest trusted proxy saw in X-Forwarded-For, the rule the
reserve throttle uses too. Counts live in Django's cache, shared by every process (Redis in
production; the local-memory cache counts per process). An unreachable cache is logged and
limits nothing: it must not lock everyone out or answer a 500.
"""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from core.errors import SignInRateLimited
from core.rates import Rate, parse_rate

logger = logging.getLogger(__name__)

_PREFIX = "signin-failures"


def limit() -> Rate | None:
    """Return the failures allowed in a window (LOGIN_RATE_LIMIT), or None for no limit."""
    return parse_rate(settings.LOGIN_RATE_LIMIT)


def client_ip(request: HttpRequest) -> str:
    """Return the client's address by DRF's rule: X-Forwarded-For only behind trusted proxies."""
    return BaseThrottle().get_ident(request) or "unknown"


def _hashed(text: str) -> str:
    # Any text a client sends makes a short, safe cache key.
    return hashlib.sha256(text.encode()).hexdigest()


def _username_key(username: str) -> str:
    return f"{_PREFIX}:user:{_hashed(username.strip().lower())}"


def _keys(request: HttpRequest, username: str) -> list[str]:
    return [f"{_PREFIX}:ip:{_hashed(client_ip(request))}", _username_key(username)]


def retry_after(request: HttpRequest, username: str) -> int | None:
    """Return the seconds until this IP or username may try again, or None if it may now."""
    rate = limit()
    if rate is None:
        return None
    waits = []
    try:
        for key in _keys(request, username):
            entries = cache.get_many([key, f"{key}:since"])
            if entries.get(key, 0) >= rate.count:
                since = entries.get(f"{key}:since", time.time())
                waits.append(max(1, int(since + rate.seconds - time.time()) + 1))
    except Exception:
        logger.warning("sign-in limit not checked: the cache is unreachable", exc_info=True)
        return None
    return max(waits) if waits else None


def check(request: HttpRequest, username: str) -> None:
    """Raise SignInRateLimited if this client's IP or `username` has used up its failures."""
    wait = retry_after(request, username)
    if wait is not None:
        raise SignInRateLimited(retry_after=wait)


def record_failure(request: HttpRequest, username: str) -> None:
    """Count one failed sign-in against the client's IP and the username."""
    rate = limit()
    if rate is None:
        return
    try:
        for key in _keys(request, username):
            # The count first, then its start: the start then outlives the count it dates.
            if not cache.add(key, 1, rate.seconds):
                try:
                    cache.incr(key)
                except ValueError:  # the window ended between add() and incr()
                    cache.set(key, 1, rate.seconds)
            cache.add(f"{key}:since", time.time(), rate.seconds)
    except Exception:
        logger.warning("sign-in failure not counted: the cache is unreachable", exc_info=True)


def forget_username(username: str) -> None:
    """Clear the username's failures after a good sign-in (the IP's count stays)."""
    key = _username_key(username)
    try:
        cache.delete_many([key, f"{key}:since"])
    except Exception:
        logger.warning("sign-in failures not cleared: the cache is unreachable", exc_info=True)

"""Page fragments shared for CATALOGUE_CACHE_SECONDS, rendered once per process however many
requests miss them at once.

A fragment lives in this process's `fragments` cache (LocMemCache): no round trip to Redis,
and nothing shared between processes, each of which renders its own at most once a second.
When it expires under load, every request that reads it at that moment would render it (the
catalogue's list is 53 cards); instead the first renders and the others, on their own
request threads, wait for its answer. A stripe of locks keyed by the fragment's key keeps the
waiting bounded, whatever keys visitors' searches make.
"""

import hashlib
import threading
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.utils.safestring import SafeString

_STRIPES = [threading.Lock() for _ in range(32)]


def shared_fragment(key: str, render: Callable[[], SafeString]) -> SafeString:
    """The fragment cached under `key` (any text: a search's words may be in it), or
    `render()`'s, stored for CATALOGUE_CACHE_SECONDS.

    `render` returns a template's output (render_to_string), escaped there and marked safe;
    the cache keeps it a SafeString, so the page includes it as it is.
    """
    seconds = settings.CATALOGUE_CACHE_SECONDS
    if seconds <= 0:
        return render()
    fragments = caches["fragments"]
    key = "fragment:" + hashlib.sha256(key.encode()).hexdigest()
    html = fragments.get(key)
    if html is None:
        with _STRIPES[hash(key) % len(_STRIPES)]:
            html = fragments.get(key)
            if html is None:
                html = render()
                fragments.set(key, html, seconds)
    return html

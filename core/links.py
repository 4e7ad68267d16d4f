"""URLs in answers: absolute ones for JSON, and a `next` page only if it is on this site.

Absolute URLs are what the original stockd gave its clients.
"""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

NEXT = "next"


def absolute_url(request: HttpRequest, path: str | None) -> str | None:
    """Return `path` as an absolute URL on the host the request came to (None stays None)."""
    return None if path is None else request.build_absolute_uri(path)


def safe_next(request: HttpRequest) -> str:
    """Return the `next` the request carries if it points back to this site, else ""."""
    target = request.POST.get(NEXT, request.GET.get(NEXT, ""))
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else ""

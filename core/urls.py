"""Absolute URLs for JSON answers, as the original stockd gave its clients."""

from django.http import HttpRequest


def absolute_url(request: HttpRequest, path: str | None) -> str | None:
    """Return `path` as an absolute URL on the host the request came to (None stays None)."""
    return None if path is None else request.build_absolute_uri(path)

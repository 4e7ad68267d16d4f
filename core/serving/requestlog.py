"""One log line per request, under the request's id, which goes back in X-Request-ID.

The id comes from the proxy's X-Request-ID header when it is sane (core.serving.requestid), else it
is made here; it is current for everything the request runs (the audit events it writes
carry it in their payload) and is returned to the client in the response's X-Request-ID.
"""

import logging
import time
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from core.serving.dbfaults import DATABASE_FAULTS
from core.serving.requestid import HEADER, request_id_from, request_id_in_context

logger = logging.getLogger("stockd.request")

_META_HEADER = "HTTP_" + HEADER.upper().replace("-", "_")


def _name(user) -> str:
    return f"user:{user.pk}" if user.is_authenticated else "guest"


def _name_without_loading(request: HttpRequest) -> str | None:
    """Name who asked if nothing needs loading to tell; None if the user must be loaded.

    A user set by authentication (DRF's, or `await request.auser()`) is a real user object.
    AuthenticationMiddleware's lazy one is read from the session only when a session cookie
    came with the request: without one, the shopper is a guest and nothing is loaded.
    """
    user = request.__dict__.get("user")
    if user is None:
        return "guest"
    if type(user) is not SimpleLazyObject:
        return _name(user)
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return "guest"
    return None


def who(request: HttpRequest) -> str:
    """Name who asked: "user:<id>", or "guest" for a shopper without an account.

    For a request's thread (WSGI): it may load the user from the session. If the database
    fails, answer "unknown" (the request itself was answered 503).
    """
    try:
        return _name_without_loading(request) or _name(request.user)
    except DATABASE_FAULTS:
        return "unknown"


async def awho(request: HttpRequest) -> str:
    """who() for the event loop: a user still to be loaded is read on the request's thread.

    Not with `request.auser()`: its cache is not the lazy `request.user`'s, so a page whose
    view had read the user would load it a second time.
    """
    return _name_without_loading(request) or await sync_to_async(who)(request)


class RequestLogMiddleware:
    """Give each request an id, return it in X-Request-ID and log one line when it is answered.

    The line (logger `stockd.request`) has method, path, route name, status, duration in ms,
    request id and who asked. Put it first in MIDDLEWARE so its duration covers the others.
    It runs in the server's mode (sync or async), so it adds no thread hop under ASGI.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.async_mode:
            return self.__acall__(request)
        started = time.perf_counter()
        with request_id_in_context(request_id_of(request)) as request_id:
            response = self.get_response(request)
            answered(request, response, request_id, started, who(request))
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        with request_id_in_context(request_id_of(request)) as request_id:
            response = await self.get_response(request)
            answered(request, response, request_id, started, await awho(request))
        return response


def request_id_of(request: HttpRequest) -> str:
    return request_id_from(request.META.get(_META_HEADER))


def answered(
    request: HttpRequest, response: HttpResponse, request_id: str, started: float, user: str
) -> None:
    """Put the id in the response's X-Request-ID and log the request's line."""
    response[HEADER] = request_id
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    match = request.resolver_match
    logger.info(
        "%s %s %s %.2fms",
        request.method,
        request.path,
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "path": request.path,
            "route": match.view_name if match is not None else None,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "request_id": request_id,
            "user": user,
        },
    )

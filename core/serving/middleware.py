"""Middleware of stockd's own: the hook base (HookMiddleware), refusing requests Django cannot
read before any middleware or view tries to read them, and the marker that runs the inner
chain on the request's thread (OnRequestThreadMiddleware)."""

from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from core.serving.framing import (
    EarlyAnswer,
    bad_charset_answer,
    length_required,
    unreadable_charset,
)


def _answer(early: EarlyAnswer) -> HttpResponse:
    status, content_type, body = early
    return HttpResponse(body, status=status, content_type=content_type)


def _field_limit() -> float:
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return float("inf") if limit is None else limit


def _declares_too_large_a_body(request: HttpRequest) -> bool:
    """Whether the Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE (uploads are exempt:
    Django streams their files to disk, as it does)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
        return False
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return False


def _is_chunked_without_length(request: HttpRequest) -> bool:
    return "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH")


class HookMiddleware:
    """A middleware made of two sync hooks that do no I/O, run in the server's own mode.

    It takes the mode of what it wraps: on the event loop above ServeStatic, on the request's
    thread below it (OnRequestThreadMiddleware); either way it costs no thread hop.
    `before(request)` may answer instead of the view; `after(request, response)` may change
    or replace the answer.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.async_mode:
            return self.__acall__(request)
        answer = self.before(request)
        return answer if answer is not None else self.after(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        answer = self.before(request)
        if answer is not None:
            return answer
        return self.after(request, await self.get_response(request))

    def before(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response


class RequestFramingMiddleware(HookMiddleware):
    """Refuse an unknown Content-Type charset with 400, and a chunked body nobody framed with 411.

    Django decodes the query string and form bodies with the request's charset and raises
    LookupError (a 500) on a codec that is not a text encoding. A chunked body reaches Django
    with a Content-Length when the server wrapper could read it (core.serving.framing); one that
    still has none would be read as empty, so it is refused.
    """

    def before(self, request: HttpRequest) -> HttpResponse | None:
        charset = unreadable_charset(request.META.get("CONTENT_TYPE", ""))
        if charset is not None:
            return _answer(bad_charset_answer(request.path, charset))
        if _is_chunked_without_length(request):
            return _answer(length_required(request.path))
        if request.META.get("QUERY_STRING", "").count("&") >= _field_limit():
            # Parse it now, so TooManyFieldsSent is raised here (Django answers it with
            # handler400) and not inside DRF's content negotiation, which turns it into a 500.
            request.GET  # noqa: B018
        if _declares_too_large_a_body(request):
            # Django checks the limit only when request.body is read, and DRF streams a JSON
            # body past it; refuse it up front. Django answers with handler400: a 413.
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        return None


class OnRequestThreadMiddleware:
    """Sync-only, and last in MIDDLEWARE: it passes every request on, unchanged.

    Django runs each middleware in the mode of the handler it wraps, and most middleware
    (every MiddlewareMixin) can run either way. Under ASGI with nothing sync-only in the
    chain, each would run in async mode, and MiddlewareMixin's async mode runs each
    process_request and process_response hook on the request's thread, one thread hop each:
    about 20 hops per page (each ~0.1 ms of CPU under load, docs/performance.md). With this
    sync-only marker innermost, Django runs the chain from the first async-only middleware
    (ServeStatic) down to the view as one sync call on the request's thread: one hop. Async
    views below it (the stock stream) are awaited from that thread and answer at once; their
    streams are then sent from the event loop, as before.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

"""One exception handler for the whole API, and Django's error handlers: every error is JSON
under /api/ and a designed page (templates/errors/) elsewhere, with DEBUG on or off.

Services raise StockdError; DRF raises its own exceptions for bad input. Both become
{"error": "<a readable sentence>", "code": "<STABLE_CODE>", ...} with the right status, so views
need no try/except and no request can answer with an HTML error page. Validation errors carry
{"details": {"formErrors": [...], "fieldErrors": {field: [messages]}}}, the shape the original
stockd's clients read.
"""

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.urls import is_valid_path
from django.utils.html import escape
from django.views.debug import ExceptionReporter
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from core.errors import NotFound, StockdError
from core.serving import dbfaults
from core.serving.middleware import HookMiddleware
from core.serving.request_threads import release_idle_connections

logger = logging.getLogger(__name__)

_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "MALFORMED_JSON",
    exceptions.ValidationError: "VALIDATION_ERROR",
    exceptions.NotAuthenticated: "NOT_AUTHENTICATED",
    exceptions.AuthenticationFailed: "NOT_AUTHENTICATED",
    exceptions.PermissionDenied: "FORBIDDEN",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.NotAcceptable: "NOT_ACCEPTABLE",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.Throttled: "RATE_LIMITED",
}


def _messages(errors: Any, path: str = "") -> list[str]:
    """Flatten DRF's nested errors into sentences, prefixed with where they are ("[0].quantity").

    DRF reports a list's errors as a list, or as a dict keyed by the failing items' indexes.
    """
    if isinstance(errors, dict):
        return [m for key, value in errors.items() for m in _messages(value, _step(path, key))]
    if isinstance(errors, list) and any(isinstance(item, dict | list) for item in errors):
        return [m for index, item in enumerate(errors) for m in _messages(item, _step(path, index))]
    items = errors if isinstance(errors, list) else [errors]
    return [f"{path}: {item}" if path else str(item) for item in items]


def _step(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def validation_details(errors: Any) -> dict[str, Any]:
    """Split DRF's validation errors into form-level and per-field messages."""
    if not isinstance(errors, dict):
        return {"formErrors": _messages(errors), "fieldErrors": {}}
    form = _messages(errors.get(api_settings.NON_FIELD_ERRORS_KEY, []))
    fields = {
        name: _messages(value)
        for name, value in errors.items()
        if name != api_settings.NON_FIELD_ERRORS_KEY
    }
    return {"formErrors": form, "fieldErrors": fields}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render StockdError and DRF exceptions as {"error", "code", ...}."""
    if isinstance(exc, StockdError):
        return Response(exc.body(), status=exc.status, headers=exc.headers())
    if (fault := dbfaults.api_response(exc)) is not None:
        return fault
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = _DRF_CODES.get(type(exc), "ERROR")
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "error": "Invalid input",
            "code": code,
            "details": validation_details(exc.detail),
        }
    else:
        response.data = {"error": str(exc.detail), "code": code}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            response.data["retryAfter"] = exc.wait  # as in Retry-After, as sign-ins answer
    return response


# --- Errors raised outside the API views: JSON under /api/, a designed page elsewhere ---------
#
# Django answers an error raised outside a view (a bad Host header, too many query parameters,
# a body over DATA_UPLOAD_MAX_MEMORY_SIZE, an unknown path, a CSRF failure, an exception in a
# plain view) with its handlers, which stockd.urls points here; with DEBUG on it shows its
# technical pages instead, which ErrorPagesMiddleware replaces with the same answers.

_SERVER_ERROR = {"error": "An unexpected error occurred.", "code": "INTERNAL_ERROR"}
# Rendered when even the designed page fails (a broken template, a missing URL name).
_BARE_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>{title} · stockd</title>"
    "<h1>{title}</h1><p>{message}</p><p><a href=/>Back to the shop</a></p></html>"
)


@dataclass(frozen=True)
class _BadRequest:
    """How one kind of unreadable request is answered."""

    status: HTTPStatus
    code: str
    error: str
    heading: str


def _bad_request(exception: Exception | None) -> _BadRequest:
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _BadRequest(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            f"The request body is larger than {limit} bytes.",
            "That request is too large",
        )
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return _BadRequest(
            HTTPStatus.BAD_REQUEST,
            "TOO_MANY_FIELDS",
            f"The request has more than {limit} parameters.",
            "That request has too many parameters",
        )
    if isinstance(exception, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return _BadRequest(
            HTTPStatus.BAD_REQUEST,
            "TOO_MANY_FILES",
            f"The request has more than {limit} files.",
            "That request has too many files",
        )
    if isinstance(exception, DisallowedHost):
        return _BadRequest(
            HTTPStatus.BAD_REQUEST,
            "BAD_REQUEST",
            "The Host header names a site this server does not serve.",
            "This address is not served here",
        )
    return _BadRequest(
        HTTPStatus.BAD_REQUEST,
        "BAD_REQUEST",
        "The request could not be read.",
        "That request could not be read",
    )


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _page(
    request: HttpRequest | None, template: str, status: int, context: dict[str, Any]
) -> HttpResponse:
    """Render errors/<template> with `status`; with no `request`, without context processors.

    Pages for requests that may be broken (400) or for a server that may be (500) render
    without the request: the context processors would load the session and the user, each a
    database query. If the page itself fails, a bare one is answered instead.
    """
    context = {"hold_minutes": settings.RESERVATION_TTL_SECONDS // 60, **context}
    try:
        body = loader.get_template(f"errors/{template}").render(context, request)
    except Exception:
        logger.exception("the error page errors/%s failed to render", template)
        body = _BARE_PAGE.format(
            title=escape(context.get("heading", "Something went wrong")),
            message=escape(context.get("message", "")),
        )
    finally:
        # Under ASGI, Django renders the page for an unmatched URL on a thread of its
        # default executor, not the request's: a pooled connection the context processors
        # took there would never go back (the request's end cleans up its own thread only).
        release_idle_connections()
    response = HttpResponse(body, status=status)
    response.stockd_error_page = True
    return response


def rate_limited_page(request: HttpRequest, *, message: str, retry_after: int) -> HttpResponse:
    """The 429 page, with Retry-After, for a form sent more often than its limit allows."""
    response = _page(request, "429.html", 429, {"code": "RATE_LIMITED", "message": message})
    response["Retry-After"] = str(retry_after)
    return response


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer a request Django refused to read (SuspiciousOperation, BadRequest, a broken
    multipart body): 413 for a body over the limit, else 400."""
    bad = _bad_request(exception)
    if _wants_json(request):
        return JsonResponse({"error": bad.error, "code": bad.code}, status=bad.status)
    return _page(
        None,
        "400.html",
        bad.status,
        {"heading": bad.heading, "message": bad.error, "code": bad.code},
    )


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer PermissionDenied raised outside a DRF view."""
    if _wants_json(request):
        body = {"error": "You do not have permission to do that.", "code": "FORBIDDEN"}
        return JsonResponse(body, status=403)
    return _page(request, "403.html", 403, {"code": "FORBIDDEN"})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Answer a form or request that failed Django's CSRF check (CSRF_FAILURE_VIEW)."""
    if _wants_json(request):
        body = {"error": f"CSRF verification failed: {reason}", "code": "CSRF_FAILED"}
        return JsonResponse(body, status=403)
    context = {
        "code": "CSRF_FAILED",
        "heading": "This form has expired",
        "message": "We could not check that this form came from this site, so nothing was "
        "done. Go back, reload the page and send it again; it needs cookies enabled.",
    }
    return _page(request, "403.html", 403, context)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer an unknown path or a missing object: JSON under /api/, the page elsewhere."""
    if _wants_json(request):
        return JsonResponse(NotFound("No such resource.").body(), status=404)
    return _page(request, "404.html", 404, {"code": "NOT_FOUND"})


def handler500(request: HttpRequest) -> HttpResponse:
    """Answer an unexpected error: JSON under /api/, the page elsewhere, neither touching the
    database (it may be what failed)."""
    if _wants_json(request):
        return JsonResponse(_SERVER_ERROR, status=500)
    return _page(None, "500.html", 500, {"code": "INTERNAL_ERROR"})


class _RememberingReporter(ExceptionReporter):
    """Django's debug reporter for ErrorPagesMiddleware: it notes on the request that it
    reported `exc_value` and writes no traceback page, which the middleware replaces anyway
    (building it would load the user: a database query, maybe to a database that is down).
    The traceback is logged all the same (django.request, django.security)."""

    def __init__(self, request, exc_type, exc_value, tb, is_email=False):
        super().__init__(request, exc_type, exc_value, tb, is_email)
        if request is not None:
            request.stockd_reported_exception = exc_value

    def get_traceback_html(self) -> str:
        return "<!doctype html><title>Error</title><p>See the server log."

    def get_traceback_text(self) -> str:
        return "See the server log."


class ErrorPagesMiddleware(HookMiddleware):
    """With DEBUG on, answer errors as with DEBUG off: JSON under /api/, designed pages
    elsewhere, never Django's technical 404 and 500 pages (the traceback is still logged).

    Django renders those pages inside the layer where the error was raised, so this outermost
    middleware replaces them afterwards: a 400 or 500 that its reporter wrote (it notes the
    exception on the request), a 404 for a path no URL matches, and an Http404 a view raised.
    With DEBUG off Django calls the handlers above itself and this middleware does nothing.
    """

    def before(self, request: HttpRequest) -> None:
        if settings.DEBUG:
            request.exception_reporter_class = _RememberingReporter

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.before(request)
        response = await self.get_response(request)
        if not settings.DEBUG:
            return response
        # A page rendered here loads the session and the user: not on the event loop.
        return await sync_to_async(self.after)(request, response)

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not settings.DEBUG:
            return response
        replacement = self._replacement(request, response)
        if replacement is None:
            return response
        for header, value in response.items():  # security headers, Vary, ...
            if header.lower() not in ("content-type", "content-length"):
                replacement.headers.setdefault(header, value)
        replacement.cookies = response.cookies
        return replacement

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return handler404(request, exception)
        return None

    @staticmethod
    def _replacement(request: HttpRequest, response: HttpResponse) -> HttpResponse | None:
        if isinstance(response, JsonResponse) or getattr(response, "stockd_error_page", False):
            return None
        reported = getattr(request, "stockd_reported_exception", None)
        if reported is not None and response.status_code == 500:
            return handler500(request)
        if reported is not None and response.status_code == 400:
            return handler400(request, reported)
        if response.status_code == 404 and not is_valid_path(
            request.path_info, getattr(request, "urlconf", None)
        ):
            return handler404(request)
        return None

"""One exception handler for the whole API, and JSON 404/500 pages under /api/.

Services raise StockdError; DRF raises its own exceptions for bad input. Both become
{"error": CODE, "detail": text, ...} with the right status, so views need no try/except and no
request can answer with an HTML error page.
"""

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import NotFound, StockdError

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


def _validation_detail(fields: Any) -> str:
    """Flatten DRF's nested validation errors into one readable sentence."""
    if isinstance(fields, dict):
        parts = [f"{name}: {_validation_detail(value)}" for name, value in fields.items()]
        return "; ".join(parts)
    if isinstance(fields, list):
        return " ".join(_validation_detail(item) for item in fields)
    return str(fields)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render StockdError and DRF exceptions as {"error", "detail", ...}."""
    if isinstance(exc, StockdError):
        return Response(exc.body(), status=exc.status, headers=exc.headers())
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = _DRF_CODES.get(type(exc), "ERROR")
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "error": code,
            "detail": _validation_detail(exc.detail),
            "fields": exc.detail,
        }
    else:
        response.data = {"error": code, "detail": str(exc.detail)}
    return response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception: Exception | None = None):
    """Answer JSON under /api/, Django's page elsewhere."""
    if _wants_json(request):
        return JsonResponse(NotFound("No such resource.").body(), status=404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest):
    """Answer JSON under /api/, Django's page elsewhere."""
    if _wants_json(request):
        body = {"error": "INTERNAL_ERROR", "detail": "An unexpected error occurred."}
        return JsonResponse(body, status=500)
    return defaults.server_error(request)

"""One exception handler for the whole API, and JSON 404/500 pages under /api/.

Services raise StockdError; DRF raises its own exceptions for bad input. Both become
{"error": "<a readable sentence>", "code": "<STABLE_CODE>", ...} with the right status, so views
need no try/except and no request can answer with an HTML error page. Validation errors carry
{"details": {"formErrors": [...], "fieldErrors": {field: [messages]}}}, the shape the original
stockd's clients read.
"""

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
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
        body = {"error": "An unexpected error occurred.", "code": "INTERNAL_ERROR"}
        return JsonResponse(body, status=500)
    return defaults.server_error(request)

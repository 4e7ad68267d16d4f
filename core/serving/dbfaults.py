"""Answer 503 with Retry-After, never a 500, while the database cannot be reached.

A request whose database is unreachable (connection refused, its backend terminated by a
restart or failover, the pool timing out) fails with django.db.OperationalError or
InterfaceError (psycopg_pool's PoolTimeout arrives wrapped in the former). Wherever that
happens, the client gets 503 with Retry-After: {"error", "code": "DATABASE_UNAVAILABLE"} under
/api/, the page errors/503.html elsewhere. A deadlock or serialization failure is not an
outage but a transaction PostgreSQL rolled back: it gets 503 with Retry-After too, coded
TRANSACTION_CONFLICT, since the same request retried will run.

Three places catch it, because a fault can surface in three:
- DRF views: core.error_handlers.api_exception_handler calls `api_response`;
- other views (and template rendering): DatabaseFaultMiddleware.process_exception;
- any middleware (loading the session or user, saving the session): Django turns the error
  into a 500 at that middleware's layer, sending got_request_exception on the way;
  `_remember_fault` marks the request then, and DatabaseFaultMiddleware replaces the 500
  (or DEBUG's technical page) with the 503.
The page is rendered without the request, so no context processor touches the database.
"""

import logging
import sys

import psycopg
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import TemplateDoesNotExist, loader
from psycopg_pool import PoolTimeout
from rest_framework.response import Response

from core.errors import DatabaseUnavailable, StockdError, TransactionConflict
from core.serving.middleware import HookMiddleware

logger = logging.getLogger(__name__)

# Django's wrappers, and psycopg's own for code that talks to psycopg directly (the pool).
DATABASE_FAULTS = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
)
# SQLSTATEs of a transaction PostgreSQL rolled back to break a cycle or keep serializability.
_CONFLICTS = {"40P01", "40001"}  # deadlock_detected, serialization_failure
_MARK = "_stockd_database_fault"
TEMPLATE = "errors/503.html"


def fault_error(exc: BaseException) -> StockdError | None:
    """Return the error to answer for `exc` if it is a database fault, else None."""
    if not isinstance(exc, DATABASE_FAULTS):
        return None
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc.__cause__, "sqlstate", None)
    if sqlstate in _CONFLICTS:
        return TransactionConflict()
    return DatabaseUnavailable()


def api_response(exc: BaseException) -> Response | None:
    """Render a database fault raised in a DRF view as a 503 JSON Response, else None."""
    error = fault_error(exc)
    if error is None:
        return None
    _log(exc)
    return Response(error.body(), status=error.status, headers=error.headers())


def response_for(request: HttpRequest, error: StockdError) -> HttpResponse:
    """Answer `error` as JSON under /api/, as the errors/503.html page elsewhere."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error.body(), status=error.status)
    else:
        response = HttpResponse(_page(error), status=error.status)
    for name, value in error.headers().items():
        response[name] = value
    return response


def _page(error: StockdError) -> str:
    try:
        # No request, hence no context processors: they would load the session or the user.
        context = {
            "error": error.detail,
            "code": error.code,
            "status": error.status.value,
            "retry_after": error.headers()["Retry-After"],
        }
        return loader.get_template(TEMPLATE).render(context)
    except TemplateDoesNotExist:
        return error.detail


def _log(exc: BaseException) -> None:
    logger.warning("database fault answered with 503: %s", exc, exc_info=exc)


def _remember_fault(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """Mark `request` when Django is about to answer a database fault with a 500."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and fault_error(exc) is not None:
        setattr(request, _MARK, exc)


got_request_exception.connect(_remember_fault, dispatch_uid="stockd-database-faults")


class DatabaseFaultMiddleware(HookMiddleware):
    """Turn a database fault raised in a view or in an inner middleware into a 503.

    Place it above the session and authentication middleware, so their faults are inside it.
    """

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        exc = getattr(request, _MARK, None)
        if exc is not None and response.status_code >= 500:
            _log(exc)
            return response_for(request, fault_error(exc))
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        error = fault_error(exc)
        if error is None:
            return None
        _log(exc)
        return response_for(request, error)

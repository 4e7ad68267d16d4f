"""The base of every domain error: a stable code, an HTTP status, a sentence and extra fields.

Services raise StockdError subclasses (each app keeps its own in its errors.py); the one
exception handler in core.error_handlers renders them as the original stockd did, a sentence a
shopper can read in "error", plus a stable "code" for programs: {"error", "code", ...}.
Domain code names statuses with http.HTTPStatus, so it does not depend on DRF.
"""

from http import HTTPStatus
from typing import Any


class StockdError(Exception):
    """A domain error with a stable code, an HTTP status, a message and extra body fields."""

    code = "ERROR"
    status = HTTPStatus.BAD_REQUEST
    detail = "The request could not be completed."

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.detail
        self.extra = extra
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {"error": self.detail, "code": self.code, **self.extra}

    def headers(self) -> dict[str, str]:
        return {}


class InvalidId(StockdError):
    code = "INVALID_ID"
    detail = "The id in the path is malformed."


class NotFound(StockdError):
    code = "NOT_FOUND"
    status = HTTPStatus.NOT_FOUND
    detail = "Not found."


class MetricsForbidden(StockdError):
    """A /metrics scrape without the metrics token, from outside the allowed networks."""

    code = "FORBIDDEN_METRICS"
    status = HTTPStatus.FORBIDDEN
    detail = "Metrics are served to the monitoring system only."


class InvalidInput(StockdError):
    """Input a service refuses that a serializer could not catch (a quantity over the limit).

    Its body has the same `details` as a serializer's validation error.
    """

    code = "VALIDATION_ERROR"

    def body(self) -> dict[str, Any]:
        details = {"formErrors": [self.detail], "fieldErrors": {}}
        return {"error": "Invalid input", "code": self.code, "details": details, **self.extra}


class SignInRateLimited(StockdError):
    """Too many failed sign-ins from this client or for this username (core.signin_limits)."""

    code = "RATE_LIMITED"
    status = HTTPStatus.TOO_MANY_REQUESTS
    detail = "Too many failed sign-ins. Try again later."

    def __init__(self, *, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many failed sign-ins from here or for this account. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            retryAfter=retry_after,
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class DatabaseUnavailable(StockdError):
    """The database could not be reached (core.serving.dbfaults answers it); the request
    changed nothing."""

    code = "DATABASE_UNAVAILABLE"
    status = HTTPStatus.SERVICE_UNAVAILABLE
    detail = "The database is unavailable; retry shortly."
    retry_after_seconds = 5

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class TransactionConflict(DatabaseUnavailable):
    """PostgreSQL rolled the transaction back (deadlock, serialization); a retry will run."""

    code = "TRANSACTION_CONFLICT"
    detail = "The request collided with another one and was rolled back; retry it."
    retry_after_seconds = 1

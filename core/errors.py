"""The base of every domain error: a stable code, an HTTP status, a sentence and extra fields.

Services raise StockdError subclasses (each app keeps its own in its errors.py); the one
exception handler in core.exceptions renders them as the original stockd did, a sentence a
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


class InvalidInput(StockdError):
    """Input a service refuses that a serializer could not catch (a quantity over the limit).

    Its body has the same `details` as a serializer's validation error.
    """

    code = "VALIDATION_ERROR"

    def body(self) -> dict[str, Any]:
        details = {"formErrors": [self.detail], "fieldErrors": {}}
        return {"error": "Invalid input", "code": self.code, "details": details, **self.extra}

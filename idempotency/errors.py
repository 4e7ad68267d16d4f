"""Errors of the Idempotency-Key protocol; the API's exception handler renders each one."""

from http import HTTPStatus

from core.errors import StockdError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class InvalidIdempotencyKey(StockdError):
    code = "INVALID_IDEMPOTENCY_KEY"
    detail = f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."


class IdempotencyKeyReused(StockdError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    detail = f"This {HEADER} was already used with a different request."


class IdempotencyKeyInUse(StockdError):
    code = "IDEMPOTENCY_KEY_IN_USE"
    status = HTTPStatus.CONFLICT
    detail = f"A request with this {HEADER} is still running; retry shortly."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class IdempotencyKeyRequired(StockdError):
    """A write that must be safe to retry was sent without a key."""

    code = "IDEMPOTENCY_KEY_REQUIRED"
    status = HTTPStatus.PRECONDITION_REQUIRED
    detail = f"Send an {HEADER} header (up to {MAX_KEY_LENGTH} characters) with this write."

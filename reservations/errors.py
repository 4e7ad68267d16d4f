"""Domain errors of holds, carts and the waitlist; the API's exception handler renders each one."""

from http import HTTPStatus

from core.errors import InvalidInput, NotFound, StockdError


class InvalidQuantity(InvalidInput):
    detail = "The quantity is out of range."


class InsufficientStock(StockdError):
    code = "INSUFFICIENT_STOCK"
    status = HTTPStatus.CONFLICT
    detail = "Not enough units are available."


class ReservationExpired(StockdError):
    code = "EXPIRED"
    status = HTTPStatus.GONE
    detail = "The reservation expired and its units went back to stock."


class InvalidTransition(StockdError):
    code = "INVALID_TRANSITION"
    status = HTTPStatus.CONFLICT
    detail = "The reservation cannot make that change from its current status."


class ExtensionLimit(StockdError):
    code = "EXTENSION_LIMIT"
    status = HTTPStatus.CONFLICT
    detail = "This reservation has had all the extensions it may have."


class ReservationNotFound(NotFound):
    detail = "No such reservation."


class CartNotFound(NotFound):
    detail = "No such cart."


class StockAvailable(StockdError):
    code = "STOCK_AVAILABLE"
    status = HTTPStatus.BAD_REQUEST  # as the original answered
    detail = "Enough units are available now: reserve them instead of joining the waitlist."


class AlreadyWaiting(StockdError):
    code = "ALREADY_WAITING"
    status = HTTPStatus.CONFLICT
    detail = "This email is already on the waitlist for that product in that warehouse."


class WaitlistEntryNotFound(NotFound):
    detail = "No such waitlist entry."


class CronSecretInvalid(StockdError):
    code = "UNAUTHORIZED"
    status = HTTPStatus.UNAUTHORIZED
    detail = "The cron secret (x-cron-secret or Authorization: Bearer) is missing or wrong."


class PreordersClosed(StockdError):
    code = "PREORDERS_CLOSED"
    status = HTTPStatus.CONFLICT
    detail = "This product takes no preorders in that warehouse."


class PreorderLimitReached(StockdError):
    code = "PREORDER_LIMIT_REACHED"
    status = HTTPStatus.CONFLICT
    detail = "Every preorder place for this product in that warehouse is taken."

"""Domain errors about stock rows; the API's exception handler renders each one."""

from http import HTTPStatus

from core.errors import NotFound, StockdError


class ProductNotFound(NotFound):
    detail = "No such product."


class StockNotFound(NotFound):
    detail = "No such product in that warehouse."


class StockBelowReserved(StockdError):
    code = "STOCK_BELOW_RESERVED"
    status = HTTPStatus.CONFLICT
    detail = "Cannot remove units that shoppers hold."

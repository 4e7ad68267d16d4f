"""Domain errors about stock rows; the API's exception handler renders each one."""

from http import HTTPStatus

from core.errors import NotFound, StockdError


class ProductNotFound(NotFound):
    detail = "No such product."


class StockNotFound(NotFound):
    detail = "No such product in that warehouse."

    @classmethod
    def of_row(cls, product_id: int, warehouse_id: int, **extra) -> "StockNotFound":
        """The error naming a stock row (product and warehouse) that does not exist."""
        return cls(f"Product {product_id} is not stocked in warehouse {warehouse_id}.", **extra)


class StockBelowReserved(StockdError):
    code = "STOCK_BELOW_RESERVED"
    status = HTTPStatus.CONFLICT
    detail = "Cannot remove units that shoppers hold."


class StaleTotal(StockdError):
    """The total an editor saw is no longer the row's: someone changed it meanwhile."""

    code = "STALE_TOTAL"
    status = HTTPStatus.CONFLICT
    detail = "The stock changed since you loaded it."


class StockChangesRefused(StockdError):
    """Some of a batch of stock changes may not be made; `problems` says which and why."""

    code = "STOCK_CHANGES_REFUSED"
    status = HTTPStatus.CONFLICT
    detail = "Some changes were refused, so none was made."


class StaleVersion(StockdError):
    """A compare-and-set write named a version the row has moved past."""

    code = "STALE_VERSION"
    status = HTTPStatus.CONFLICT
    detail = "The stock row changed since that version; nothing was changed."

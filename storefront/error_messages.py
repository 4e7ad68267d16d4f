"""Errors from the engine, told the way a shopper understands them, with the next step."""

from core.errors import StockdError
from inventory.errors import StockNotFound
from reservations.errors import (
    ExtensionLimit,
    InsufficientStock,
    InvalidTransition,
    ReservationExpired,
)


def friendly(error: StockdError, *, where: str | None = None) -> str:
    """Return a sentence for a shopper about why the engine refused, and what to do next.

    `where` names the warehouse a shortage happened in ("Mumbai"), when the page knows it.
    """
    if isinstance(error, InsufficientStock):
        left = error.extra.get("available", 0)
        place = f" in {where}" if where else ""
        if left == 0:
            return (
                f"Someone just took the last one{place}. "
                "Try another warehouse or join the waitlist."
            )
        return (
            f"Someone just took some: {left} left{place}. "
            "Lower the quantity or try another warehouse."
        )
    if isinstance(error, ReservationExpired):
        return (
            "Your hold expired and the units went back on sale. "
            "Hold them again if they are still there."
        )
    if isinstance(error, ExtensionLimit):
        return "A hold can be extended only once. Confirm it before the time runs out."
    if isinstance(error, InvalidTransition):
        return "This hold is already settled, so nothing changed."
    if isinstance(error, StockNotFound):
        return "That product is not sold in that warehouse any more."
    return error.detail

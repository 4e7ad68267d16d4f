"""Errors from the engine, told the way a shopper understands them, with the next step."""

from datetime import datetime

from django.utils import timezone
from django.utils.dateformat import format as format_date

from core.errors import StockdError
from inventory.errors import StockNotFound
from reservations.errors import (
    ExtensionLimit,
    InsufficientStock,
    InvalidTransition,
    PreorderLimitReached,
    PreordersClosed,
    ReservationExpired,
)
from sales.errors import AccountRequired, LimitReached, NotOnSale


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
        return "This hold has had all its extensions. Confirm it before the time runs out."
    if isinstance(error, InvalidTransition):
        return "This hold is already settled, so nothing changed."
    if isinstance(error, StockNotFound):
        return "That product is not sold in that warehouse any more."
    if isinstance(error, NotOnSale):
        return _not_on_sale(error)
    if isinstance(error, AccountRequired):
        return "This product is for account holders: sign in or create an account to reserve it."
    if isinstance(error, LimitReached):
        return _limit_reached(error)
    if isinstance(error, PreorderLimitReached):
        return _preorder_places(error, where)
    if isinstance(error, PreordersClosed):
        place = f" in {where}" if where else " here"
        return f"Preorders for this product{place} have closed. Join the waitlist instead."
    return error.detail


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _not_on_sale(error: NotOnSale) -> str:
    starts = _moment(error.extra.get("saleStartsAt"))
    if starts is not None and timezone.now() < starts:
        when = format_date(timezone.localtime(starts), "j M Y, H:i:s T")
        return f"Not on sale yet: it opens {when}. Reserve turns on by itself then."
    return "This sale has ended, so it can no longer be reserved."


def _limit_reached(error: LimitReached) -> str:
    limit, held = error.extra.get("limit"), error.extra.get("alreadyHeld", 0)
    if limit is None:
        return error.detail
    if held >= limit:
        return (
            f"Limit {limit} per customer: you already hold {held}. "
            "Check out or cancel a hold in My reservations to hold more."
        )
    return f"Limit {limit} per customer: you hold {held}, so you can add {limit - held} more."


def _preorder_places(error: PreorderLimitReached, where: str | None) -> str:
    left, place = error.extra.get("remaining", 0), f" in {where}" if where else ""
    if left <= 0:
        return f"Preorders{place} just filled up. Join the waitlist to hear when units are back."
    places = "place" if left == 1 else "places"
    return f"Only {left} preorder {places} left{place}: lower the quantity to preorder."

"""The limits every hold keeps, read from settings: how long it lasts and how many units."""

from datetime import timedelta

from django.conf import settings

from reservations.errors import InvalidQuantity


def hold_seconds(reservation=None) -> int:
    """How long a hold lasts, and what an extension adds: its own (fixed when it was made, by
    its product's sale policy), else RESERVATION_TTL_SECONDS."""
    return getattr(reservation, "hold_seconds", None) or settings.RESERVATION_TTL_SECONDS


def hold_ttl(reservation=None) -> timedelta:
    """hold_seconds as a timedelta."""
    return timedelta(seconds=hold_seconds(reservation))


def check_quantity(quantity: int) -> None:
    """Raise InvalidQuantity unless 1 <= quantity <= MAX_QUANTITY_PER_RESERVATION."""
    limit = settings.MAX_QUANTITY_PER_RESERVATION
    if not 1 <= quantity <= limit:
        raise InvalidQuantity(f"quantity must be between 1 and {limit}.")

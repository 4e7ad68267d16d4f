"""What every storefront page's header and footer show."""

from django.conf import settings
from django.http import HttpRequest

from storefront import cart


def hold_minutes() -> int:
    """How long a hold lasts, in whole minutes, as pages tell shoppers."""
    return settings.RESERVATION_TTL_SECONDS // 60


def header(request: HttpRequest) -> dict:
    """The cart's unit count for the header's badge (no query: the cart is in the session),
    and how long a hold lasts, for the footer."""
    return {"cart_units": cart.unit_count(request), "hold_minutes": hold_minutes()}

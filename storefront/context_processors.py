"""What every storefront page's header shows."""

from django.http import HttpRequest

from storefront import cart


def header(request: HttpRequest) -> dict:
    """The cart's unit count for the header's badge (no query: the cart is in the session)."""
    return {"cart_units": cart.unit_count(request)}

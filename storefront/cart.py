"""The shopper's cart, kept in the session until "Hold all" turns it into holds.

A line is a product, optionally a warehouse (None: the nearest that has it), and a quantity.
Lines for the same product and warehouse add up. Nothing here touches stock: only holding
the cart (reservations.services.carts.reserve_cart) does.
"""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

SESSION_KEY = "stockd_cart"


@dataclass(frozen=True)
class Line:
    product_id: int
    warehouse_id: int | None
    quantity: int


def lines(request: HttpRequest) -> list[Line]:
    """Return the cart's lines, in the order they were added."""
    return [
        Line(int(raw["product"]), raw["warehouse"], int(raw["quantity"]))
        for raw in request.session.get(SESSION_KEY, [])
    ]


def _save(request: HttpRequest, cart: list[Line]) -> None:
    request.session[SESSION_KEY] = [
        {"product": line.product_id, "warehouse": line.warehouse_id, "quantity": line.quantity}
        for line in cart
    ]


def add(request: HttpRequest, *, product_id: int, warehouse_id: int | None, quantity: int) -> None:
    """Add units of a product to the cart (to its line, if it has one), up to the limit."""
    cart = lines(request)
    limit = settings.MAX_QUANTITY_PER_RESERVATION
    for index, line in enumerate(cart):
        if (line.product_id, line.warehouse_id) == (product_id, warehouse_id):
            cart[index] = Line(product_id, warehouse_id, min(limit, line.quantity + quantity))
            break
    else:
        cart.append(Line(product_id, warehouse_id, min(limit, quantity)))
    _save(request, cart)


def set_quantity(request: HttpRequest, *, index: int, quantity: int) -> None:
    """Change the quantity of the line at `index` (an index out of range changes nothing)."""
    cart = lines(request)
    if 0 <= index < len(cart):
        line = cart[index]
        cart[index] = Line(line.product_id, line.warehouse_id, quantity)
        _save(request, cart)


def remove(request: HttpRequest, *, index: int) -> None:
    """Take the line at `index` out of the cart (out of range: nothing)."""
    cart = lines(request)
    if 0 <= index < len(cart):
        del cart[index]
        _save(request, cart)


def clear(request: HttpRequest) -> None:
    """Empty the cart (once it is held)."""
    request.session.pop(SESSION_KEY, None)


def unit_count(request: HttpRequest) -> int:
    """How many units the cart holds, for the header's badge."""
    return sum(line.quantity for line in lines(request))

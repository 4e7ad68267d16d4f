"""A held cart's checkout page: every hold, the time left, confirm, cancel or hold again."""

import math
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods

from core.errors import NotFound, StockdError
from reservations import guests
from reservations.models import Reservation
from reservations.planning import CartLine
from reservations.services import carts
from storefront import cart
from storefront.error_messages import friendly
from storefront.forms.cart import CartCheckoutActionForm
from storefront.hold_limits import refused_over_rate
from storefront.views import cart as cart_page
from storefront.views.partials import wants_partial

Status = Reservation.Status


@dataclass(frozen=True)
class HeldLine:
    hold: Reservation

    @property
    def subtotal(self) -> Decimal:
        return self.hold.product.price * self.hold.quantity


def _cart_holds(cart_id: uuid.UUID, user) -> list[Reservation]:
    """Return the cart's holds (due ones expired first), or answer 404."""
    try:
        return carts.get_cart(cart_id=cart_id, user=user)
    except NotFound:
        raise Http404("No such cart.") from None


def _cart_state(holds: list[Reservation]) -> str:
    """Say where a cart is: pending, confirmed, expired (a hold ran out) or cancelled."""
    statuses = {hold.status for hold in holds}
    if statuses == {Status.PENDING}:
        return "pending"
    if Status.CONFIRMED in statuses:
        return "confirmed"
    if any(hold.release_reason == Reservation.ReleaseReason.EXPIRED for hold in holds):
        return "expired"
    return "cancelled"


def _render_cart_checkout(
    request: HttpRequest, cart_id: uuid.UUID, *, status: int = 200, error_message: str = ""
) -> HttpResponse:
    holds = _cart_holds(cart_id, request.user)
    state = _cart_state(holds)
    pending = [hold for hold in holds if hold.status == Status.PENDING]
    expires_at = min((hold.expires_at for hold in pending), default=None)
    # Rounded up, so a countdown in the browser ends at or after the expiry, never before it.
    now = timezone.now()
    seconds_left = math.ceil((expires_at - now).total_seconds()) if expires_at else 0
    seconds_left = max(0, seconds_left)
    ttl = settings.RESERVATION_TTL_SECONDS
    lines = [HeldLine(hold) for hold in holds]
    partial = wants_partial(request)
    context = {
        "cart_id": cart_id,
        "lines": lines,
        "state": state,
        "units": sum(hold.quantity for hold in holds),
        "total": sum((line.subtotal for line in lines), Decimal(0)),
        "warehouses": len({hold.warehouse_id for hold in holds}),
        "expires_at": expires_at,
        "server_now": now,
        "seconds_left": seconds_left,
        "time_left": f"{seconds_left // 60:02d}:{seconds_left % 60:02d}",
        "ttl_seconds": ttl,
        "percent_left": min(100, round(100 * seconds_left / ttl)) if ttl else 0,
        "error_message": error_message,
        "partial": partial,
    }
    template = "storefront/cart_checkout.html"
    if partial:
        template += "#cart-checkout"
    response = render(request, template, context, status=200 if partial else status)
    patch_vary_headers(response, ["HX-Request"])
    return response


_CART_ACTIONS = {
    "confirm": (carts.confirm_cart, "Your order is confirmed. Thank you!"),
    "release": (carts.release_cart, "Your holds are cancelled; the units went back on sale."),
}


@require_http_methods(["GET", "POST"])
def cart_checkout(request: HttpRequest, cart_id: uuid.UUID) -> HttpResponse:
    """Show a held cart with the time left; POST confirms, cancels or holds it again."""
    if request.method == "GET":
        return _render_cart_checkout(request, cart_id)
    form = CartCheckoutActionForm(request.POST)
    if not form.is_valid():
        error_message = " ".join(form.errors.get("action", ["Choose what to do with the cart."]))
        return _render_cart_checkout(request, cart_id, status=400, error_message=error_message)
    action = form.cleaned_data["action"]
    if action == "again":
        return _hold_again(request, cart_id)
    service, done = _CART_ACTIONS[action]
    try:
        service(cart_id=cart_id, user=request.user)
        messages.success(request, done)
    except NotFound:
        raise Http404("No such cart.") from None
    except StockdError as refused:
        messages.error(request, friendly(refused))
    return redirect("cart-checkout", cart_id=cart_id)


def _hold_again(request: HttpRequest, cart_id: uuid.UUID) -> HttpResponse:
    """Release what is left of a cart and hold its lines anew, as a new cart.

    If the lines cannot all be held now, put them back in the shopper's cart and say why.
    """
    holds = _cart_holds(cart_id, request.user)
    if any(hold.status == Status.CONFIRMED for hold in holds):
        messages.info(request, "This cart is already bought, so there is nothing to hold again.")
        return redirect("cart-checkout", cart_id=cart_id)
    if (over_rate := refused_over_rate(request)) is not None:
        return over_rate  # before the release: over the limit, the cart keeps what it holds
    try:
        carts.release_cart(cart_id=cart_id, user=request.user)
    except NotFound:
        raise Http404("No such cart.") from None
    except StockdError as refused:
        messages.error(request, friendly(refused))
        return redirect("cart-checkout", cart_id=cart_id)
    lines = [CartLine(hold.product_id, hold.warehouse_id, hold.quantity) for hold in holds]
    guest = guests.guest_id_for_new_hold(request)
    try:
        held = carts.reserve_cart(
            lines=lines, origin=cart_page.origin(request), user=request.user, guest_id=guest
        )
    except StockdError as refused:
        for line in lines:
            cart.add(
                request,
                product_id=line.product_id,
                warehouse_id=line.warehouse_id,
                quantity=line.quantity,
            )
        shown = cart_page.shown_lines(cart.lines(request))
        _, sentence = cart_page.cart_error(refused, shown, allow_split=False)
        messages.error(request, f"Nothing was held. {sentence} Your items are back in your cart.")
        return redirect("cart")
    messages.success(request, "Held again: the clock starts anew.")
    response = redirect("cart-checkout", cart_id=held.cart_id)
    guests.remember_guest(request, response, guest)
    return response

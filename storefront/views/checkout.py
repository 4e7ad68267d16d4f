"""A hold's checkout page: what is held where, the time left, extend once, pay and confirm, cancel.

The server's clock is the truth. The page carries the seconds left as the server counts them
(static/js/countdown.js counts down from that number, never from the browser's wall clock), and
reading a hold whose time is up expires it (transitions.get_reservation), so the refresh the
countdown asks for at zero answers the expired state.
"""

import math
import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from core.errors import NotFound, StockdError
from reservations.errors import ReservationExpired
from reservations.models import Reservation
from reservations.policy import hold_seconds
from reservations.services import transitions
from storefront.error_messages import friendly
from storefront.forms.checkout import CheckoutActionForm, PaymentForm
from storefront.views.partials import wants_partial

Status = Reservation.Status
Reason = Reservation.ReleaseReason

# The countdown turns red (and says so) when this little time is left.
ENDING_SECONDS = 60

# The page's heading and title in each state (_state).
HEADINGS = {
    "pending": "Checkout",
    "confirmed": "Order confirmed",
    "expired": "Hold expired",
    "cancelled": "Hold cancelled",
    "released": "Hold released",
}


@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest, reservation_id: uuid.UUID) -> HttpResponse:
    """Show a hold with the time left (htmx gets the #checkout partial).

    POST extends or cancels it and redirects back; an error becomes a friendly message.
    Raise Http404 for an unknown hold or one that belongs to another shopper.
    """
    if request.method == "POST":
        return _act(request, reservation_id)
    return _page(request, _visible_hold(request, reservation_id), partial="checkout")


@never_cache
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, reservation_id: uuid.UUID) -> HttpResponse:
    """Show the (simulated) payment step of a live hold (htmx gets #checkout-actions).

    POST with a payment method confirms the hold and redirects to its checkout page; without
    one, show the step again with the error beside the field and change nothing. A hold that
    is no longer pending has nothing to pay: go back to its checkout page, which says why.
    """
    form = PaymentForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        return _confirm(request, reservation_id, method=form.cleaned_data["method"])
    reservation = _visible_hold(request, reservation_id)
    if reservation.status != Status.PENDING:
        url = reverse("checkout", kwargs={"reservation_id": reservation_id})
        return HttpResponseClientRedirect(url) if wants_partial(request) else redirect(url)
    return _page(request, reservation, paying=True, form=form, partial="checkout-actions")


def _visible_hold(request: HttpRequest, reservation_id: uuid.UUID) -> Reservation:
    """Return the hold if this shopper may see it (expiring it if its time is up), else 404."""
    try:
        return transitions.get_reservation(reservation_id=reservation_id, user=request.user)
    except NotFound:
        raise Http404("No such reservation.") from None


def _act(request: HttpRequest, reservation_id: uuid.UUID) -> HttpResponse:
    """Extend or cancel the hold as the form asks, say how it went, and redirect back."""
    form = CheckoutActionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown checkout action: send action=extend or release.")
    try:
        if form.cleaned_data["action"] == "extend":
            hold = transitions.extend(reservation_id=reservation_id, user=request.user)
            messages.success(request, f"Your hold is extended by {_duration(hold_seconds(hold))}.")
        else:
            hold = transitions.release(reservation_id=reservation_id, user=request.user)
            if hold.release_reason == Reason.EXPIRED:
                messages.error(request, friendly(ReservationExpired()))
            else:
                messages.success(request, "Your hold is cancelled and its units went back on sale.")
    except NotFound:
        raise Http404("No such reservation.") from None
    except StockdError as refused:
        messages.error(request, friendly(refused))
    return redirect("checkout", reservation_id=reservation_id)


def _confirm(request: HttpRequest, reservation_id: uuid.UUID, *, method: str) -> HttpResponse:
    """Confirm the hold once "paid", say how it went, and go to its checkout page (htmx: the
    whole page, whose heading, title and message all change)."""
    try:
        transitions.confirm(reservation_id=reservation_id, user=request.user)
    except NotFound:
        raise Http404("No such reservation.") from None
    except StockdError as refused:
        messages.error(request, friendly(refused))
    else:
        paid_by = dict(PaymentForm.base_fields["method"].choices)[method]
        messages.success(request, f"Payment received ({paid_by}). Your order is confirmed.")
    url = reverse("checkout", kwargs={"reservation_id": reservation_id})
    return HttpResponseClientRedirect(url) if wants_partial(request) else redirect(url)


def _page(
    request: HttpRequest,
    reservation: Reservation,
    *,
    partial: str,
    paying: bool = False,
    form: PaymentForm | None = None,
) -> HttpResponse:
    """Render the checkout page, or only `partial` for htmx, with the time left by the server."""
    now = timezone.now()
    seconds_left = 0
    if reservation.status == Status.PENDING:
        # Rounded up: a live hold always shows at least one second, so the countdown's
        # zero never comes before the server's expiry.
        seconds_left = max(0, math.ceil((reservation.expires_at - now).total_seconds()))
    state = _state(reservation)
    context = {
        "reservation": reservation,
        "state": state,
        "heading": HEADINGS[state],
        "total": reservation.product.price * reservation.quantity,
        "server_now": now,
        "seconds_left": seconds_left,
        "hold_seconds": max(hold_seconds(reservation), seconds_left),
        "clock": _clock(seconds_left),
        "time_left": _duration(seconds_left),
        "ending": seconds_left <= ENDING_SECONDS,
        "ending_seconds": ENDING_SECONDS,
        "extend_by": _duration(hold_seconds(reservation)),
        "paying": paying,
        "form": form,
        "swapped": wants_partial(request),
    }
    template = "storefront/checkout.html"
    if context["swapped"]:
        template += f"#{partial}"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _state(reservation: Reservation) -> str:
    """Name the page's state: pending, confirmed, expired, cancelled, or released (otherwise)."""
    if reservation.status == Status.RELEASED:
        return {Reason.EXPIRED: "expired", Reason.CANCELLED: "cancelled"}.get(
            reservation.release_reason, "released"
        )
    return reservation.status.lower()


def _clock(seconds: int) -> str:
    """Show seconds as a clock: 09:53, or 1:02:03 from an hour up."""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def _duration(seconds: int) -> str:
    """Say a span of time in words: "10 minutes", "9 minutes 53 seconds", "3 seconds"."""
    minutes, seconds = divmod(seconds, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if seconds or not minutes:
        parts.append(f"{seconds} second{'s' if seconds != 1 else ''}")
    return " ".join(parts)

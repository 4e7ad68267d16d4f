"""A hold's checkout page: what is held where, the time left, extend, confirm and cancel."""

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.errors import NotFound, StockdError
from reservations.services import transitions
from storefront.forms.checkout import CheckoutActionForm

_CHECKOUT_ACTIONS = {
    "confirm": (transitions.confirm, "Your order is confirmed."),
    "release": (transitions.release, "The hold is cancelled; its units went back to stock."),
    "extend": (transitions.extend, "The hold is extended."),
}


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest, reservation_id: uuid.UUID) -> HttpResponse:
    """Show a hold with the time left; POST confirms, cancels or extends it, then redirects."""
    if request.method == "POST":
        form = CheckoutActionForm(request.POST)
        if not form.is_valid():
            return HttpResponse("Unknown checkout action.", status=400)
        service, done = _CHECKOUT_ACTIONS[form.cleaned_data["action"]]
        try:
            service(reservation_id=reservation_id, user=request.user)
            messages.success(request, done)
        except NotFound:
            raise Http404("No such reservation.") from None
        except StockdError as refused:
            messages.error(request, refused.detail)
        return redirect("checkout", reservation_id=reservation_id)
    try:
        reservation = transitions.get_reservation(reservation_id=reservation_id, user=request.user)
    except NotFound:
        raise Http404("No such reservation.") from None
    return render(request, "storefront/checkout.html", {"reservation": reservation})

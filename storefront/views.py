"""Storefront pages, rendered on the server; htmx swaps their named partials in place."""

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import NotFound, StockdError
from inventory.selectors import CatalogueFilters, category_names, product_list
from reservations.services import transitions
from storefront.forms import CatalogueFilterForm, CheckoutActionForm
from warehouses.models import Warehouse


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """Show the catalogue, filtered by category and search; htmx gets only the list."""
    form = CatalogueFilterForm(request.GET)
    cleaned = form.cleaned_data if form.is_valid() else {}
    filters = CatalogueFilters(category=cleaned.get("category", ""), search=cleaned.get("q", ""))
    products, total = product_list(filters=filters)
    context = {
        "form": form,
        "filters": filters,
        "products": products,
        "total": total,
        "categories": category_names(),
        "warehouses": Warehouse.objects.active().order_by("id"),
    }
    template = "storefront/catalogue.html"
    if _wants_partial(request):
        template += "#catalogue-results"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


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

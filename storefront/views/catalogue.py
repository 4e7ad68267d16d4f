"""The catalogue: search, category filter, a "deliver to" place and every product's stock."""

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from inventory.models import Inventory, Product
from inventory.selectors import CatalogueFilters, category_names, product_list
from storefront import places
from storefront.forms.catalogue import CatalogueFilterForm, DeliverToForm
from storefront.views.partials import wants_partial
from warehouses.models import Warehouse
from warehouses.routing import Location, distance_km


@dataclass(frozen=True)
class Card:
    """A product as its catalogue card shows it: stock per warehouse, the nearest first."""

    product: Product
    stock: list[Inventory]

    @property
    def sold_out(self) -> bool:
        return self.product.total_available == 0


def _warehouse_order(warehouses: list[Warehouse], origin: Location | None) -> dict[int, float]:
    """Rank warehouses nearest first from `origin` (by id without one)."""
    if origin is None:
        return {w.id: w.id for w in warehouses}
    return {w.id: distance_km(origin, Location(w.lat, w.lng)) for w in warehouses}


def _cards(products: list[Product], rank: dict[int, float]) -> list[Card]:
    return [
        Card(p, sorted(p.inventory.all(), key=lambda row: rank.get(row.warehouse_id, 0)))
        for p in products
    ]


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """Show the catalogue, filtered by category and search; htmx gets only the list."""
    form = CatalogueFilterForm(request.GET)
    cleaned = form.cleaned_data if form.is_valid() else {}
    filters = CatalogueFilters(category=cleaned.get("category", ""), search=cleaned.get("q", ""))
    products, total = product_list(filters=filters, may_lag=True)  # the replica may serve it
    deliver_to = places.current(request)
    warehouses = list(Warehouse.objects.active())
    rank = _warehouse_order(warehouses, deliver_to.location if deliver_to else None)
    context = {
        "form": form,
        "filters": filters,
        "cards": _cards(products, rank),
        "total": total,
        "categories": category_names(),
        "deliver_to": deliver_to,
        "deliver_form": DeliverToForm(initial={"place": ""}),
        "nearest": min(warehouses, key=lambda w: rank[w.id]) if deliver_to else None,
    }
    template = "storefront/catalogue.html"
    if wants_partial(request):
        template += "#catalogue-results"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
def deliver_to(request: HttpRequest) -> HttpResponse:
    """Remember where the shopper wants things delivered; back to the catalogue."""
    form = DeliverToForm(request.POST)
    if form.is_valid():
        places.remember(request, form.cleaned_data["deliver_to"])
        messages.success(request, f"Delivering to {form.cleaned_data['deliver_to'].label}.")
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("catalogue")

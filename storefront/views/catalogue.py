"""The catalogue: search, category filter, a "deliver to" place and every product's stock."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from inventory.selectors import CatalogueFilters, category_names
from storefront import places
from storefront.cards import CatalogueResults, distance_from
from storefront.forms.catalogue import CatalogueFilterForm, DeliverToForm
from storefront.views.partials import wants_partial
from warehouses.models import Warehouse


def catalogue_url(query: dict[str, str]) -> str:
    """The catalogue's URL with these filters (none: the bare URL)."""
    url = reverse("catalogue")
    return f"{url}?{urlencode(query)}" if query else url


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """Show the catalogue, filtered by category and search; htmx gets only the list.

    A blank filter ("?q=&category=", a cleared search box) redirects to the URL without it.
    """
    if CatalogueFilterForm.has_blank(request.GET):
        return redirect(catalogue_url(CatalogueFilterForm.query_of(request.GET)))
    form = CatalogueFilterForm(request.GET)
    cleaned = form.cleaned_data if form.is_valid() else {}
    filters = CatalogueFilters(category=cleaned.get("category", ""), search=cleaned.get("q", ""))
    deliver_to = places.current(request)
    nearest = None
    if deliver_to is not None:
        nearest = min(
            Warehouse.objects.active(),
            key=lambda warehouse: distance_from(deliver_to, warehouse),
            default=None,
        )
    # The head, the categories and the list are fragments cached for CATALOGUE_CACHE_SECONDS:
    # their queries run (the template calls these) only when a fragment is rendered.
    context = {
        "form": form,
        "filters": filters,
        "results": CatalogueResults(filters, deliver_to),
        "results_seconds": settings.CATALOGUE_CACHE_SECONDS,
        "warehouses": Warehouse.objects.active,
        "categories": category_names,
        "deliver_to": deliver_to,
        "deliver_form": DeliverToForm(initial={"place": ""}),
        "nearest": nearest,
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

"""The catalogue: search, category filter, a "deliver to" place and every product's stock."""

from functools import partial
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from inventory.selectors import CatalogueFilters, category_names
from storefront import places
from storefront.cards import CatalogueResults, distance_from
from storefront.context_processors import hold_minutes
from storefront.forms.catalogue import CatalogueFilterForm, DeliverToForm
from storefront.fragments import shared_fragment
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
    results = CatalogueResults(filters, deliver_to)
    # The heading and the list are shared for a second (storefront.fragments); the template
    # calls these when it shows them (htmx's partial shows only the list).
    context = {
        "form": form,
        "filters": filters,
        "head_html": partial(shared_fragment, "catalogue-head", _render_head),
        "list_html": partial(
            shared_fragment, f"catalogue-list:{results.cache_key}", partial(_render_list, results)
        ),
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


def _render_list(results: CatalogueResults) -> SafeString:
    return render_to_string(
        "storefront/_catalogue_list.html",
        {"filters": results.filters, "results": results, "categories": category_names()},
    )


def _render_head() -> SafeString:
    return render_to_string(
        "storefront/_catalogue_head.html",
        {"warehouse_count": Warehouse.objects.active().count(), "hold_minutes": hold_minutes()},
    )


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

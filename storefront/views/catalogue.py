"""The catalogue: search, category filter and every product's stock."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from inventory.selectors import CatalogueFilters, category_names, product_list
from storefront.forms.catalogue import CatalogueFilterForm
from storefront.views.partials import wants_partial
from warehouses.models import Warehouse


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
    if wants_partial(request):
        template += "#catalogue-results"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response

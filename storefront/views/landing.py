"""The landing page: what stockd promises, the shop's live figures, its categories, and
products worth a look (the most held right now, and those nearly gone)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from inventory.selectors import (
    catalogue_figures,
    category_summaries,
    in_demand_products,
    scarce_products,
)
from storefront import places
from storefront.cards import cards_for
from storefront.forms.catalogue import CatalogueFilterForm
from storefront.views.catalogue import catalogue_url

SHOWN = 4  # products in each of the landing page's rows
ALMOST_SOLD_OUT = 10  # "almost sold out": this many units left or fewer, over every warehouse


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Show the landing page; an old catalogue link ("/?q=…&category=…") goes to the catalogue."""
    if set(request.GET) & set(CatalogueFilterForm.base_fields):
        return redirect(catalogue_url(CatalogueFilterForm.query_of(request.GET)))
    deliver_to = places.current(request)
    return render(
        request,
        "storefront/home.html",
        {
            "figures": catalogue_figures(may_lag=True),
            "categories": category_summaries(may_lag=True),
            "in_demand": cards_for(in_demand_products(limit=SHOWN, may_lag=True), deliver_to),
            "almost_gone": cards_for(
                scarce_products(at_most=ALMOST_SOLD_OUT, limit=SHOWN, may_lag=True), deliver_to
            ),
            "almost_gone_lead": (
                f"{ALMOST_SOLD_OUT} units left or fewer, over every warehouse. "
                "Hold one before it goes."
            ),
            "deliver_to": deliver_to,
        },
    )

"""Inventory management: set a row's total (compare-and-set) and its low-stock threshold."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from console.access import staff_required
from console.inventory.forms import InventoryFilterForm, SetTotalForm, StatesForm, ThresholdForm
from core.errors import StockdError
from core.links import safe_next
from inventory.errors import StockNotFound
from inventory.models import Inventory
from inventory.selectors import StaffStockFilters, all_category_names, staff_stock_rows
from reservations.access import actor_for
from reservations.services.stock import set_alert_threshold, set_total
from reservations.services.stock_states import set_states

ROWS_PER_PAGE = 50
ROW_TEMPLATE = "console/inventory/rows.html#inventory-row"


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the page the form was on (its `next` field), else the inventory page.

    The target is a URL, never a URL name: redirect() would try to reverse a `next` such as
    "x" and fail with a 500.
    """
    target = safe_next(request)
    return HttpResponseRedirect(target) if target else redirect("console-inventory")


def _row(inventory_id: int) -> Inventory:
    """Load one stock row as the page shows it; raise StockNotFound if there is none."""
    row = staff_stock_rows(filters=StaffStockFilters()).filter(pk=inventory_id).first()
    if row is None:
        raise StockNotFound(f"No stock row {inventory_id}.")
    return row


def _page(
    request: HttpRequest, params: QueryDict, *, partial: bool = False, status: int = 200
) -> HttpResponse:
    form = InventoryFilterForm(params)
    filters = form.filters()
    page = Paginator(staff_stock_rows(filters=filters), ROWS_PER_PAGE).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "categories": all_category_names(),
        "query": query.urlencode(),
        "next": f"{reverse('console-inventory')}?{params.urlencode()}",
    }
    template = "console/inventory/rows.html"
    if partial:
        template += "#inventory-rows"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@staff_required
def inventory(request: HttpRequest) -> HttpResponse:
    """List stock rows, filtered and paged, each with a total and a threshold form."""
    return _page(request, request.GET, partial=_wants_partial(request))


def _answer_row(
    request: HttpRequest, inventory_id: int, *, note: str, error: StockdError | None = None
) -> HttpResponse:
    """Answer a row form: htmx gets the row again (with the note), a browser a redirect."""
    status = int(error.status) if error else 200
    if not _wants_partial(request):
        if error is None:
            messages.success(request, note)
            return _back(request)
        # Stay on the page with the error and its status: nothing was written.
        messages.error(request, note)
        params = QueryDict(urlsplit(request.POST.get("next", "")).query)
        return _page(request, params, status=status)
    try:
        row = _row(inventory_id)
    except StockNotFound:
        return HttpResponse(
            format_html('<tr id="row-{}"><td colspan="6">{}</td></tr>', inventory_id, note),
            status=404,
        )
    context = {
        "row": row,
        "note": note,
        "failed": error is not None,
        "next": request.POST.get("next", ""),
    }
    return render(request, ROW_TEMPLATE, context, status=status)


def _form_errors(form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


@require_POST
@staff_required
def set_row_total(request: HttpRequest, inventory_id: int) -> HttpResponse:
    """Set a row's total if it still is the total the editor saw (else 409, nothing written)."""
    form = SetTotalForm(request.POST)
    if not form.is_valid():
        return _answer_row(
            request, inventory_id, note=_form_errors(form), error=StockdError("Invalid input.")
        )
    data = form.cleaned_data
    try:
        row = set_total(
            inventory_id=inventory_id,
            total=data["total"],
            expected_total=data["expected_total"],
            reason=data["reason"],
            actor=actor_for(request.user),
        )
    except StockdError as error:
        return _answer_row(request, inventory_id, note=error.detail, error=error)
    before = data["expected_total"]
    if before == row.total_stock:
        note = f"Total unchanged at {before}."
    else:
        note = f"Total {before} → {row.total_stock}."
    return _answer_row(request, inventory_id, note=note)


@require_POST
@staff_required
def set_row_states(request: HttpRequest, inventory_id: int) -> HttpResponse:
    """Set a row's safety, unsellable and incoming units if it is still at the version the
    editor saw (else 409, nothing written); one COUNTED ledger entry."""
    form = StatesForm(request.POST)
    if not form.is_valid():
        return _answer_row(
            request, inventory_id, note=_form_errors(form), error=StockdError("Invalid input.")
        )
    data = form.cleaned_data
    try:
        row = _row(inventory_id)
        set_states(
            (row.product_id, row.warehouse_id),
            {state: data[state] for state in ("safety", "unsellable", "incoming")},
            expected_version=data["expected_version"],
            actor=actor_for(request.user),
            reference=data["reason"],
        )
    except StockdError as error:
        return _answer_row(request, inventory_id, note=error.detail, error=error)
    note = (
        f"Saved: {data['safety']} safety, {data['unsellable']} unsellable, "
        f"{data['incoming']} incoming."
    )
    return _answer_row(request, inventory_id, note=note)


@require_POST
@staff_required
def set_row_threshold(request: HttpRequest, inventory_id: int) -> HttpResponse:
    """Set a row's low-stock threshold (blank: the LOW_STOCK_THRESHOLD setting)."""
    form = ThresholdForm(request.POST)
    if not form.is_valid():
        return _answer_row(
            request, inventory_id, note=_form_errors(form), error=StockdError("Invalid input.")
        )
    threshold = form.cleaned_data["threshold"]
    try:
        set_alert_threshold(inventory_id=inventory_id, threshold=threshold)
    except StockdError as error:
        return _answer_row(request, inventory_id, note=error.detail, error=error)
    note = "Alert threshold: the default." if threshold is None else f"Alert at {threshold}."
    return _answer_row(request, inventory_id, note=note)

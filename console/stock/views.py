"""The stock matrix: every product in every warehouse, refreshed live, and its CSV export."""

import csv

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from console.access import staff_required
from console.stock.forms import MatrixFilterForm
from inventory.selectors import all_category_names, staff_stock_rows, stock_matrix

REFRESH_SECONDS = 5
CSV_COLUMNS = [
    "sku",
    "product",
    "category",
    "warehouse",
    "city",
    "total_stock",
    "reserved_stock",
    "safety_stock",
    "unsellable_stock",
    "incoming_stock",
    "available",
    "alert_at",
    "status",
]


@require_GET
@staff_required
def matrix(request: HttpRequest) -> HttpResponse:
    """Show the product x warehouse matrix, filtered; htmx (the live refresh) gets the table."""
    form = MatrixFilterForm(request.GET)
    filters = form.filters()
    matrix = stock_matrix(filters=filters)
    context = {
        "form": form,
        "filters": filters,
        "matrix": matrix,
        "warehouse_totals": list(zip(matrix.warehouses, matrix.column_totals, strict=True)),
        "categories": all_category_names(),
        "query": request.GET.urlencode(),
        "refresh_seconds": REFRESH_SECONDS,
        "now": timezone.now(),
    }
    template = "console/stock/matrix.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#stock-matrix"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _text(value: str) -> str:
    """Keep a spreadsheet from reading text as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _status(row) -> str:
    if row.stock_empty:
        return "empty"
    return "low" if row.stock_low else "ok"


@require_GET
@staff_required
def matrix_csv(request: HttpRequest) -> HttpResponse:
    """Download the filtered matrix as CSV, a line per stock row (importable back)."""
    filters = MatrixFilterForm(request.GET).filters()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="stockd-stock-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in staff_stock_rows(filters=filters):
        writer.writerow(
            [
                _text(row.product.sku),
                _text(row.product.name),
                _text(row.product.category),
                _text(row.warehouse.code),
                _text(row.warehouse.city),
                row.total_stock,
                row.reserved_stock,
                row.safety_stock,
                row.unsellable_stock,
                row.incoming_stock,
                row.available_units,
                row.alert_at,
                _status(row),
            ]
        )
    return response

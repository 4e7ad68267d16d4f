"""Add and edit products and warehouses; a new one gets an empty stock row per counterpart."""

from django.contrib import messages
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from console.access import staff_required
from console.inventory.forms import ProductForm, WarehouseForm
from inventory.models import Product
from reservations.services.stock import open_stock_rows
from warehouses.models import Warehouse

FORM_TEMPLATE = "console/inventory/edit.html"
# The tab and the list page (its route) of each kind of object the form edits.
_LIST_OF = {
    Product: ("products", "console-products"),
    Warehouse: ("warehouses", "console-warehouses"),
}


@require_GET
@staff_required
def products(request: HttpRequest) -> HttpResponse:
    """List every product, active or not, with a link to edit it."""
    context = {"tab": "products", "products": Product.objects.order_by("category", "name", "id")}
    return render(request, "console/inventory/products.html", context)


@require_GET
@staff_required
def warehouses(request: HttpRequest) -> HttpResponse:
    """List every warehouse, active or not, with a link to edit it."""
    context = {"tab": "warehouses", "warehouses": Warehouse.objects.order_by("id")}
    return render(request, "console/inventory/warehouses.html", context)


def _edit(request: HttpRequest, form: ModelForm, *, title: str) -> HttpResponse:
    """Save a valid form (a new object also gets its empty stock rows); else show the errors."""
    tab, list_route = _LIST_OF[type(form.instance)]
    creating = form.instance.pk is None
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
            if creating and isinstance(saved, Product):
                open_stock_rows(product_ids=[saved.pk])
            elif creating:
                open_stock_rows(warehouse_ids=[saved.pk])
        messages.success(request, f"{'Added' if creating else 'Saved'} {saved}.")
        return redirect(list_route)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "tab": tab, "title": title, "list_route": list_route}
    return render(request, FORM_TEMPLATE, context, status=status)


@require_http_methods(["GET", "POST"])
@staff_required
def product_add(request: HttpRequest) -> HttpResponse:
    """Add a product; it is stocked (0 units) in every warehouse."""
    form = ProductForm(request.POST or None)
    return _edit(request, form, title="Add a product")


@require_http_methods(["GET", "POST"])
@staff_required
def product_edit(request: HttpRequest, product_id: int) -> HttpResponse:
    """Edit a product's details (its stock is set on the stock rows)."""
    product = get_object_or_404(Product, pk=product_id)
    form = ProductForm(request.POST or None, instance=product)
    return _edit(request, form, title=f"Edit {product.name}")


@require_http_methods(["GET", "POST"])
@staff_required
def warehouse_add(request: HttpRequest) -> HttpResponse:
    """Add a warehouse; every product gets an empty stock row there."""
    form = WarehouseForm(request.POST or None)
    return _edit(request, form, title="Add a warehouse")


@require_http_methods(["GET", "POST"])
@staff_required
def warehouse_edit(request: HttpRequest, warehouse_id: int) -> HttpResponse:
    """Edit a warehouse: name, place, coordinates, active flag."""
    warehouse = get_object_or_404(Warehouse, pk=warehouse_id)
    form = WarehouseForm(request.POST or None, instance=warehouse)
    return _edit(request, form, title=f"Edit {warehouse.name}")

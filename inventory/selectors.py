"""Read paths of the catalogue. They never lock and never write."""

from dataclasses import dataclass

from django.db.models import F, IntegerField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from inventory.models import Inventory, Product
from warehouses.routing import Location, StockOption

_ACTIVE_STOCK = Q(inventory__warehouse__active=True)


@dataclass(frozen=True)
class CatalogueFilters:
    """What a shopper or API client narrows the catalogue by."""

    category: str = ""
    search: str = ""


def _filtered_products(filters: CatalogueFilters) -> QuerySet[Product]:
    products = Product.objects.active()
    if filters.category:
        products = products.filter(category__iexact=filters.category)
    if filters.search:
        term = filters.search
        products = products.filter(
            Q(name__icontains=term)
            | Q(brand__icontains=term)
            | Q(category__icontains=term)
            | Q(sku__icontains=term)
        )
    return products


def _with_stock(products: QuerySet[Product]) -> QuerySet[Product]:
    """Annotate total_available and prefetch stock rows annotated with available_units.

    Both figures are computed by PostgreSQL/SQLite, one query for the products and one for
    all their inventory rows, whatever the number of products.
    """
    stock_rows = (
        Inventory.objects.filter(warehouse__active=True)
        .select_related("warehouse")
        .with_available()
        .order_by("warehouse_id")
    )
    return products.annotate(
        total_available=Coalesce(
            Sum(
                F("inventory__total_stock") - F("inventory__reserved_stock"),
                filter=_ACTIVE_STOCK,
            ),
            Value(0),
            output_field=IntegerField(),
        )
    ).prefetch_related(Prefetch("inventory", queryset=stock_rows))


def product_list(
    *, filters: CatalogueFilters, limit: int | None = None, offset: int = 0
) -> tuple[list[Product], int]:
    """Return one page of active products by name, and how many match in all.

    Runs two queries for the whole catalogue, three for a slice of it (the count).
    """
    products = _filtered_products(filters).order_by("name", "id")
    if limit is None and offset == 0:
        page = list(_with_stock(products))
        return page, len(page)
    end = None if limit is None else offset + limit
    page = list(_with_stock(products[offset:end]))
    return page, products.count()


def product_detail(*, product_id: int) -> Product | None:
    """Return one active product with its stock, or None if there is none."""
    return _with_stock(Product.objects.active().filter(pk=product_id)).first()


def category_names() -> list[str]:
    """Return the categories of active products, sorted."""
    return list(
        Product.objects.active().order_by("category").values_list("category", flat=True).distinct()
    )


def available_units(*, product_id: int, warehouse_id: int) -> int | None:
    """Return the units available now of an active product in an active warehouse.

    None if the product is not stocked there (or either is inactive).
    """
    return (
        Inventory.objects.sellable()
        .with_available()
        .filter(product_id=product_id, warehouse_id=warehouse_id)
        .values_list("available_units", flat=True)
        .first()
    )


def stock_options(*, product_id: int) -> list[StockOption]:
    """Return where an active product is stocked (active warehouses), with units available."""
    rows = (
        Inventory.objects.sellable()
        .with_available()
        .filter(product_id=product_id)
        .values_list("warehouse_id", "warehouse__lat", "warehouse__lng", "available_units")
    )
    return [StockOption(w, Location(lat, lng), available) for w, lat, lng, available in rows]

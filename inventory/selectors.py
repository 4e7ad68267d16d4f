"""Read paths of the catalogue. They never lock and never write."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from core.serving.replicas import database_for
from inventory.errors import StockNotFound
from inventory.locks import StockKey
from inventory.models import AVAILABLE, Inventory, LedgerEntry, Product, available_expression
from warehouses.models import Warehouse
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
                available_expression("inventory__"),
                filter=_ACTIVE_STOCK,
            ),
            Value(0),
            output_field=IntegerField(),
        )
    ).prefetch_related(Prefetch("inventory", queryset=stock_rows))


def product_list(
    *, filters: CatalogueFilters, limit: int | None = None, offset: int = 0, may_lag: bool = False
) -> tuple[list[Product], int]:
    """Return one page of active products by name, and how many match in all.

    Runs two queries for the whole catalogue, three for a slice of it (the count). With
    `may_lag`, on the read replica when one is configured (core.serving.replicas).
    """
    products = (
        _filtered_products(filters).order_by("name", "id").using(database_for(may_lag=may_lag))
    )
    if limit is None and offset == 0:
        page = list(_with_stock(products))
        return page, len(page)
    end = None if limit is None else offset + limit
    page = list(_with_stock(products[offset:end]))
    return page, products.count()


def product_detail(*, product_id: int, may_lag: bool = False) -> Product | None:
    """Return one active product with its stock, or None if there is none.

    With `may_lag`, on the read replica when one is configured (core.serving.replicas).
    """
    products = Product.objects.active().filter(pk=product_id).using(database_for(may_lag=may_lag))
    return _with_stock(products).first()


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


@dataclass(frozen=True)
class StaffStockFilters:
    """What staff narrow the stock rows by; every product and warehouse, active or not."""

    category: str = ""
    search: str = ""
    warehouse_id: int | None = None
    low_only: bool = False


def staff_stock_rows(*, filters: StaffStockFilters) -> QuerySet[Inventory]:
    """Return stock rows by product name, then warehouse, with their figures from the database.

    Each row is annotated with available_units, alert_at (its low-stock threshold, else
    LOW_STOCK_THRESHOLD), stock_low (available_units <= alert_at) and stock_empty (nothing
    available), and comes with its product and warehouse: one query.
    """
    rows = Inventory.objects.select_related("product", "warehouse").with_available()
    rows = rows.annotate(
        alert_at=Coalesce(
            F("low_stock_threshold"),
            Value(settings.LOW_STOCK_THRESHOLD),
            output_field=IntegerField(),
        )
    ).annotate(
        stock_low=ExpressionWrapper(
            Q(available_units__lte=F("alert_at")), output_field=BooleanField()
        ),
        stock_empty=ExpressionWrapper(Q(available_units__lte=0), output_field=BooleanField()),
    )
    if filters.category:
        rows = rows.filter(product__category__iexact=filters.category)
    if filters.search:
        term = filters.search
        rows = rows.filter(
            Q(product__name__icontains=term)
            | Q(product__brand__icontains=term)
            | Q(product__sku__icontains=term)
            | Q(product__category__icontains=term)
        )
    if filters.warehouse_id is not None:
        rows = rows.filter(warehouse_id=filters.warehouse_id)
    if filters.low_only:
        rows = rows.filter(stock_low=True)
    return rows.order_by("product__name", "product_id", "warehouse_id")


@dataclass(frozen=True)
class MatrixLine:
    """One product's row of the stock matrix: a cell per warehouse (None: not stocked)."""

    product: Product
    cells: list[Inventory | None]
    total: int = 0
    reserved: int = 0
    available: int = 0


@dataclass(frozen=True)
class StockMatrix:
    """Products down, warehouses across, and the sums of every column."""

    warehouses: list[Warehouse]
    lines: list[MatrixLine]
    column_totals: list[dict[str, int]] = field(default_factory=list)
    low_cells: int = 0
    empty_cells: int = 0


def stock_matrix(*, filters: StaffStockFilters) -> StockMatrix:
    """Return the product x warehouse matrix of the filtered products, in two queries.

    Cells carry total, reserved and available units and the stock_low and stock_empty flags
    computed by staff_stock_rows.
    """
    warehouses = list(Warehouse.objects.order_by("id"))
    column = {w.id: index for index, w in enumerate(warehouses)}
    lines: dict[int, list] = {}
    products: dict[int, Product] = {}
    for row in staff_stock_rows(filters=filters):
        products.setdefault(row.product_id, row.product)
        cells = lines.setdefault(row.product_id, [None] * len(warehouses))
        cells[column[row.warehouse_id]] = row
    matrix_lines = []
    for product_id, cells in lines.items():
        stocked = [cell for cell in cells if cell is not None]
        matrix_lines.append(
            MatrixLine(
                product=products[product_id],
                cells=cells,
                total=sum(c.total_stock for c in stocked),
                reserved=sum(c.reserved_stock for c in stocked),
                available=sum(c.available_units for c in stocked),
            )
        )
    column_totals = []
    for index in range(len(warehouses)):
        stocked = [line.cells[index] for line in matrix_lines if line.cells[index] is not None]
        column_totals.append(
            {
                "total": sum(c.total_stock for c in stocked),
                "reserved": sum(c.reserved_stock for c in stocked),
                "available": sum(c.available_units for c in stocked),
            }
        )
    cells = [c for line in matrix_lines for c in line.cells if c is not None]
    return StockMatrix(
        warehouses=warehouses,
        lines=matrix_lines,
        column_totals=column_totals,
        low_cells=sum(1 for c in cells if c.stock_low and not c.stock_empty),
        empty_cells=sum(1 for c in cells if c.stock_empty),
    )


def all_category_names() -> list[str]:
    """Return the categories of every product, active or not, sorted."""
    return list(Product.objects.order_by("category").values_list("category", flat=True).distinct())


@dataclass(frozen=True)
class CatalogueFigures:
    """What the shop has right now, counted by the database."""

    products: int
    warehouses: int
    units_available: int


def catalogue_figures(*, may_lag: bool = False) -> CatalogueFigures:
    """Count active products, active warehouses and the units shoppers can hold now."""
    database = database_for(may_lag=may_lag)
    units = (
        Inventory.objects.using(database)
        .sellable()
        .aggregate(
            units=Coalesce(Sum(AVAILABLE), Value(0)),
        )["units"]
    )
    return CatalogueFigures(
        products=Product.objects.using(database).active().count(),
        warehouses=Warehouse.objects.using(database).active().count(),
        units_available=units,
    )


@dataclass(frozen=True)
class CategorySummary:
    """A category of active products: its name, how many, and a picture of one of them."""

    name: str
    products: int
    image: str  # a path under the static root, or ""


def category_summaries(*, may_lag: bool = False) -> list[CategorySummary]:
    """Return each category of active products with its product count, by name."""
    rows = (
        Product.objects.using(database_for(may_lag=may_lag))
        .active()
        .values_list("category")
        .annotate(products=Count("id"), image=Max("image"))
        .order_by("category")
    )
    return [CategorySummary(name, products, image) for name, products, image in rows]


def in_demand_products(*, limit: int, may_lag: bool = False) -> list[Product]:
    """Return in-stock active products with their stock, the most units held right now first."""
    products = _with_stock(Product.objects.active().using(database_for(may_lag=may_lag)))
    products = products.annotate(
        held=Coalesce(Sum("inventory__reserved_stock", filter=_ACTIVE_STOCK), Value(0))
    )
    return list(products.filter(total_available__gt=0).order_by("-held", "name", "id")[:limit])


def scarce_products(*, at_most: int, limit: int, may_lag: bool = False) -> list[Product]:
    """Return active products with 1 to `at_most` units left, with their stock, fewest first."""
    products = _with_stock(Product.objects.active().using(database_for(may_lag=may_lag)))
    return list(
        products.filter(total_available__gt=0, total_available__lte=at_most).order_by(
            "total_available", "name", "id"
        )[:limit]
    )


def stock_levels(*, product_id: int | None = None, warehouse_id: int | None = None):
    """Stock rows (of a product, of a warehouse, or one), by product then warehouse."""
    rows = Inventory.objects.order_by("product_id", "warehouse_id")
    if product_id is not None:
        rows = rows.filter(product_id=product_id)
    if warehouse_id is not None:
        rows = rows.filter(warehouse_id=warehouse_id)
    return rows


def ledger_page(key: StockKey, *, after: int, limit: int) -> tuple[list[LedgerEntry], bool]:
    """Up to `limit` of a row's ledger entries after sequence `after`, in order, and whether
    more follow. Raise StockNotFound for a row that does not exist."""
    row_id = (
        Inventory.objects.filter(product_id=key[0], warehouse_id=key[1])
        .values_list("pk", flat=True)
        .first()
    )
    if row_id is None:
        raise StockNotFound()
    entries = list(
        LedgerEntry.objects.filter(stock_id=row_id, sequence__gt=after).order_by("sequence")[
            : limit + 1
        ]
    )
    return entries[:limit], len(entries) > limit

"""Load the original stockd's warehouses and catalogue from fixtures/, idempotently."""

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from inventory import locks as stock_locks
from inventory.models import Inventory, LedgerEntry, Product
from warehouses.models import Warehouse

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"
UNITS_PER_ROW = 10
SEED_ACTOR = "system:seed"


@dataclass(frozen=True)
class SeedReport:
    warehouses_created: int
    products_created: int
    inventory_created: int
    staff_user: str  # "created", "exists" or "skipped"


def _read_csv(name: str) -> list[dict[str, str]]:
    with (FIXTURES_DIR / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _insert_missing(model, rows: list) -> int:
    """Insert the rows whose unique key is not taken yet; return how many were new."""
    before = model.objects.count()
    model.objects.bulk_create(rows, ignore_conflicts=True)
    return model.objects.count() - before


def _category_image(category: str) -> str:
    return f"img/categories/{category.lower()}.svg"


def _seed_warehouses() -> int:
    rows = [
        Warehouse(
            code=row["code"],
            name=row["name"],
            location=row["location"],
            city=row["city"],
            lat=float(row["lat"]),
            lng=float(row["lng"]),
        )
        for row in _read_csv("warehouses.csv")
    ]
    return _insert_missing(Warehouse, rows)


def _colors(cell: str) -> list[str]:
    return [color.strip() for color in cell.split(";") if color.strip()]


def _seed_products() -> int:
    rows = [
        Product(
            sku=row["sku"],
            name=row["name"],
            brand=row["brand"],
            category=row["category"],
            price=Decimal(row["price_inr"]),
            description=row["description"],
            image=_category_image(row["category"]),
            size=row["size"],
            colors=_colors(row["colors"]),
            box_contents=row["box_contents"],
        )
        for row in _read_csv("products.csv")
    ]
    return _insert_missing(Product, rows)


def _seed_inventory() -> int:
    """Give every product a row in every warehouse: 10 units, 0 for the sold-out ones.

    New rows open empty and receive their units through the ledger (a RECEIVED entry), so
    each row's ledger replays to its counters from the start.
    """
    units = {
        row["sku"]: 0 if row["sold_out"] == "yes" else UNITS_PER_ROW
        for row in _read_csv("products.csv")
    }
    codes = [row["code"] for row in _read_csv("warehouses.csv")]
    wanted = {
        (product_id, warehouse_id): units[sku]
        for product_id, sku in Product.objects.filter(sku__in=units).values_list("id", "sku")
        for warehouse_id in Warehouse.objects.filter(code__in=codes).values_list("id", flat=True)
    }
    existing = set(Inventory.objects.values_list("product_id", "warehouse_id"))
    new = [key for key in wanted if key not in existing]
    Inventory.objects.bulk_create(
        [Inventory(product_id=p, warehouse_id=w) for p, w in new], ignore_conflicts=True
    )
    stock_locks.apply(
        [
            stock_locks.Change(key, LedgerEntry.Reason.RECEIVED, SEED_ACTOR, on_hand=wanted[key])
            for key in new
            if wanted[key]
        ]
    )
    return len(new)


def _ensure_staff_user(password: str | None) -> str:
    """Create the staff user unless it exists; never change an existing one's password."""
    if not password:
        return "skipped"
    user_model = get_user_model()
    email = settings.STOCKD_ADMIN_EMAIL
    if user_model.objects.filter(username=email).exists():
        return "exists"
    user_model.objects.create_superuser(username=email, email=email, password=password)
    return "created"


def staff_password() -> str | None:
    """Return STOCKD_ADMIN_PASSWORD, else admin123 when DEBUG is on, else None."""
    if settings.STOCKD_ADMIN_PASSWORD:
        return settings.STOCKD_ADMIN_PASSWORD
    return "admin123" if settings.DEBUG else None


@transaction.atomic
def seed() -> SeedReport:
    """Insert the warehouses, products, stock rows and staff user that are missing.

    Existing rows are left as they are, so running it twice changes nothing and a seed on a
    live database never resets stock that shoppers hold.
    """
    return SeedReport(
        warehouses_created=_seed_warehouses(),
        products_created=_seed_products(),
        inventory_created=_seed_inventory(),
        staff_user=_ensure_staff_user(staff_password()),
    )

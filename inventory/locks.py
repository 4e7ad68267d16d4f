"""Every lock on a stock row and every change of its counters lives here.

`reserved_stock` and `total_stock` change only through the functions below (and the one-
statement hold in reservations.locks, which is the PostgreSQL form of `hold_if_available`).
Rows are locked in primary-key order; the global lock order across apps is stated in
reservations.locks. Each counter change is one UPDATE with F() expressions, so it adds to the
committed value and never writes back a stale read.
"""

import operator
from collections.abc import Collection, Iterable, Mapping
from functools import reduce

from django.db import connection
from django.db.models import F, Q

from inventory.models import AVAILABLE, Inventory

StockKey = tuple[int, int]  # (product_id, warehouse_id)

_TABLE = Inventory._meta.db_table
_LOCK_ROWS_SQL = f"""
SELECT * FROM {_TABLE}
 WHERE (product_id, warehouse_id) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))
 ORDER BY id FOR UPDATE
"""
_RETURN_TO_ROWS_SQL = f"""
UPDATE {_TABLE} AS i SET reserved_stock = i.reserved_stock - f.units
  FROM unnest(%s::bigint[], %s::bigint[], %s::integer[]) AS f(product_id, warehouse_id, units)
 WHERE i.product_id = f.product_id AND i.warehouse_id = f.warehouse_id
"""


def _columns(keys: Iterable[StockKey]) -> list[list[int]]:
    """[[product ids], [warehouse ids]] of `keys`, for the array parameters above."""
    keys = list(keys)
    return [[p for p, _ in keys], [w for _, w in keys]]


def _row(key: StockKey):
    product_id, warehouse_id = key
    return Inventory.objects.filter(product_id=product_id, warehouse_id=warehouse_id)


def lock_stock_rows(keys: Iterable[StockKey]) -> list[Inventory]:
    """Lock the inventory rows of `keys` in primary-key order and return them in that order."""
    keys = sorted(set(keys))
    if not keys:
        return []
    if connection.vendor == "postgresql":  # one array parameter per column, however many rows
        return list(Inventory.objects.raw(_LOCK_ROWS_SQL, _columns(keys)))
    condition = reduce(operator.or_, (Q(product_id=p, warehouse_id=w) for p, w in keys))
    return list(Inventory.objects.filter(condition).order_by("pk").select_for_update())


def lock_sellable_stock_row(key: StockKey) -> Inventory | None:
    """Lock one stock row if shoppers can hold it (active product and warehouse), else None."""
    product_id, warehouse_id = key
    return (
        Inventory.objects.sellable()
        .filter(product_id=product_id, warehouse_id=warehouse_id)
        .select_for_update(of=("self",))
        .first()
    )


def lock_stock_of_products(product_ids: Collection[int]) -> list[Inventory]:
    """Lock every active stock row of these active products in pk order (for carts)."""
    return list(
        Inventory.objects.sellable()
        .filter(product_id__in=product_ids)
        .select_related("product", "warehouse")
        .order_by("pk")
        .select_for_update(of=("self",))
    )


def hold_if_available(key: StockKey, quantity: int) -> bool:
    """Add `quantity` to a sellable row's reserved units if that many are available.

    One conditional UPDATE: it takes the row lock, and a concurrent one re-checks the
    condition against the committed row, so two holds can never share the last units.
    Return False, changing nothing, when the row is missing, not sellable or short.
    """
    matched = (
        Inventory.objects.sellable()
        .filter(
            product_id=key[0],
            warehouse_id=key[1],
        )
        .alias(available_units=AVAILABLE)
        .filter(available_units__gte=quantity)
        .update(reserved_stock=F("reserved_stock") + quantity)
    )
    return bool(matched)


def add_reserved(key: StockKey, quantity: int) -> None:
    """Count `quantity` more held units on a row the caller has locked and checked."""
    _row(key).update(reserved_stock=F("reserved_stock") + quantity)


def return_reserved(key: StockKey, quantity: int) -> None:
    """Give `quantity` held units back to a row's available stock (a release or expiry)."""
    _row(key).update(reserved_stock=F("reserved_stock") - quantity)


def return_reserved_to_rows(freed: Mapping[StockKey, int]) -> None:
    """Give held units back to several locked rows (a sweep's batch): one UPDATE."""
    if connection.vendor != "postgresql":
        for key, units in freed.items():
            return_reserved(key, units)
        return
    if freed:
        with connection.cursor() as cursor:
            cursor.execute(_RETURN_TO_ROWS_SQL, [*_columns(freed), list(freed.values())])


def ship_reserved(key: StockKey, quantity: int) -> None:
    """Take `quantity` held units out of stock for good (a confirmation)."""
    _row(key).update(
        total_stock=F("total_stock") - quantity, reserved_stock=F("reserved_stock") - quantity
    )


def set_reserved(key: StockKey, reserved: int) -> None:
    """Overwrite a locked row's reserved units with a recount (a repair)."""
    _row(key).update(reserved_stock=reserved)


def add_total(key: StockKey, delta: int) -> None:
    """Add `delta` units (negative: remove them) to a locked row's total stock."""
    _row(key).update(total_stock=F("total_stock") + delta)

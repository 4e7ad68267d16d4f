"""Stock adjustments: staff add or remove units; the change is logged and wakes the waitlist."""

from django.db import transaction
from django.utils import timezone

from inventory import locks as stock_locks
from inventory.errors import StockBelowReserved, StockNotFound
from inventory.models import Inventory
from reservations import events
from reservations.services import waitlist


def adjust_stock(
    *, product_id: int, warehouse_id: int, delta: int, actor: str, note: str = ""
) -> Inventory:
    """Add `delta` units (or remove them, if negative) to a stock row, under its lock.

    Raise StockNotFound for an unknown row and StockBelowReserved when removing units
    shoppers hold; write nothing then. Added units are offered to the waitlist on commit.
    """
    key = (product_id, warehouse_id)
    with transaction.atomic():
        rows = stock_locks.lock_stock_rows([key])
        if not rows:
            raise StockNotFound(f"Product {product_id} is not stocked in warehouse {warehouse_id}.")
        (row,) = rows
        if row.total_stock + delta < row.reserved_stock:
            raise StockBelowReserved(available=row.available)
        before = row.total_stock
        stock_locks.add_total(key, delta)
        row.refresh_from_db(fields=["total_stock", "reserved_stock"])
        event = events.about_stock(
            events.EventType.STOCK_ADJUSTED,
            product_id=product_id,
            warehouse_id=warehouse_id,
            quantity=delta,
            actor=actor,
            at=timezone.now(),
            before=before,
            after=row.total_stock,
            note=note,
        )
        events.record([event])
        if delta > 0:
            waitlist.offer_freed_units_on_commit([key])
    return row

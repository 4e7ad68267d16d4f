"""Stock services: changes to how many units a warehouse holds."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework import status

from inventory.models import Inventory
from inventory.signals import stock_released
from reservations import locks
from reservations.errors import StockNotFound
from reservations.models import ReservationEvent
from stockd.errors import StockdError


class StockBelowReserved(StockdError):
    code = "STOCK_BELOW_RESERVED"
    status = status.HTTP_409_CONFLICT
    detail = "Cannot remove units that shoppers hold."


def adjust_stock(
    *, product_id: int, warehouse_id: int, delta: int, actor: str, note: str = ""
) -> Inventory:
    """Add `delta` units (or remove them, if negative) to a stock row, under its lock.

    Raise StockNotFound for an unknown row and StockBelowReserved when removing units
    shoppers hold; write nothing then. Added units are offered to the waitlist on commit.
    """
    with transaction.atomic():
        rows = locks.lock_stock_rows([(product_id, warehouse_id)])
        if not rows:
            raise StockNotFound(f"Product {product_id} is not stocked in warehouse {warehouse_id}.")
        (row,) = rows
        if row.total_stock + delta < row.reserved_stock:
            raise StockBelowReserved(available=row.available)
        before = row.total_stock
        Inventory.objects.filter(pk=row.pk).update(total_stock=F("total_stock") + delta)
        row.refresh_from_db(fields=["total_stock", "reserved_stock"])
        ReservationEvent.objects.create(
            type=ReservationEvent.Type.STOCK_ADJUSTED,
            product_id=product_id,
            warehouse_id=warehouse_id,
            quantity=delta,
            actor=actor,
            payload={"before": before, "after": row.total_stock, "note": note},
            created_at=timezone.now(),
        )
        if delta > 0:
            stock_released.send(sender=Inventory, product_id=product_id, warehouse_id=warehouse_id)
    return row

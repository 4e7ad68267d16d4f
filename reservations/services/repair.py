"""Repairing a drifted reserved_stock counter from the holds that are really PENDING."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from inventory import locks as stock_locks
from inventory.models import Inventory, LedgerEntry
from reservations import events
from reservations.models import Reservation


class RepairRefused(Exception):
    """The row's holds need more units than it has sellable: a counter cannot mend that."""


@dataclass(frozen=True)
class Repair:
    inventory_id: int
    before: int
    after: int


def repair_reserved_stock(*, inventory_id: int, actor: str = "system:repair") -> Repair | None:
    """Recompute one row's reserved_stock from its PENDING holds, under the row's lock.

    Holding the row lock keeps every reserve, confirm and release of that row out until
    commit, so the sum read is the truth. Return None if the counter was right. Record a
    STOCK_REPAIRED event otherwise.
    """
    with transaction.atomic():
        row = Inventory.objects.filter(pk=inventory_id).values("product_id", "warehouse_id").get()
        key = (row["product_id"], row["warehouse_id"])
        (locked,) = stock_locks.lock_stock_rows([key])
        pending = (
            Reservation.objects.pending()
            .filter(product_id=locked.product_id, warehouse_id=locked.warehouse_id)
            .aggregate(total=Sum("quantity"))["total"]
            or 0
        )
        if pending == locked.reserved_stock:
            return None
        before = locked.reserved_stock
        if locked.total_stock - locked.safety_stock - locked.unsellable_stock < pending:
            raise RepairRefused(
                f"Stock row {locked.pk} has {pending} units in PENDING holds but only "
                f"{locked.total_stock} on hand, {locked.safety_stock} of them safety stock and "
                f"{locked.unsellable_stock} unsellable: recount the row's stock first."
            )
        recount = stock_locks.Change(
            key, LedgerEntry.Reason.REPAIRED, actor, reference=f"recount of {before} to {pending}"
        )
        stock_locks.recount_held(recount, pending)
        event = events.about_stock(
            events.EventType.STOCK_REPAIRED,
            product_id=locked.product_id,
            warehouse_id=locked.warehouse_id,
            quantity=pending - before,
            actor=actor,
            at=timezone.now(),
            inventoryId=locked.pk,
            before=before,
            after=pending,
        )
        events.record([event])
    return Repair(inventory_id=locked.pk, before=before, after=pending)

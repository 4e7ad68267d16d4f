"""Stock adjustments: staff add or remove units, or set a row's total; each change is logged
and added units wake the waitlist."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput, StockdError
from inventory import locks as stock_locks
from inventory.errors import StaleTotal, StockBelowReserved, StockChangesRefused, StockNotFound
from inventory.models import Inventory, LedgerEntry, Product
from reservations import events
from reservations.services import waitlist
from warehouses.models import Warehouse

Reason = LedgerEntry.Reason


def adjust_stock(
    *, product_id: int, warehouse_id: int, delta: int, actor: str, note: str = ""
) -> Inventory:
    """Add `delta` units (or remove them, if negative) to a stock row, under its lock.

    Raise StockNotFound for an unknown row and StockBelowReserved when removing units
    shoppers hold or that are kept as safety stock or unsellable; write nothing then. Added
    units are offered to the waitlist on commit.
    """
    key = (product_id, warehouse_id)
    with transaction.atomic():
        rows = stock_locks.lock_stock_rows([key])
        if not rows:
            raise StockNotFound.of_row(product_id, warehouse_id)
        (row,) = rows
        if row.total_stock + delta < row.committed:
            raise StockBelowReserved(available=row.available)
        before = row.total_stock
        changed = stock_locks.apply(
            [stock_locks.Change(key, Reason.ADJUSTED, actor, on_hand=delta, reference=note[:200])]
        )
        row = changed[key]
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


@dataclass(frozen=True)
class TotalChange:
    """Set a stock row's total to `total`, provided it still is `expected_total` (the figure
    the editor saw; None: whatever it is now)."""

    product_id: int
    warehouse_id: int
    total: int
    expected_total: int | None = None

    @property
    def key(self) -> stock_locks.StockKey:
        return (self.product_id, self.warehouse_id)


def change_error(row: Inventory | None, change: TotalChange) -> StockdError | None:
    """Say why `change` may not be made to `row` (its locked state), or None if it may.

    Pure: it reads the row as given and touches no database.
    """
    if row is None:
        return StockNotFound.of_row(change.product_id, change.warehouse_id)
    if change.total < 0:
        return InvalidInput("The total must be a whole number, 0 or more.")
    if change.expected_total is not None and row.total_stock != change.expected_total:
        return StaleTotal(
            f"The total changed from {change.expected_total} to {row.total_stock} since it was "
            "loaded; nothing was saved.",
            currentTotalStock=row.total_stock,
            reservedStock=row.reserved_stock,
        )
    if change.total < row.committed:
        kept = row.safety_stock + row.unsellable_stock
        kept_too = f" and {kept} are kept as safety stock or unsellable" if kept else ""
        return StockBelowReserved(
            f"Shoppers hold {row.reserved_stock} units of this row{kept_too}: the total cannot "
            f"go below {row.committed}.",
            currentTotalStock=row.total_stock,
            reservedStock=row.reserved_stock,
        )
    return None


def _write_totals(
    rows: dict[stock_locks.StockKey, Inventory],
    changes: Sequence[TotalChange],
    *,
    actor: str,
    reason: str,
) -> None:
    """Set the totals of locked, checked rows; log each change; offer added units on commit."""
    now = timezone.now()
    counted, logged, grown = [], [], []
    for change in changes:
        row = rows[change.key]
        delta = change.total - row.total_stock
        if delta == 0:
            continue
        counted.append(
            stock_locks.Change(
                change.key, Reason.COUNTED, actor, on_hand=delta, reference=reason[:200]
            )
        )
        logged.append(
            events.about_stock(
                events.EventType.STOCK_ADJUSTED,
                product_id=change.product_id,
                warehouse_id=change.warehouse_id,
                quantity=delta,
                actor=actor,
                at=now,
                before=row.total_stock,
                after=change.total,
                note=reason,
            )
        )
        row.total_stock = change.total  # the row is locked: this is its committed value
        if delta > 0:
            grown.append(change.key)
    stock_locks.apply(counted, at=now)
    events.record(logged)
    waitlist.offer_freed_units_on_commit(grown)


def set_total(
    *,
    inventory_id: int,
    total: int,
    expected_total: int | None = None,
    reason: str = "",
    actor: str,
) -> Inventory:
    """Set a stock row's total to `total` if it still is `expected_total`, under its lock.

    Raise StockNotFound for an unknown row, StaleTotal (with the current figure) when the
    total changed since the editor saw `expected_total`, and StockBelowReserved when the new
    total is below the units shoppers hold plus those kept as safety stock or unsellable
    (Inventory.committed); write nothing then. An unchanged total writes nothing either. A
    STOCK_ADJUSTED event records the change; added units are offered to the waitlist on
    commit.
    """
    key = (
        Inventory.objects.filter(pk=inventory_id).values_list("product_id", "warehouse_id").first()
    )
    if key is None:
        raise StockNotFound(f"No stock row {inventory_id}.")
    change = TotalChange(*key, total=total, expected_total=expected_total)
    with transaction.atomic():
        rows = stock_locks.lock_stock_rows_by_key([key])
        problem = change_error(rows.get(key), change)
        if problem is not None:
            raise problem
        _write_totals(rows, [change], actor=actor, reason=reason)
    return rows[key]


def set_totals(*, changes: Sequence[TotalChange], reason: str = "", actor: str) -> list[Inventory]:
    """Set many stock rows' totals in one transaction: all of them, or none.

    The rows are locked in primary-key order, then every change is checked as set_total
    checks one. If any is refused, raise StockChangesRefused listing each change's error
    (`problems`: the change's index, sentence and code) and write nothing. Return the rows in
    the changes' order.
    """
    keys = [change.key for change in changes]
    if len(set(keys)) != len(keys):
        raise InvalidInput("Each stock row may be changed only once in a batch.")
    with transaction.atomic():
        rows = stock_locks.lock_stock_rows_by_key(keys)
        problems = []
        for index, change in enumerate(changes):
            problem = change_error(rows.get(change.key), change)
            if problem is not None:
                problems.append({"index": index, "error": problem.detail, "code": problem.code})
        if problems:
            raise StockChangesRefused(problems=problems)
        _write_totals(rows, changes, actor=actor, reason=reason)
    return [rows[key] for key in keys]


def set_alert_threshold(*, inventory_id: int, threshold: int | None) -> Inventory:
    """Alert staff when a row's available units fall to `threshold` (None: the setting's).

    Raise StockNotFound for an unknown row. The counters are not touched, so no lock is taken.
    """
    if threshold is not None and threshold < 0:
        raise InvalidInput("The threshold must be a whole number, 0 or more.")
    with transaction.atomic():
        updated = Inventory.objects.filter(pk=inventory_id).update(low_stock_threshold=threshold)
        if not updated:
            raise StockNotFound(f"No stock row {inventory_id}.")
        return Inventory.objects.select_related("product", "warehouse").get(pk=inventory_id)


def open_stock_rows(
    *, product_ids: Iterable[int] | None = None, warehouse_ids: Iterable[int] | None = None
) -> int:
    """Create the missing stock rows (0 units) of these products in every warehouse, or of
    every product in these warehouses; return how many were missing.

    Existing rows are left alone (a concurrent creation of the same row is ignored).
    """
    products = Product.objects.all()
    warehouses = Warehouse.objects.all()
    if product_ids is not None:
        products = products.filter(pk__in=list(product_ids))
    if warehouse_ids is not None:
        warehouses = warehouses.filter(pk__in=list(warehouse_ids))
    warehouse_pks = list(warehouses.values_list("pk", flat=True))
    pairs = {(p, w) for p in products.values_list("pk", flat=True) for w in warehouse_pks}
    existing = set(
        Inventory.objects.filter(
            product_id__in={p for p, _ in pairs}, warehouse_id__in={w for _, w in pairs}
        ).values_list("product_id", "warehouse_id")
    )
    missing = [Inventory(product_id=p, warehouse_id=w) for p, w in sorted(pairs - existing)]
    with transaction.atomic():
        created = Inventory.objects.bulk_create(missing, ignore_conflicts=True)
    return len(created)

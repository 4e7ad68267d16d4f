"""Every lock on a stock row and every change of its quantity states lives here.

The states change only through `apply` (and the hold statements in reservations.locks, which
write the same ledger entries in SQL). Each change adds to the committed values in one UPDATE,
never writing back a stale read, and writes one ledger entry per Change, numbered on from the
row's version, in the caller's transaction. Rows are locked in primary-key order; the global
lock order across apps is stated in reservations.locks.
"""

import operator
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import reduce

from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone

from core.serving.requestid import current_request_id
from idempotency.context import current_idempotency_key
from inventory.models import STATES, Inventory, LedgerEntry

StockKey = tuple[int, int]  # (product_id, warehouse_id)

_TABLE = Inventory._meta.db_table
_LOCK_ROWS_SQL = f"""
SELECT * FROM {_TABLE}
 WHERE (product_id, warehouse_id) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))
 ORDER BY id FOR UPDATE
"""
# The row's column of each state, in STATES order.
COLUMNS = ("total_stock", "reserved_stock", "safety_stock", "unsellable_stock", "incoming_stock")
_SET = ", ".join(f"{c} = i.{c} + f.{s}" for c, s in zip(COLUMNS, STATES, strict=True))
_RETURNING = ", ".join(f"i.{c}" for c in ("product_id", "warehouse_id", "id", "version", *COLUMNS))
# Several rows in one statement (PostgreSQL): each row's deltas and its number of entries.
_CHANGE_ROWS_SQL = f"""
UPDATE {_TABLE} AS i SET {_SET}, version = i.version + f.steps
  FROM unnest(%s::bigint[], %s::bigint[], %s::integer[], %s::integer[], %s::integer[],
              %s::integer[], %s::integer[], %s::integer[])
       AS f(product_id, warehouse_id, {", ".join(STATES)}, steps)
 WHERE i.product_id = f.product_id AND i.warehouse_id = f.warehouse_id
 RETURNING {_RETURNING}
"""
# One row (SQLite, whose transactions are IMMEDIATE: nobody else writes meanwhile).
_CHANGE_ROW_SQL = f"""
UPDATE {_TABLE} SET {", ".join(f"{c} = {c} + %s" for c in COLUMNS)}, version = version + %s
 WHERE product_id = %s AND warehouse_id = %s
 RETURNING {_RETURNING.replace("i.", "")}
"""


def _columns(keys: Iterable[StockKey]) -> list[list[int]]:
    """[[product ids], [warehouse ids]] of `keys`, for the array parameters above."""
    keys = list(keys)
    return [[p for p, _ in keys], [w for _, w in keys]]


def lock_stock_rows(keys: Iterable[StockKey]) -> list[Inventory]:
    """Lock the inventory rows of `keys` in primary-key order and return them in that order."""
    keys = sorted(set(keys))
    if not keys:
        return []
    if connection.vendor == "postgresql":  # one array parameter per column, however many rows
        return list(Inventory.objects.raw(_LOCK_ROWS_SQL, _columns(keys)))
    condition = reduce(operator.or_, (Q(product_id=p, warehouse_id=w) for p, w in keys))
    return list(Inventory.objects.filter(condition).order_by("pk").select_for_update())


def lock_stock_rows_by_key(keys: Iterable[StockKey]) -> dict[StockKey, Inventory]:
    """Lock the inventory rows of `keys` (lock_stock_rows) and return them by key; a key
    without a row is missing from the answer."""
    return {(r.product_id, r.warehouse_id): r for r in lock_stock_rows(keys)}


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


@dataclass(frozen=True, slots=True)
class Change:
    """One ledger entry's worth of change to one stock row: a delta per state, and why.

    Made while a request is served, it names the request and its Idempotency-Key.
    """

    key: StockKey
    reason: str
    actor: str
    on_hand: int = 0
    held: int = 0
    safety: int = 0
    unsellable: int = 0
    incoming: int = 0
    reference: str = ""
    request_id: str = field(default_factory=lambda: current_request_id() or "")
    idempotency_key: str = field(default_factory=lambda: current_idempotency_key() or "")

    @property
    def deltas(self) -> tuple[int, ...]:
        return tuple(getattr(self, state) for state in STATES)


def apply(changes: Sequence[Change], *, at: datetime | None = None) -> dict[StockKey, Inventory]:
    """Add the changes' deltas to their rows and write one ledger entry per change, in order.

    A row's entries take the next sequence numbers after its version. A change that would
    drive a state or available below zero fails on the table's CHECK constraints; callers
    check first under the row's lock. Return each changed row's new states (unsaved copies).
    """
    if not changes:
        return {}
    by_row: dict[StockKey, list[Change]] = defaultdict(list)
    for change in changes:
        by_row[change.key].append(change)
    totals = {
        key: [sum(deltas) for deltas in zip(*(c.deltas for c in row), strict=True)]
        for key, row in by_row.items()
    }
    if connection.vendor == "postgresql":
        columns = [[k[0] for k in totals], [k[1] for k in totals]]
        columns += [[t[i] for t in totals.values()] for i in range(len(STATES))]
        columns.append([len(by_row[key]) for key in totals])
        with connection.cursor() as cursor:
            cursor.execute(_CHANGE_ROWS_SQL, columns)
            returned = cursor.fetchall()
    else:
        returned = []
        with connection.cursor() as cursor:
            for (product_id, warehouse_id), deltas in totals.items():
                steps = len(by_row[(product_id, warehouse_id)])
                cursor.execute(_CHANGE_ROW_SQL, [*deltas, steps, product_id, warehouse_id])
                returned.extend(cursor.fetchall())
    at = at or timezone.now()
    rows, entries = {}, []
    for product_id, warehouse_id, row_id, version, *states in returned:
        key = (product_id, warehouse_id)
        rows[key] = Inventory(
            id=row_id, product_id=product_id, warehouse_id=warehouse_id, version=version,
            **dict(zip(COLUMNS, states, strict=True)),
        )  # fmt: skip
        entries.extend(_entries(row_id, version, states, by_row[key], at))
    LedgerEntry.objects.bulk_create(entries)
    return rows


def _entries(
    row_id: int, version: int, states: list[int], changes: list[Change], at: datetime
) -> list[LedgerEntry]:
    """The ledger entries of `changes` to one row, whose version and states after all of
    them are `version` and `states`: numbered and "after" figures worked back from the end."""
    entries = []
    after = list(states)
    for offset, change in enumerate(reversed(changes)):
        entries.append(
            LedgerEntry(
                stock_id=row_id,
                sequence=version - offset,
                reason=change.reason,
                actor=change.actor,
                reference=change.reference,
                request_id=change.request_id,
                idempotency_key=change.idempotency_key,
                created_at=at,
                **dict(zip(STATES, change.deltas, strict=True)),
                **{f"{state}_after": value for state, value in zip(STATES, after, strict=True)},
            )
        )
        after = [value - delta for value, delta in zip(after, change.deltas, strict=True)]
    entries.reverse()
    return entries


def hold_if_available(change: Change) -> bool:
    """Apply a hold (`change`, adding held units) if its row is sellable and has that many
    available; the portable form of the hold statements, for SQLite, whose IMMEDIATE
    transactions keep every other writer out between the check and the write.

    Return False, changing nothing, when the row is missing, not sellable or short.
    """
    row = lock_sellable_stock_row(change.key)
    if row is None or row.available < change.held:
        return False
    apply([change])
    return True


def recount_held(change: Change, held: int) -> None:
    """Set a locked row's held units to a recount, `held` (the repair of a drifted counter).

    `change` says why and who; its `held` delta is ignored. The drift itself was never written
    down, so the counter first goes back to what the row's ledger replays to (the sum of its
    held deltas; the "after" figures of entries written since the drift include it), and the
    entry written then adds the difference to the recount: the ledger replays to the mended
    row.
    """
    product_id, warehouse_id = change.key
    ledger_held = (
        LedgerEntry.objects.filter(
            stock__product_id=product_id, stock__warehouse_id=warehouse_id
        ).aggregate(held=Sum("held"))["held"]
        or 0
    )
    Inventory.objects.filter(product_id=product_id, warehouse_id=warehouse_id).update(
        reserved_stock=ledger_held
    )
    apply([replace(change, held=held - ledger_held)])

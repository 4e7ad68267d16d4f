"""Releasing holds whose time is up, in batches, without ever releasing one twice."""

import time
import uuid
from collections.abc import Collection, Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import advisory_locks
from inventory import locks as stock_locks
from inventory.models import Inventory, LedgerEntry
from reservations import events, locks, metrics
from reservations.models import Reservation
from reservations.services import ruled_orm, waitlist

SWEEP_BATCH_SIZE = 500
# The name of the lock that lets one scheduled sweep run at a time, on any host.
SCHEDULED_SWEEP_LOCK = "stockd:reservations:scheduled-sweep"

Status = Reservation.Status
Reason = Reservation.ReleaseReason


def _expire_batch(
    due: list[Reservation], *, now: datetime, actor: str, promotions: list[waitlist.Promotion]
) -> None:
    """Release locked due holds set-wise: one UPDATE of the holds, one INSERT of their events,
    and one UPDATE of their stock rows (locked first, in pk order)."""
    Reservation.objects.filter(pk__in=[r.pk for r in due]).update(
        status=Status.RELEASED, release_reason=Reason.EXPIRED, released_at=now, updated_at=now
    )
    events.record(
        events.about(r, events.EventType.EXPIRED, actor=actor, at=now, reason=Reason.EXPIRED)
        for r in due
    )
    expiries = [locks.stock_change(r, LedgerEntry.Reason.EXPIRED, actor=actor) for r in due]
    freed = list(dict.fromkeys(change.key for change in expiries))
    stock_locks.lock_stock_rows(freed)
    stock_locks.apply(expiries, at=now)
    ruled_orm.give_back(due)
    waitlist.offer_freed_units_on_commit(freed, promotions=promotions)


def expire_due_reservations(
    *,
    now: datetime | None = None,
    stock_key: stock_locks.StockKey | None = None,
    product_ids: Collection[int] | None = None,
    user_id: int | None = None,
    guest_id: uuid.UUID | None = None,
    batch_size: int = SWEEP_BATCH_SIZE,
    actor: str = "system:sweep",
    promotions: list[waitlist.Promotion] | None = None,
    wait: bool = False,
) -> int:
    """Release every PENDING hold whose time is up, in batches; return how many.

    Each batch is one transaction over holds locked with SKIP LOCKED, so concurrent sweeps,
    lazy expiry, confirm and release never release a hold twice or wait on each other.
    `stock_key`, `product_ids`, `user_id` and `guest_id` narrow the sweep to one stock row,
    some products, or one shopper's or guest session's holds. The freed units are offered to
    the waitlist once each batch commits; pass a list as `promotions` to have the promotions
    made appended to it.

    With `wait`, a hold that another transaction has locked (another sweep, a confirm, a
    lazy expiry) is waited for rather than skipped, and released here if it is still due
    when that transaction ends. Call it so only while holding no stock-row lock: it locks
    reservations, which come before inventory rows in the global lock order.
    """
    now = now or timezone.now()
    promotions = [] if promotions is None else promotions
    released = 0
    started = time.perf_counter()
    while True:
        with transaction.atomic():
            due = locks.lock_due_reservations(
                now=now,
                limit=batch_size,
                stock_key=stock_key,
                product_ids=product_ids,
                user_id=user_id,
                guest_id=guest_id,
                wait=wait,
            )
            if due:
                _expire_batch(due, now=now, actor=actor, promotions=promotions)
                metrics.observe_sweep_batch(len(due))
        released += len(due)
        if len(due) < batch_size:
            metrics.observe_sweep(actor, time.perf_counter() - started)
            return released


def expire_due_reservations_alone(*, actor: str) -> int | None:
    """Run one whole sweep unless another scheduled sweep is running; return how many holds
    it released, or None at once when another one runs (on this host or any other).

    Two sweeps could not release a hold twice anyway (SKIP LOCKED); the lock keeps a beat
    started twice by mistake, or a run that outlasts its interval, from running copies that
    only compete for the same rows.
    """
    with advisory_locks.held_alone(SCHEDULED_SWEEP_LOCK) as taken:
        if not taken:
            return None
        return expire_due_reservations(actor=actor)


def expire_due_on_locked_rows(rows: Iterable[Inventory], *, now: datetime | None = None) -> int:
    """Release the due holds of stock rows this transaction has locked; return how many.

    Only those rows: their units go back without locking any other stock row, so a caller
    that locked its rows in pk order keeps the global lock order. The due holds are taken
    with SKIP LOCKED, never waited on: a hold another transaction is working on is left to it.
    """
    now = now or timezone.now()
    keys = {(row.product_id, row.warehouse_id): row.pk for row in rows}
    if not keys:
        return 0
    with_due = set(
        Reservation.objects.due(now)
        .filter(product_id__in={product_id for product_id, _ in keys})
        .values_list("product_id", "warehouse_id")
        .distinct()
    )
    return sum(
        expire_due_reservations(now=now, stock_key=key)
        for key in sorted(with_due & keys.keys(), key=keys.__getitem__)
    )


def any_due_on_rows(rows: Iterable[Inventory], *, now: datetime | None = None) -> bool:
    """Say whether any of these stock rows still has a due hold (one others have locked)."""
    condition = Q()
    for row in rows:
        condition |= Q(product_id=row.product_id, warehouse_id=row.warehouse_id)
    return (
        bool(condition)
        and Reservation.objects.due(now or timezone.now()).filter(condition).exists()
    )


def wait_for_sweeps(*, product_ids: Collection[int], now: datetime | None = None) -> None:
    """Wait until no other transaction is changing these products' due holds; change nothing.

    Locks the due holds without SKIP LOCKED, so it waits for the sweeps (or confirms, or
    lazy expiries) working on them to commit, then rolls back, releasing them again. Call it
    only while holding no stock-row lock: reservations come first in the global lock order.
    """
    with transaction.atomic():
        locks.lock_due_reservations(
            now=now or timezone.now(),
            limit=SWEEP_BATCH_SIZE,
            product_ids=product_ids,
            wait=True,
        )
        transaction.set_rollback(True)

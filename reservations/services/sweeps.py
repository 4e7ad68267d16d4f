"""Releasing holds whose time is up, in batches, without ever releasing one twice."""

import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inventory import locks as stock_locks
from reservations import events, locks
from reservations.models import Reservation
from reservations.services import waitlist

SWEEP_BATCH_SIZE = 500

Status = Reservation.Status
Reason = Reservation.ReleaseReason


def _expire_batch(
    due: list[Reservation], *, now: datetime, actor: str, promotions: list[waitlist.Promotion]
) -> None:
    """Release locked due holds set-wise: one UPDATE, one INSERT, one UPDATE per stock row."""
    Reservation.objects.filter(pk__in=[r.pk for r in due]).update(
        status=Status.RELEASED, release_reason=Reason.EXPIRED, released_at=now, updated_at=now
    )
    events.record(
        events.about(r, events.EventType.EXPIRED, actor=actor, at=now, reason=Reason.EXPIRED)
        for r in due
    )
    freed: dict[stock_locks.StockKey, int] = defaultdict(int)
    for r in due:
        freed[(r.product_id, r.warehouse_id)] += r.quantity
    for row in stock_locks.lock_stock_rows(freed):
        key = (row.product_id, row.warehouse_id)
        stock_locks.return_reserved(key, freed[key])
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
        released += len(due)
        if len(due) < batch_size:
            return released

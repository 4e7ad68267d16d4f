"""The one recorder of the audit log: every ReservationEvent is built and written here.

The single-statement hold in reservations.locks writes its RESERVED event in SQL; a test holds
that row to what `about` builds, column for column.

An event made while a request is served names it in its payload ("requestId", the id the
response's X-Request-ID carries). Once the transaction that wrote events commits, each one
is logged (logger `stockd.events`, one line per state change) and counted for /metrics.
"""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction

from core.serving.requestid import current_request_id
from reservations import metrics
from reservations.models import Reservation, ReservationEvent, WaitlistEntry

EventType = ReservationEvent.Type
REQUEST_ID = "requestId"

logger = logging.getLogger("stockd.events")


def about_stock(
    event_type: str,
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int | None,
    actor: str,
    at: datetime,
    reservation_id=None,
    **payload: Any,
) -> ReservationEvent:
    """Build (not save) an event about a stock row, optionally tied to a reservation.

    Made while a request is served, its payload names the request ("requestId").
    """
    request_id = current_request_id()
    if request_id is not None:
        payload = {REQUEST_ID: request_id, **payload}
    return ReservationEvent(
        type=event_type,
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        reservation_id=reservation_id,
        actor=actor,
        payload=payload,
        created_at=at,
    )


def about(
    subject: Reservation | WaitlistEntry,
    event_type: str,
    *,
    actor: str,
    at: datetime,
    **payload: Any,
) -> ReservationEvent:
    """Build (not save) the event of a change to a hold or to a waitlist entry.

    An entry's event names the entry in its payload and the hold it got, if any.
    """
    if isinstance(subject, WaitlistEntry):
        reservation_id = subject.reservation_id
        payload = {"waitlistEntryId": str(subject.pk), **payload}
    else:
        reservation_id = subject.pk
    return about_stock(
        event_type,
        product_id=subject.product_id,
        warehouse_id=subject.warehouse_id,
        quantity=subject.quantity,
        reservation_id=reservation_id,
        actor=actor,
        at=at,
        **payload,
    )


@dataclass(frozen=True, slots=True)
class Announcement:
    """What the log line and /metrics need of a committed event: plain values, so the hold
    coalescer's batches announce theirs without building a model per hold."""

    type: str
    actor: str
    product_id: int
    warehouse_id: int
    quantity: int | None
    reservation_id: uuid.UUID | None = None
    event_id: int | None = None  # None for an event written by a batch statement
    reason: str | None = None

    @classmethod
    def of(cls, event: ReservationEvent) -> "Announcement":
        return cls(
            type=event.type,
            actor=event.actor,
            product_id=event.product_id,
            warehouse_id=event.warehouse_id,
            quantity=event.quantity,
            reservation_id=event.reservation_id,
            event_id=event.pk,
            reason=event.payload.get("reason"),
        )


def record(events: Iterable[ReservationEvent]) -> None:
    """Write events in one INSERT, inside the caller's transaction (invariant 3).

    They are logged and counted once that transaction commits (never if it rolls back).
    """
    written = ReservationEvent.objects.bulk_create(list(events))
    transaction.on_commit(partial(announce, [Announcement.of(event) for event in written]))


def announce(events: list[Announcement]) -> None:
    """Log one line per committed event and count it for /metrics.

    record() calls it on commit; a writer that inserts its event in SQL (the one-statement
    hold, the coalescer's batches) calls it once that event is committed.
    """
    metrics.count_committed_events(events)
    if not logger.isEnabledFor(logging.INFO):
        return
    for event in events:
        reason = event.reason
        logger.info(
            "%s by %s",
            event.type,
            event.actor,
            extra={
                "event": event.type,
                "event_id": event.event_id,
                "reservation_id": str(event.reservation_id) if event.reservation_id else None,
                "product_id": event.product_id,
                "warehouse_id": event.warehouse_id,
                "quantity": event.quantity,
                "actor": event.actor,
                **({"reason": reason} if reason else {}),
            },
        )

"""The one recorder of the audit log: every ReservationEvent is built and written here.

The single-statement hold in reservations.locks writes its RESERVED event in SQL; a test holds
that row to what `about` builds, column for column.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from reservations.models import Reservation, ReservationEvent, WaitlistEntry

EventType = ReservationEvent.Type


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
    """Build (not save) an event about a stock row, optionally tied to a reservation."""
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


def record(events: Iterable[ReservationEvent]) -> None:
    """Write events in one INSERT, inside the caller's transaction (invariant 3)."""
    ReservationEvent.objects.bulk_create(list(events))

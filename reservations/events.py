"""The one recorder of the audit log: every ReservationEvent is built and written here.

The single-statement hold in reservations.locks writes its RESERVED event in SQL; a test holds
that row to what `about_reservation` builds, column for column.
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


def about_reservation(
    reservation: Reservation, event_type: str, *, actor: str, at: datetime, **payload: Any
) -> ReservationEvent:
    """Build (not save) the event of a change to `reservation`."""
    return about_stock(
        event_type,
        product_id=reservation.product_id,
        warehouse_id=reservation.warehouse_id,
        quantity=reservation.quantity,
        reservation_id=reservation.pk,
        actor=actor,
        at=at,
        **payload,
    )


def about_entry(
    entry: WaitlistEntry, event_type: str, *, actor: str, at: datetime
) -> ReservationEvent:
    """Build (not save) the event of a change to a waitlist entry."""
    return about_stock(
        event_type,
        product_id=entry.product_id,
        warehouse_id=entry.warehouse_id,
        quantity=entry.quantity,
        reservation_id=entry.reservation_id,
        actor=actor,
        at=at,
        waitlistEntryId=str(entry.pk),
    )


def record(events: Iterable[ReservationEvent]) -> None:
    """Write events in one INSERT, inside the caller's transaction (invariant 3)."""
    ReservationEvent.objects.bulk_create(list(events))

"""Apply a payment provider's event to the hold or cart it is about, once per event id.

A payment that succeeded confirms the hold (or every hold of the cart); one that failed
releases it with reason PAYMENT_FAILED. Both go through the same services as the API
(reservations.services.transitions and carts), acting as the system, so they write the same
events and keep the same rules: a hold whose time is up is released as EXPIRED instead.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.models import PaymentEvent
from reservations.errors import (
    CartNotFound,
    InvalidTransition,
    ReservationExpired,
    ReservationNotFound,
)
from reservations.models import Reservation
from reservations.services import carts, transitions

logger = logging.getLogger(__name__)

Outcome = PaymentEvent.Outcome
Reason = Reservation.ReleaseReason
ACTOR = "system:payments"
SUCCEEDED = "payment.succeeded"
FAILED = "payment.failed"
EVENT_TYPES = (SUCCEEDED, FAILED)


@dataclass(frozen=True)
class Handled:
    """What an event did: its record, and whether this delivery was a replay of an earlier one."""

    event: PaymentEvent
    replayed: bool


def _claim(
    *,
    event_id: str,
    event_type: str,
    reservation_id: uuid.UUID | None,
    cart_id: uuid.UUID | None,
    signed_at: datetime,
    now: datetime,
) -> PaymentEvent | None:
    """Insert the event's row first; return None if the id is already recorded.

    A concurrent delivery of the same id waits on the unique index until the first one
    commits (then fails here and reads its row) or rolls back (then goes ahead). The row is
    new, so no one else can be waiting on it: this adds no edge to the lock order.
    """
    try:
        with transaction.atomic():
            return PaymentEvent.objects.create(
                event_id=event_id,
                type=event_type,
                outcome="",  # set before commit; nobody sees the row until then
                reservation_id=reservation_id,
                cart_id=cart_id,
                signed_at=signed_at,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        return None


def _settle(
    event_type: str, confirm: Callable[[], object], release: Callable[[], list[Reservation]]
) -> str:
    """Confirm on a success, release with PAYMENT_FAILED on a failure; name the outcome."""
    if event_type == SUCCEEDED:
        try:
            confirm()
        except ReservationExpired:
            return Outcome.EXPIRED
        except InvalidTransition:
            return Outcome.ALREADY_RELEASED
        return Outcome.CONFIRMED
    try:
        released = release()
    except InvalidTransition:
        return Outcome.ALREADY_CONFIRMED
    if all(hold.release_reason == Reason.EXPIRED for hold in released):
        return Outcome.EXPIRED
    return Outcome.RELEASED


def _on_hold(event_type: str, reservation_id: uuid.UUID) -> str:
    return _settle(
        event_type,
        lambda: transitions.confirm(reservation_id=reservation_id, actor=ACTOR),
        lambda: [
            transitions.release(
                reservation_id=reservation_id, reason=Reason.PAYMENT_FAILED, actor=ACTOR
            )
        ],
    )


def _on_cart(event_type: str, cart_id: uuid.UUID) -> str:
    return _settle(
        event_type,
        lambda: carts.confirm_cart(cart_id=cart_id, actor=ACTOR),
        lambda: carts.release_cart(cart_id=cart_id, reason=Reason.PAYMENT_FAILED, actor=ACTOR),
    )


def _apply(event_type: str, reservation_id: uuid.UUID | None, cart_id: uuid.UUID | None) -> str:
    """Act on the hold or cart; return the outcome. Runs inside the event's transaction."""
    if event_type not in EVENT_TYPES:
        return Outcome.IGNORED
    try:
        if reservation_id is not None:
            return _on_hold(event_type, reservation_id)
        if cart_id is not None:
            return _on_cart(event_type, cart_id)
    except (ReservationNotFound, CartNotFound):
        pass
    logger.warning("Payment event for an unknown reservation %s / cart %s", reservation_id, cart_id)
    return Outcome.UNKNOWN


def handle_payment_event(
    *,
    event_id: str,
    event_type: str,
    reservation_id: uuid.UUID | None = None,
    cart_id: uuid.UUID | None = None,
    signed_at: datetime,
) -> Handled:
    """Apply a verified payment event once, recording its id and outcome with the change.

    `payment.succeeded` confirms the hold or cart (outcome "confirmed"; "expired" if its time
    was up, and it is then released as EXPIRED; "already_released" if it was released before,
    and nothing changes). `payment.failed` releases it with reason PAYMENT_FAILED ("released";
    "expired" if its time was up; "already_confirmed", changing nothing, if it was
    confirmed). Another type changes nothing ("ignored"); an unknown hold or cart neither
    ("unknown"). An event id seen before changes nothing and returns the first outcome.
    Everything, the event's row included, commits in one transaction.
    """
    now = timezone.now()
    with transaction.atomic():
        event = _claim(
            event_id=event_id,
            event_type=event_type,
            reservation_id=reservation_id,
            cart_id=cart_id,
            signed_at=signed_at,
            now=now,
        )
        if event is None:
            return Handled(PaymentEvent.objects.get(event_id=event_id), replayed=True)
        event.outcome = _apply(event_type, reservation_id, cart_id)
        event.updated_at = timezone.now()
        event.save(update_fields=["outcome", "updated_at"])
    return Handled(event, replayed=False)

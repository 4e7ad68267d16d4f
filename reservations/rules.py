"""The reservation state machine as pure functions: given a hold and the time, what to do.

No database access here; services lock the row, ask these functions, then write.
"""

from datetime import datetime
from enum import Enum

from reservations.models import Reservation

Status = Reservation.Status
Reason = Reservation.ReleaseReason


class Step(Enum):
    """What a service does with a locked reservation."""

    CONFIRM = "confirm"
    RELEASE = "release"
    EXTEND = "extend"
    EXPIRE = "expire"  # release it as EXPIRED: its time is up
    NOTHING = "nothing"  # already in the asked-for state: answer it again


class TransitionError(Enum):
    """Why a service refuses, after any step it took (an expiry is committed first)."""

    EXPIRED = "expired"  # 410 EXPIRED
    INVALID = "invalid"  # 409 INVALID_TRANSITION
    EXTENSION_LIMIT = "extension_limit"  # 409 EXTENSION_LIMIT


Plan = tuple[Step, TransitionError | None]


def _released_by_expiry(reservation: Reservation) -> bool:
    return reservation.status == Status.RELEASED and reservation.release_reason == Reason.EXPIRED


def plan_confirm(reservation: Reservation, now: datetime) -> Plan:
    """Confirm a live hold; a due one expires and is refused as expired."""
    if reservation.is_due(now):
        return Step.EXPIRE, TransitionError.EXPIRED
    if reservation.status == Status.PENDING:
        return Step.CONFIRM, None
    if reservation.status == Status.CONFIRMED:
        return Step.NOTHING, None
    if _released_by_expiry(reservation):
        return Step.NOTHING, TransitionError.EXPIRED
    return Step.NOTHING, TransitionError.INVALID


def plan_release(reservation: Reservation, now: datetime) -> Plan:
    """Release a live hold; a due one is released as EXPIRED; a released one answers again."""
    if reservation.is_due(now):
        return Step.EXPIRE, None
    if reservation.status == Status.PENDING:
        return Step.RELEASE, None
    if reservation.status == Status.RELEASED:
        return Step.NOTHING, None
    return Step.NOTHING, TransitionError.INVALID


def plan_extend(reservation: Reservation, now: datetime) -> Plan:
    """Extend a live hold up to its max_extensions; a due one expires and is refused as
    expired."""
    if reservation.is_due(now):
        return Step.EXPIRE, TransitionError.EXPIRED
    if reservation.status == Status.PENDING:
        if reservation.extensions >= reservation.max_extensions:
            return Step.NOTHING, TransitionError.EXTENSION_LIMIT
        return Step.EXTEND, None
    if _released_by_expiry(reservation):
        return Step.NOTHING, TransitionError.EXPIRED
    return Step.NOTHING, TransitionError.INVALID


def plan_expiry(reservation: Reservation, now: datetime) -> Plan:
    """Expire a due hold; leave any other as it is."""
    if reservation.is_due(now):
        return Step.EXPIRE, None
    return Step.NOTHING, None

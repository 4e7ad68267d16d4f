"""One hold's life after it is made: confirm, release (also by staff, many at once), extend,
expire, and reading it.

Each service locks the hold, lets a pure planner in reservations.rules decide, writes the step,
commits, and only then raises any transition error, so an expiry found on the way (a confirm
of a hold whose time is up) is kept even though the caller gets a 410.
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inventory import locks as stock_locks
from inventory.models import LedgerEntry
from reservations import access, events, locks, selectors
from reservations.errors import (
    ExtensionLimit,
    InvalidTransition,
    ReservationExpired,
    ReservationNotFound,
)
from reservations.models import Reservation
from reservations.policy import hold_ttl
from reservations.rules import (
    Plan,
    Step,
    TransitionError,
    plan_confirm,
    plan_expiry,
    plan_extend,
    plan_release,
)
from reservations.services import ruled_orm, sweeps, waitlist

Status = Reservation.Status
Reason = Reservation.ReleaseReason
EventType = events.EventType
LedgerReason = LedgerEntry.Reason

TRANSITION_ERRORS = {
    TransitionError.EXPIRED: ReservationExpired,
    TransitionError.INVALID: InvalidTransition,
    TransitionError.EXTENSION_LIMIT: ExtensionLimit,
}


def _stock_key(reservation: Reservation) -> stock_locks.StockKey:
    return (reservation.product_id, reservation.warehouse_id)


# Each writer below runs on a locked PENDING hold. It writes the hold and its event first
# and the inventory row last, so the hot row stays locked only for its UPDATE and the commit.


def _write_confirm(
    reservation: Reservation, *, now: datetime, actor: str, reason: str, promotions: list
) -> None:
    reservation.status = Status.CONFIRMED
    reservation.confirmed_at = now
    reservation.updated_at = now
    reservation.save(update_fields=["status", "confirmed_at", "updated_at"])
    events.record([events.about(reservation, EventType.CONFIRMED, actor=actor, at=now)])
    stock_locks.apply(
        [locks.stock_change(reservation, LedgerReason.CONFIRMED, actor=actor)], at=now
    )


def _write_release(
    reservation: Reservation, *, now: datetime, actor: str, reason: str, promotions: list
) -> None:
    reservation.status = Status.RELEASED
    reservation.release_reason = reason
    reservation.released_at = now
    reservation.updated_at = now
    reservation.save(update_fields=["status", "release_reason", "released_at", "updated_at"])
    expired = reason == Reason.EXPIRED
    event_type = EventType.EXPIRED if expired else EventType.RELEASED
    events.record([events.about(reservation, event_type, actor=actor, at=now, reason=reason)])
    ledger_reason = LedgerReason.EXPIRED if expired else LedgerReason.RELEASED
    stock_locks.apply([locks.stock_change(reservation, ledger_reason, actor=actor)], at=now)
    ruled_orm.give_back([reservation])
    waitlist.offer_freed_units_on_commit([_stock_key(reservation)], promotions=promotions)


def _write_expiry(
    reservation: Reservation, *, now: datetime, actor: str, reason: str, promotions: list
) -> None:
    _write_release(reservation, now=now, actor=actor, reason=Reason.EXPIRED, promotions=promotions)


def _write_extension(
    reservation: Reservation, *, now: datetime, actor: str, reason: str, promotions: list
) -> None:
    previous = reservation.expires_at
    reservation.expires_at = previous + hold_ttl(reservation)  # the time left grows by its TTL
    reservation.extensions += 1
    reservation.updated_at = now
    reservation.save(update_fields=["expires_at", "extensions", "updated_at"])
    event = events.about(
        reservation,
        EventType.EXTENDED,
        actor=actor,
        at=now,
        previousExpiresAt=previous.isoformat(),
        expiresAt=reservation.expires_at.isoformat(),
    )
    events.record([event])


def _write_nothing(
    reservation: Reservation, *, now: datetime, actor: str, reason: str, promotions: list
) -> None:
    return None


WRITERS = {
    Step.CONFIRM: _write_confirm,
    Step.RELEASE: _write_release,
    Step.EXPIRE: _write_expiry,
    Step.EXTEND: _write_extension,
    Step.NOTHING: _write_nothing,
}


def _act(
    *,
    reservation_id: uuid.UUID,
    user,
    plan: Callable[[Reservation, datetime], Plan],
    actor: str | None = None,
    reason: str = Reason.CANCELLED,
    promotions: list | None = None,
) -> Reservation:
    """Lock one hold, let `plan` decide, write the step, commit, then raise any transition error.

    Promotions made with units the step freed are appended to `promotions` when given.
    """
    now = timezone.now()
    with transaction.atomic():
        reservation = access.check_access(
            locks.lock_reservation(reservation_id), user, missing=ReservationNotFound
        )
        step, error = plan(reservation, now)
        WRITERS[step](
            reservation,
            now=now,
            actor=actor or access.actor_for(user),
            reason=reason,
            promotions=promotions,
        )
    if error is not None:
        raise TRANSITION_ERRORS[error]()
    return reservation


def confirm(*, reservation_id: uuid.UUID, user=None, actor: str | None = None) -> Reservation:
    """Confirm a hold: its units leave stock. Confirming a confirmed hold changes nothing.

    Raise ReservationExpired if its time is up (it is released as EXPIRED first, and that is
    kept) or it was released by expiry; InvalidTransition if it was released otherwise.
    `actor` names a system caller in the audit log (default: from `user`).
    """
    return _act(reservation_id=reservation_id, user=user, plan=plan_confirm, actor=actor)


def release(
    *,
    reservation_id: uuid.UUID,
    user=None,
    reason: str = Reason.CANCELLED,
    promotions: list[waitlist.Promotion] | None = None,
    actor: str | None = None,
) -> Reservation:
    """Release a hold: its units go back to stock. Releasing a released hold changes nothing.

    A hold whose time is up is released with reason EXPIRED. Raise InvalidTransition if the
    hold was confirmed. The waitlist promotions the freed units made, right after the commit,
    are appended to `promotions` when it is given.
    """
    return _act(
        reservation_id=reservation_id,
        user=user,
        plan=plan_release,
        reason=reason,
        promotions=promotions,
        actor=actor,
    )


def extend(*, reservation_id: uuid.UUID, user=None) -> Reservation:
    """Add the hold's own TTL (its product's policy, else RESERVATION_TTL_SECONDS) to its
    expiry, up to its max_extensions times (one unless a policy says otherwise).

    Raise ExtensionLimit past them, ReservationExpired if its time is up (it is
    released first), InvalidTransition if it is confirmed or was released.
    """
    return _act(reservation_id=reservation_id, user=user, plan=plan_extend)


def expire_reservation(*, reservation_id: uuid.UUID, actor: str = "system:lazy") -> Reservation:
    """Release one hold as EXPIRED if its time is up; return it either way."""
    return _act(reservation_id=reservation_id, user=None, plan=plan_expiry, actor=actor)


def get_reservation(*, reservation_id: uuid.UUID, user) -> Reservation:
    """Return a hold `user` may see, expiring it first if its time is up."""
    reservation = access.check_access(
        selectors.reservation_detail(reservation_id), user, missing=ReservationNotFound
    )
    if reservation.is_due(timezone.now()):
        return expire_reservation(reservation_id=reservation_id)
    return reservation


def list_reservations(
    *,
    user,
    guest_id: uuid.UUID | None = None,
    limit: int,
    offset: int,
    own_only: bool = False,
) -> tuple[list[Reservation], int]:
    """Return a page of the holds `user` (or the guest session `guest_id`) may see, newest
    first, after expiring the due ones among them. Staff see everyone's, unless `own_only`
    (a shopper's own order page)."""
    if user.is_staff and not own_only:
        sweeps.expire_due_reservations(actor="system:lazy")
    elif user.is_authenticated:
        sweeps.expire_due_reservations(user_id=user.pk, actor="system:lazy")
    elif guest_id is not None:
        sweeps.expire_due_reservations(guest_id=guest_id, actor="system:lazy")
    return selectors.reservation_page(
        user=user, guest_id=guest_id, limit=limit, offset=offset, own_only=own_only
    )


@dataclass(frozen=True)
class StaffRelease:
    """What a staff member's release of several holds did, hold by hold.

    `released`: let go by hand (reason ADMIN); `expired`: their time was already up, so they
    were released as EXPIRED; `refused`: (id, why) of those left as they were.
    """

    released: list[Reservation] = field(default_factory=list)
    expired: list[Reservation] = field(default_factory=list)
    refused: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    promotions: list[waitlist.Promotion] = field(default_factory=list)


_REFUSED_BY_STATUS = {
    Status.CONFIRMED: "it is confirmed",
    Status.RELEASED: "it was already released",
}


def _plan_staff_release(reservation: Reservation, now: datetime) -> Plan:
    """Plan a release by hand: as plan_release, but a released hold is refused, not repeated."""
    step, error = plan_release(reservation, now)
    if step is Step.NOTHING and error is None:
        return Step.NOTHING, TransitionError.INVALID
    return step, error


def release_by_staff(*, reservation_ids: Iterable[uuid.UUID], user) -> StaffRelease:
    """Release PENDING holds by hand (reason ADMIN, actor `user:<id>`), one at a time.

    Each hold goes through the per-hold path in its own transaction, in pk order (the global
    lock order), and writes one RELEASED event; its freed units are offered to the waitlist
    after its commit. A hold whose time is up is released as EXPIRED instead. Confirmed,
    released and unknown holds (and those `user` may not see) are refused and left untouched.
    """
    outcome = StaffRelease()
    for reservation_id in sorted(set(reservation_ids)):
        try:
            reservation = _act(
                reservation_id=reservation_id,
                user=user,
                plan=_plan_staff_release,
                reason=Reason.ADMIN,
                promotions=outcome.promotions,
            )
        except ReservationNotFound:
            outcome.refused.append((reservation_id, "there is no such reservation"))
            continue
        except InvalidTransition:
            status = Reservation.objects.filter(pk=reservation_id).values_list("status", flat=True)
            why = _REFUSED_BY_STATUS.get(status.first(), "it is no longer pending")
            outcome.refused.append((reservation_id, why))
            continue
        if reservation.release_reason == Reason.EXPIRED:
            outcome.expired.append(reservation)
        else:
            outcome.released.append(reservation)
    return outcome

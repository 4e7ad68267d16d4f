"""The state machine's planners decide without a database."""

from datetime import UTC, datetime, timedelta

import pytest

from reservations.models import Reservation
from reservations.rules import (
    Step,
    TransitionError,
    plan_confirm,
    plan_expiry,
    plan_extend,
    plan_release,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
Status, Reason = Reservation.Status, Reservation.ReleaseReason


def hold(status=Status.PENDING, *, due=False, reason=None, extensions=0, most=1) -> Reservation:
    expires_at = NOW - timedelta(seconds=1) if due else NOW + timedelta(minutes=5)
    return Reservation(
        status=status,
        release_reason=reason,
        expires_at=expires_at,
        extensions=extensions,
        max_extensions=most,
    )


@pytest.mark.parametrize(
    ("reservation", "plan"),
    [
        (hold(), (Step.CONFIRM, None)),
        (hold(due=True), (Step.EXPIRE, TransitionError.EXPIRED)),
        (hold(Status.CONFIRMED), (Step.NOTHING, None)),
        (hold(Status.RELEASED, reason=Reason.EXPIRED), (Step.NOTHING, TransitionError.EXPIRED)),
        (hold(Status.RELEASED, reason=Reason.CANCELLED), (Step.NOTHING, TransitionError.INVALID)),
        (hold(Status.RELEASED, reason=Reason.ADMIN), (Step.NOTHING, TransitionError.INVALID)),
    ],
)
def test_confirm_plan(reservation, plan):
    assert plan_confirm(reservation, NOW) == plan


@pytest.mark.parametrize(
    ("reservation", "plan"),
    [
        (hold(), (Step.RELEASE, None)),
        (hold(due=True), (Step.EXPIRE, None)),
        (hold(Status.RELEASED, reason=Reason.CANCELLED), (Step.NOTHING, None)),
        (hold(Status.RELEASED, reason=Reason.EXPIRED), (Step.NOTHING, None)),
        (hold(Status.CONFIRMED), (Step.NOTHING, TransitionError.INVALID)),
    ],
)
def test_release_plan(reservation, plan):
    assert plan_release(reservation, NOW) == plan


@pytest.mark.parametrize(
    ("reservation", "plan"),
    [
        (hold(), (Step.EXTEND, None)),
        (hold(extensions=1), (Step.NOTHING, TransitionError.EXTENSION_LIMIT)),
        (hold(extensions=2, most=3), (Step.EXTEND, None)),
        (hold(extensions=3, most=3), (Step.NOTHING, TransitionError.EXTENSION_LIMIT)),
        (hold(most=0), (Step.NOTHING, TransitionError.EXTENSION_LIMIT)),
        (hold(due=True), (Step.EXPIRE, TransitionError.EXPIRED)),
        (hold(Status.RELEASED, reason=Reason.EXPIRED), (Step.NOTHING, TransitionError.EXPIRED)),
        (hold(Status.RELEASED, reason=Reason.CANCELLED), (Step.NOTHING, TransitionError.INVALID)),
        (hold(Status.CONFIRMED), (Step.NOTHING, TransitionError.INVALID)),
    ],
)
def test_extend_plan(reservation, plan):
    assert plan_extend(reservation, NOW) == plan


def test_expiry_plan_touches_only_due_pending_holds():
    assert plan_expiry(hold(due=True), NOW) == (Step.EXPIRE, None)
    assert plan_expiry(hold(), NOW) == (Step.NOTHING, None)
    assert plan_expiry(hold(Status.CONFIRMED, due=True), NOW) == (Step.NOTHING, None)


def test_a_hold_is_due_exactly_at_its_expiry_time():
    reservation = Reservation(status=Status.PENDING, expires_at=NOW)
    assert reservation.is_due(NOW)
    assert not reservation.is_due(NOW - timedelta(microseconds=1))

"""Races for stock held only by due holds: nobody is refused units that only the dead hold.

Every unit of a row is held by a hold whose time is up but which no sweep has released yet.
As many shoppers as there are units race for it at once: each one's hold fails, each one
sweeps the row's due holds, and all but the first find them locked by another sweep. They
must wait for that sweep and try again, not refuse (docs/concurrency.md).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Inventory
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from reservations.planning import CartLine
from reservations.services import carts, holds
from tests.factories import InventoryFactory
from tests.races import run_together, unexpected_errors

Status = Reservation.Status
Reason = Reservation.ReleaseReason
EventType = ReservationEvent.Type
UNITS = 10


def _row_held_only_by_due_holds() -> tuple[Inventory, list]:
    """Make a row of UNITS units, each held by its own one-unit hold whose time is up."""
    row = InventoryFactory(total_stock=UNITS)
    dead = [
        holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1).id
        for _ in range(UNITS)
    ]
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    return row, dead


def _assert_dead_released_once_and_units_held_by_the_living(row: Inventory, dead: list) -> None:
    for reservation_id in dead:
        events = ReservationEvent.objects.filter(reservation_id=reservation_id)
        assert list(events.order_by("created_at").values_list("type", flat=True)) == [
            EventType.RESERVED,
            EventType.EXPIRED,
        ]
    assert set(Reservation.objects.filter(pk__in=dead).values_list("status", "release_reason")) == {
        (Status.RELEASED, Reason.EXPIRED)
    }
    living = Reservation.objects.exclude(pk__in=dead)
    assert living.count() == UNITS
    assert set(living.values_list("status", flat=True)) == {Status.PENDING}
    assert ReservationEvent.objects.filter(type=EventType.EXPIRED).count() == UNITS
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (UNITS, UNITS)
    assert find_violations() == []


@pytest.mark.django_db(transaction=True)
def test_shoppers_racing_for_units_held_only_by_due_holds_all_get_them():
    row, dead = _row_held_only_by_due_holds()

    outcomes = run_together(
        UNITS,
        lambda _: holds.reserve(
            product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1
        ),
    )

    assert unexpected_errors(outcomes) == []
    assert [outcome.error for outcome in outcomes if outcome.error is not None] == []
    _assert_dead_released_once_and_units_held_by_the_living(row, dead)


@pytest.mark.django_db(transaction=True)
def test_carts_racing_for_units_held_only_by_due_holds_all_get_them():
    row, dead = _row_held_only_by_due_holds()

    outcomes = run_together(
        UNITS,
        lambda _: carts.reserve_cart(lines=[CartLine(row.product_id, row.warehouse_id, 1)]),
    )

    assert unexpected_errors(outcomes) == []
    assert [outcome.error for outcome in outcomes if outcome.error is not None] == []
    assert len({outcome.value.cart_id for outcome in outcomes}) == UNITS
    _assert_dead_released_once_and_units_held_by_the_living(row, dead)

"""Races on real threads against real PostgreSQL: every hold is taken, kept and let go once.

Each test starts its threads on a barrier so they really run together; each thread uses its
own database connection and closes it when done. The verdict is read from the database
afterwards: row counts, stock counters and reservations.invariants.find_violations().
"""

import json
import random
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from inventory.models import Inventory
from reservations.errors import InsufficientStock, InvalidTransition, ReservationExpired
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds, sweeps, transitions
from tests.factories import InventoryFactory
from tests.races import run_together, unexpected_errors

Status = Reservation.Status
Reason = Reservation.ReleaseReason
EventType = ReservationEvent.Type
EXIT_EVENTS = (EventType.CONFIRMED, EventType.RELEASED, EventType.EXPIRED)


def _stock(row: Inventory) -> tuple[int, int]:
    row.refresh_from_db()
    return row.total_stock, row.reserved_stock


def _exit_events(reservation_id) -> list[str]:
    return list(
        ReservationEvent.objects.filter(
            reservation_id=reservation_id, type__in=EXIT_EVENTS
        ).values_list("type", flat=True)
    )


# --- the last unit ---------------------------------------------------------------------------


def _assert_last_unit_held_once(row: Inventory) -> None:
    assert _stock(row) == (1, 1)
    assert Reservation.objects.count() == 1
    assert Reservation.objects.get().status == Status.PENDING
    assert ReservationEvent.objects.filter(type=EventType.RESERVED).count() == 1
    assert ReservationEvent.objects.count() == 1
    assert find_violations() == []


POOL_SIZE = 30  # DATABASE_POOL_MAX_SIZE in tests/settings.py


@pytest.mark.django_db(transaction=True)
def test_200_shoppers_through_a_30_connection_pool_racing_for_the_last_unit_get_one_hold():
    """200 threads ask at once for the last unit; one gets it, 199 are refused with 0 left.

    They share the test settings' pool of 30 connections (PostgreSQL allows 100 in all, so
    200 real ones are not possible here) and the test's own thread keeps one, so at most 29
    holds really run against the row at the same moment; the other threads queue for a
    connection, as requests do behind a production pool, and race whoever holds one then.
    """
    pool = settings.DATABASES["default"]["OPTIONS"]["pool"]
    assert pool["max_size"] == POOL_SIZE, "the pool changed: rename this test to match it"
    row = InventoryFactory(total_stock=1)

    outcomes = run_together(
        200,
        lambda _: holds.reserve(
            product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1
        ),
    )

    assert unexpected_errors(outcomes, InsufficientStock) == []
    held = [outcome.value for outcome in outcomes if outcome.error is None]
    short = [outcome.error for outcome in outcomes if outcome.error is not None]
    assert len(held) == 1
    assert len(short) == 199
    assert all(error.extra == {"available": 0} for error in short)
    assert Reservation.objects.get().id == held[0].id
    _assert_last_unit_held_once(row)


def _post_json(url: str, body: dict) -> tuple[int, dict]:
    """POST `body` as JSON; return the status and the JSON answer, error statuses included."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"unparsed": raw.decode(errors="replace")}


@pytest.mark.django_db(transaction=True)
def test_50_http_clients_racing_for_the_last_unit_get_one_201(stockd_server):
    row = InventoryFactory(total_stock=1)
    url = f"{stockd_server}/api/reservations"
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1}

    outcomes = run_together(50, lambda _: _post_json(url, body))

    assert unexpected_errors(outcomes) == []
    answers = [outcome.value for outcome in outcomes]
    assert [answer for answer in answers if answer[0] >= 500] == []
    assert Counter(status for status, _ in answers) == {201: 1, 409: 49}
    (created,) = [answer for status, answer in answers if status == 201]
    assert created["status"] == Status.PENDING
    assert created["productId"] == str(row.product_id)
    refusals = [answer for status, answer in answers if status == 409]
    assert all(answer["code"] == "INSUFFICIENT_STOCK" for answer in refusals), refusals
    assert all(answer["available"] == 0 for answer in refusals), refusals
    assert str(Reservation.objects.get().id) == created["id"]
    _assert_last_unit_held_once(row)


# --- due holds -------------------------------------------------------------------------------

SWEEPERS, LAZY_READERS, CONFIRMERS = 3, 3, 4


def _confirm_each_expecting_expiry(reservation_ids: list) -> list:
    """Try to confirm every hold; return the ids that were confirmed (each must be refused)."""
    confirmed = []
    for reservation_id in reservation_ids:
        try:
            transitions.confirm(reservation_id=reservation_id, user=None)
        except ReservationExpired:
            continue
        confirmed.append(reservation_id)
    return confirmed


@pytest.mark.django_db(transaction=True)
def test_sweep_lazy_expiry_and_confirm_racing_release_each_hold_once():
    rows = InventoryFactory.create_batch(3, total_stock=20)
    reservation_ids = [
        holds.reserve(
            product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1 + n % 2
        ).id
        for n in range(10)
        for row in rows
    ]
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    def work(index: int) -> Any:
        in_some_order = random.Random(index).sample(reservation_ids, len(reservation_ids))
        if index < SWEEPERS:
            # Small batches: many short sweep transactions interleave with the others.
            return sweeps.expire_due_reservations(batch_size=4)
        if index < SWEEPERS + LAZY_READERS:
            return {
                (hold.status, hold.release_reason)
                for hold in (
                    transitions.get_reservation(reservation_id=reservation_id, user=None)
                    for reservation_id in in_some_order
                )
            }
        return _confirm_each_expecting_expiry(in_some_order)

    outcomes = run_together(SWEEPERS + LAZY_READERS + CONFIRMERS, work)

    assert unexpected_errors(outcomes) == []
    swept = [outcome.value for outcome in outcomes[:SWEEPERS]]
    read = [outcome.value for outcome in outcomes[SWEEPERS : SWEEPERS + LAZY_READERS]]
    confirmed = [outcome.value for outcome in outcomes[SWEEPERS + LAZY_READERS :]]
    assert read == [{(Status.RELEASED, Reason.EXPIRED)}] * LAZY_READERS
    assert confirmed == [[]] * CONFIRMERS
    assert sum(swept) == (
        ReservationEvent.objects.filter(type=EventType.EXPIRED, actor="system:sweep").count()
    )

    released = Reservation.objects.filter(pk__in=reservation_ids)
    assert released.count() == 30
    assert set(released.values_list("status", "release_reason")) == {
        (Status.RELEASED, Reason.EXPIRED)
    }
    for reservation_id in reservation_ids:
        assert _exit_events(reservation_id) == [EventType.EXPIRED]
    assert not ReservationEvent.objects.filter(
        type__in=[EventType.CONFIRMED, EventType.RELEASED]
    ).exists()
    assert [_stock(row) for row in rows] == [(20, 0)] * 3
    assert find_violations() == []


# --- one hold, two verbs ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_confirm_and_release_racing_on_one_hold_do_exactly_one():
    row = InventoryFactory(total_stock=5)
    hold = holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=2)

    def confirms(index: int) -> bool:
        return index % 2 == 0

    def work(index: int) -> str:
        act = transitions.confirm if confirms(index) else transitions.release
        return act(reservation_id=hold.id, user=None).status

    outcomes = run_together(20, work)

    assert unexpected_errors(outcomes, InvalidTransition) == []
    final = Reservation.objects.get(pk=hold.id)
    assert final.status in (Status.CONFIRMED, Status.RELEASED)
    confirmed = final.status == Status.CONFIRMED
    # Callers of the winning verb are answered with the final state (the API's repeat 200);
    # callers of the other verb are refused.
    for index, outcome in enumerate(outcomes):
        if confirms(index) == confirmed:
            assert outcome.value == final.status
        else:
            assert isinstance(outcome.error, InvalidTransition)
    assert _exit_events(hold.id) == [final.status]
    if confirmed:
        assert _stock(row) == (3, 0)
    else:
        assert final.release_reason == Reason.CANCELLED
        assert _stock(row) == (5, 0)
    assert find_violations() == []

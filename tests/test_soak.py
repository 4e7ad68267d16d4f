"""Soak: 32 threads run 5,000 random reservation operations and every invariant still holds.

The run has two phases. In the first, holds live RESERVATION_TTL_SECONDS=1, so confirms,
extends, releases, lazy reads, sweeps and reserves (which expire a short row's due holds)
keep meeting holds whose time is up; in the second, holds live the usual TTL and the rows
run short. Operations act on the newest holds, so threads collide on live ones.
"""

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from inventory.models import Inventory
from reservations.errors import (
    ExtensionLimit,
    InsufficientStock,
    InvalidTransition,
    ReservationExpired,
)
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds, sweeps, transitions
from tests.factories import InventoryFactory
from tests.races import run_together, unexpected_errors

Status = Reservation.Status
Reason = Reservation.ReleaseReason
EventType = ReservationEvent.Type

SEED = 20_250_601
THREADS = 32
OPERATIONS = 5_000
UNITS_PER_ROW = 200
ROWS = 4
SHORT_TTL_SECONDS = 1
RECENT_HOLDS = 64
DOMAIN_ERRORS = (InsufficientStock, ReservationExpired, InvalidTransition, ExtensionLimit)


class _Holds:
    """The ids of the holds taken so far, shared by every thread."""

    def __init__(self) -> None:
        self._ids: list[uuid.UUID] = []
        self._lock = threading.Lock()

    def add(self, reservation_id: uuid.UUID) -> None:
        with self._lock:
            self._ids.append(reservation_id)

    def pick_recent(self, rng: random.Random) -> uuid.UUID:
        with self._lock:
            return self._ids[-rng.randint(1, min(len(self._ids), RECENT_HOLDS))]


Operation = Callable[[random.Random, list[Inventory], _Holds], object]


def _reserve(rng: random.Random, rows: list[Inventory], taken: _Holds) -> None:
    row = rng.choice(rows)
    hold = holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=rng.randint(1, 3)
    )
    taken.add(hold.id)


def _on_a_recent_hold(service: Callable[..., Reservation]) -> Operation:
    def operation(rng: random.Random, rows: list[Inventory], taken: _Holds) -> None:
        service(reservation_id=taken.pick_recent(rng), user=None)

    return operation


def _sweep(rng: random.Random, rows: list[Inventory], taken: _Holds) -> None:
    sweeps.expire_due_reservations()


OPERATION_WEIGHTS: dict[str, tuple[Operation, int]] = {
    "reserve": (_reserve, 35),
    "confirm": (_on_a_recent_hold(transitions.confirm), 12),
    "release": (_on_a_recent_hold(transitions.release), 18),
    "extend": (_on_a_recent_hold(transitions.extend), 10),
    "read": (_on_a_recent_hold(transitions.get_reservation), 15),  # lazy expiry
    "sweep": (_sweep, 10),
}


def _operate(count: int, rng: random.Random, rows: list[Inventory], taken: _Holds) -> Counter[str]:
    """Run `count` random operations; tally each as "name ok" or "name ErrorName".

    Only the domain errors are expected; any other error stops the thread and fails the test.
    """
    names = list(OPERATION_WEIGHTS)
    weights = [weight for _, weight in OPERATION_WEIGHTS.values()]
    tally: Counter[str] = Counter()
    for name in rng.choices(names, weights=weights, k=count):
        try:
            OPERATION_WEIGHTS[name][0](rng, rows, taken)
        except DOMAIN_ERRORS as error:
            tally[f"{name} {type(error).__name__}"] += 1
        else:
            tally[f"{name} ok"] += 1
    return tally


def _thread_work(
    index: int, *, phase: int, operations: int, rows: list[Inventory], taken: _Holds
) -> Counter[str]:
    """Run thread `index`'s share of a phase's operations, with its own fixed seed."""
    share = operations // THREADS + (index < operations % THREADS)
    return _operate(share, random.Random(SEED + 1_000 * phase + index), rows, taken)


def _assert_events_match_state_changes() -> None:
    reservations = Reservation.objects.all()
    events = ReservationEvent.objects.all()
    released = reservations.filter(status=Status.RELEASED)
    assert events.filter(type=EventType.RESERVED).count() == reservations.count()
    assert (
        events.filter(type=EventType.CONFIRMED).count()
        == reservations.filter(status=Status.CONFIRMED).count()
    )
    assert (
        events.filter(type=EventType.EXPIRED).count()
        == released.filter(release_reason=Reason.EXPIRED).count()
    )
    assert (
        events.filter(type=EventType.RELEASED).count()
        == released.exclude(release_reason=Reason.EXPIRED).count()
    )
    extended = reservations.filter(extensions__gt=0).count()
    assert events.filter(type=EventType.EXTENDED).count() == extended


def _units(reservations, **filters) -> int:
    return reservations.filter(**filters).aggregate(units=Sum("quantity"))["units"] or 0


def _assert_counters_match_holds(rows: list[Inventory]) -> None:
    for row in rows:
        row.refresh_from_db()
        holds = Reservation.objects.filter(product_id=row.product_id, warehouse_id=row.warehouse_id)
        assert row.reserved_stock == _units(holds, status=Status.PENDING), row
        assert row.total_stock == UNITS_PER_ROW - _units(holds, status=Status.CONFIRMED), row


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_soak_random_operations_keep_every_invariant(settings):
    rows = InventoryFactory.create_batch(ROWS, total_stock=UNITS_PER_ROW)
    taken = _Holds()
    for row in rows:
        _reserve(random.Random(SEED), [row], taken)
    usual_ttl = settings.RESERVATION_TTL_SECONDS
    phases = [(SHORT_TTL_SECONDS, OPERATIONS // 2), (usual_ttl, OPERATIONS - OPERATIONS // 2)]

    tally: Counter[str] = Counter()
    started = time.monotonic()
    for phase, (ttl, operations) in enumerate(phases):
        # pytest-django's settings fixture changes settings for the whole process, threads too.
        settings.RESERVATION_TTL_SECONDS = ttl
        work = partial(_thread_work, phase=phase, operations=operations, rows=rows, taken=taken)
        outcomes = run_together(THREADS, work)
        assert unexpected_errors(outcomes) == []
        for outcome in outcomes:
            tally.update(outcome.value)
    elapsed = time.monotonic() - started

    print(f"\nsoak: {tally.total()} operations in {elapsed:.1f}s on {THREADS} threads")
    print("soak outcomes:", ", ".join(f"{key} {n}" for key, n in sorted(tally.items())))
    assert tally.total() == OPERATIONS
    assert find_violations() == []
    call_command("check_invariants", stdout=StringIO(), stderr=StringIO())
    _assert_events_match_state_changes()
    _assert_counters_match_holds(rows)
    # The run reached every exit, or it proved little.
    final_states = set(Reservation.objects.values_list("status", "release_reason"))
    assert {
        (Status.CONFIRMED, None),
        (Status.RELEASED, Reason.CANCELLED),
        (Status.RELEASED, Reason.EXPIRED),
    } <= final_states
    assert Reservation.objects.filter(extensions__gt=0).exists()

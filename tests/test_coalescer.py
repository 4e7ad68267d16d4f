"""The hold coalescer: concurrent holds on one row share a statement, and nothing else changes.

Real PostgreSQL, real threads and the coalescer's own connections. A batch forms only while
another is in the database, so the tests that need a batch of a known make-up hold the stock
row's lock from a session of their own: the first hold waits on it inside PostgreSQL, the
next ones queue in the coalescer (`queued`), and releasing the lock lets the first commit and
the queued ones run as one statement, in arrival order.
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.errors import StockNotFound
from inventory.models import Inventory
from reservations import coalescer, locks
from reservations.errors import InsufficientStock
from reservations.invariants import find_violations
from reservations.metrics import COALESCED_BATCH_SIZE
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds
from tests.factories import InventoryFactory
from tests.ledger_sql import one_unit_sql
from tests.races import connect, run_together, unexpected_errors, wait_until_blocked_by
from warehouses.routing import city_location

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("coalescing"),
]


@pytest.fixture
def coalescing():
    with override_settings(HOLD_COALESCING=True):
        yield


def _reserve(row: Inventory, quantity: int = 1, **shopper) -> Callable[[], Reservation]:
    return lambda: holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=quantity, **shopper
    )


class _Held:
    """Hold a stock row's lock from a session of its own until `release()`."""

    def __init__(self, row: Inventory) -> None:
        self.session = connect()
        self.transaction = self.session.transaction()
        self.transaction.__enter__()
        self.session.execute(
            f"SELECT 1 FROM {Inventory._meta.db_table} WHERE id = %s FOR UPDATE", [row.pk]
        )
        self.pid = self.session.info.backend_pid

    def release(self) -> None:
        self.transaction.__exit__(None, None, None)
        self.session.close()


class _Started:
    """Run `work` on a thread of its own; keep its result or error."""

    def __init__(self, work: Callable) -> None:
        self.result, self.error = None, None
        self.thread = threading.Thread(target=self._run, args=(work,))
        self.thread.start()

    def _run(self, work: Callable) -> None:
        try:
            self.result = work()
        except BaseException as error:
            self.error = error

    def join(self):
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "the hold never finished"
        return self


def _batch_behind_a_held_lock(row: Inventory, first: Callable, queued: list[Callable]):
    """Run `first` (it waits on the row lock), queue `queued` in order, then release."""
    lock = _Held(row)
    try:
        head = _Started(first)
        wait_until_blocked_by(lock.pid, alive=head.thread.is_alive)
        tail = []
        for work in queued:  # one at a time, so arrival order is the list's order
            tail.append(_Started(work))
            _wait_for(coalescer.get().queued, _key(row), len(tail))
    finally:
        lock.release()
    return head.join(), [started.join() for started in tail]


def _one_unit(row: Inventory) -> coalescer.HoldRequest:
    """A request for one unit of `row`, as the coalescer queues it."""
    return coalescer.HoldRequest(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1, actor="test"
    )


def _key(row: Inventory) -> tuple[int, int]:
    return (row.product_id, row.warehouse_id)


def _wait_for(queued: Callable[[tuple[int, int]], int], key: tuple[int, int], n: int) -> None:
    """Wait until `n` holds for `key` queue in the coalescer."""
    for _ in range(6000):
        if queued(key) == n:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the holds never queued")


def _batch_sizes() -> dict[float, float]:
    """Cumulative bucket counts of the coalesced batch size histogram (this process)."""
    return {
        float(sample.labels["le"]): sample.value
        for metric in COALESCED_BATCH_SIZE.collect()
        for sample in metric.samples
        if sample.name.endswith("_bucket")
    }


def test_exactly_one_of_50_shoppers_gets_the_last_unit():
    row = InventoryFactory(total_stock=1)
    outcomes = run_together(50, lambda i: _reserve(row)())
    assert unexpected_errors(outcomes, InsufficientStock) == []
    assert sum(o.error is None for o in outcomes) == 1
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (1, 1)
    assert Reservation.objects.count() == 1
    assert ReservationEvent.objects.count() == 1
    assert find_violations() == []


def test_holds_in_one_batch_are_admitted_in_arrival_order_a_small_one_after_a_refused_large():
    row = InventoryFactory(total_stock=10)
    before = _batch_sizes()
    head, tail = _batch_behind_a_held_lock(
        row, _reserve(row, 1), [_reserve(row, q) for q in (5, 6, 4, 1)]
    )
    assert head.error is None
    assert [s.error is None for s in tail] == [True, False, True, False]
    assert all(isinstance(tail[i].error, InsufficientStock) for i in (1, 3))
    row.refresh_from_db()
    assert row.reserved_stock == 10
    assert sorted(Reservation.objects.values_list("quantity", flat=True)) == [1, 4, 5]
    # The four queued holds ran as one statement: one batch of 3 or 4 holds was observed.
    after = _batch_sizes()
    assert (after[4.0] - before[4.0]) - (after[2.0] - before[2.0]) == 1
    assert find_violations() == []


def test_routed_holds_join_their_rows_batch():
    row = InventoryFactory(total_stock=10)  # its product's only warehouse: routes go there
    routed = lambda: holds.reserve_nearest(product_id=row.product_id, quantity=2)  # noqa: E731
    before = _batch_sizes()
    head, tail = _batch_behind_a_held_lock(row, _reserve(row, 1), [routed, routed, routed])
    assert head.error is None and [s.error for s in tail] == [None, None, None]
    assert {s.result.reservation.warehouse_id for s in tail} == {row.warehouse_id}
    row.refresh_from_db()
    assert row.reserved_stock == 7
    after = _batch_sizes()  # the three queued routed holds ran as one statement
    assert (after[4.0] - before[4.0]) - (after[2.0] - before[2.0]) == 1
    assert find_violations() == []


def test_each_hold_of_a_batch_gets_its_own_reservation_owner_and_event():
    row = InventoryFactory(total_stock=10)
    head, tail = _batch_behind_a_held_lock(
        row, _reserve(row, 1), [_reserve(row, 2), _reserve(row, 3)]
    )
    made = [head.result, *(s.result for s in tail)]
    assert len({r.id for r in made}) == 3
    for reservation in made:
        stored = Reservation.objects.get(pk=reservation.id)
        assert (stored.quantity, stored.status) == (
            reservation.quantity,
            Reservation.Status.PENDING,
        )
        assert stored.expires_at == reservation.expires_at
        events = ReservationEvent.objects.filter(reservation_id=reservation.id)
        assert list(events.values_list("type", "quantity")) == [
            (ReservationEvent.Type.RESERVED, reservation.quantity)
        ]


def test_a_failing_statement_fails_only_its_batch():
    row = InventoryFactory(total_stock=10)
    nobody = 10**9  # no such user: the batch's INSERT breaks its foreign key
    head, tail = _batch_behind_a_held_lock(
        row,
        _reserve(row, 1),
        [_reserve(row, 2), lambda: holds.reserve(
            product_id=row.product_id,
            warehouse_id=row.warehouse_id,
            quantity=1,
            user=_Ghost(nobody),
        ), _reserve(row, 3)],
    )  # fmt: skip
    assert head.error is None
    assert all(isinstance(s.error, IntegrityError) for s in tail)
    after = _reserve(row, 4)()  # the coalescer goes on
    row.refresh_from_db()
    assert row.reserved_stock == 1 + 4
    assert set(Reservation.objects.values_list("id", flat=True)) == {head.result.id, after.id}
    assert find_violations() == []


class _Ghost:
    """A signed-in user whose row does not exist."""

    is_authenticated = True

    def __init__(self, pk: int) -> None:
        self.pk = pk


def test_a_row_that_is_not_sellable_refuses_the_whole_batch_with_404():
    row = InventoryFactory(total_stock=10)
    row.warehouse.active = False
    row.warehouse.save()
    outcomes = run_together(10, lambda i: _reserve(row)())
    assert all(isinstance(o.error, StockNotFound) for o in outcomes)
    assert Reservation.objects.count() == 0


def test_idempotent_retries_racing_coalesced_holds_on_one_row_hold_once():
    row = InventoryFactory(total_stock=100)
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1}

    def send(i: int):
        headers = {"HTTP_IDEMPOTENCY_KEY": "retry-1"} if i % 3 == 0 else {}
        return APIClient().post("/api/reservations", body, format="json", **headers)

    outcomes = run_together(30, send)
    assert unexpected_errors(outcomes) == []
    keyed = [o.value for i, o in enumerate(outcomes) if i % 3 == 0]
    plain = [o.value for i, o in enumerate(outcomes) if i % 3 != 0]
    assert {r.status_code for r in keyed + plain} == {201}
    assert len({r.json()["id"] for r in keyed}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in keyed) == len(keyed) - 1
    assert Reservation.objects.count() == 1 + len(plain)
    row.refresh_from_db()
    assert row.reserved_stock == 1 + len(plain)
    assert find_violations() == []


def test_a_sold_out_row_is_refused_from_a_plain_read_without_waiting_for_its_lock():
    row = InventoryFactory(total_stock=1)
    _reserve(row)()
    with pytest.raises(InsufficientStock):
        _reserve(row)()  # the batch finds it short: the coalescer now knows
    lock = _Held(row)  # were the next refusal to queue for the row lock, it would hang here
    try:
        refusal = _Started(_reserve(row)).join()
    finally:
        lock.release()
    assert isinstance(refusal.error, InsufficientStock)
    assert refusal.error.extra["available"] == 0


@override_settings(SOLD_OUT_SWEEP_INTERVAL_MS=3_600_000)
def test_due_holds_are_released_before_a_refusal_at_most_once_per_row_per_interval():
    row = InventoryFactory(total_stock=1)
    dead = _reserve(row)()
    _expire(dead)
    survivor = _reserve(row)()  # refused, releases the due hold, tries again: held
    assert Reservation.objects.get(pk=dead.id).status == Reservation.Status.RELEASED
    _expire(survivor)
    with pytest.raises(InsufficientStock):
        _reserve(row)()  # within the interval: refused, nothing released
    assert Reservation.objects.get(pk=survivor.id).status == Reservation.Status.PENDING
    with override_settings(SOLD_OUT_SWEEP_INTERVAL_MS=0):
        _reserve(row)()
    assert Reservation.objects.get(pk=survivor.id).status == Reservation.Status.RELEASED
    assert find_violations() == []


def _expire(reservation: Reservation) -> None:
    Reservation.objects.filter(pk=reservation.id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_shoppers_for_units_held_only_by_due_holds_all_get_them_through_the_coalescer():
    row = InventoryFactory(total_stock=10)
    dead = [_reserve(row)() for _ in range(10)]
    for reservation in dead:
        _expire(reservation)
    coalescer.get().forget_rows()
    outcomes = run_together(10, lambda i: _reserve(row)())
    assert unexpected_errors(outcomes) == []
    row.refresh_from_db()
    assert row.reserved_stock == 10
    assert Reservation.objects.filter(status=Reservation.Status.PENDING).count() == 10
    assert find_violations() == []


def test_64_async_callers_on_one_row_commit_every_hold_once():
    row = InventoryFactory(total_stock=10_000)

    async def shoppers():
        async def one():
            for _ in range(10):
                await holds.areserve(
                    product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1
                )

        await asyncio.gather(*(one() for _ in range(64)))

    before = _batch_sizes()
    asyncio.run(shoppers())
    row.refresh_from_db()
    assert row.reserved_stock == 640
    assert Reservation.objects.count() == ReservationEvent.objects.count() == 640
    after = _batch_sizes()
    batches = after[float("inf")] - before[float("inf")]
    assert batches < 640  # some holds shared a statement
    assert find_violations() == []


def test_async_routed_holds_fill_the_nearest_warehouse_then_fall_through_exactly():
    near = InventoryFactory(total_stock=30)  # Mumbai, the factory's default
    far = InventoryFactory(
        product=near.product, total_stock=30, warehouse__lat=28.6139, warehouse__lng=77.2090
    )
    mumbai = city_location("Mumbai")

    async def shoppers():
        async def one():
            return await holds.areserve_nearest(
                product_id=near.product_id, quantity=1, origin=mumbai
            )

        return await asyncio.gather(*(one() for _ in range(80)), return_exceptions=True)

    outcomes = asyncio.run(shoppers())
    held = [o for o in outcomes if isinstance(o, holds.RoutedHold)]
    assert len(held) == 60
    assert all(isinstance(o, InsufficientStock) for o in outcomes if o not in held)
    assert sorted({h.reservation.warehouse_id for h in held}) == sorted(
        [near.warehouse_id, far.warehouse_id]
    )
    assert {h.distance_km for h in held if h.reservation.warehouse_id == near.warehouse_id} == {0}
    near.refresh_from_db()
    far.refresh_from_db()
    assert near.reserved_stock == far.reserved_stock == 30
    assert find_violations() == []


def test_after_a_restart_the_next_hold_meets_one_dead_connection_and_commits(caplog):
    """Every backend terminated (a restart): the first dead connection found replaces the
    other idle one, so the hold waits for one fresh connection, not for psycopg_pool's back-off."""
    rows = [InventoryFactory(total_stock=10) for _ in range(2)]
    own = coalescer.HoldCoalescer(pool_size=2, max_batch=256, now=timezone.now)

    def hold(*on: Inventory) -> list:
        requests = [_one_unit(row) for row in on]

        async def together():
            return await asyncio.gather(*(own.hold(request) for request in requests))

        return own.run_blocking(together())

    def dead_found() -> int:  # psycopg_pool logs each connection its check found dead
        return caplog.text.count("not serving connection found broken")

    caplog.set_level(logging.INFO, logger="psycopg.pool")

    try:
        assert len(hold(*rows)) == 2  # two rows at once: both of the pool's connections used
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 2

        assert all(isinstance(h, locks.Hold) for h in hold(rows[0]))
        assert dead_found() == 1
        assert all(isinstance(h, locks.Hold) for h in hold(*rows))
        assert dead_found() == 1
    finally:
        own.run_blocking(own.close())
    assert Reservation.objects.count() == 5
    assert find_violations() == []


RESTOCK_ONE_UNIT_SQL = one_unit_sql("total_stock", "on_hand", "RECEIVED")


def test_a_batch_waiting_on_a_restock_admits_what_the_restock_added():
    """The batch statement starts while another transaction has changed the row (a restock,
    a release) and waits for it: it admits on the row it locked, and writes from that row.
    It once wrote from its snapshot's older version, and the CHECK refused the batch
    ("reserved 3 > total 2") although the restocked row had room."""
    row = InventoryFactory(total_stock=2)
    for _ in range(2):
        _reserve(row)()
    restock = connect()
    try:
        with restock.transaction():
            restock.execute(RESTOCK_ONE_UNIT_SQL, [row.pk])
            requests = [_one_unit(row) for _ in range(2)]

            async def one_batch():  # queued in one loop turn: they run as one statement
                holds_ = coalescer.get()
                return await asyncio.gather(*(holds_.hold(request) for request in requests))

            batch = _Started(lambda: coalescer.get().run_blocking(one_batch()))
            wait_until_blocked_by(restock.info.backend_pid, alive=batch.thread.is_alive)
    finally:
        restock.close()
    batch.join()

    assert batch.error is None
    assert [type(outcome) for outcome in batch.result] == [locks.Hold, coalescer.Refused]
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (3, 3)
    assert find_violations() == []

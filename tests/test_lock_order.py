"""The global lock order holds across kinds of transaction: racing them never deadlocks.

reservations/locks.py states the order every transaction keeps (reservations by pk, then
stock rows by pk, then waitlist entries oldest first). Each test here races one kind of
transaction against another over overlapping rows, on real threads released on a barrier
(each with its own connection), round after round. A deadlock shows up as an unexpected
error (psycopg's DeadlockDetected, raised as django's OperationalError) or as threads still
running at the join timeout. After every round the books must balance: find_violations()
is empty, and every row's total_stock is its opening stock less its CONFIRMED units.
"""

import uuid
from collections.abc import Callable
from datetime import timedelta
from enum import Enum
from functools import partial
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F, Sum
from django.utils import timezone

from inventory.models import Inventory
from reservations.errors import InsufficientStock, InvalidTransition, ReservationExpired
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from reservations.planning import CartLine
from reservations.services import carts, holds, repair, sweeps, transitions, waitlist
from tests.factories import InventoryFactory
from tests.races import Outcome, run_together, unexpected_errors

Status = Reservation.Status
Reason = Reservation.ReleaseReason
EventType = ReservationEvent.Type
race = pytest.mark.django_db(transaction=True)

ROUNDS = 8


def assert_books_balance(opening: dict[int, int]) -> None:
    """Assert invariants 1, 2 and 4, and that no unit left stock except by a confirmation.

    `opening` maps inventory ids to the total_stock they were created with: the database
    does not record it, so find_violations() cannot check this part and the test must.
    """
    assert find_violations() == []
    shipped = {
        (row["product_id"], row["warehouse_id"]): row["units"]
        for row in Reservation.objects.filter(status=Status.CONFIRMED)
        .order_by()
        .values("product_id", "warehouse_id")
        .annotate(units=Sum("quantity"))
    }
    rows = list(
        Inventory.objects.filter(pk__in=opening).values_list(
            "pk", "product_id", "warehouse_id", "total_stock"
        )
    )
    assert len(rows) == len(opening)
    assert {pk: total for pk, _, _, total in rows} == {
        pk: opening[pk] - shipped.get((product_id, warehouse_id), 0)
        for pk, product_id, warehouse_id, _ in rows
    }


def _counters(row: Inventory) -> tuple[int, int]:
    row.refresh_from_db()
    return row.total_stock, row.reserved_stock


def _race(tasks: list[Callable[[], Any]]) -> list[Outcome]:
    return run_together(len(tasks), lambda index: tasks[index]())


def _refused(outcomes: list[Outcome]) -> set[int]:
    return {index for index, outcome in enumerate(outcomes) if outcome.error is not None}


def _assert_no_errors_but(
    outcomes: list[Outcome], *expected: type[BaseException], where: str
) -> None:
    """Fail with every unexpected traceback in full (a deadlock names its two statements)."""
    errors = unexpected_errors(outcomes, *expected)
    assert errors == [], f"{where}: {len(errors)} unexpected error(s)\n" + "\n".join(errors)


# --- (a) the expiry sweep against cart confirm and cart release -----------------------------


class Due(Enum):
    """How much of a cart is due when the race starts."""

    ALL = "every hold's time is up"
    PART = "one hold's time is up, the other's is not"
    SOON = "every hold falls due within a few milliseconds"
    NONE = "no hold is due"


CARTS = 8  # two of each kind per round
SWEEPERS = 3


def _cart_on(rows: list[Inventory], n: int) -> uuid.UUID:
    """Hold a two-line cart on two of the three rows; neighbouring carts share a row."""
    first, second = rows[n % 3], rows[(n + 1) % 3]
    lines = [
        CartLine(first.product_id, first.warehouse_id, 1 + n % 2),
        CartLine(second.product_id, second.warehouse_id, 1),
    ]
    return carts.reserve_cart(lines=lines[:: 1 if n % 2 else -1]).cart_id


def _holds_of(cart_id: uuid.UUID) -> list[Reservation]:
    return list(Reservation.objects.filter(cart_id=cart_id).order_by("pk"))


def _make_due(cart_id: uuid.UUID, due: Due, *, round_: int) -> uuid.UUID | None:
    """Move the cart's expiry as `due` says; return the one due hold of a PART cart."""
    now = timezone.now()
    cart = Reservation.objects.filter(cart_id=cart_id)
    if due == Due.ALL:
        cart.update(expires_at=now - timedelta(seconds=1))
    elif due == Due.SOON:
        for n, hold in enumerate(_holds_of(cart_id)):
            cart.filter(pk=hold.pk).update(expires_at=now + timedelta(milliseconds=5 + 40 * n))
    elif due == Due.PART:
        # Alternate which of the two (in lock order) is due: the sweep SKIP-LOCKs it either
        # before or after the cart's own lock reaches it.
        due_hold = _holds_of(cart_id)[round_ % 2]
        cart.filter(pk=due_hold.pk).update(expires_at=now - timedelta(seconds=1))
        return due_hold.pk
    return None


@race
def test_expiry_sweeps_racing_cart_confirms_and_releases_settle_every_cart_once():
    rows = InventoryFactory.create_batch(3, total_stock=500)
    opening = {row.pk: row.total_stock for row in rows}
    swept = 0
    for round_ in range(ROUNDS):
        cart_ids = [_cart_on(rows, n) for n in range(CARTS)]
        kinds = [list(Due)[n % len(Due)] for n in range(CARTS)]
        part_due = {
            cart_id: _make_due(cart_id, kind, round_=round_)
            for cart_id, kind in zip(cart_ids, kinds, strict=True)
        }
        tasks: list[Callable[[], Any]] = []
        for cart_id in cart_ids:
            tasks += [
                partial(carts.confirm_cart, cart_id=cart_id),
                partial(carts.release_cart, cart_id=cart_id),
            ]
        tasks += [partial(sweeps.expire_due_reservations, batch_size=2)] * SWEEPERS

        outcomes = _race(tasks)

        where = f"round {round_}"
        _assert_no_errors_but(outcomes, ReservationExpired, InvalidTransition, where=where)
        swept += sum(outcome.value for outcome in outcomes[2 * CARTS :])
        for n, (cart_id, kind) in enumerate(zip(cart_ids, kinds, strict=True)):
            confirmed, released = outcomes[2 * n], outcomes[2 * n + 1]
            cart = _holds_of(cart_id)
            statuses = {hold.status for hold in cart}
            where = f"round {round_}, cart {n} ({kind.value})"
            # Each cart settles once and whole: confirmed entirely, or not at all and let go.
            assert Status.PENDING not in statuses, where
            assert statuses in ({Status.CONFIRMED}, {Status.RELEASED}), where
            assert (confirmed.error is None) != (released.error is None), where
            if confirmed.error is None:
                assert statuses == {Status.CONFIRMED}, where
                assert isinstance(released.error, InvalidTransition), where
            else:
                assert statuses == {Status.RELEASED}, where
            if kind == Due.ALL:
                assert isinstance(confirmed.error, ReservationExpired), where
                assert {hold.release_reason for hold in cart} == {Reason.EXPIRED}, where
            if kind == Due.PART:
                # Refused as expired, or as invalid once the release cancelled the live hold.
                assert confirmed.error is not None, where
                reasons = {hold.pk: hold.release_reason for hold in cart}
                assert reasons.pop(part_due[cart_id]) == Reason.EXPIRED, where
                assert list(reasons.values()) == [Reason.CANCELLED], where
            if kind == Due.NONE and released.error is None:
                assert isinstance(confirmed.error, InvalidTransition), where
                assert {hold.release_reason for hold in cart} == {Reason.CANCELLED}, where
        assert [_counters(row)[1] for row in rows] == [0, 0, 0], f"round {round_}"
        assert_books_balance(opening)

    assert (
        swept
        == ReservationEvent.objects.filter(type=EventType.EXPIRED, actor="system:sweep").count()
    )
    # The race must have confirmed some carts, or the books above proved little.
    assert Reservation.objects.filter(status=Status.CONFIRMED).exists()


# --- (b) waitlist promotion against fresh reserves on the same row ---------------------------

STOCK = 4  # per row: two holds fall due, one is released, one is confirmed
ENTRIES = 5  # more than are freed, so the queue is only partly served
SHOPPERS = 3
FREED = 3  # the due, due and released holds' units


@race
def test_promotions_racing_fresh_shoppers_serve_the_queue_in_order_and_leave_no_unit_idle(
    mailoutbox,
):
    opening: dict[int, int] = {}
    promotions = 0
    for round_ in range(ROUNDS):
        rows = InventoryFactory.create_batch(2, total_stock=STOCK)
        opening |= {row.pk: STOCK for row in rows}
        held, queues = {}, {}
        for row in rows:
            key = {"product_id": row.product_id, "warehouse_id": row.warehouse_id}
            held[row.pk] = [holds.reserve(**key, quantity=1) for _ in range(STOCK)]
            joins = [
                waitlist.join_waitlist(**key, quantity=1, email=f"r{round_}-{n}@example.com")
                for n in range(ENTRIES)
            ]
            assert all(joined.created for joined in joins)  # each email joins once
            queues[row.pk] = [joined.entry for joined in joins]
        due = [hold.id for row in rows for hold in held[row.pk][:2]]
        Reservation.objects.filter(pk__in=due).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        tasks: list[Callable[[], Any]] = []
        shopper_of: dict[int, int] = {}  # task index -> row pk
        for row in rows:
            key = {"product_id": row.product_id, "warehouse_id": row.warehouse_id}
            # The release promotes on commit; promote_waiting is called directly too, and the
            # shoppers' own reserve expires the due holds (and promotes) when it finds the
            # row short, as the sweepers below do.
            tasks += [
                partial(transitions.release, reservation_id=held[row.pk][2].id),
                partial(transitions.confirm, reservation_id=held[row.pk][3].id),
                partial(waitlist.promote_waiting, **key),
            ]
            for _ in range(SHOPPERS):
                shopper_of[len(tasks)] = row.pk
                tasks.append(partial(holds.reserve, **key, quantity=1))
        tasks += [sweeps.expire_due_reservations] * 2

        outcomes = _race(tasks)

        where = f"round {round_}"
        _assert_no_errors_but(outcomes, InsufficientStock, where=where)
        assert _refused(outcomes) <= set(shopper_of), where  # only shoppers may be refused
        for row in rows:
            where = f"round {round_}, inventory {row.pk}"
            served = [
                outcomes[i].value
                for i, pk in shopper_of.items()
                if pk == row.pk and outcomes[i].error is None
            ]
            queue = queues[row.pk]
            for entry in queue:
                entry.refresh_from_db()
            promoted = [entry for entry in queue if entry.status == WaitlistEntry.Status.PROMOTED]
            # First come, first served: the promoted entries are the oldest ones.
            assert [entry.status for entry in queue] == (
                [WaitlistEntry.Status.PROMOTED] * len(promoted)
                + [WaitlistEntry.Status.WAITING] * (ENTRIES - len(promoted))
            ), where
            # Every freed unit went to the queue or a shopper, none twice, none left idle
            # while someone waits: more was wanted than freed, so the row is full.
            assert len(promoted) + len(served) == FREED, where
            assert _counters(row) == (STOCK - 1, STOCK - 1), where
            pending = Reservation.objects.filter(
                product_id=row.product_id, warehouse_id=row.warehouse_id, status=Status.PENDING
            )
            assert set(pending.values_list("pk", flat=True)) == {
                entry.reservation_id for entry in promoted
            } | {reservation.id for reservation in served}, where
            settled = Reservation.objects.in_bulk([hold.id for hold in held[row.pk]])
            statuses = [
                (settled[hold.id].status, settled[hold.id].release_reason) for hold in held[row.pk]
            ]
            assert statuses == [
                (Status.RELEASED, Reason.EXPIRED),
                (Status.RELEASED, Reason.EXPIRED),
                (Status.RELEASED, Reason.CANCELLED),
                (Status.CONFIRMED, None),
            ], where
            promotions += len(promoted)
        assert_books_balance(opening)

    # One email per promotion, however many transactions offered the same units.
    assert len(mailoutbox) == promotions
    assert ReservationEvent.objects.filter(type=EventType.WAITLIST_PROMOTED).count() == promotions


# --- (c) check_invariants --repair against reserves on the same row --------------------------

DRIFT = 3  # units a drifted counter claims beyond the PENDING holds
COMMANDS, REPAIRERS = 2, 2


def _check_and_repair() -> str:
    out = StringIO()
    call_command("check_invariants", "--repair", stdout=out, stderr=StringIO())
    return out.getvalue()


@race
def test_repair_racing_shoppers_mends_each_drifted_counter_once_and_exactly():
    opening: dict[int, int] = {}
    for round_ in range(ROUNDS):
        rows = InventoryFactory.create_batch(2, total_stock=10)
        opening |= {row.pk: 10 for row in rows}
        held = {
            row.pk: [
                holds.reserve(
                    product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=quantity
                )
                for quantity in (1, 2, 1, 2)
            ]
            for row in rows
        }
        # 9 of 10 units counted as held, 6 really: shoppers are short until a repair lands.
        Inventory.objects.filter(pk__in=[row.pk for row in rows]).update(
            reserved_stock=F("reserved_stock") + DRIFT
        )
        tasks: list[Callable[[], Any]] = [_check_and_repair] * COMMANDS
        repairer_of: dict[int, int] = {}
        shoppers: set[int] = set()
        for row in rows:
            for _ in range(REPAIRERS):
                repairer_of[len(tasks)] = row.pk
                tasks.append(partial(repair.repair_reserved_stock, inventory_id=row.pk))
            for _ in range(SHOPPERS):
                shoppers.add(len(tasks))
                tasks.append(
                    partial(
                        holds.reserve,
                        product_id=row.product_id,
                        warehouse_id=row.warehouse_id,
                        quantity=1,
                    )
                )
            tasks += [
                partial(transitions.confirm, reservation_id=held[row.pk][0].id),
                partial(transitions.release, reservation_id=held[row.pk][1].id),
            ]

        outcomes = _race(tasks)

        where = f"round {round_}"
        _assert_no_errors_but(outcomes, InsufficientStock, where=where)
        assert _refused(outcomes) <= set(shoppers), where  # only shoppers may be refused
        reports = "".join(outcome.value for outcome in outcomes[:COMMANDS])
        # The command never saw a violation that a racing transaction was in the middle of.
        assert [o.value.count("All invariants hold.") for o in outcomes[:COMMANDS]] == [1, 1]
        for row in rows:
            where = f"round {round_}, inventory {row.pk}"
            repairs = [
                outcomes[i].value
                for i, pk in repairer_of.items()
                if pk == row.pk and outcomes[i].value is not None
            ]
            by_command = reports.count(f"Repaired inventory {row.pk}:")
            # The first repair to lock the row mends it; every later one finds it right.
            assert len(repairs) + by_command == 1, where
            (event,) = ReservationEvent.objects.filter(
                type=EventType.STOCK_REPAIRED, product_id=row.product_id
            )
            assert event.quantity == -DRIFT, where
            assert event.payload["before"] - event.payload["after"] == DRIFT, where
            pending = (
                Reservation.objects.filter(
                    product_id=row.product_id, warehouse_id=row.warehouse_id, status=Status.PENDING
                ).aggregate(units=Sum("quantity"))["units"]
                or 0
            )
            assert _counters(row) == (10 - 1, pending), where
        assert_books_balance(opening)

"""`manage.py check_invariants` finds broken rows by SQL and `--repair` mends drifted counters."""

import subprocess
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from inventory.models import Inventory, PreorderTerms
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds, preorders, transitions
from tests.factories import InventoryFactory, ReservationEventFactory, UserFactory
from tests.processes import env_for_test_database, manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock() -> Inventory:
    row = InventoryFactory(total_stock=10)
    for quantity in (1, 2):
        holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=quantity)
    return row


def check(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("check_invariants", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_consistent_database_passes(stock):
    out, _ = check()
    assert "All invariants hold." in out


def test_a_drifted_reserved_counter_fails_naming_the_row(stock):
    Inventory.objects.filter(pk=stock.pk).update(reserved_stock=7)
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("check_invariants", stderr=err)
    assert failure.value.returncode == 1
    assert f"invariant 2 broken: inventory {stock.pk}" in err.getvalue()
    assert "reserved_stock 7 but PENDING holds sum to 3" in err.getvalue()


def test_repair_recomputes_the_counter_and_records_it(stock):
    Inventory.objects.filter(pk=stock.pk).update(reserved_stock=7)
    out, _ = check("--repair")
    assert f"Repaired inventory {stock.pk}: reserved_stock 7 -> 3" in out
    assert "All invariants hold." in out
    stock.refresh_from_db()
    assert stock.reserved_stock == 3
    event = ReservationEvent.objects.get(type="STOCK_REPAIRED")
    assert event.payload == {"inventoryId": stock.pk, "before": 7, "after": 3}


def test_repair_raises_a_counter_that_is_too_low(stock):
    Inventory.objects.filter(pk=stock.pk).update(reserved_stock=1)
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("check_invariants", stderr=err)
    assert failure.value.returncode == 1
    assert "reserved_stock 1 but PENDING holds sum to 3" in err.getvalue()

    out, err_text = check("--repair")

    assert f"Repaired inventory {stock.pk}: reserved_stock 1 -> 3" in out
    assert "All invariants hold." in out
    assert err_text == ""
    stock.refresh_from_db()
    assert (stock.total_stock, stock.reserved_stock) == (10, 3)
    event = ReservationEvent.objects.get(type="STOCK_REPAIRED")
    assert event.payload == {"inventoryId": stock.pk, "before": 1, "after": 3}
    assert event.quantity == 2
    assert find_violations() == []


def give_a_second_exit(reservation: Reservation) -> None:
    """Confirm the hold, then log a RELEASED event for it too (it left PENDING twice)."""
    transitions.confirm(reservation_id=reservation.id)
    ReservationEvent.objects.create(
        type="RELEASED",
        product_id=reservation.product_id,
        warehouse_id=reservation.warehouse_id,
        quantity=reservation.quantity,
        reservation=reservation,
        actor="test",
        created_at=reservation.created_at,
    )


def run_failing(*args: str) -> tuple[int, str, str]:
    """Run the command expecting it to fail; return its exit status, stdout and stderr."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("check_invariants", *args, stdout=out, stderr=err)
    return failure.value.returncode, out.getvalue(), err.getvalue()


def events_of_every_kind() -> list[tuple]:
    return list(ReservationEvent.objects.order_by("id").values_list("id", "type", "quantity"))


def test_repair_cannot_recount_pending_holds_beyond_total_stock_and_exits_1_naming_the_row(
    stock,
):
    # 3 units are held, but the row now has only 2 (a recount of 3 would oversell it).
    Inventory.objects.filter(pk=stock.pk).update(total_stock=2, reserved_stock=2)
    logged = events_of_every_kind()

    status, out, err = run_failing("--repair")

    assert status == 1
    assert (
        f"Not repaired: Stock row {stock.pk} has 3 units in PENDING holds but only 2 on hand" in err
    )
    assert f"invariant 2 broken: inventory {stock.pk}: " in err
    assert "reserved_stock 2 but PENDING holds sum to 3" in err
    assert "Repaired" not in out and "All invariants hold." not in out
    stock.refresh_from_db()
    assert (stock.total_stock, stock.reserved_stock) == (2, 2)
    assert events_of_every_kind() == logged


@pytest.mark.django_db(transaction=True)  # committed, so the child process sees the rows
def test_the_process_exits_1_naming_a_row_that_repair_cannot_mend():
    row = InventoryFactory(total_stock=10)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=3)
    Inventory.objects.filter(pk=row.pk).update(total_stock=2, reserved_stock=2)

    finished = subprocess.run(
        manage("check_invariants", "--repair"),
        cwd=settings.BASE_DIR,
        env=env_for_test_database(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert finished.returncode == 1, finished
    assert f"Not repaired: Stock row {row.pk} has 3 units in PENDING holds" in finished.stderr
    assert f"invariant 2 broken: inventory {row.pk}: " in finished.stderr
    # The stock set behind the ledger's back breaks invariant 5 too.
    assert f"invariant 5 broken: inventory {row.pk}: " in finished.stderr
    assert "2 invariant violation(s)." in finished.stderr
    assert not ReservationEvent.objects.filter(type="STOCK_REPAIRED").exists()


def test_repair_leaves_a_broken_hold_history_alone_and_exits_1_naming_the_hold(stock):
    reservation = Reservation.objects.first()
    give_a_second_exit(reservation)
    logged = events_of_every_kind()

    status, out, err = run_failing("--repair")

    assert status == 1
    assert f"invariant 4 broken: reservation {reservation.id}: " in err
    assert "Repaired" not in out and "All invariants hold." not in out
    assert events_of_every_kind() == logged
    assert Reservation.objects.get(pk=reservation.id).status == Reservation.Status.CONFIRMED


def test_repair_leaves_pending_holds_without_a_stock_row_and_exits_1_naming_them(stock):
    # A PENDING hold with its RESERVED event, of a product no warehouse stocks.
    orphan = ReservationEventFactory().reservation
    logged = events_of_every_kind()

    status, out, err = run_failing("--repair")

    assert status == 1
    assert f"invariant 2 broken: reservation {orphan.pk}: " in err
    assert "which has no stock row" in err
    assert err.count("invariant") == 1
    assert "Repaired" not in out and "All invariants hold." not in out
    assert events_of_every_kind() == logged


def test_a_hold_with_two_exit_events_breaks_invariant_4(stock):
    reservation = Reservation.objects.first()
    give_a_second_exit(reservation)
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("check_invariants", stderr=err)
    assert failure.value.returncode == 1
    assert f"invariant 4 broken: reservation {reservation.id}" in err.getvalue()


def test_an_oversold_row_breaks_invariant_1(stock):
    # The CHECK constraints forbid this; drop one for the test to see the check catch it.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks before ALTER
        cursor.execute(
            "ALTER TABLE inventory_inventory DROP CONSTRAINT inventory_available_not_negative"
        )
        cursor.execute(
            "UPDATE inventory_inventory SET reserved_stock = 13 WHERE id = %s", [stock.pk]
        )
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("check_invariants", stderr=err)
    assert failure.value.returncode == 1
    assert f"invariant 1 broken: inventory {stock.pk}" in err.getvalue()


def test_preorder_places_that_drift_from_their_preorders_break_invariant_7():
    row = InventoryFactory(total_stock=0, incoming_stock=5)
    preorders.set_terms((row.product_id, row.warehouse_id), limit=5, eta=None)
    preorders.place(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=2, user=UserFactory()
    )
    assert find_violations() == []

    PreorderTerms.objects.filter(stock=row).update(placed=1)

    (violation,) = find_violations()
    assert (violation.invariant, violation.subject) == (7, f"inventory {row.pk}")
    assert "1 preorder unit(s) placed but its open preorders await 2" in violation.detail

"""`manage.py check_invariants` finds broken rows by SQL and `--repair` mends drifted counters."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds, transitions
from tests.factories import InventoryFactory

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


def test_a_hold_with_two_exit_events_breaks_invariant_4(stock):
    reservation = Reservation.objects.first()
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
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_invariants", stderr=err)
    assert f"invariant 4 broken: reservation {reservation.id}" in err.getvalue()


def test_an_oversold_row_breaks_invariant_1(stock):
    # The CHECK constraints forbid this; drop one for the test to see the check catch it.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks before ALTER
        cursor.execute(
            "ALTER TABLE inventory_inventory DROP CONSTRAINT inventory_reserved_within_total"
        )
        cursor.execute(
            "UPDATE inventory_inventory SET reserved_stock = 13 WHERE id = %s", [stock.pk]
        )
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_invariants", stderr=err)
    assert f"invariant 1 broken: inventory {stock.pk}" in err.getvalue()

"""Idempotent carts over due holds keep the global lock order: no "deadlock detected" (item 2).

An Idempotency-Key request runs its cart inside the key's transaction, so a sweep of the
cart's due holds keeps its stock-row locks until the request commits. If the cart then locks
all its rows in pk order, it takes a lower row after a higher one, and another cart holding
the lower row while it waits for the higher one closes a cycle: PostgreSQL aborts one of them
("deadlock detected", a 500). Here the test plays the other transactions on connections of
its own and steps the cart through that exact interleaving, watching pg_stat_activity to
know where it waits.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Inventory
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds
from tests.factories import InventoryFactory, WarehouseFactory
from tests.races import connect, wait_until_blocked_by

HANG_SECONDS = 60  # only a hang waits this long


@pytest.mark.django_db(transaction=True)
def test_idempotent_cart_sweeping_due_holds_never_deadlocks_with_another_cart():
    warehouse = WarehouseFactory()
    lower = InventoryFactory(warehouse=warehouse, total_stock=10)
    higher = InventoryFactory(warehouse=warehouse, total_stock=1)
    assert lower.pk < higher.pk
    dead = holds.reserve(product_id=higher.product_id, warehouse_id=warehouse.pk, quantity=1)
    Reservation.objects.filter(pk=dead.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    stock_table, holds_table = Inventory._meta.db_table, Reservation._meta.db_table
    answer: dict = {}

    def send_cart() -> None:
        try:
            answer["response"] = APIClient().post(
                "/api/reservations/batch",
                {
                    "items": [
                        {"productId": lower.product_id, "warehouseId": warehouse.pk, "quantity": 1},
                        {
                            "productId": higher.product_id,
                            "warehouseId": warehouse.pk,
                            "quantity": 1,
                        },
                    ]
                },
                format="json",
                headers={"Idempotency-Key": "cart-over-dead-holds"},
            )
        except BaseException as error:  # a 500 raised through the test client
            answer["error"] = error
        finally:
            connection.close()

    sweeper, other_cart = connect(autocommit=False), connect(autocommit=False)
    request = threading.Thread(target=send_cart)
    try:
        # Another request is releasing the due hold: the cart must wait for it.
        sweeper.execute(f"SELECT id FROM {holds_table} WHERE id = %s FOR UPDATE", [dead.id])
        request.start()
        wait_until_blocked_by(sweeper.info.backend_pid, alive=request.is_alive)
        # Another cart locks its rows in pk order: the lower row first...
        other_cart.execute(f"SELECT id FROM {stock_table} WHERE id = %s FOR UPDATE", [lower.pk])
        sweeper.commit()
        wait_until_blocked_by(other_cart.info.backend_pid, alive=request.is_alive)
        # ...then the higher one, which the cart must not be holding while it waits.
        other_cart.execute("SET lock_timeout = '30s'")
        other_cart.execute(f"SELECT id FROM {stock_table} WHERE id = %s FOR UPDATE", [higher.pk])
        other_cart.commit()
    finally:
        sweeper.close()
        other_cart.close()
        request.join(timeout=HANG_SECONDS)
    assert not request.is_alive()

    assert "error" not in answer, answer.get("error")
    assert answer["response"].status_code == 201, answer["response"].content
    assert Reservation.objects.get(pk=dead.id).status == Reservation.Status.RELEASED
    assert (
        ReservationEvent.objects.filter(
            reservation_id=dead.id, type=ReservationEvent.Type.EXPIRED
        ).count()
        == 1
    )
    higher.refresh_from_db()
    assert (higher.total_stock, higher.reserved_stock) == (1, 1)
    assert find_violations() == []

"""The stock ledger: every change of a row's states writes one immutable entry in its
transaction, numbered 1, 2, 3 ... per row, and replaying a row's entries from zero gives its
counters exactly (invariant 5, which check_invariants proves)."""

import asyncio
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Inventory, LedgerEntry
from inventory.seed import seed
from reservations import coalescer
from reservations.invariants import find_violations
from reservations.models import Reservation
from reservations.planning import CartLine
from reservations.services import carts, holds, stock, sweeps, transitions
from reservations.services.repair import repair_reserved_stock
from tests.factories import InventoryFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(transaction=True)

DELTAS = ("on_hand", "held", "safety", "unsellable", "incoming")


def ledger(row: Inventory) -> list[tuple]:
    """(sequence, reason, on hand delta, held delta, held after) of each entry, in order."""
    return list(
        row.ledger.order_by("sequence").values_list(
            "sequence", "reason", "on_hand", "held", "held_after"
        )
    )


def replayed(row: Inventory) -> tuple[int, ...]:
    """A row's states as its ledger sums them from zero."""
    entries = row.ledger.all()
    return tuple(sum(getattr(entry, state) for entry in entries) for state in DELTAS)


def counters(row: Inventory) -> tuple[int, ...]:
    row.refresh_from_db()
    return (
        row.total_stock,
        row.reserved_stock,
        row.safety_stock,
        row.unsellable_stock,
        row.incoming_stock,
    )


def reserve(row: Inventory, quantity: int = 1) -> Reservation:
    return holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=quantity
    )


def test_each_step_of_a_rows_life_writes_one_numbered_entry_and_the_ledger_replays():
    row = InventoryFactory(total_stock=10)
    confirmed, released, expiring = reserve(row, 2), reserve(row, 1), reserve(row, 3)
    transitions.confirm(reservation_id=confirmed.id)
    transitions.release(reservation_id=released.id)
    Reservation.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(1))
    sweeps.expire_due_reservations()
    stock.adjust_stock(product_id=row.product_id, warehouse_id=row.warehouse_id, delta=4, actor="t")
    cart = carts.reserve_cart(
        lines=[CartLine(product_id=row.product_id, quantity=2, warehouse_id=row.warehouse_id)],
        origin=None,
        allow_split=False,
    )

    assert ledger(row) == [
        (1, "RECEIVED", 10, 0, 0),
        (2, "RESERVED", 0, 2, 2),
        (3, "RESERVED", 0, 1, 3),
        (4, "RESERVED", 0, 3, 6),
        (5, "CONFIRMED", -2, -2, 4),
        (6, "RELEASED", 0, -1, 3),
        (7, "EXPIRED", 0, -3, 0),
        (8, "ADJUSTED", 4, 0, 0),
        (9, "RESERVED", 0, 2, 2),
    ]
    entries = {e.sequence: e for e in row.ledger.all()}
    assert entries[2].reference == str(confirmed.id)
    assert entries[9].reference == str(cart.holds[0].reservation.id)
    assert replayed(row) == counters(row) == (12, 2, 0, 0, 0)
    assert row.version == 9
    assert find_violations() == []


def test_a_coalesced_batch_numbers_its_entries_in_arrival_order_in_its_statement():
    row = InventoryFactory(total_stock=3)
    requests = [
        coalescer.HoldRequest(
            product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=q, actor="t"
        )
        for q in (1, 5, 2, 1)  # 5 does not fit; the 1 after the 2 does not either
    ]

    async def one_batch():  # queued in one loop turn: they run as one statement
        return await asyncio.gather(*(coalescer.get().hold(r) for r in requests))

    outcomes = coalescer.get().run_blocking(one_batch())

    held = [o for o in outcomes if not isinstance(o, coalescer.Refused)]
    assert [h.quantity for h in held] == [1, 2]
    assert ledger(row) == [
        (1, "RECEIVED", 3, 0, 0),
        (2, "RESERVED", 0, 1, 1),
        (3, "RESERVED", 0, 2, 3),
    ]
    assert [e.reference for e in row.ledger.order_by("sequence")][1:] == [
        str(h.reservation_id) for h in held
    ]
    assert replayed(row) == counters(row)
    assert find_violations() == []


def test_a_ledger_entry_can_be_neither_changed_nor_deleted():
    row = InventoryFactory(total_stock=1)
    entry = row.ledger.get()
    for change in (
        lambda: LedgerEntry.objects.filter(pk=entry.pk).update(on_hand=5),
        lambda: LedgerEntry.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            change()
    assert row.ledger.get().on_hand == 1


def test_a_counter_changed_behind_the_ledgers_back_breaks_invariant_5():
    row = InventoryFactory(total_stock=5)
    Inventory.objects.filter(pk=row.pk).update(total_stock=7, version=2)

    (violation,) = find_violations()

    assert violation.invariant == 5
    assert violation.subject == f"inventory {row.pk}"
    assert "on_hand 7 but the ledger sums to 5" in violation.detail
    assert "version 2 but 1 entries numbered up to 1" in violation.detail


@override_settings(HOLD_COALESCING=False)
def test_an_entry_names_the_request_and_its_idempotency_key():
    row = InventoryFactory(total_stock=5)
    body = {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id), "quantity": 1}

    response = APIClient().post(
        "/api/reservations", body, format="json", HTTP_IDEMPOTENCY_KEY="order-77"
    )

    assert response.status_code == 201
    entry = row.ledger.get(sequence=2)
    assert entry.idempotency_key == "order-77"
    assert entry.request_id == response["X-Request-ID"]
    assert entry.actor == "anonymous"


def test_the_seed_opens_each_rows_ledger_with_what_it_received():
    seed()
    row = Inventory.objects.filter(total_stock__gt=0).first()
    empty = Inventory.objects.filter(total_stock=0).first()

    assert ledger(row) == [(1, "RECEIVED", row.total_stock, 0, 0)]
    assert ledger(empty) == [] and empty.version == 0
    assert find_violations() == []


def test_a_repair_writes_the_recount_so_the_ledger_replays_to_the_mended_counter():
    row = InventoryFactory(total_stock=10)
    reserve(row, 2)
    Inventory.objects.filter(pk=row.pk).update(reserved_stock=7)  # drift, not in the ledger
    reserve(row, 1)  # its entry's "after" figure includes the drift

    repair_reserved_stock(inventory_id=row.pk)

    assert counters(row)[1] == 3
    assert replayed(row) == counters(row)
    assert ledger(row)[-1][1] == "REPAIRED"
    assert find_violations() == []


def test_the_ledger_migration_opens_each_existing_row_with_a_counted_entry():
    """Upgrading a live database: rows that had stock before the ledger get one COUNTED entry
    of their states, so their ledgers replay from the start."""
    product, warehouse = ProductFactory(), WarehouseFactory()
    before, executor = [("inventory", "0005_quantity_states")], MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old_inventory = executor.loader.project_state(before).apps.get_model(
            "inventory", "Inventory"
        )
        old_inventory.objects.create(
            product_id=product.pk, warehouse_id=warehouse.pk, total_stock=8, safety_stock=1
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    row = Inventory.objects.get(product=product)
    assert row.version == 1
    assert row.ledger.values_list("reason", "on_hand", "safety").get() == ("COUNTED", 8, 1)
    assert find_violations() == []

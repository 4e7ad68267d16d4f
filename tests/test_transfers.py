"""Transfers between warehouses over the API: ship, receive with damaged units, cancel,
idempotent retries, the history and the outbound `transfer.*` events; receipts serve the
destination's preorders, then its waitlist, then the sale."""

import pytest
from rest_framework.test import APIClient

from integrations.models import ApiKey
from inventory.models import Inventory, LedgerEntry
from reservations.errors import PreorderLimitReached, StockAvailable
from reservations.invariants import find_violations
from reservations.models import Reservation, WaitlistEntry
from reservations.services import holds, preorders, waitlist
from tests.dispatching import pull_to_the_end
from tests.factories import (
    InventoryFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    key_client,
)
from tests.races import run_together, unexpected_errors
from transfers import services as transfers
from transfers.models import Transfer

pytestmark = pytest.mark.django_db(transaction=True)  # receipts email after a real commit


@pytest.fixture
def erp() -> APIClient:
    return key_client(ApiKey.Scope.STOCK_READ, ApiKey.Scope.STOCK_WRITE)


def states(row: Inventory) -> dict:
    row.refresh_from_db()
    return {
        "on_hand": row.total_stock,
        "held": row.reserved_stock,
        "unsellable": row.unsellable_stock,
        "incoming": row.incoming_stock,
        "available": row.available,
    }


def rows(on_hand: int = 20, product=None) -> tuple[Inventory, Inventory]:
    """A product stocked in two warehouses: `on_hand` at the source, none at the destination."""
    product = product or ProductFactory()
    source = InventoryFactory(product=product, total_stock=on_hand)
    destination = InventoryFactory(product=product, total_stock=0)
    return source, destination


def create(client, source, destination, quantity: int, key: str = "t-create"):
    body = {
        "fromWarehouseId": str(source.warehouse_id),
        "toWarehouseId": str(destination.warehouse_id),
        "lines": [{"productId": str(source.product_id), "quantity": quantity}],
        "reference": "PO-7",
    }
    return client.post("/api/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def act(client, transfer_id: str, action: str, body: dict | None = None, key: str | None = None):
    return client.post(
        f"/api/transfers/{transfer_id}/{action}",
        body or {},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or f"t-{action}",
    )


def receipt(row: Inventory, received: int, damaged: int = 0) -> dict:
    return {"lines": [{"productId": str(row.product_id), "received": received, "damaged": damaged}]}


def shipped(client, source, destination, quantity: int) -> str:
    transfer_id = create(client, source, destination, quantity).json()["id"]
    assert act(client, transfer_id, "ship").status_code == 200
    return transfer_id


def test_ship_10_then_receive_7_good_and_3_damaged(erp):
    source, destination = rows(on_hand=20)

    created = create(erp, source, destination, 10)
    assert created.status_code == 201
    transfer_id = created.json()["id"]
    assert created.json()["state"] == "DRAFT"
    assert states(source)["on_hand"] == 20  # a draft moves nothing

    shipped = act(erp, transfer_id, "ship")
    assert shipped.status_code == 200
    assert shipped.json()["state"] == "IN_TRANSIT"
    assert states(source) == {"on_hand": 10, "held": 0, "unsellable": 0, "incoming": 0,
                              "available": 10}  # fmt: skip
    assert states(destination)["incoming"] == 10

    received = act(erp, transfer_id, "receive", receipt(destination, 7, 3))

    assert received.status_code == 200
    body = received.json()
    assert body["state"] == "RECEIVED"
    assert body["lines"] == [{"productId": str(destination.product_id), "quantity": 10,
                              "shipped": 10, "received": 7, "damaged": 3}]  # fmt: skip
    assert states(destination) == {"on_hand": 10, "held": 0, "unsellable": 3, "incoming": 0,
                                   "available": 7}  # fmt: skip
    assert [step["action"] for step in body["history"]] == ["CREATED", "SHIPPED", "RECEIVED"]
    assert body["history"][2]["lines"][0]["damaged"] == 3
    reasons = list(LedgerEntry.objects.filter(stock=destination).values_list("reason", flat=True))
    assert reasons[-2:] == ["IN_TRANSIT", "TRANSFER_IN"]
    assert find_violations() == []  # the ledger replays to every counter


def test_receipts_may_come_in_parts_and_never_exceed_the_shipment(erp):
    source, destination = rows(on_hand=10)
    transfer_id = shipped(erp, source, destination, 10)

    first = act(erp, transfer_id, "receive", receipt(destination, 4), key="r-1")
    assert first.json()["state"] == "PARTIALLY_RECEIVED"
    before = states(destination)
    over = act(erp, transfer_id, "receive", receipt(destination, 5, 2), key="r-2")

    assert over.status_code == 409
    assert over.json()["code"] == "RECEIPT_EXCEEDS_SHIPMENT"
    assert over.json()["outstanding"] == 6
    assert states(destination) == before
    last = act(erp, transfer_id, "receive", receipt(destination, 6), key="r-3")
    assert last.json()["state"] == "RECEIVED"
    assert states(destination)["on_hand"] == 10
    assert states(destination)["incoming"] == 0


def test_a_cancelled_in_transit_transfer_returns_every_unit_to_the_source(erp):
    source, destination = rows(on_hand=10)
    transfer_id = shipped(erp, source, destination, 10)

    cancelled = act(erp, transfer_id, "cancel")

    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "CANCELLED"
    assert states(source)["on_hand"] == states(source)["available"] == 10
    assert states(destination)["incoming"] == 0
    assert act(erp, transfer_id, "receive", receipt(destination, 1)).json()["code"] == (
        "INVALID_TRANSITION"
    )
    assert find_violations() == []


def test_cancelling_a_draft_changes_no_stock(erp):
    source, destination = rows(on_hand=10)
    transfer_id = create(erp, source, destination, 10).json()["id"]

    assert act(erp, transfer_id, "cancel").json()["state"] == "CANCELLED"
    assert states(source)["on_hand"] == 10
    assert not LedgerEntry.objects.filter(reference=f"transfer:{transfer_id}").exists()


def test_shipping_10_when_8_are_available_changes_nothing_and_names_the_line(erp):
    product = ProductFactory()
    other_source, other_destination = rows(on_hand=5)  # a line before it that would fit
    source, destination = rows(on_hand=10, product=product)
    holds.reserve(product_id=product.pk, warehouse_id=source.warehouse_id, quantity=2)
    body = {
        "fromWarehouseId": str(source.warehouse_id),
        "toWarehouseId": str(destination.warehouse_id),
        "lines": [{"productId": str(product.pk), "quantity": 10}],
    }
    transfer_id = erp.post("/api/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="c").json()[
        "id"
    ]
    before = states(source)

    refused = act(erp, transfer_id, "ship")

    assert refused.status_code == 409
    assert refused.json()["code"] == "INSUFFICIENT_STOCK"
    assert (refused.json()["index"], refused.json()["productId"]) == (0, str(product.pk))
    assert refused.json()["available"] == 8  # the 2 held units never ship
    assert "Line 0" in refused.json()["error"]
    assert states(source) == before
    assert Transfer.objects.get(pk=transfer_id).state == "DRAFT"
    assert other_source.total_stock == 5 and other_destination.total_stock == 0


def test_retrying_any_transfer_action_with_the_same_key_changes_nothing(erp):
    source, destination = rows(on_hand=20)
    first = create(erp, source, destination, 10, key="same-create")
    again = create(erp, source, destination, 10, key="same-create")
    assert again.json()["id"] == first.json()["id"]
    assert Transfer.objects.count() == 1
    transfer_id = first.json()["id"]

    for action, body in (("ship", None), ("receive", receipt(destination, 3))):
        answers = [act(erp, transfer_id, action, body, key=f"same-{action}") for _ in range(2)]
        assert answers[0].json() == answers[1].json()
    assert states(source)["on_hand"] == 10
    assert states(destination)["on_hand"] == 3
    cancel_draft = create(erp, source, destination, 1, key="another").json()["id"]
    answers = [act(erp, cancel_draft, "cancel", key="same-cancel") for _ in range(2)]
    assert answers[0].json() == answers[1].json()
    assert LedgerEntry.objects.filter(reference=f"transfer:{transfer_id}").count() == 3
    history = erp.get(f"/api/transfers/{transfer_id}").json()["history"]
    assert [step["idempotencyKey"] for step in history] == ["same-create", "same-ship",
                                                            "same-receive"]  # fmt: skip


def test_every_action_requires_an_idempotency_key(erp):
    source, destination = rows()
    transfer_id = create(erp, source, destination, 1).json()["id"]

    answer = erp.post(f"/api/transfers/{transfer_id}/ship", {}, format="json")

    assert answer.status_code == 428
    assert answer.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"


def test_bad_transfers_are_refused_with_a_clear_4xx(erp):
    source, destination = rows()
    same = create(erp, source, source, 1, key="same-warehouse")
    elsewhere = InventoryFactory()  # its product is not stocked at the source
    unstocked_body = {
        "fromWarehouseId": str(source.warehouse_id),
        "toWarehouseId": str(destination.warehouse_id),
        "lines": [{"productId": str(elsewhere.product_id), "quantity": 1}],
    }
    unstocked = erp.post("/api/transfers", unstocked_body, format="json", HTTP_IDEMPOTENCY_KEY="u")
    body = {
        "fromWarehouseId": str(source.warehouse_id),
        "toWarehouseId": str(WarehouseFactory().pk),
        "lines": [{"productId": str(source.product_id), "quantity": 1}] * 2,
    }
    twice = erp.post("/api/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="twice")

    assert (same.status_code, same.json()["code"]) == (400, "VALIDATION_ERROR")
    assert (unstocked.status_code, unstocked.json()["index"]) == (404, 0)
    assert (twice.status_code, twice.json()["code"]) == (400, "VALIDATION_ERROR")
    assert Transfer.objects.count() == 0


def test_transfers_list_newest_first_and_filter_by_state(erp):
    source, destination = rows()
    older = create(erp, source, destination, 1, key="a").json()["id"]
    newer = shipped(erp, source, destination, 2)

    listed = erp.get("/api/transfers")
    in_transit = erp.get("/api/transfers", {"state": "IN_TRANSIT"})

    assert [t["id"] for t in listed.json()] == [newer, older]
    assert listed["X-Total-Count"] == "2"
    assert [t["id"] for t in in_transit.json()] == [newer]


def test_transfer_actions_make_transfer_events(erp):
    source, destination = rows(on_hand=10)
    transfer_id = shipped(erp, source, destination, 10)
    act(erp, transfer_id, "receive", receipt(destination, 7, 3))
    events, _ = pull_to_the_end(key_client(ApiKey.Scope.WEBHOOKS))

    made = [e for e in events if e["type"].startswith("transfer.")]
    assert [(e["type"], e["data"]["warehouseId"]) for e in made] == [
        ("transfer.shipped", str(source.warehouse_id)),
        ("transfer.received", str(destination.warehouse_id)),
    ]
    received = made[1]["data"]
    assert received["transfer"]["id"] == transfer_id
    assert received["line"] == {"productId": str(destination.product_id), "received": 7,
                                "damaged": 3}  # fmt: skip
    assert (received["available"], received["unsellable"]) == (7, 3)


# --- receipts serve preorders, then the waitlist, then the sale -----------------------------


def preorder_ready(destination: Inventory, incoming: int, limit: int) -> None:
    """Units on their way to `destination` (an adjustment of incoming), with preorders on."""
    from reservations.services.stock_states import Adjustment, adjust_states

    adjust_states(
        [Adjustment(destination.product_id, destination.warehouse_id, "incoming", incoming,
                    "ADJUSTED")],
        actor="test",
    )  # fmt: skip
    preorders.set_terms((destination.product_id, destination.warehouse_id), limit=limit, eta=None)


def place(destination: Inventory, count: int) -> list[Reservation]:
    return [
        preorders.place(
            product_id=destination.product_id,
            warehouse_id=destination.warehouse_id,
            quantity=1,
            user=UserFactory(password=None),
        )
        for _ in range(count)
    ]


def test_a_receipt_of_15_against_20_preorders_serves_the_15_oldest(erp, mailoutbox):
    source, destination = rows(on_hand=20)
    transfer_id = shipped(erp, source, destination, 20)
    preorders.set_terms((destination.product_id, destination.warehouse_id), limit=20, eta=None)
    placed = place(destination, 20)

    act(erp, transfer_id, "receive", receipt(destination, 15))

    served = [r.pk for r in placed if Reservation.objects.get(pk=r.pk).served == 1]
    assert served == [r.pk for r in placed[:15]]
    assert states(destination)["on_hand"] == 0  # all 15 went to preorders
    assert len(mailoutbox) == 15
    assert {m.to[0] for m in mailoutbox} == {r.user.email for r in placed[:15]}
    assert preorders.offer_of((destination.product_id, destination.warehouse_id)).placed == 5
    # The other 5 keep their places: the next units go to them, oldest first.
    act(erp, transfer_id, "receive", receipt(destination, 3), key="more")
    assert [Reservation.objects.get(pk=r.pk).served for r in placed[15:]] == [1, 1, 1, 0, 0]
    assert find_violations() == []


def test_a_receipt_serves_preorders_then_the_waitlist_then_the_sale(erp, mailoutbox):
    source, destination = rows(on_hand=10)
    transfer_id = shipped(erp, source, destination, 10)
    preorders.set_terms((destination.product_id, destination.warehouse_id), limit=5, eta=None)
    placed = place(destination, 5)
    waiting = [
        waitlist.join_waitlist(
            product_id=destination.product_id,
            warehouse_id=destination.warehouse_id,
            quantity=1,
            email=f"w{i}@example.com",
        ).entry
        for i in range(3)
    ]

    act(erp, transfer_id, "receive", receipt(destination, 10))

    assert all(Reservation.objects.get(pk=r.pk).served == 1 for r in placed)
    promoted = WaitlistEntry.objects.filter(pk__in=[w.pk for w in waiting], status="PROMOTED")
    assert promoted.count() == 3
    assert states(destination) == {"on_hand": 5, "held": 3, "unsellable": 0, "incoming": 0,
                                   "available": 2}  # fmt: skip
    assert len(mailoutbox) == 8
    assert find_violations() == []


def test_receipts_and_preorders_racing_on_one_row_never_deadlock():
    """Receipts lock the stock row, then its preorder terms; placements lock only the terms.
    Racing each other (real threads, their own connections) none fails but by a clean
    refusal, and every unit is accounted for."""
    source, destination = rows(on_hand=40)
    key = (destination.product_id, destination.warehouse_id)
    shoppers = [UserFactory(password=None) for _ in range(28)]
    transfer_ids = []
    for _ in range(4):
        transfer = transfers.create(
            source_id=source.warehouse_id,
            destination_id=destination.warehouse_id,
            lines=[transfers.Line(source.product_id, 10)],
            reference="",
            actor="test",
        )
        transfers.ship(transfer.pk, actor="test")
        transfer_ids.append(transfer.pk)
    preorders.set_terms(key, limit=40, eta=None)

    def work(index: int):
        if index % 7 == 0:  # 4 receipts of 2 units among 24 preorders
            receipt = [transfers.Receipt(source.product_id, 2, 0)]
            return transfers.receive(transfer_ids[index // 7], receipt, actor="test")
        return preorders.place(
            product_id=key[0], warehouse_id=key[1], quantity=1, user=shoppers[index]
        )

    outcomes = run_together(28, work)

    assert unexpected_errors(outcomes, PreorderLimitReached, StockAvailable) == []
    assert find_violations() == []
    destination.refresh_from_db()
    placed = Reservation.objects.filter(kind="PREORDER")
    served = sum(placed.values_list("served", flat=True))
    assert served + destination.available + destination.reserved_stock == 8  # units received

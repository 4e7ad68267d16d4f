"""Preorders: a stock row's terms over the API, and shoppers' preorders with
`POST /api/reservations` and "preorder": true, capped by the limit and what is coming."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import ApiKey
from inventory.models import Inventory
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from reservations.services import preorders
from reservations.services.stock_states import Adjustment, adjust_states
from sales import services as sales
from tests.factories import InventoryFactory, UserFactory, key_client

pytestmark = pytest.mark.django_db

ETA = date(2027, 1, 14)


@pytest.fixture
def erp() -> APIClient:
    return key_client(ApiKey.Scope.STOCK_READ, ApiKey.Scope.STOCK_WRITE)


def incoming_row(incoming: int = 30, on_hand: int = 0) -> Inventory:
    row = InventoryFactory(total_stock=on_hand)
    adjust_states(
        [Adjustment(row.product_id, row.warehouse_id, "incoming", incoming, "ADJUSTED")],
        actor="test",
    )
    return row


def terms_url(row: Inventory) -> str:
    return f"/api/stock/preorders/{row.product_id}/{row.warehouse_id}"


def shopper() -> APIClient:
    client = APIClient()
    client.force_login(UserFactory())
    return client


def preorder(client: APIClient, row: Inventory, quantity: int = 1, **extra):
    body = {
        "productId": row.product_id,
        "warehouseId": row.warehouse_id,
        "quantity": quantity,
        "preorder": True,
        **extra,
    }
    return client.post("/api/reservations", body, format="json")


def test_staff_turn_preorders_on_with_a_limit_and_an_eta_and_read_places_left(erp):
    row = incoming_row(incoming=30)

    put = erp.put(
        terms_url(row), {"limit": 20, "eta": "2027-01-14"}, format="json", HTTP_IDEMPOTENCY_KEY="p"
    )
    preorder(shopper(), row, quantity=3)
    got = erp.get(terms_url(row))

    assert put.status_code == 200
    assert put.json()["remaining"] == 20
    assert got.json() == {
        "productId": str(row.product_id),
        "warehouseId": str(row.warehouse_id),
        "limit": 20,
        "eta": "2027-01-14",
        "placed": 3,
        "remaining": 17,
        "incoming": 30,
        "available": 0,
    }


def test_places_never_pass_what_is_coming(erp):
    row = incoming_row(incoming=5)
    preorders.set_terms((row.product_id, row.warehouse_id), limit=20, eta=ETA)

    assert erp.get(terms_url(row)).json()["remaining"] == 5


def test_a_null_limit_turns_preorders_off_and_open_ones_keep_their_place(erp):
    row = incoming_row()
    preorders.set_terms((row.product_id, row.warehouse_id), limit=10, eta=ETA)
    placed = preorder(shopper(), row).json()

    off = erp.put(terms_url(row), {"limit": None}, format="json", HTTP_IDEMPOTENCY_KEY="off")
    refused = preorder(shopper(), row)

    assert (off.json()["limit"], off.json()["placed"]) == (None, 1)
    assert (refused.status_code, refused.json()["code"]) == (409, "PREORDERS_CLOSED")
    assert Reservation.objects.get(pk=placed["id"]).status == "CONFIRMED"


def test_terms_of_an_unstocked_row_are_not_found(erp):
    row = InventoryFactory()

    answer = erp.get(f"/api/stock/preorders/{row.product_id}/{row.warehouse_id + 1000}")

    assert answer.status_code == 404


def test_a_preorder_is_confirmed_at_once_with_its_eta():
    row = incoming_row()
    preorders.set_terms((row.product_id, row.warehouse_id), limit=10, eta=ETA)

    answer = preorder(shopper(), row, quantity=2)

    assert answer.status_code == 201
    body = answer.json()
    assert (body["kind"], body["status"], body["eta"], body["served"]) == (
        "PREORDER",
        "CONFIRMED",
        "2027-01-14",
        0,
    )
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock, row.incoming_stock) == (0, 0, 30)  # nothing held
    types = ReservationEvent.objects.filter(reservation_id=body["id"]).values_list("type")
    assert sorted(t for (t,) in types) == ["CONFIRMED", "RESERVED"]
    assert find_violations() == []


def test_past_the_limit_a_preorder_is_refused_and_changes_nothing():
    row = incoming_row()
    preorders.set_terms((row.product_id, row.warehouse_id), limit=3, eta=ETA)
    preorder(shopper(), row, quantity=2)

    refused = preorder(shopper(), row, quantity=2)

    assert refused.status_code == 409
    assert refused.json()["code"] == "PREORDER_LIMIT_REACHED"
    assert refused.json()["remaining"] == 1
    assert Reservation.objects.filter(kind="PREORDER").count() == 1


def test_a_preorder_is_refused_while_units_can_be_held():
    row = incoming_row(on_hand=2)
    preorders.set_terms((row.product_id, row.warehouse_id), limit=10, eta=ETA)

    refused = preorder(shopper(), row)

    assert (refused.status_code, refused.json()["code"]) == (400, "STOCK_AVAILABLE")
    assert refused.json()["available"] == 2


def test_a_guest_must_sign_in_to_preorder():
    row = incoming_row()
    preorders.set_terms((row.product_id, row.warehouse_id), limit=10, eta=ETA)

    refused = preorder(APIClient(), row)

    assert (refused.status_code, refused.json()["code"]) == (401, "ACCOUNT_REQUIRED")
    assert not Reservation.objects.exists()


def test_a_preorder_names_its_warehouse():
    row = incoming_row()
    body = {"productId": row.product_id, "quantity": 1, "preorder": True}

    refused = shopper().post("/api/reservations", body, format="json")

    assert refused.status_code == 400
    assert "warehouseId" in refused.json()["details"]["fieldErrors"]


def test_a_preorder_cannot_be_released_as_a_hold():
    row = incoming_row()
    preorders.set_terms((row.product_id, row.warehouse_id), limit=10, eta=ETA)
    client = shopper()
    placed = preorder(client, row).json()

    refused = client.post(f"/api/reservations/{placed['id']}/release", format="json")

    assert refused.status_code == 409
    assert Reservation.objects.get(pk=placed["id"]).status == "CONFIRMED"


def test_a_preorder_waits_for_the_sale_to_open():
    row = incoming_row()
    preorders.set_terms((row.product_id, row.warehouse_id), limit=10, eta=ETA)
    sales.set_policy(row.product_id, {"sale_starts_at": timezone.now() + timedelta(hours=1)})

    refused = preorder(shopper(), row)

    assert (refused.status_code, refused.json()["code"]) == (409, "NOT_ON_SALE")
    assert not Reservation.objects.exists()


@pytest.mark.django_db(transaction=True)  # the emails go after a real commit
def test_units_received_through_the_stock_api_serve_preorders_first(erp, mailoutbox):
    row = incoming_row(incoming=10)
    preorders.set_terms((row.product_id, row.warehouse_id), limit=10, eta=ETA)
    placed = [preorder(shopper(), row, quantity=2).json()["id"] for _ in range(3)]
    body = {
        "items": [
            {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id),
             "state": "onHand", "delta": 5, "reason": "RECEIVED"},
            {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id),
             "state": "incoming", "delta": -5, "reason": "RECEIVED"},
        ]
    }  # fmt: skip

    answer = erp.post("/api/stock/adjustments", body, format="json", HTTP_IDEMPOTENCY_KEY="grn")

    assert [Reservation.objects.get(pk=p).served for p in placed] == [2, 2, 1]
    (level,) = answer.json()["levels"]
    assert (level["onHand"], level["available"], level["incoming"]) == (0, 0, 5)
    assert len(mailoutbox) == 3
    assert find_violations() == []

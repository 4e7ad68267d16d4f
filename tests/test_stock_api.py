"""The stock API for integrations: API keys (hashed, scoped, revocable), levels, adjustments
(all or nothing, up to 10,000 items), compare-and-set, and the ledger; every write needs an
Idempotency-Key."""

import pytest
from rest_framework.test import APIClient

from integrations.keys import create_key, revoke_key
from integrations.models import ApiKey
from inventory.levels import level_of
from inventory.models import Inventory, LedgerEntry, Product
from reservations.invariants import find_violations
from reservations.services import holds
from tests.factories import InventoryFactory, UserFactory, WarehouseFactory, key_client

pytestmark = pytest.mark.django_db

READ, WRITE = ApiKey.Scope.STOCK_READ, ApiKey.Scope.STOCK_WRITE


@pytest.fixture
def erp() -> APIClient:
    return key_client(READ, WRITE)


@pytest.fixture
def row() -> Inventory:
    """10 on hand, 3 of them held: 7 available."""
    row = InventoryFactory(total_stock=10)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=3)
    row.refresh_from_db()
    return row


def ids(row: Inventory) -> dict:
    return {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id)}


def level(row: Inventory) -> dict:
    """The row as it is now, as the API shows it (the first test pins the shape itself)."""
    row.refresh_from_db()
    return level_of(row)


def adjust(client: APIClient, body: dict, key: str = "adj-1"):
    return client.post("/api/stock/adjustments", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_levels_show_every_state_available_and_the_version(erp, row):
    response = erp.get("/api/stock/levels", ids(row))

    assert response.status_code == 200
    assert response.json() == [
        {
            **ids(row),
            "onHand": 10,
            "held": 3,
            "safety": 0,
            "unsellable": 0,
            "incoming": 0,
            "available": 7,
            "version": 2,
        }
    ]
    assert response["X-Total-Count"] == "1"


def test_an_adjustment_changes_one_state_and_writes_its_ledger_entry(erp, row):
    body = {**ids(row), "state": "unsellable", "delta": 2, "reason": "DAMAGED", "reference": "QC-9"}

    response = adjust(erp, body)

    assert response.status_code == 200
    assert response.json() == {"levels": [level(row)]}
    assert (row.unsellable_stock, row.available, row.version) == (2, 5, 3)
    entry = row.ledger.get(sequence=3)
    assert (entry.reason, entry.unsellable, entry.reference) == ("DAMAGED", 2, "QC-9")
    assert entry.actor.startswith("key:") and entry.idempotency_key == "adj-1"
    assert find_violations() == []


def test_many_adjustments_are_made_all_or_none(erp, row):
    other = InventoryFactory(total_stock=4)
    items = [
        {**ids(other), "state": "onHand", "delta": 6, "reason": "RECEIVED"},
        {**ids(row), "state": "safety", "delta": 5, "reason": "ADJUSTED"},
        {**ids(row), "state": "safety", "delta": 3, "reason": "ADJUSTED"},  # 8 > 7 available
    ]
    before = level(row), level(other)

    response = adjust(erp, {"items": items})

    assert response.status_code == 409
    assert response.json()["code"] == "INSUFFICIENT_STOCK"
    assert response.json()["index"] == 2
    assert response.json()["level"] == before[0]
    assert (level(row), level(other)) == before

    response = adjust(erp, {"items": items[:2]}, key="adj-2")
    assert response.status_code == 200
    assert [lv["onHand"] for lv in response.json()["levels"]] == [10, 10]
    assert level(row)["available"] == 2


def test_ten_thousand_adjustments_in_one_call(erp):
    products = Product.objects.bulk_create(
        Product(sku=f"BULK-{n}", name=f"Bulk {n}", brand="b", category="c", price=1)
        for n in range(100)
    )
    warehouses = WarehouseFactory.create_batch(100)
    Inventory.objects.bulk_create(
        Inventory(product=p, warehouse=w) for p in products for w in warehouses
    )
    items = [
        {
            "productId": p.pk,
            "warehouseId": w.pk,
            "state": "incoming",
            "delta": 5,
            "reason": "ADJUSTED",
        }
        for p in products
        for w in warehouses
    ]

    response = adjust(erp, {"items": items})

    assert response.status_code == 200, response.json()
    assert len(response.json()["levels"]) == 10_000
    assert LedgerEntry.objects.filter(reason="ADJUSTED").count() == 10_000
    assert adjust(erp, {"items": [*items, items[0]]}, key="too-many").status_code == 400
    assert find_violations() == []


def test_taking_on_hand_below_what_is_held_is_refused_with_the_row(erp, row):
    body = {**ids(row), "state": "onHand", "delta": -8, "reason": "COUNTED"}

    response = adjust(erp, body)

    assert response.status_code == 409
    assert response.json()["code"] == "INSUFFICIENT_STOCK"
    assert response.json()["level"] == level(row)
    assert row.total_stock == 10


def test_a_write_without_an_idempotency_key_is_refused_with_428(erp, row):
    body = {**ids(row), "state": "onHand", "delta": 1, "reason": "RECEIVED"}

    response = erp.post("/api/stock/adjustments", body, format="json")

    assert response.status_code == 428
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert level(row)["onHand"] == 10


def test_a_retried_adjustment_is_made_once(erp, row):
    body = {**ids(row), "state": "onHand", "delta": 5, "reason": "RECEIVED"}

    first, again = adjust(erp, body), adjust(erp, body)

    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert level(row)["onHand"] == 15
    assert adjust(erp, {**body, "delta": 6}).status_code == 422


def test_compare_and_set_applies_at_the_version_read_and_refuses_a_stale_one(erp, row):
    path = f"/api/stock/levels/{row.product_id}/{row.warehouse_id}"

    stale = erp.put(
        path, {"onHand": 12, "expectedVersion": 1}, format="json", HTTP_IDEMPOTENCY_KEY="a"
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "STALE_VERSION"
    assert stale.json()["level"] == level(row)
    assert row.total_stock == 10 and row.version == 2

    body = {"onHand": 12, "safety": 1, "incoming": 20, "expectedVersion": 2}
    fresh = erp.put(path, body, format="json", HTTP_IDEMPOTENCY_KEY="b")
    assert fresh.status_code == 200
    assert fresh.json() == level(row)
    assert (row.total_stock, row.safety_stock, row.incoming_stock, row.version) == (12, 1, 20, 3)
    entry = row.ledger.get(sequence=3)
    assert (entry.reason, entry.on_hand, entry.safety, entry.incoming) == ("COUNTED", 2, 1, 20)

    short = erp.put(
        path, {"onHand": 2, "expectedVersion": 3}, format="json", HTTP_IDEMPOTENCY_KEY="c"
    )
    assert short.status_code == 409 and short.json()["code"] == "INSUFFICIENT_STOCK"
    assert find_violations() == []


def test_the_ledger_reads_in_order_from_a_cursor(erp, row):
    for n in range(3):
        adjust(erp, {**ids(row), "state": "onHand", "delta": 1, "reason": "RECEIVED"}, key=f"k{n}")

    first = erp.get("/api/stock/ledger", {**ids(row), "limit": 2}).json()
    rest = erp.get("/api/stock/ledger", {**ids(row), "after": first["next"]}).json()

    assert [e["sequence"] for e in first["entries"]] == [1, 2] and first["more"]
    assert [e["sequence"] for e in rest["entries"]] == [3, 4, 5] and not rest["more"]
    assert rest["entries"][0]["reason"] == "RECEIVED"
    assert rest["entries"][0]["delta"] == {
        "onHand": 1,
        "held": 0,
        "safety": 0,
        "unsellable": 0,
        "incoming": 0,
    }
    assert rest["entries"][-1]["after"]["onHand"] == 13
    assert rest["next"] == "5"
    assert erp.get("/api/stock/ledger", {**ids(row), "after": 5}).json()["entries"] == []


def test_keys_are_scoped_revocable_and_stored_only_as_a_hash(row):
    new = create_key(name="feed", scopes=[READ])
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {new.plain}")
    body = {**ids(row), "state": "onHand", "delta": 1, "reason": "RECEIVED"}

    assert reader.get("/api/stock/levels").status_code == 200
    assert adjust(reader, body).status_code == 403
    assert new.plain not in str(ApiKey.objects.values_list().get())

    revoke_key(new.key.pk)
    refused = reader.get("/api/stock/levels")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == 'Bearer realm="stockd"'

    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Bearer {new.plain[:-2]}xx")
    assert forged.get("/api/stock/levels").status_code == 401


def test_staff_sessions_may_call_it_and_shoppers_may_not(row):
    staff, shopper = APIClient(), APIClient()
    staff.force_login(UserFactory(is_staff=True))
    shopper.force_login(UserFactory())
    body = {**ids(row), "state": "incoming", "delta": 4, "reason": "ADJUSTED"}

    assert adjust(staff, body).status_code == 200
    assert adjust(shopper, body, key="x").status_code == 403
    assert APIClient().get("/api/stock/levels").status_code == 401
    assert row.ledger.get(sequence=3).actor.startswith("user:")


def test_a_state_cannot_be_pushed_past_a_billion_units(erp, row):
    item = {**ids(row), "state": "incoming", "delta": 1_000_000_000, "reason": "ADJUSTED"}

    response = adjust(erp, {"items": [item, item]})

    assert response.status_code == 409
    assert "incoming would go above 1,000,000,000" in response.json()["error"]
    assert level(row)["incoming"] == 0

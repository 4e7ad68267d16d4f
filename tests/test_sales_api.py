"""The staff API of flash sales (product policies, channels and their keys, allocations;
staff or scope `policies`) and the public `GET /api/availability`."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.keys import create_key, find_key
from integrations.models import ApiKey
from sales import services, tallies
from sales.models import Allocation, Channel, SalePolicy, Tally
from tests.factories import InventoryFactory, ProductFactory, UserFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

STARTS = "2030-05-01T10:00:00+05:30"


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(is_staff=True, password=None))
    return client


@pytest.fixture
def app() -> Channel:
    return services.create_channel(code="app", name="App")


def policy_url(product_id: int, channel: str | None = None) -> str:
    url = f"/api/policies/products/{product_id}"
    return url if channel is None else f"{url}?channel={channel}"


def allocation_url(product_id: int, channel: str = "app") -> str:
    return f"/api/channels/{channel}/allocations/{product_id}"


def availability(product_id: int, **params) -> dict:
    response = APIClient().get("/api/availability", {"productId": product_id, **params})
    assert response.status_code == 200, response.json()
    return response.json()


# --- policies ---------------------------------------------------------------------------------


def test_a_policy_put_sets_the_fields_sent_and_keeps_the_others(staff):
    product = ProductFactory()
    staff.put(policy_url(product.pk), {"limitPerCustomer": 2, "saleStartsAt": STARTS}, "json")

    response = staff.put(policy_url(product.pk), {"holdSeconds": 120}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "productId": str(product.pk),
        "channel": None,
        "saleStartsAt": "2030-05-01T04:30:00Z",
        "saleEndsAt": None,
        "limitPerCustomer": 2,
        "requiresAccount": None,
        "holdSeconds": 120,
        "holdSecondsSignedIn": None,
        "maxExtensions": None,
        "updatedAt": body["updatedAt"],
    }
    assert staff.get(policy_url(product.pk)).json() == body
    policy = SalePolicy.objects.get(product=product, channel=None)
    assert (policy.limit_per_customer, policy.hold_seconds) == (2, 120)


def test_null_clears_a_field_and_a_policy_left_empty_is_removed(staff):
    product = ProductFactory()
    staff.put(policy_url(product.pk), {"limitPerCustomer": 2, "maxExtensions": 1}, "json")

    cleared = staff.put(policy_url(product.pk), {"limitPerCustomer": None}, format="json")
    assert cleared.json()["limitPerCustomer"] is None
    assert cleared.json()["maxExtensions"] == 1

    emptied = staff.put(policy_url(product.pk), {"maxExtensions": None}, format="json")
    assert emptied.status_code == 200
    assert emptied.json()["updatedAt"] is None
    assert not SalePolicy.objects.exists()


def test_a_channels_override_is_a_row_of_its_own(staff, app):
    product = ProductFactory()

    response = staff.put(policy_url(product.pk, "app"), {"requiresAccount": True}, "json")

    assert response.status_code == 200
    assert (response.json()["channel"], response.json()["requiresAccount"]) == ("app", True)
    assert SalePolicy.objects.get(product=product).channel == app
    assert staff.get(policy_url(product.pk)).json()["requiresAccount"] is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"saleStartsAt": "2030-05-01T10:00:00"}, id="a time without its offset"),
        pytest.param({"maxExtensions": 4}, id="more extensions than 3"),
        pytest.param({"holdSeconds": "60"}, id="a number sent as a string"),
        pytest.param({"limitPerCustomer": 0}, id="a limit of 0"),
        pytest.param({"saleEndsAt": "2030-05-01T04:00:00Z"}, id="an end before the set start"),
        pytest.param({"holdMinutes": 5}, id="an unknown field"),
    ],
)
def test_bad_policy_input_is_400_and_changes_nothing(staff, body):
    product = ProductFactory()
    staff.put(policy_url(product.pk), {"saleStartsAt": STARTS, "holdSeconds": 60}, "json")
    before = list(SalePolicy.objects.values())

    response = staff.put(policy_url(product.pk), {"limitPerCustomer": 3, **body}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert list(SalePolicy.objects.values()) == before


def test_a_policy_of_an_unknown_product_or_channel_is_404_and_a_bad_id_400(staff):
    product = ProductFactory()

    assert staff.get(policy_url(product.pk + 1)).status_code == 404
    unknown_channel = staff.put(policy_url(product.pk, "nope"), {"holdSeconds": 5}, "json")
    assert unknown_channel.status_code == 404
    assert staff.get("/api/policies/products/1x").json()["code"] == "INVALID_ID"
    assert not SalePolicy.objects.exists()


# --- channels ---------------------------------------------------------------------------------


def test_a_new_channel_comes_with_its_key_shown_once(staff):
    response = staff.post("/api/channels", {"code": "marketplace-x", "name": "X"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["code"], body["name"]) == ("marketplace-x", "X")
    key = find_key(body["apiKey"])
    assert (key.channel.code, key.scopes) == ("marketplace-x", [ApiKey.Scope.HOLDS])
    listed = {c["code"]: c for c in staff.get("/api/channels").json()}
    assert listed["marketplace-x"]["keyPrefixes"] == [key.prefix]
    assert body["apiKey"] not in str(listed)


def test_a_channels_key_holds_for_that_channel(staff):
    row = InventoryFactory(total_stock=5)
    plain = staff.post("/api/channels", {"code": "app", "name": "App"}, "json").json()["apiKey"]

    held = APIClient(HTTP_AUTHORIZATION=f"Bearer {plain}").post(
        "/api/reservations",
        {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1},
        format="json",
    )

    assert held.status_code == 201
    assert held.json()["channel"] == "app"


def test_a_taken_channel_code_is_409_and_makes_no_key(staff, app):
    response = staff.post("/api/channels", {"code": "app", "name": "Another"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "CHANNEL_EXISTS"
    assert Channel.objects.get(code="app").name == "App"
    assert not ApiKey.objects.exists()


def test_a_channel_code_must_be_a_slug(staff):
    response = staff.post("/api/channels", {"code": "Market X", "name": "X"}, format="json")

    assert response.status_code == 400
    assert not Channel.objects.filter(name="X").exists()


# --- who may call it --------------------------------------------------------------------------


def test_a_key_with_scope_policies_may_call_it_and_one_without_may_not(app):
    product = ProductFactory()
    policies = create_key(name="ops", scopes=[ApiKey.Scope.POLICIES]).plain
    holds = create_key(name="app", scopes=[ApiKey.Scope.HOLDS], channel=app).plain

    allowed = APIClient(HTTP_AUTHORIZATION=f"Bearer {policies}").put(
        policy_url(product.pk), {"holdSeconds": 90}, format="json"
    )
    refused = APIClient(HTTP_AUTHORIZATION=f"Bearer {holds}").put(
        policy_url(product.pk), {"holdSeconds": 30}, format="json"
    )

    assert allowed.status_code == 200
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
    assert SalePolicy.objects.get().hold_seconds == 90


# --- allocations ------------------------------------------------------------------------------


def test_an_allocation_is_set_listed_and_removed_when_every_rule_is_null(staff, app):
    product = ProductFactory()

    response = staff.put(allocation_url(product.pk), {"quota": 50, "bufferPercent": 10}, "json")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "channel": "app",
        "productId": str(product.pk),
        "warehouseId": None,
        "quota": 50,
        "buffer": None,
        "bufferPercent": 10,
        "floor": None,
        "updatedAt": body["updatedAt"],
    }
    assert staff.get("/api/channels/app/allocations").json() == [body]

    removed = staff.put(allocation_url(product.pk), {"quota": None}, format="json")
    assert (removed.status_code, removed.json()["updatedAt"]) == (200, None)
    assert not Allocation.objects.exists()


def test_a_warehouses_allocation_is_apart_from_the_product_wide_one(staff, app):
    row = InventoryFactory()
    staff.put(allocation_url(row.product_id), {"buffer": 2}, format="json")

    staff.put(allocation_url(row.product_id), {"floor": 4, "warehouseId": row.warehouse_id}, "json")

    listed = staff.get("/api/channels/app/allocations").json()
    assert [(a["warehouseId"], a["buffer"], a["floor"]) for a in listed] == [
        (None, 2, None),
        (str(row.warehouse_id), None, 4),
    ]


def test_an_allocation_in_an_unknown_warehouse_is_404_and_a_percent_over_100_is_400(staff, app):
    product = ProductFactory()
    missing = WarehouseFactory().pk + 1

    unknown = staff.put(allocation_url(product.pk), {"quota": 5, "warehouseId": missing}, "json")
    over = staff.put(allocation_url(product.pk), {"bufferPercent": 101}, format="json")

    assert (unknown.status_code, over.status_code) == (404, 400)
    assert staff.get("/api/channels/nope/allocations").status_code == 404
    assert not Allocation.objects.exists()


# --- availability -----------------------------------------------------------------------------


def test_availability_without_rules_is_what_each_row_has(app):
    row = InventoryFactory(total_stock=7)

    body = availability(row.product_id, channel="app")

    assert body == {
        "productId": str(row.product_id),
        "channel": "app",
        "onSale": True,
        "saleStartsAt": None,
        "saleEndsAt": None,
        "sellable": 7,
        "warehouses": [
            {
                "warehouseId": str(row.warehouse_id),
                "warehouseName": row.warehouse.name,
                "city": row.warehouse.city,
                "distanceKm": None,
                "available": 7,
                "sellable": 7,
                "quota": None,
                "remaining": None,
            }
        ],
    }


def test_availability_keeps_back_the_channels_buffer_and_shows_0_at_its_floor(app):
    row = InventoryFactory(total_stock=10)
    other = InventoryFactory(product=row.product, total_stock=3)
    services.set_allocation("app", row.product_id, {"buffer_percent": 25})
    services.set_allocation("app", row.product_id, {"floor": 3}, warehouse_id=other.warehouse_id)

    body = availability(row.product_id, channel="app")

    assert [(w["available"], w["sellable"]) for w in body["warehouses"]] == [(10, 7), (3, 0)]
    assert body["sellable"] == 7


def test_availability_is_capped_by_what_is_left_of_the_quota_counted_once(app):
    row = InventoryFactory(total_stock=10)
    InventoryFactory(product=row.product, total_stock=10)
    starts = timezone.now() - timedelta(hours=1)
    services.set_policy(row.product_id, {"sale_starts_at": starts}, channel_code="app")
    allocation = services.set_allocation("app", row.product_id, {"quota": 12})
    window = services.policy_of(row.product_id, channel_code="app").sale_starts_at.isoformat()
    Tally.objects.create(scope=tallies.quota_scope(allocation.pk, window), units=8)
    Tally.objects.create(scope=tallies.quota_scope(allocation.pk, "open"), units=99)  # earlier

    body = availability(row.product_id, channel="app")

    assert [(w["sellable"], w["quota"], w["remaining"]) for w in body["warehouses"]] == [
        (4, 12, 4),
        (4, 12, 4),
    ]
    assert body["sellable"] == 4  # one quota, shared by both warehouses


def test_availability_counts_the_channels_holds_against_its_quota(app):
    row = InventoryFactory(total_stock=10)
    services.set_allocation("app", row.product_id, {"quota": 5})
    key = create_key(name="app", scopes=[ApiKey.Scope.HOLDS], channel=app).plain
    APIClient(HTTP_AUTHORIZATION=f"Bearer {key}").post(
        "/api/reservations",
        {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 2},
        format="json",
    )

    body = availability(row.product_id, channel="app")

    assert body["warehouses"][0]["remaining"] == 3
    assert (body["warehouses"][0]["available"], body["sellable"]) == (8, 3)


def test_availability_before_the_sale_starts_is_0_and_says_when(app):
    row = InventoryFactory(total_stock=10)
    starts = timezone.now() + timedelta(minutes=5)
    services.set_policy(row.product_id, {"sale_starts_at": starts})

    body = availability(row.product_id, channel="app")

    assert (body["onSale"], body["sellable"], body["warehouses"][0]["sellable"]) == (False, 0, 0)
    assert body["saleStartsAt"] == starts.isoformat().replace("+00:00", "Z")


def test_availability_for_a_pincode_lists_the_nearest_warehouse_first():
    mumbai = InventoryFactory(warehouse=WarehouseFactory(lat=19.0760, lng=72.8777))
    chennai = InventoryFactory(
        product=mumbai.product, warehouse=WarehouseFactory(lat=13.0827, lng=80.2707)
    )

    body = availability(mumbai.product_id, pincode="600032")  # Chennai

    ids = [w["warehouseId"] for w in body["warehouses"]]
    assert ids == [str(chennai.warehouse_id), str(mumbai.warehouse_id)]
    assert body["warehouses"][0]["distanceKm"] < body["warehouses"][1]["distanceKm"]
    assert body["channel"] == "web"


def test_availability_refuses_unknown_channels_products_and_pincodes_and_bad_ids():
    row = InventoryFactory()
    client = APIClient()

    def status(**params) -> int:
        return client.get("/api/availability", params).status_code

    assert status(productId=row.product_id, channel="nope") == 404
    assert status(productId=row.product_id + 1) == 404
    assert status(productId=row.product_id, pincode="000000") == 422
    assert status(productId="abc") == 400


def test_availability_reads_in_six_queries_however_many_warehouses(
    django_assert_max_num_queries, app
):
    row = InventoryFactory()
    for _ in range(3):
        InventoryFactory(product=row.product)
    services.set_policy(row.product_id, {"limit_per_customer": 2})
    services.set_allocation("app", row.product_id, {"quota": 10})
    services.set_allocation("app", row.product_id, {"buffer": 1}, warehouse_id=row.warehouse_id)

    # The channel, the product, its rows, its rules, the channel's allocations, the tallies.
    with django_assert_max_num_queries(6):
        body = availability(row.product_id, channel="app", pincode="560001")
    assert len(body["warehouses"]) == 4

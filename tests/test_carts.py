"""Carts hold every line or none, route and split lines, and never deadlock each other."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Inventory
from reservations.errors import InsufficientStock, InvalidTransition
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from reservations.planning import CartLine
from reservations.services import carts, transitions
from tests.factories import InventoryFactory, ProductFactory, WarehouseFactory
from tests.places import NEAR_MUMBAI, five_warehouses, held_in
from tests.races import run_together, unexpected_errors

pytestmark = pytest.mark.django_db


def post_cart(api, items, **extra):
    return api.post("/api/reservations/batch", {"items": items, **extra}, format="json")


def line(row: Inventory, quantity: int = 1) -> dict:
    return {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": quantity}


def counters(*rows: Inventory) -> list[tuple[int, int]]:
    for row in rows:
        row.refresh_from_db()
    return [(row.total_stock, row.reserved_stock) for row in rows]


def test_a_cart_holds_every_line_under_one_cart_id(api):
    first, second = InventoryFactory(total_stock=5), InventoryFactory(total_stock=5)

    response = post_cart(api, [line(first, 2), line(second, 3)])

    assert response.status_code == 201
    body = response.json()
    assert [(r["productId"], r["quantity"]) for r in body["reservations"]] == [
        (str(first.product_id), 2),
        (str(second.product_id), 3),
    ]
    assert {r["cartId"] for r in body["reservations"]} == {body["cartId"]}
    assert counters(first, second) == [(5, 2), (5, 3)]
    assert ReservationEvent.objects.filter(type="RESERVED").count() == 2
    assert find_violations() == []


def test_one_short_line_holds_nothing(api):
    first, second = InventoryFactory(total_stock=5), InventoryFactory(total_stock=2)

    response = post_cart(api, [line(first, 2), line(second, 3)])

    assert response.status_code == 409
    assert response.json() == {
        "error": response.json()["error"],
        "code": "INSUFFICIENT_STOCK",
        "productId": str(second.product_id),
        "warehouseId": str(second.warehouse_id),
        "available": 2,
    }
    assert counters(first, second) == [(5, 0), (2, 0)]
    assert not Reservation.objects.exists() and not ReservationEvent.objects.exists()


def test_duplicate_lines_are_merged(api):
    row = InventoryFactory(total_stock=5)
    body = post_cart(api, [line(row, 2), line(row, 2)]).json()
    assert [r["quantity"] for r in body["reservations"]] == [4]


def test_lines_without_a_warehouse_are_routed_each(api):
    product, rows = five_warehouses(BOM=0)
    other, other_rows = five_warehouses()
    body = post_cart(
        api,
        [{"productId": product.id, "quantity": 2}, {"productId": other.id, "quantity": 1}],
        **NEAR_MUMBAI,
    ).json()
    cities = [r["warehouse"]["city"] for r in body["reservations"]]
    assert cities == ["Hyderabad", "Mumbai"]
    assert all("distanceKm" in r for r in body["reservations"])


def test_a_split_line_takes_the_nearest_warehouses_first(api):
    product, rows = five_warehouses(units=4)
    response = post_cart(
        api, [{"productId": product.id, "quantity": 10}], allowSplit=True, **NEAR_MUMBAI
    )
    assert response.status_code == 201
    parts = [(r["warehouse"]["city"], r["quantity"]) for r in response.json()["reservations"]]
    assert parts == [("Mumbai", 4), ("Hyderabad", 4), ("Bangalore", 2)]
    assert held_in(rows) == {"CHN": 0, "BLR": 2, "BOM": 4, "DEL": 0, "HYD": 4}


def test_a_split_line_holds_nothing_when_all_warehouses_together_fall_short(api):
    product, rows = five_warehouses(units=4)
    response = post_cart(
        api, [{"productId": product.id, "quantity": 21}], allowSplit=True, **NEAR_MUMBAI
    )
    assert response.status_code == 409
    assert response.json()["available"] == 20 and response.json()["warehouseId"] is None
    assert set(held_in(rows).values()) == {0}


def test_without_allow_split_a_line_must_fit_one_warehouse(api):
    product, _ = five_warehouses(units=4)
    response = post_cart(api, [{"productId": product.id, "quantity": 5}], **NEAR_MUMBAI)
    assert response.status_code == 409


def test_fifty_lines_are_accepted_and_fifty_one_refused(api):
    rows = [InventoryFactory(total_stock=1) for _ in range(51)]
    too_many = post_cart(api, [line(row) for row in rows])
    assert too_many.status_code == 400
    assert not Reservation.objects.exists()
    assert post_cart(api, [line(row) for row in rows[:50]]).status_code == 201


@pytest.mark.parametrize(
    "payload",
    [
        {"items": []},
        {"items": {}},
        {"items": [{"productId": 1}]},
        {"items": [{"productId": 1, "quantity": 0}]},
        {"items": [{"productId": 1, "quantity": 1, "extra": 1}]},
        {"items": [{"productId": 1, "quantity": 1}], "allowSplit": "yes"},
        {"items": [{"productId": 1, "quantity": 1}], "lat": 10},
        {"items": [{"productId": 1, "quantity": 1}], "coupon": "x"},
        {"lines": []},
        [],
    ],
)
def test_bad_carts_answer_400_and_hold_nothing(api, payload):
    InventoryFactory(total_stock=5)
    response = api.post("/api/reservations/batch", payload, format="json")
    assert response.status_code == 400
    assert not Reservation.objects.exists()


def test_merged_lines_over_the_quantity_limit_are_refused(api):
    row = InventoryFactory(total_stock=500)
    assert post_cart(api, [line(row, 60), line(row, 60)]).status_code == 400


def test_an_unstocked_line_answers_404_and_holds_nothing(api):
    row = InventoryFactory(total_stock=5)
    elsewhere = WarehouseFactory()
    response = post_cart(
        api,
        [line(row), {"productId": row.product_id, "warehouseId": elsewhere.id, "quantity": 1}],
    )
    assert response.status_code == 404
    assert not Reservation.objects.exists()
    unknown = post_cart(api, [{"productId": ProductFactory().id, "quantity": 1}])
    assert unknown.status_code == 404


def test_an_idempotent_retry_of_a_cart_replays_it(api):
    row = InventoryFactory(total_stock=5)
    first = api.post(
        "/api/reservations/batch",
        {"items": [line(row, 2)]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="cart-1",
    )
    again = api.post(
        "/api/reservations/batch",
        {"items": [line(row, 2)]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="cart-1",
    )
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert counters(row) == [(5, 2)]


# --- cart confirm and release ----------------------------------------------------------------


@pytest.fixture
def cart(api) -> tuple[str, Inventory, Inventory]:
    first, second = InventoryFactory(total_stock=5), InventoryFactory(total_stock=5)
    cart_id = post_cart(api, [line(first, 2), line(second, 1)]).json()["cartId"]
    return cart_id, first, second


def test_confirming_a_cart_confirms_every_hold(api, cart):
    cart_id, first, second = cart
    response = api.post(f"/api/carts/{cart_id}/confirm")
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["reservations"]} == {"CONFIRMED"}
    assert counters(first, second) == [(3, 0), (4, 0)]
    again = api.post(f"/api/carts/{cart_id}/confirm")
    assert again.status_code == 200 and counters(first, second) == [(3, 0), (4, 0)]


def test_releasing_a_cart_releases_every_hold(api, cart):
    cart_id, first, second = cart
    response = api.post(f"/api/carts/{cart_id}/release")
    assert response.status_code == 200
    assert {r["releaseReason"] for r in response.json()["reservations"]} == {"CANCELLED"}
    assert counters(first, second) == [(5, 0), (5, 0)]


def test_releasing_a_confirmed_cart_answers_409_and_changes_nothing(api, cart):
    cart_id, first, second = cart
    api.post(f"/api/carts/{cart_id}/confirm")
    response = api.post(f"/api/carts/{cart_id}/release")
    assert response.status_code == 409
    assert counters(first, second) == [(3, 0), (4, 0)]


def test_confirming_a_cart_with_a_cancelled_hold_answers_409_and_confirms_nothing(api, cart):
    cart_id, first, second = cart
    cancelled = Reservation.objects.get(product_id=second.product_id)
    transitions.release(reservation_id=cancelled.id)
    response = api.post(f"/api/carts/{cart_id}/confirm")
    assert response.status_code == 409
    assert Reservation.objects.get(product_id=first.product_id).status == "PENDING"


def test_confirming_an_expired_cart_answers_410_and_releases_its_holds(api, cart):
    cart_id, first, second = cart
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.post(f"/api/carts/{cart_id}/confirm")
    assert response.status_code == 410
    assert response.json()["code"] == "EXPIRED"
    assert set(Reservation.objects.values_list("release_reason", flat=True)) == {"EXPIRED"}
    assert counters(first, second) == [(5, 0), (5, 0)]
    assert api.post(f"/api/carts/{cart_id}/release").status_code == 200


def test_unknown_and_malformed_carts(api):
    assert api.post(f"/api/carts/{uuid.uuid4()}/confirm").status_code == 404
    assert api.post("/api/carts/not-a-uuid/release").status_code == 400


def test_a_shoppers_cart_is_invisible_to_others(api, django_user_model):
    row = InventoryFactory(total_stock=5)
    api.force_login(django_user_model.objects.create_user("ann", password="pw-123456"))
    cart_id = post_cart(api, [line(row)]).json()["cartId"]
    api.force_login(django_user_model.objects.create_user("bob", password="pw-123456"))
    assert api.post(f"/api/carts/{cart_id}/release").status_code == 404
    assert counters(row) == [(5, 1)]


# --- races -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_30_carts_in_opposite_line_orders_never_deadlock_and_sell_exactly_the_stock():
    first, second = InventoryFactory(total_stock=10), InventoryFactory(total_stock=10)
    forward = [
        CartLine(first.product_id, first.warehouse_id, 1),
        CartLine(second.product_id, second.warehouse_id, 1),
    ]

    def shop(index: int):
        lines = forward if index % 2 else list(reversed(forward))
        return carts.reserve_cart(lines=lines)

    outcomes = run_together(30, shop)

    assert unexpected_errors(outcomes, InsufficientStock) == []
    assert sum(1 for o in outcomes if o.error is None) == 10
    assert counters(first, second) == [(10, 10), (10, 10)]
    assert Reservation.objects.count() == 20
    assert find_violations() == []


@pytest.mark.django_db(transaction=True)
def test_confirm_and_release_racing_on_the_same_carts_settle_each_cart_whole():
    rows = [InventoryFactory(total_stock=50) for _ in range(3)]
    lines = [CartLine(r.product_id, r.warehouse_id, 1) for r in rows]
    made = [carts.reserve_cart(lines=list(reversed(lines)) if i % 2 else lines) for i in range(10)]

    def act(index: int):
        cart = made[index % 10]
        if index < 10:
            return carts.confirm_cart(cart_id=cart.cart_id)
        return carts.release_cart(cart_id=cart.cart_id)

    outcomes = run_together(20, act)

    assert unexpected_errors(outcomes, InvalidTransition) == []
    for cart in made:
        statuses = set(
            Reservation.objects.filter(cart_id=cart.cart_id).values_list("status", flat=True)
        )
        assert statuses in ({"CONFIRMED"}, {"RELEASED"})
    assert find_violations() == []

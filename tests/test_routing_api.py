"""Holds without a warehouse go to the nearest one with stock, falling through under races."""

import pytest

from inventory import selectors
from reservations.errors import InsufficientStock
from reservations.invariants import find_violations
from reservations.models import Reservation
from reservations.services import holds
from tests.factories import ProductFactory
from tests.places import NEAR_MUMBAI, five_warehouses, held_in
from tests.races import run_together, unexpected_errors
from warehouses.routing import Location


def reserve(api, product, quantity=1, **where):
    return api.post(
        "/api/reservations", {"productId": product.id, "quantity": quantity, **where}, format="json"
    )


@pytest.mark.django_db
def test_a_hold_without_warehouse_goes_to_the_nearest(api):
    product, rows = five_warehouses()
    response = reserve(api, product, **NEAR_MUMBAI)
    assert response.status_code == 201
    body = response.json()
    assert body["warehouse"]["city"] == "Mumbai"
    assert body["warehouseId"] == str(rows["BOM"].warehouse_id)
    assert body["distanceKm"] == pytest.approx(8.8, abs=0.2)
    assert held_in(rows)["BOM"] == 1


@pytest.mark.django_db
def test_a_routed_hold_takes_the_product_id_as_a_json_string(api):
    product, rows = five_warehouses()
    response = api.post(
        "/api/reservations",
        {"productId": str(product.id), "quantity": 1, **NEAR_MUMBAI},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["productId"] == str(product.id)
    assert held_in(rows)["BOM"] == 1


@pytest.mark.django_db
def test_a_known_city_routes_like_coordinates(api):
    product, _ = five_warehouses()
    assert reserve(api, product, city="pune").json()["warehouse"]["city"] == "Mumbai"
    assert reserve(api, product, city="Bengaluru").json()["warehouse"]["city"] == "Bangalore"
    assert reserve(api, product, city="Kolkata").json()["warehouse"]["city"] == "Hyderabad"


@pytest.mark.django_db
def test_coordinates_win_over_a_city(api):
    product, _ = five_warehouses()
    body = reserve(api, product, city="Delhi", **NEAR_MUMBAI).json()
    assert body["warehouse"]["city"] == "Mumbai"


@pytest.mark.django_db
def test_a_pincode_wins_over_a_city_and_coordinates_over_a_pincode(api):
    product, _ = five_warehouses()
    by_pincode = reserve(api, product, city="Delhi", pincode="560001").json()
    assert by_pincode["warehouse"]["city"] == "Bangalore"
    by_coordinates = reserve(api, product, pincode="560001", **NEAR_MUMBAI).json()
    assert by_coordinates["warehouse"]["city"] == "Mumbai"


@pytest.mark.django_db
def test_the_nearest_warehouse_that_covers_the_whole_quantity_wins(api):
    product, rows = five_warehouses(BOM=3)
    body = reserve(api, product, quantity=5, **NEAR_MUMBAI).json()
    assert body["warehouse"]["city"] == "Hyderabad"
    assert held_in(rows) == {"CHN": 0, "BLR": 0, "BOM": 0, "DEL": 0, "HYD": 5}


@pytest.mark.django_db
def test_without_a_location_the_warehouse_with_most_available_wins(api):
    product, _ = five_warehouses(DEL=12)
    body = reserve(api, product).json()
    assert body["warehouse"]["city"] == "Delhi" and "distanceKm" not in body


@pytest.mark.django_db
def test_inactive_warehouses_are_never_chosen(api):
    product, rows = five_warehouses()
    rows["BOM"].warehouse.active = False
    rows["BOM"].warehouse.save()
    assert reserve(api, product, **NEAR_MUMBAI).json()["warehouse"]["city"] == "Hyderabad"


@pytest.mark.django_db
def test_409_with_the_total_only_when_no_warehouse_covers_it(api):
    product, rows = five_warehouses(units=4)
    response = reserve(api, product, quantity=5, **NEAR_MUMBAI)
    assert response.status_code == 409
    assert response.json()["code"] == "INSUFFICIENT_STOCK"
    assert (
        response.json()["error"]
        == f"No warehouse has 5 unit(s) of product {product.id}; 20 in all."
    )
    assert response.json()["available"] == 20
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_routing_an_unstocked_product_answers_404(api):
    product = ProductFactory()
    response = reserve(api, product, **NEAR_MUMBAI)
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "where",
    [
        {"lat": 91, "lng": 72},
        {"lat": 19, "lng": 181},
        {"lat": "19", "lng": 72},
        {"lng": 72.9},
        {"city": "Atlantis"},
        {"city": ""},
        {"lat": True, "lng": 72},
    ],
)
def test_bad_locations_answer_400_and_hold_nothing(api, where):
    product, _ = five_warehouses()
    response = reserve(api, product, **where)
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert set(response.json()["details"]["fieldErrors"]) & {"lat", "lng", "city"}
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_a_warehouse_emptied_between_choice_and_write_falls_through(api, monkeypatch):
    product, rows = five_warehouses()
    real_stock_options = selectors.stock_options

    def options_then_someone_empties_mumbai(**kwargs):
        options = real_stock_options(**kwargs)  # Mumbai still shows 10 here
        holds.reserve(product_id=product.id, warehouse_id=rows["BOM"].warehouse_id, quantity=10)
        return options

    monkeypatch.setattr(selectors, "stock_options", options_then_someone_empties_mumbai)
    response = reserve(api, product, **NEAR_MUMBAI)

    assert response.status_code == 201
    assert response.json()["warehouse"]["city"] == "Hyderabad"
    assert held_in(rows)["HYD"] == 1


@pytest.mark.django_db(transaction=True)
def test_40_shoppers_near_mumbai_fill_the_four_nearest_warehouses_in_order():
    product, rows = five_warehouses()
    origin = Location(19.0, 72.9)

    outcomes = run_together(
        40, lambda _: holds.reserve_nearest(product_id=product.id, quantity=1, origin=origin)
    )

    assert unexpected_errors(outcomes) == []
    assert held_in(rows) == {"BOM": 10, "HYD": 10, "BLR": 10, "CHN": 10, "DEL": 0}
    assert Reservation.objects.count() == 40
    assert find_violations() == []


@pytest.mark.django_db(transaction=True)
def test_more_shoppers_than_units_get_exactly_the_units_and_clean_409s():
    product, rows = five_warehouses(units=2)
    origin = Location(19.0, 72.9)

    outcomes = run_together(
        20, lambda _: holds.reserve_nearest(product_id=product.id, quantity=1, origin=origin)
    )

    assert unexpected_errors(outcomes, InsufficientStock) == []
    assert sum(1 for o in outcomes if o.error is None) == 10
    assert set(held_in(rows).values()) == {2}
    assert find_violations() == []

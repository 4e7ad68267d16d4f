"""Delivery by pincode: the place a pincode names, shipping tiers, POST /api/detect-warehouse."""

from dataclasses import replace

import pytest

from tests.places import five_warehouses
from warehouses.delivery import shipping_for
from warehouses.pincodes import place_for_pincode
from warehouses.routing import Location, distance_km


@pytest.mark.parametrize(
    ("pincode", "city", "state"),
    [
        ("560001", "Bangalore", "Karnataka"),
        ("110001", "New Delhi", "Delhi"),
        (" 400001 ", "Mumbai", "Maharashtra"),
    ],
)
def test_a_pincode_is_placed_by_its_first_three_digits(pincode, city, state):
    place = place_for_pincode(pincode)
    assert (place.city, place.state, place.pincode) == (city, state, pincode.strip())


def test_a_pincode_whose_three_digits_are_unknown_is_placed_by_its_first_two():
    # 137 is not a prefix; 130-136 are, and 136 is the nearest of them.
    assert place_for_pincode("137001") == replace(place_for_pincode("136000"), pincode="137001")


@pytest.mark.parametrize("pincode", ["", "12345", "1234567", "012345", "56000a", "999999"])
def test_malformed_or_unknown_pincodes_have_no_place(pincode):
    assert place_for_pincode(pincode) is None


@pytest.mark.parametrize(
    ("distance", "cost", "days", "label"),
    [
        (0, 0, 1, "Next day"),
        (99.9, 0, 1, "Next day"),
        (100, 29, 2, "2 days"),
        (299, 29, 2, "2 days"),
        (300, 49, 4, "3-4 days"),
        (699, 49, 4, "3-4 days"),
        (700, 79, 6, "5-6 days"),
        (1499, 79, 6, "5-6 days"),
        (1500, 99, 8, "6-8 days"),
        (3000, 99, 8, "6-8 days"),
    ],
)
def test_shipping_goes_by_distance(distance, cost, days, label):
    shipping = shipping_for(distance)
    assert (shipping.cost, shipping.days, shipping.label) == (cost, days, label)


def detect(api, pincode, product_id):
    return api.post(
        "/api/detect-warehouse", {"pincode": pincode, "productId": product_id}, format="json"
    )


@pytest.mark.django_db
def test_detect_warehouse_lists_every_warehouse_nearest_first_and_recommends_the_nearest(api):
    product, rows = five_warehouses()

    response = detect(api, "560001", product.id)

    assert response.status_code == 200
    body = response.json()
    assert body["detectedLocation"] == {
        "city": "Bangalore",
        "state": "Karnataka",
        "pincode": "560001",
    }
    offers = body["warehouses"]
    assert [o["city"] for o in offers] == ["Bangalore", "Chennai", "Hyderabad", "Mumbai", "Delhi"]
    bangalore = offers[0]
    assert bangalore == {
        "warehouseId": str(rows["BLR"].warehouse_id),
        "warehouseName": rows["BLR"].warehouse.name,
        "city": "Bangalore",
        "location": rows["BLR"].warehouse.location,
        "distanceKm": bangalore["distanceKm"],
        "available": 10,
        "shippingCost": 0,
        "deliveryDays": 1,
        "deliveryLabel": "Next day",
        "isNearest": True,
        "isRecommended": True,
    }
    assert bangalore["distanceKm"] < 100
    distances = [o["distanceKm"] for o in offers]
    assert distances == sorted(distances) and all(isinstance(d, int) for d in distances)
    assert [o["isNearest"] for o in offers] == [True, False, False, False, False]
    assert [o["isRecommended"] for o in offers] == [True, False, False, False, False]
    assert body["recommendedWarehouseId"] == str(rows["BLR"].warehouse_id)
    delhi = offers[-1]
    assert (delhi["shippingCost"], delhi["deliveryLabel"]) == (99, "6-8 days")
    origin = place_for_pincode("560001").location
    warehouse = rows["DEL"].warehouse
    assert delhi["distanceKm"] == round(distance_km(origin, Location(warehouse.lat, warehouse.lng)))


@pytest.mark.django_db
def test_an_empty_nearest_warehouse_is_not_recommended(api):
    product, rows = five_warehouses(BLR=0)

    body = detect(api, "560001", product.id).json()

    assert body["warehouses"][0]["city"] == "Bangalore"
    assert body["warehouses"][0]["available"] == 0
    assert body["warehouses"][0]["isRecommended"] is False
    assert body["recommendedWarehouseId"] == str(rows["CHN"].warehouse_id)


@pytest.mark.django_db
def test_nothing_is_recommended_when_every_warehouse_is_empty(api):
    product, _ = five_warehouses(units=0)

    body = detect(api, "110001", product.id).json()

    assert body["recommendedWarehouseId"] is None
    assert not any(o["isRecommended"] for o in body["warehouses"])


@pytest.mark.django_db
@pytest.mark.parametrize("pincode", ["999999", "12345", "abcdef", "0123456"])
def test_an_unserviceable_pincode_answers_422_with_a_readable_message(api, pincode):
    product, _ = five_warehouses()

    response = detect(api, pincode, product.id)

    assert response.status_code == 422
    body = response.json()
    assert "PINCODE_NOT_SERVICEABLE" in (body.get("code"), body.get("error"))
    assert "pincode" in body["detail" if "detail" in body else "message"].lower()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [{}, {"pincode": "560001"}, {"productId": 1}, {"pincode": None, "productId": 1}]
)
def test_missing_fields_answer_400(api, body):
    response = api.post("/api/detect-warehouse", body, format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_an_unknown_product_answers_404(api):
    five_warehouses()
    assert detect(api, "560001", 999999).status_code == 404


@pytest.mark.django_db
def test_inactive_warehouses_are_not_offered(api):
    product, rows = five_warehouses()
    rows["BLR"].warehouse.active = False
    rows["BLR"].warehouse.save()

    body = detect(api, "560001", product.id).json()

    assert "Bangalore" not in [o["city"] for o in body["warehouses"]]
    assert body["recommendedWarehouseId"] == str(rows["CHN"].warehouse_id)

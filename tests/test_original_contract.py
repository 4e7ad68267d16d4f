"""A client written for the original stockd works unchanged: its ids, fields, errors and calls."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model, login
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Inventory, Product
from reservations.models import Reservation, WaitlistEntry
from tests.factories import InventoryFactory
from tests.places import five_warehouses

pytestmark = pytest.mark.django_db


def post(api: APIClient, path: str, body, **headers):
    return api.post(path, body, format="json", **headers)


def hold_body(row: Inventory, quantity: int = 1, **extra) -> dict:
    return {
        "productId": str(row.product_id),
        "warehouseId": str(row.warehouse_id),
        "quantity": quantity,
        **extra,
    }


# --- 1. ids are strings --------------------------------------------------------------------


def test_catalogue_ids_are_strings(api, seeded):
    products = api.get("/api/products").json()
    warehouses = api.get("/api/warehouses").json()

    assert all(isinstance(p["id"], str) and p["id"].isdigit() for p in products)
    assert all(isinstance(w["id"], str) for w in warehouses)
    rows = [row for p in products for row in p["inventory"]]
    assert len(rows) == 265
    assert all(isinstance(row["warehouseId"], str) for row in rows)
    one = api.get(f"/api/products/{products[0]['id']}").json()
    assert one["id"] == products[0]["id"]


def test_a_hold_answers_string_ids(api):
    row = InventoryFactory(total_stock=3)

    body = post(api, "/api/reservations", hold_body(row)).json()

    assert body["productId"] == str(row.product_id)
    assert body["warehouseId"] == str(row.warehouse_id)
    assert body["product"]["id"] == str(row.product_id)
    assert body["warehouse"]["id"] == str(row.warehouse_id)
    assert body["id"] == str(Reservation.objects.get().id)
    assert body["cartId"] is None


@pytest.mark.parametrize("as_type", [str, int], ids=["string", "integer"])
def test_ids_are_taken_as_strings_or_integers(api, as_type):
    row = InventoryFactory(total_stock=3)
    body = {
        "productId": as_type(row.product_id),
        "warehouseId": as_type(row.warehouse_id),
        "quantity": 1,
    }

    assert post(api, "/api/reservations", body).status_code == 201


@pytest.mark.parametrize("bad_id", ["12.0", "", "abc", True, 1.5, None, "-3", "0", " 12", [12]])
def test_anything_else_as_an_id_is_a_400_that_holds_nothing(api, bad_id):
    row = InventoryFactory(total_stock=3)

    response = post(api, "/api/reservations", {**hold_body(row), "productId": bad_id})

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "productId" in response.json()["details"]["fieldErrors"]
    assert not Reservation.objects.exists()


def test_the_openapi_document_says_ids_are_strings(api):
    schema = api.get("/api/schema?format=json").json()["components"]["schemas"]

    assert schema["ReservationInput"]["properties"]["productId"]["type"] == "string"
    assert schema["ReservationOutput"]["properties"]["productId"]["type"] == "string"
    assert schema["ProductOutput"]["properties"]["id"]["type"] == "string"


# --- 2. the original's fields --------------------------------------------------------------


def test_products_carry_the_originals_fields_with_absolute_image_urls(api, seeded):
    products = api.get("/api/products").json()

    names = [p["name"] for p in products]
    assert names == sorted(names)
    thermometer = next(p for p in products if p["name"] == "Digital Thermometer")
    assert thermometer["colors"] == ["Yellow", "Purple"]
    assert thermometer["size"] == "14.5 cm"
    assert thermometer["boxContents"].startswith("Thermometer, 1× LR41 battery")
    assert thermometer["image"].startswith("http://testserver/static/img/categories/")
    assert thermometer["images"] == [thermometer["image"]]
    locations = {row["city"]: row["location"] for row in thermometer["inventory"]}
    assert locations["Chennai"] == "Chennai, Tamil Nadu"


def test_warehouses_are_listed_by_name_with_created_at(api, seeded):
    warehouses = api.get("/api/warehouses").json()

    assert [w["name"] for w in warehouses] == sorted(w["name"] for w in warehouses)
    assert all(w["createdAt"] for w in warehouses)


def test_a_holds_product_has_its_category_and_its_warehouse_its_location(api):
    row = InventoryFactory(total_stock=3)

    body = post(api, "/api/reservations", hold_body(row)).json()

    assert body["product"]["category"] == row.product.category
    assert body["product"]["image"].startswith("http://testserver/static/")
    assert body["warehouse"]["location"] == row.warehouse.location
    read = api.get(f"/api/reservations/{body['id']}").json()
    assert read["product"] == body["product"] and read["warehouse"] == body["warehouse"]


# --- 4. the error shape --------------------------------------------------------------------


def test_a_refusal_has_a_readable_sentence_and_a_stable_code(api):
    row = InventoryFactory(total_stock=1)

    response = post(api, "/api/reservations", hold_body(row, quantity=2))

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "INSUFFICIENT_STOCK"
    assert body["error"] == f"Only 1 unit(s) available in warehouse {row.warehouse_id}."
    assert body["available"] == 1


def test_a_validation_error_lists_form_and_field_errors(api):
    response = post(api, "/api/reservations", {"productId": "1", "quantity": 0, "colour": "red"})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid input"
    assert body["code"] == "VALIDATION_ERROR"
    assert set(body["details"]) == {"formErrors", "fieldErrors"}
    assert set(body["details"]["fieldErrors"]) == {"colour"}
    assert body["details"]["fieldErrors"]["colour"] == ["Unknown field."]


def test_a_body_that_is_not_an_object_is_a_form_error(api):
    response = post(api, "/api/reservations", [1, 2])

    assert response.status_code == 400
    assert response.json()["details"]["formErrors"]
    assert response.json()["details"]["fieldErrors"] == {}


def test_confirming_an_expired_hold_answers_410_expired(api):
    row = InventoryFactory(total_stock=1)
    hold = post(api, "/api/reservations", hold_body(row)).json()
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = post(api, f"/api/reservations/{hold['id']}/confirm", None)

    assert response.status_code == 410
    assert response.json()["code"] == "EXPIRED"
    assert "expired" in response.json()["error"].lower()


def test_unknown_api_paths_answer_json_with_a_code(api):
    response = api.get("/api/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"error": "No such resource.", "code": "NOT_FOUND"}


# --- 5. pincode as the shopper's location --------------------------------------------------


def test_a_routed_hold_takes_a_pincode_as_the_location(api):
    product, rows = five_warehouses()

    body = post(
        api, "/api/reservations", {"productId": str(product.id), "quantity": 1, "pincode": "500001"}
    ).json()

    assert body["warehouse"]["city"] == "Hyderabad"
    assert body["distanceKm"] < 50


def test_a_cart_takes_a_pincode_as_the_location(api):
    product, rows = five_warehouses()
    items = [{"productId": str(product.id), "quantity": 2}]

    body = post(api, "/api/reservations/batch", {"items": items, "pincode": "110001"}).json()

    assert [r["warehouse"]["city"] for r in body["reservations"]] == ["Delhi"]


def test_an_unknown_pincode_as_location_is_a_422_that_holds_nothing(api):
    product, _ = five_warehouses()

    response = post(
        api, "/api/reservations", {"productId": product.id, "quantity": 1, "pincode": "999999"}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "PINCODE_NOT_SERVICEABLE"
    assert not Reservation.objects.exists()


# --- 6. my reservations without an account -------------------------------------------------


def test_a_guest_lists_the_holds_their_browser_made_and_no_others():
    row = InventoryFactory(total_stock=10)
    alice, bob = APIClient(), APIClient()
    mine = [post(alice, "/api/reservations", hold_body(row)).json()["id"] for _ in range(2)]
    theirs = post(bob, "/api/reservations", hold_body(row)).json()["id"]

    listed = alice.get("/api/reservations")

    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == list(reversed(mine))
    assert listed["X-Total-Count"] == "2"
    assert [r["id"] for r in bob.get("/api/reservations").json()] == [theirs]
    assert APIClient().get("/api/reservations").json() == []
    # Still reachable by UUID from anywhere, as in the original.
    assert APIClient().get(f"/api/reservations/{theirs}").status_code == 200


def test_a_forged_guest_cookie_lists_nothing():
    row = InventoryFactory(total_stock=10)
    owner = APIClient()
    post(owner, "/api/reservations", hold_body(row))
    forger = APIClient()
    real = owner.cookies["stockd_guest"].value
    forger.cookies["stockd_guest"] = real.split(":")[0] + ":forged-signature"

    assert forger.get("/api/reservations").json() == []


def test_a_refused_hold_gives_a_guest_no_cookie():
    row = InventoryFactory(total_stock=0)
    guest = APIClient()

    assert post(guest, "/api/reservations", hold_body(row)).status_code == 409
    assert "stockd_guest" not in guest.cookies


def test_a_guests_holds_move_to_the_account_they_sign_in_to():
    row = InventoryFactory(total_stock=10)
    shopper = APIClient()
    held = post(shopper, "/api/reservations", hold_body(row)).json()["id"]
    user = get_user_model().objects.create_user(username="ann@example.com", password="x")
    # The browser signs in with its cookies (the guest cookie among them).
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in shopper.cookies.items())
    request = RequestFactory().post("/accounts/login/", HTTP_COOKIE=cookies)
    request.session = SessionStore()

    login(request, user, backend="django.contrib.auth.backends.ModelBackend")

    assert Reservation.objects.get(pk=held).user == user
    assert Reservation.objects.get(pk=held).guest_id is None
    shopper.force_login(user)
    assert [r["id"] for r in shopper.get("/api/reservations").json()] == [held]


def test_signed_in_shoppers_see_their_own_and_staff_see_all():
    row = InventoryFactory(total_stock=10)
    users = get_user_model().objects
    ann, ben = users.create_user(username="ann"), users.create_user(username="ben")
    staff = users.create_user(username="staff", is_staff=True)
    clients = {}
    for user in (ann, ben, staff):
        clients[user.username] = APIClient()
        clients[user.username].force_login(user)
    ann_hold = post(clients["ann"], "/api/reservations", hold_body(row)).json()["id"]
    ben_hold = post(clients["ben"], "/api/reservations", hold_body(row)).json()["id"]
    post(APIClient(), "/api/reservations", hold_body(row))

    assert [r["id"] for r in clients["ann"].get("/api/reservations").json()] == [ann_hold]
    assert [r["id"] for r in clients["ben"].get("/api/reservations").json()] == [ben_hold]
    assert clients["staff"].get("/api/reservations")["X-Total-Count"] == "3"
    assert clients["ben"].get(f"/api/reservations/{ann_hold}").status_code == 404


# --- 7. release answers as the original ----------------------------------------------------


def test_release_answers_the_hold_and_no_promotion(api):
    row = InventoryFactory(total_stock=1)
    hold = post(api, "/api/reservations", hold_body(row)).json()

    body = post(api, f"/api/reservations/{hold['id']}/release", None).json()

    assert body["reservation"]["id"] == hold["id"]
    assert body["reservation"]["status"] == "RELEASED"
    assert body["waitlistPromotion"] is None


@pytest.mark.django_db(transaction=True)  # promotion runs once the release commits
def test_release_names_the_waiting_shopper_its_units_went_to(api):
    row = InventoryFactory(total_stock=1)
    hold = post(api, "/api/reservations", hold_body(row)).json()
    joined = post(api, "/api/waitlist", {**hold_body(row), "email": "wait@example.com"}).json()

    body = post(api, f"/api/reservations/{hold['id']}/release", None).json()

    entry = WaitlistEntry.objects.get()
    assert body["waitlistPromotion"] == {
        "waitlistEntryId": joined["entry"]["id"],
        "reservationId": str(entry.reservation_id),
    }


# --- 8. the waitlist as the original -------------------------------------------------------


def test_joining_the_waitlist_answers_the_entry_and_a_message(api):
    row = InventoryFactory(total_stock=0)

    response = post(api, "/api/waitlist", {**hold_body(row), "email": "ann@example.com"})

    assert response.status_code == 201
    body = response.json()
    assert body["entry"]["status"] == "WAITING"
    assert body["entry"]["position"] == 1
    assert body["entry"]["productId"] == str(row.product_id)
    assert body["message"].startswith(
        f"You're #1 on the waitlist for {row.product.name} at {row.warehouse.name}"
    )


def test_the_same_email_twice_answers_409_with_the_waiting_entry(api):
    row = InventoryFactory(total_stock=0)
    first = post(api, "/api/waitlist", {**hold_body(row), "email": "ann@example.com"}).json()
    post(api, "/api/waitlist", {**hold_body(row), "email": "bob@example.com"})

    again = post(api, "/api/waitlist", {**hold_body(row, quantity=2), "email": "ANN@example.com"})

    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "ALREADY_WAITING"
    assert body["entry"]["id"] == first["entry"]["id"]
    assert body["position"] == 1
    assert body["message"] == "You're already on the waitlist, at #1."  # the UI's toast
    assert WaitlistEntry.objects.count() == 2


def test_joining_while_units_are_available_is_a_400_with_the_units(api):
    row = InventoryFactory(total_stock=2)

    response = post(api, "/api/waitlist", {**hold_body(row), "email": "ann@example.com"})

    assert response.status_code == 400
    assert response.json()["code"] == "STOCK_AVAILABLE"
    assert response.json()["available"] == 2
    assert not WaitlistEntry.objects.exists()


def test_only_staff_list_the_waitlist(api):
    row = InventoryFactory(total_stock=0)
    post(api, "/api/waitlist", {**hold_body(row), "email": "ann@example.com"})
    users = get_user_model().objects
    shopper, staff = APIClient(), APIClient()
    shopper.force_login(users.create_user(username="shopper"))
    staff.force_login(users.create_user(username="staff", is_staff=True))

    assert api.get("/api/waitlist").status_code == 403
    assert shopper.get("/api/waitlist").status_code == 403
    listed = staff.get("/api/waitlist")
    assert listed.status_code == 200
    assert [e["email"] for e in listed.json()] == ["ann@example.com"]
    assert listed["X-Total-Count"] == "1"


# --- 9. cron ---------------------------------------------------------------------------------


@pytest.fixture
def cron_secret(settings) -> str:
    settings.CRON_SECRET = "s3cret-for-cron"
    return settings.CRON_SECRET


@pytest.mark.django_db(transaction=True)  # promotion runs once the sweep commits
def test_cron_takes_a_bearer_token_and_lists_its_promotions(api, cron_secret):
    row = InventoryFactory(total_stock=1)
    post(api, "/api/reservations", hold_body(row))
    post(api, "/api/waitlist", {**hold_body(row), "email": "wait@example.com"})
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api.get("/api/cron/expire", HTTP_AUTHORIZATION=f"Bearer {cron_secret}")

    assert response.status_code == 200
    body = response.json()
    assert body["released"] == 1
    assert body["message"] == "Released 1 expired reservation(s)."
    entry = WaitlistEntry.objects.get()
    assert body["waitlistPromotions"] == [
        {"waitlistEntryId": str(entry.id), "reservationId": str(entry.reservation_id)}
    ]


@pytest.mark.parametrize(
    "how",
    [
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": "Basic s3cret-for-cron"},
        {"HTTP_AUTHORIZATION": "s3cret-for-cron"},
        {},
    ],
)
def test_cron_refuses_a_wrong_or_missing_secret(api, cron_secret, how):
    response = api.get("/api/cron/expire", **how)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"


def test_cron_refuses_the_secret_in_the_query_string(api, cron_secret):
    assert api.get(f"/api/cron/expire?secret={cron_secret}").status_code == 401
    assert api.get(f"/api/cron/expire?x-cron-secret={cron_secret}").status_code == 401


# --- the original UI's flow, as it calls it ------------------------------------------------


def test_the_original_uis_flow_works_with_ids_taken_from_its_urls(api, seeded):
    products = api.get("/api/products").json()
    product = next(p for p in products if p["name"] == "Digital Thermometer")
    # Its product page finds the product by comparing string ids from the URL.
    path_id = str(product["id"])
    assert [p for p in products if p["id"] == path_id] == [product]
    quote = post(api, "/api/detect-warehouse", {"pincode": "560001", "productId": path_id})
    assert quote.status_code == 200
    warehouse_id = quote.json()["recommendedWarehouseId"]

    held = post(
        api, "/api/reservations", {"productId": path_id, "warehouseId": warehouse_id, "quantity": 1}
    )
    assert held.status_code == 201
    hold = held.json()
    assert [r["id"] for r in api.get("/api/reservations").json()] == [hold["id"]]
    confirmed = post(api, f"/api/reservations/{hold['id']}/confirm", None)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "CONFIRMED"
    stock = Inventory.objects.get(product_id=int(path_id), warehouse_id=int(warehouse_id))
    assert (stock.total_stock, stock.reserved_stock) == (9, 0)
    assert Product.objects.get(pk=int(path_id)).name == "Digital Thermometer"

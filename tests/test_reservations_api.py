"""The reservation API answers as DESIGN.md's contract says, and bad input changes nothing."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from reservations.services import holds
from tests.factories import InventoryFactory

pytestmark = pytest.mark.django_db

Status, Reason = Reservation.Status, Reservation.ReleaseReason


@pytest.fixture
def stock() -> Inventory:
    return InventoryFactory(total_stock=5)


def reserve(api: APIClient, stock: Inventory, quantity: int = 2, **extra):
    body = {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": quantity}
    return api.post("/api/reservations", {**body, **extra}, format="json")


def act(api: APIClient, reservation_id, action: str):
    return api.post(f"/api/reservations/{reservation_id}/{action}")


def counters(stock: Inventory) -> tuple[int, int]:
    stock.refresh_from_db()
    return stock.total_stock, stock.reserved_stock


def make_due(reservation_id) -> None:
    Reservation.objects.filter(pk=reservation_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def nothing_written(stock: Inventory) -> bool:
    return (
        counters(stock) == (stock.total_stock, 0)
        and not Reservation.objects.exists()
        and not ReservationEvent.objects.exists()
    )


# --- POST /api/reservations ----------------------------------------------------------------


def test_reserve_answers_201_with_the_hold(api, stock):
    response = reserve(api, stock, quantity=2)

    assert response.status_code == 201
    body = response.json()
    reservation = Reservation.objects.get()
    assert body["id"] == str(reservation.id)
    assert body["productId"] == str(stock.product_id)
    assert body["warehouseId"] == str(stock.warehouse_id)
    assert body["quantity"] == 2 and body["status"] == "PENDING"
    assert body["releaseReason"] is None and body["extended"] is False
    assert body["cartId"] is None
    assert body["product"] == {
        "id": str(stock.product_id),
        "name": stock.product.name,
        "price": float(stock.product.price),
        "category": "Fitness",
        "image": "http://testserver/static/img/categories/fitness.svg",
    }
    assert body["warehouse"] == {
        "id": str(stock.warehouse_id),
        "name": stock.warehouse.name,
        "city": stock.warehouse.city,
        "location": stock.warehouse.location,
    }
    assert "confirmedAt" not in body and "releasedAt" not in body
    assert body["expiresAt"].endswith("Z") and body["createdAt"] == body["updatedAt"]
    lifetime = reservation.expires_at - reservation.created_at
    assert lifetime == timedelta(seconds=600)
    assert counters(stock) == (5, 2)
    event = ReservationEvent.objects.get()
    assert (event.type, event.reservation_id, event.quantity) == ("RESERVED", reservation.id, 2)
    assert event.actor == "anonymous"


def test_reserve_accepts_ids_as_json_strings(api, stock):
    body = {"productId": str(stock.product_id), "warehouseId": str(stock.warehouse_id)}
    response = api.post("/api/reservations", {**body, "quantity": 2}, format="json")

    assert response.status_code == 201, response.content
    reservation = Reservation.objects.get()
    assert response.json()["id"] == str(reservation.id)
    assert (reservation.product_id, reservation.warehouse_id) == (
        stock.product_id,
        stock.warehouse_id,
    )
    assert counters(stock) == (5, 2)


def test_reserve_by_a_signed_in_shopper_belongs_to_them(api, stock, django_user_model):
    shopper = django_user_model.objects.create_user("ann", password="pw-123456")
    api.force_login(shopper)
    assert reserve(api, stock).status_code == 201
    reservation = Reservation.objects.get()
    assert reservation.user == shopper
    assert ReservationEvent.objects.get().actor == f"user:{shopper.pk}"


def test_reserving_more_than_available_answers_409_and_holds_nothing(api, stock):
    response = reserve(api, stock, quantity=6)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "INSUFFICIENT_STOCK" and body["available"] == 5
    assert body["error"] == f"Only 5 unit(s) available in warehouse {stock.warehouse_id}."
    assert nothing_written(stock)


def test_the_whole_stock_can_be_held(api, stock):
    assert reserve(api, stock, quantity=5).status_code == 201
    response = reserve(api, stock, quantity=1)
    assert response.status_code == 409 and response.json()["available"] == 0


def test_reserve_releases_due_holds_of_the_row_before_answering_409(api, stock):
    first = reserve(api, stock, quantity=5).json()
    make_due(first["id"])

    response = reserve(api, stock, quantity=3)

    assert response.status_code == 201
    assert Reservation.objects.get(pk=first["id"]).release_reason == Reason.EXPIRED
    assert counters(stock) == (5, 3)


def test_reserve_of_an_unknown_product_or_warehouse_answers_404(api, stock):
    for body in (
        {"productId": 987654, "warehouseId": stock.warehouse_id, "quantity": 1},
        {"productId": stock.product_id, "warehouseId": 987654, "quantity": 1},
        {"productId": "987654", "warehouseId": str(stock.warehouse_id), "quantity": 1},
        {"productId": str(stock.product_id), "warehouseId": "987654", "quantity": 1},
    ):
        response = api.post("/api/reservations", body, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND"
    assert nothing_written(stock)


def test_reserve_of_an_inactive_product_answers_404(api, stock):
    stock.product.active = False
    stock.product.save()
    assert reserve(api, stock).status_code == 404
    assert nothing_written(stock)


@pytest.mark.parametrize(
    "body",
    [
        [],
        [{"productId": 1}],
        "just a string",
        {"productId": "1.0", "warehouseId": 1, "quantity": 1},
        {"productId": "abc", "warehouseId": 1, "quantity": 1},
        {"productId": "", "warehouseId": 1, "quantity": 1},
        {"productId": 1, "warehouseId": "1.0", "quantity": 1},
        {"productId": 1.5, "warehouseId": 1, "quantity": 1},
        {"productId": True, "warehouseId": 1, "quantity": 1},
        {"productId": None, "warehouseId": 1, "quantity": 1},
        {"productId": 0, "warehouseId": 1, "quantity": 1},
        {"productId": -3, "warehouseId": 1, "quantity": 1},
        {"productId": 2**63, "warehouseId": 1, "quantity": 1},
        {"productId": 1, "warehouseId": 1, "quantity": 0},
        {"productId": 1, "warehouseId": 1, "quantity": -1},
        {"productId": 1, "warehouseId": 1, "quantity": 101},
        {"productId": 1, "warehouseId": 1, "quantity": 10**30},
        {"productId": 1, "warehouseId": 1, "quantity": "2"},
        {"productId": 1, "warehouseId": 1, "quantity": 1.5},
        {"productId": 1, "warehouseId": 1},
        {"warehouseId": 1, "quantity": 1},
        {"productId": 1, "quantity": 1, "lat": 19.0},
        {"productId": 1, "quantity": 1, "city": "Atlantis"},
        {"productId": 1, "warehouseId": 1, "quantity": 1, "price": 0},
        {"productId": 1, "warehouseId": 1, "quantity": 1, "lat": 91},
        {"productId": 1, "warehouseId": 1, "quantity": 1, "lng": "east"},
    ],
)
def test_bad_reserve_input_answers_400_and_changes_nothing(api, stock, body):
    if isinstance(body, dict):
        # Point a well-formed productId at the real product, so only the broken part fails.
        body = {
            key: stock.product_id
            if key == "productId" and type(value) is int and value == 1
            else value
            for key, value in body.items()
        }
    response = api.post("/api/reservations", body, format="json")
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["code"] == "VALIDATION_ERROR" and payload["error"] == "Invalid input"
    details = payload["details"]
    assert set(details) == {"formErrors", "fieldErrors"}
    assert details["formErrors"] or details["fieldErrors"]
    assert nothing_written(stock)


def test_malformed_json_answers_400(api, stock):
    response = api.post("/api/reservations", '{"productId": 1,', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_JSON"
    assert nothing_written(stock)


def test_a_form_body_answers_415(api, stock):
    response = api.post("/api/reservations", {"productId": stock.product_id})
    assert response.status_code == 415
    assert nothing_written(stock)


def test_unknown_fields_are_named(api, stock):
    response = reserve(api, stock, coupon="FREE")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert response.json()["details"]["fieldErrors"] == {"coupon": ["Unknown field."]}


def test_the_hot_path_sends_one_statement(api, stock):
    with CaptureQueriesContext(connection) as queries:
        response = reserve(api, stock)
    assert response.status_code == 201
    assert len(queries) <= 3
    assert len(queries) == 1, [q["sql"] for q in queries]
    body = response.json()
    reservation = Reservation.objects.get()
    assert (body["id"], body["status"], body["quantity"]) == (str(reservation.id), "PENDING", 2)
    assert body["product"]["name"] == stock.product.name
    assert body["warehouse"]["city"] == stock.warehouse.city
    assert counters(stock) == (5, 2)


# --- GET /api/reservations/{id} ------------------------------------------------------------


def test_read_one_reservation(api, stock):
    created = reserve(api, stock).json()
    response = api.get(f"/api/reservations/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


def test_read_one_reservation_joins_product_and_warehouse_in_one_query(
    api, stock, django_assert_num_queries
):
    created = reserve(api, stock).json()
    with django_assert_num_queries(1):
        response = api.get(f"/api/reservations/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response.json()["product"]["name"] == stock.product.name
    assert response.json()["warehouse"]["name"] == stock.warehouse.name


@pytest.mark.parametrize("bad_id", ["abc", "123", "4b32dd1c-fdc5-4031-b787"])
def test_malformed_reservation_id_answers_400(api, bad_id):
    for path in ("", "/confirm", "/release", "/extend"):
        method = api.get if not path else api.post
        response = method(f"/api/reservations/{bad_id}{path}")
        assert response.status_code == 400
        assert response.json()["code"] == "INVALID_ID"


def test_unknown_reservation_answers_404(api):
    missing = uuid.uuid4()
    assert api.get(f"/api/reservations/{missing}").status_code == 404
    for action in ("confirm", "release", "extend"):
        response = act(api, missing, action)
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_a_shoppers_hold_is_invisible_to_others(api, stock, django_user_model):
    owner = django_user_model.objects.create_user("owner", password="pw-123456")
    other = django_user_model.objects.create_user("other", password="pw-123456")
    api.force_login(owner)
    reservation_id = reserve(api, stock).json()["id"]

    api.force_login(other)
    assert api.get(f"/api/reservations/{reservation_id}").status_code == 404
    for action in ("confirm", "release", "extend"):
        assert act(api, reservation_id, action).status_code == 404
    api.logout()
    assert api.get(f"/api/reservations/{reservation_id}").status_code == 404
    assert act(api, reservation_id, "release").status_code == 404

    assert Reservation.objects.get().status == Status.PENDING
    assert counters(stock) == (5, 2)


def test_staff_see_and_act_on_any_hold(api, stock, django_user_model):
    owner = django_user_model.objects.create_user("owner", password="pw-123456")
    staff = django_user_model.objects.create_user("boss", password="pw-123456", is_staff=True)
    api.force_login(owner)
    reservation_id = reserve(api, stock).json()["id"]
    api.force_login(staff)
    assert api.get(f"/api/reservations/{reservation_id}").status_code == 200
    assert act(api, reservation_id, "release").status_code == 200


def test_an_anonymous_hold_is_reachable_by_its_uuid(api, stock, django_user_model):
    reservation_id = reserve(api, stock).json()["id"]
    api.force_login(django_user_model.objects.create_user("someone", password="pw-123456"))
    assert api.get(f"/api/reservations/{reservation_id}").status_code == 200


# --- GET /api/reservations -----------------------------------------------------------------


def test_a_guest_lists_the_holds_their_session_made_newest_first(api, stock):
    mine = [reserve(api, stock, quantity=1).json()["id"] for _ in range(2)]
    someone_else = APIClient()
    theirs = reserve(someone_else, stock, quantity=1).json()["id"]

    response = api.get("/api/reservations")

    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == list(reversed(mine))
    assert response["X-Total-Count"] == "2"
    page = api.get("/api/reservations", {"limit": 1, "offset": 1})
    assert [r["id"] for r in page.json()] == [mine[0]]
    assert page["X-Total-Count"] == "2"
    assert [r["id"] for r in someone_else.get("/api/reservations").json()] == [theirs]
    # Listing is per session, but a hold made without an account is still reachable by UUID.
    assert APIClient().get(f"/api/reservations/{mine[0]}").status_code == 200


def test_a_new_client_without_a_session_lists_nothing(api, stock):
    reserve(APIClient(), stock, quantity=1)

    response = api.get("/api/reservations")

    assert response.status_code == 200
    assert response.json() == []
    assert response["X-Total-Count"] == "0"


def test_a_shopper_lists_own_holds_newest_first_and_staff_list_all(api, stock, django_user_model):
    ann = django_user_model.objects.create_user("ann", password="pw-123456")
    bob = django_user_model.objects.create_user("bob", password="pw-123456")
    staff = django_user_model.objects.create_user("boss", password="pw-123456", is_staff=True)
    api.force_login(ann)
    ann_ids = [reserve(api, stock, quantity=1).json()["id"] for _ in range(2)]
    api.force_login(bob)
    bob_id = reserve(api, stock, quantity=1).json()["id"]

    api.force_login(ann)
    response = api.get("/api/reservations")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == list(reversed(ann_ids))
    assert response["X-Total-Count"] == "2"

    api.force_login(staff)
    everything = api.get("/api/reservations")
    assert [r["id"] for r in everything.json()] == [bob_id, *reversed(ann_ids)]
    page = api.get("/api/reservations", {"limit": 1, "offset": 1})
    assert [r["id"] for r in page.json()] == [ann_ids[1]]
    assert page["X-Total-Count"] == "3"


def test_listing_expires_due_holds_first(api, stock, django_user_model):
    ann = django_user_model.objects.create_user("ann", password="pw-123456")
    api.force_login(ann)
    reservation_id = reserve(api, stock).json()["id"]
    make_due(reservation_id)
    (listed,) = api.get("/api/reservations").json()
    assert (listed["status"], listed["releaseReason"]) == ("RELEASED", "EXPIRED")
    assert counters(stock) == (5, 0)


def test_listing_without_a_limit_answers_the_newest_50_and_counts_all(api, django_user_model):
    row = InventoryFactory(total_stock=100)
    ann = django_user_model.objects.create_user("ann", password="pw-123456")
    for _ in range(51):
        holds.reserve(
            product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1, user=ann
        )
    api.force_login(ann)
    everything = api.get("/api/reservations", {"limit": 200}).json()
    assert len(everything) == 51

    response = api.get("/api/reservations")

    assert response.status_code == 200
    assert response["X-Total-Count"] == "51"
    listed = [r["id"] for r in response.json()]
    assert listed == [r["id"] for r in everything[:50]]
    oldest = Reservation.objects.order_by("created_at", "pk").first()
    assert str(oldest.id) not in listed


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "x"}, {"offset": 2**63}]
)
def test_bad_list_paging_answers_400(api, django_user_model, params):
    api.force_login(django_user_model.objects.create_user("ann", password="pw-123456"))
    assert api.get("/api/reservations", params).status_code == 400


# --- GET /api/waitlist/{id}: who may see an entry --------------------------------------------


def test_staff_see_a_shoppers_waitlist_entry_and_other_shoppers_do_not(
    api, stock, django_user_model
):
    ann = django_user_model.objects.create_user("ann", password="pw-123456")
    bob = django_user_model.objects.create_user("bob", password="pw-123456")
    staff = django_user_model.objects.create_user("boss", password="pw-123456", is_staff=True)
    assert reserve(api, stock, quantity=5).status_code == 201  # sold out: the waitlist opens
    api.force_login(ann)
    joined = api.post(
        "/api/waitlist",
        {
            "productId": stock.product_id,
            "warehouseId": stock.warehouse_id,
            "quantity": 1,
            "email": "ann@example.com",
        },
        format="json",
    )
    assert joined.status_code == 201
    entry = joined.json()["entry"]
    assert entry["productId"] == str(stock.product_id)
    assert joined.json()["message"].startswith(
        f"You're #1 on the waitlist for {stock.product.name} at {stock.warehouse.name}."
    )
    assert WaitlistEntry.objects.get().user == ann

    api.force_login(staff)
    seen_by_staff = api.get(f"/api/waitlist/{entry['id']}")
    assert seen_by_staff.status_code == 200
    assert seen_by_staff.json() == entry

    api.force_login(bob)
    seen_by_bob = api.get(f"/api/waitlist/{entry['id']}")
    assert seen_by_bob.status_code == 404
    assert seen_by_bob.json()["code"] == "NOT_FOUND"
    api.logout()
    assert api.get(f"/api/waitlist/{entry['id']}").status_code == 404
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.WAITING


# --- confirm ---------------------------------------------------------------------------------


def test_confirm_takes_the_units_out_of_stock(api, stock):
    reservation_id = reserve(api, stock, quantity=2).json()["id"]
    response = act(api, reservation_id, "confirm")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "CONFIRMED" and body["confirmedAt"]
    assert counters(stock) == (3, 0)
    assert ReservationEvent.objects.filter(type="CONFIRMED").count() == 1


def test_confirming_twice_answers_200_and_changes_nothing_more(api, stock):
    reservation_id = reserve(api, stock, quantity=2).json()["id"]
    first = act(api, reservation_id, "confirm").json()
    second = act(api, reservation_id, "confirm")
    assert second.status_code == 200 and second.json() == first
    assert counters(stock) == (3, 0)
    assert ReservationEvent.objects.filter(type="CONFIRMED").count() == 1


def test_confirming_a_released_hold_answers_409(api, stock):
    reservation_id = reserve(api, stock).json()["id"]
    act(api, reservation_id, "release")
    response = act(api, reservation_id, "confirm")
    assert response.status_code == 409
    assert response.json()["code"] == "INVALID_TRANSITION"
    assert counters(stock) == (5, 0)


def test_confirming_an_expired_hold_answers_410_and_releases_it(api, stock):
    reservation_id = reserve(api, stock, quantity=2).json()["id"]
    make_due(reservation_id)

    response = act(api, reservation_id, "confirm")

    assert response.status_code == 410
    assert response.json()["code"] == "EXPIRED"
    reservation = Reservation.objects.get()
    assert (reservation.status, reservation.release_reason) == (Status.RELEASED, Reason.EXPIRED)
    assert counters(stock) == (5, 0)
    assert ReservationEvent.objects.filter(type="EXPIRED").count() == 1
    again = act(api, reservation_id, "confirm")
    assert again.status_code == 410
    assert ReservationEvent.objects.filter(type="EXPIRED").count() == 1


# --- release ---------------------------------------------------------------------------------


def test_release_gives_the_units_back(api, stock):
    reservation_id = reserve(api, stock, quantity=2).json()["id"]
    response = act(api, reservation_id, "release")
    assert response.status_code == 200
    assert response.json()["waitlistPromotion"] is None
    body = response.json()["reservation"]
    assert body["id"] == reservation_id
    assert (body["status"], body["releaseReason"]) == ("RELEASED", "CANCELLED")
    assert body["releasedAt"]
    assert counters(stock) == (5, 0)


def test_releasing_twice_answers_200_and_changes_nothing_more(api, stock):
    reservation_id = reserve(api, stock, quantity=2).json()["id"]
    first = act(api, reservation_id, "release").json()
    second = act(api, reservation_id, "release")
    assert second.status_code == 200 and second.json() == first
    assert counters(stock) == (5, 0)
    assert ReservationEvent.objects.filter(type="RELEASED").count() == 1


def test_releasing_a_confirmed_hold_answers_409(api, stock):
    reservation_id = reserve(api, stock, quantity=2).json()["id"]
    act(api, reservation_id, "confirm")
    response = act(api, reservation_id, "release")
    assert response.status_code == 409
    assert response.json()["code"] == "INVALID_TRANSITION"
    assert counters(stock) == (3, 0)


def test_releasing_a_due_hold_answers_200_as_expired(api, stock):
    reservation_id = reserve(api, stock).json()["id"]
    make_due(reservation_id)
    response = act(api, reservation_id, "release")
    assert response.status_code == 200
    assert response.json()["reservation"]["releaseReason"] == "EXPIRED"
    assert response.json()["waitlistPromotion"] is None
    assert list(ReservationEvent.objects.values_list("type", flat=True)) == [
        "RESERVED",
        "EXPIRED",
    ]


# --- extend ----------------------------------------------------------------------------------


def test_extend_adds_a_ttl_to_the_time_left_once(api, stock):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        reservation_id = reserve(api, stock).json()["id"]
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        response = act(api, reservation_id, "extend")
        assert response.status_code == 200
        body = response.json()
        assert body["extended"] is True
        reservation = Reservation.objects.get()
        assert reservation.expires_at == start + timedelta(minutes=20)  # 5 left + 10

        second = act(api, reservation_id, "extend")
        assert second.status_code == 409
        assert second.json()["code"] == "EXTENSION_LIMIT"
    assert ReservationEvent.objects.filter(type="EXTENDED").count() == 1


def test_extending_an_expired_hold_answers_410(api, stock):
    reservation_id = reserve(api, stock).json()["id"]
    make_due(reservation_id)
    response = act(api, reservation_id, "extend")
    assert response.status_code == 410
    assert response.json()["code"] == "EXPIRED"
    assert counters(stock) == (5, 0)


def test_extending_a_confirmed_hold_answers_409(api, stock):
    reservation_id = reserve(api, stock).json()["id"]
    act(api, reservation_id, "confirm")
    response = act(api, reservation_id, "extend")
    assert response.status_code == 409
    assert response.json()["code"] == "INVALID_TRANSITION"

"""/orders/: a shopper's own holds and orders, a guest's browser's holds, a page at a time."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from reservations.models import Reservation
from reservations.services import holds, transitions
from tests.factories import (
    InventoryFactory,
    ProductFactory,
    ReservationFactory,
    UserFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db


def _listed(html: str) -> list[str]:
    """The reservation ids the page lists, in order."""
    return re.findall(r'data-testid="order" data-reservation="([0-9a-f-]+)"', html)


def _statuses(html: str) -> list[str]:
    return re.findall(r'<span class="badge \w+" data-testid="status">([^<]+)</span>', html)


def _guest_reserves(client, row=None, quantity: int = 1) -> Reservation:
    row = row or InventoryFactory()
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": quantity}
    response = client.post("/api/reservations", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return Reservation.objects.get(pk=response.json()["id"])


def _ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


# --- guests --------------------------------------------------------------------------------


def test_guest_without_holds_sees_the_empty_state_and_no_one_elses(client):
    ReservationFactory(user=UserFactory())
    ReservationFactory(guest_id=uuid.uuid4())
    response = client.get("/orders/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>My reservations</h1>" in html
    assert 'data-testid="empty"' in html
    assert "No reservations in this browser yet" in html
    assert 'href="/accounts/login/?next=/orders/"' in html
    assert _listed(html) == []
    assert "orders.css" in html


def test_guest_sees_their_browsers_holds_with_a_prompt_to_sign_up(client):
    product = ProductFactory(name="Yoga Mat", brand="Decathlon", price=Decimal("1499.00"))
    warehouse = WarehouseFactory(name="Mumbai Warehouse", city="Mumbai")
    row = InventoryFactory(product=product, warehouse=warehouse)
    held = _guest_reserves(client, row, quantity=2)
    ReservationFactory(guest_id=uuid.uuid4())  # another browser's

    html = client.get("/orders/").content.decode()
    assert _listed(html) == [str(held.id)]
    assert "Yoga Mat" in html and "Decathlon" in html
    assert "Mumbai Warehouse · Mumbai" in html
    assert '<dd data-testid="quantity">2</dd>' in html
    assert "₹2,998" in html and "2 × ₹1,499" in html
    assert _statuses(html) == ["Held"]
    assert "expires in 9\xa0minutes" in html or "expires in 10\xa0minutes" in html
    assert f'href="/checkout/{held.id}/"' in html
    assert 'data-testid="keep-holds"' in html
    assert 'href="/accounts/signup/?next=/orders/"' in html


def test_another_browser_does_not_see_a_guests_holds(client):
    _guest_reserves(client)
    html = Client().get("/orders/").content.decode()
    assert _listed(html) == []


def test_guest_with_a_tampered_cookie_sees_nothing(client):
    _guest_reserves(client)
    client.cookies["stockd_guest"] = "not-signed"
    html = client.get("/orders/").content.decode()
    assert _listed(html) == []
    assert 'data-testid="empty"' in html


# --- signed-in shoppers --------------------------------------------------------------------


def test_shopper_sees_their_holds_and_orders_newest_first_with_status(client):
    user = UserFactory()
    held = ReservationFactory(user=user, created_at=_ago(1))
    now = timezone.now()
    confirmed = ReservationFactory(
        user=user, created_at=_ago(30), status="CONFIRMED", confirmed_at=_ago(25)
    )
    cancelled = ReservationFactory(
        user=user,
        created_at=_ago(60),
        status="RELEASED",
        release_reason="CANCELLED",
        released_at=now,
    )
    expired = ReservationFactory(
        user=user, created_at=_ago(90), status="RELEASED", release_reason="EXPIRED", released_at=now
    )
    client.force_login(user)

    html = client.get("/orders/").content.decode()
    assert "<h1>My orders</h1>" in html
    assert _listed(html) == [str(r.id) for r in (held, confirmed, cancelled, expired)]
    assert _statuses(html) == ["Held", "Confirmed", "Cancelled", "Expired"]
    assert 'data-testid="keep-holds"' not in html
    for reservation in (held, confirmed, cancelled, expired):
        assert f'href="/checkout/{reservation.id}/"' in html
    assert html.count("Check out") == 1  # only the live hold offers checkout


def test_a_due_hold_shows_as_expired_and_is_released(client):
    user = UserFactory()
    row = InventoryFactory()
    hold = holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=3, user=user
    )
    Reservation.objects.filter(pk=hold.pk).update(expires_at=_ago(1))
    client.force_login(user)

    html = client.get("/orders/").content.decode()
    assert _statuses(html) == ["Expired"]
    hold.refresh_from_db()
    row.refresh_from_db()
    assert (hold.status, hold.release_reason) == ("RELEASED", "EXPIRED")
    assert row.reserved_stock == 0


def test_shopper_does_not_see_other_shoppers_or_guests_holds(client):
    user, other = UserFactory(), UserFactory()
    mine = ReservationFactory(user=user)
    ReservationFactory(user=other)
    ReservationFactory(guest_id=uuid.uuid4())
    client.force_login(user)
    assert _listed(client.get("/orders/").content.decode()) == [str(mine.id)]

    client.force_login(other)
    html = client.get("/orders/").content.decode()
    assert str(mine.id) not in html


def test_shopper_without_orders_sees_the_empty_state(client):
    ReservationFactory(user=UserFactory())
    client.force_login(UserFactory())
    html = client.get("/orders/").content.decode()
    assert "No orders yet" in html
    assert _listed(html) == []


def test_staff_see_only_their_own_holds_here(client):
    staff = UserFactory(is_staff=True)
    own = ReservationFactory(user=staff)
    shoppers = ReservationFactory(user=UserFactory())
    guests = ReservationFactory(guest_id=uuid.uuid4())
    client.force_login(staff)
    html = client.get("/orders/").content.decode()
    assert _listed(html) == [str(own.id)]
    assert str(shoppers.id) not in html and str(guests.id) not in html


def test_confirmed_through_the_service_shows_as_confirmed(client):
    user = UserFactory()
    row = InventoryFactory()
    hold = holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1, user=user
    )
    transitions.confirm(reservation_id=hold.id, user=user)
    client.force_login(user)
    html = client.get("/orders/").content.decode()
    assert _statuses(html) == ["Confirmed"]


# --- pages ---------------------------------------------------------------------------------


@pytest.fixture
def shopper_with_23_holds(client):
    user = UserFactory()
    product, warehouse = ProductFactory(), WarehouseFactory()
    made = [
        ReservationFactory(user=user, product=product, warehouse=warehouse, created_at=_ago(n))
        for n in range(23)
    ]
    client.force_login(user)
    return [str(r.id) for r in made]  # newest first


def test_orders_come_ten_to_a_page(client, shopper_with_23_holds):
    first = client.get("/orders/").content.decode()
    assert _listed(first) == shopper_with_23_holds[:10]
    assert "page 1 of 3" in first
    assert '<span data-testid="order-count">23</span>' in first
    assert 'href="?page=2"' in first and 'rel="next"' in first and 'rel="prev"' not in first

    last = client.get("/orders/", {"page": 3}).content.decode()
    assert _listed(last) == shopper_with_23_holds[20:]
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert '<a href="?page=3" aria-current="page">3</a>' in last


@pytest.mark.parametrize(("asked", "shown"), [("99", 3), ("0", 1), ("-2", 1), ("abc", 1), ("", 1)])
def test_a_page_out_of_range_or_malformed_shows_the_nearest_one(
    client, shopper_with_23_holds, asked, shown
):
    response = client.get("/orders/", {"page": asked})
    assert response.status_code == 200
    expected = shopper_with_23_holds[(shown - 1) * 10 : shown * 10]
    assert _listed(response.content.decode()) == expected


def test_one_page_needs_no_pager(client):
    user = UserFactory()
    ReservationFactory(user=user)
    client.force_login(user)
    assert 'aria-label="Pages"' not in client.get("/orders/").content.decode()


def test_htmx_page_change_gets_only_the_list(client, shopper_with_23_holds):
    response = client.get("/orders/", {"page": 2}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="order-list"')
    assert "<html" not in html
    assert _listed(html) == shopper_with_23_holds[10:20]
    assert "HX-Request" in response["Vary"]


def test_every_htmx_link_has_a_plain_href(client, shopper_with_23_holds):
    html = client.get("/orders/", {"page": 2}).content.decode()
    tags = re.findall(r"<a\b[^>]*\bhx-get=[^>]*>", html)
    assert len(tags) == 4  # newer, 1, 3, older
    for tag in tags:
        hx = re.search(r'hx-get="([^"]+)"', tag).group(1)
        assert f'href="{hx}"' in tag


def test_orders_page_reads_in_a_few_queries(
    client, shopper_with_23_holds, django_assert_max_num_queries
):
    # The session and user (2); the shopper's due holds released set-wise (savepoint, lock
    # the due holds, release them, their events, lock and update their stock rows, release
    # the savepoint: 7); the page of holds and its count (2). None grows with the 23 holds.
    with django_assert_max_num_queries(11):
        client.get("/orders/")


def test_orders_page_answers_only_get(client):
    assert client.post("/orders/").status_code == 405


# --- a guest's hold follows them into their new account ------------------------------------


def test_guest_reserves_signs_up_and_finds_the_hold_in_orders(client):
    held = _guest_reserves(client, quantity=2)
    assert _listed(client.get("/orders/").content.decode()) == [str(held.id)]

    signup = client.post(
        "/accounts/signup/?next=/orders/",
        {
            "email": "new@example.com",
            "password1": "amber-lantern-52",
            "password2": "amber-lantern-52",
        },
    )
    assert signup["Location"] == "/orders/"

    html = client.get("/orders/").content.decode()
    assert "<h1>My orders</h1>" in html
    assert _listed(html) == [str(held.id)]
    assert _statuses(html) == ["Held"]
    held.refresh_from_db()
    assert held.user.email == "new@example.com" and held.guest_id is None


def test_a_hold_made_with_a_cart_links_to_the_carts_checkout(client):
    user = UserFactory()
    cart_id = uuid.uuid4()
    ReservationFactory(user=user, cart_id=cart_id)
    ReservationFactory(user=user)
    client.force_login(user)
    html = client.get("/orders/").content.decode()
    assert html.count('data-testid="cart-checkout-link"') == 1
    assert f'href="/checkout/cart/{cart_id}/"' in html

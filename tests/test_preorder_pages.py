"""Preorders on the storefront: a sold-out row with units coming offers them on the product
page (its eta and the places left, counting down live), signed-in shoppers place them, and My
orders shows each one's way from awaiting stock to shipped."""

import html
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.contrib.messages import get_messages
from django.urls import reverse

from inventory.models import Inventory, PreorderTerms
from reservations.models import Reservation
from reservations.services import preorders
from storefront.live import preorders as live_preorders
from tests.factories import InventoryFactory, ProductFactory, UserFactory
from tests.test_live_stock import STREAM, data_of, open_stream, run
from transfers import services as transfers

pytestmark = pytest.mark.django_db

ETA = date(2027, 1, 14)


@pytest.fixture
def coming():
    """A row sold out in its warehouse with 30 units on their way to it (a shipped transfer
    from a second warehouse, which keeps 10), taking 20 preorders due 14 Jan 2027."""
    product = ProductFactory(name="Trail Runner")
    source = InventoryFactory(product=product, total_stock=40)
    row = InventoryFactory(product=product, total_stock=0)
    transfer = transfers.create(
        source_id=source.warehouse_id,
        destination_id=row.warehouse_id,
        lines=[transfers.Line(product.id, 30)],
        reference="restock",
        actor="test",
    )
    transfers.ship(transfer.pk, actor="test")
    preorders.set_terms((product.id, row.warehouse_id), limit=20, eta=ETA)
    return row, transfer


def _product_url(row: Inventory) -> str:
    return reverse("product", kwargs={"product_id": row.product_id})


def _page(client, row: Inventory) -> str:
    """The product page showing the row's warehouse."""
    response = client.get(_product_url(row), {"warehouse": row.warehouse_id})
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _preorder_box(page: str) -> str:
    match = re.search(r'<div id="preorder".*?\n</div>', page, re.S)
    assert match, "no preorder box"
    return match.group(0)


def _post_preorder(client, row: Inventory, quantity: int):
    url = reverse("product-preorder", kwargs={"product_id": row.product_id})
    return client.post(url, {"warehouse": row.warehouse_id, "quantity": quantity, "method": "upi"})


def _place(row: Inventory, quantity: int, user=None) -> Reservation:
    return preorders.place(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=quantity,
        user=user or UserFactory(password=None),
    )


def _signed_in(client):
    client.force_login(UserFactory(password=None))
    return client


def _text(markup: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", markup).split())


def _order(page: str, reservation: Reservation) -> str:
    """The markup of a reservation's row on My orders."""
    match = re.search(rf'data-reservation="{reservation.id}".*?</li>', page, re.S)
    assert match, "the order is not listed"
    return match.group(0)


def test_an_open_row_shows_its_eta_and_places_left(client, coming):
    row, _ = coming

    box = _preorder_box(_page(client, row))

    assert "Preorder: ships around 14 Jan 2027" in _text(box)
    assert '<strong data-testid="preorder-left">20</strong> preorder places left' in box
    assert 'data-preorder-state="open"' in box and 'data-preorder-left="20"' in box


def test_the_places_left_count_the_preorders_placed(client, coming):
    row, _ = coming
    _place(row, 3)
    _place(row, 4)

    box = _preorder_box(_page(client, row))

    assert '<strong data-testid="preorder-left">13</strong> preorder places left' in box


def test_a_signed_in_preorder_is_placed_and_awaits_stock_on_my_orders(client, coming):
    row, _ = coming
    _signed_in(client)
    box = _preorder_box(_page(client, row))
    assert 'data-testid="preorder-button"' in box and "csrfmiddlewaretoken" in box
    assert 'name="method" value="upi"' in box  # a preorder is paid for when placed

    response = _post_preorder(client, row, 2)

    placed = Reservation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("orders")
    assert (placed.kind, placed.status, placed.quantity, placed.eta) == (
        "PREORDER",
        "CONFIRMED",
        2,
        ETA,
    )
    assert placed.user_id == int(client.session["_auth_user_id"])
    orders = client.get(reverse("orders"))
    assert [str(m) for m in get_messages(orders.wsgi_request)] == [
        "Payment received (UPI). Preordered 2 × Trail Runner from "
        f"{row.warehouse.city}. It ships around 14 Jan 2027; we email you when it does."
    ]
    order = _order(orders.content.decode(), placed)
    assert '<span class="badge" data-testid="preorder-badge">Preorder</span>' in order
    assert "Awaiting stock ships around 14 Jan 2027" in _text(order)


def test_a_preorder_without_a_way_to_pay_comes_back_with_the_error(client, coming):
    row, _ = coming
    _signed_in(client)
    url = reverse("product-preorder", kwargs={"product_id": row.product_id})

    response = client.post(url, {"warehouse": row.warehouse_id, "quantity": 1})

    assert response.status_code == 400
    assert "Choose how you would like to pay." in _preorder_box(response.content.decode())
    assert not Reservation.objects.exists()


def test_a_signed_out_shopper_is_asked_to_sign_in_and_places_nothing(client, coming):
    row, _ = coming

    box = _preorder_box(_page(client, row))
    response = _post_preorder(client, row, 1)

    back = f"{_product_url(row)}?warehouse={row.warehouse_id}"
    sign_in = re.search(r'<a href="([^"]+)"[^>]*data-testid="preorder-sign-in"', box)
    assert sign_in and "Sign in to preorder" in box and 'id="buy-form"' not in box
    assert parse_qs(urlsplit(sign_in.group(1)).query) == {"next": [back]}
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?")
    assert parse_qs(urlsplit(response["Location"]).query) == {"next": [back]}
    assert not Reservation.objects.exists()
    assert PreorderTerms.objects.get(stock=row).placed == 0


def test_a_full_row_says_preorders_are_full_above_the_waitlist(client, coming):
    row, _ = coming
    _place(row, 10)
    _place(row, 10)

    page = _page(client, row)
    box = _preorder_box(page)

    assert "Preorders are full" in box
    assert 'data-testid="preorder-button"' not in page and "preorder places left" not in page
    assert f'action="{reverse("product-waitlist", kwargs={"product_id": row.product_id})}"' in page


def test_a_partly_served_preorder_shows_how_many_shipped(client, coming):
    row, transfer = coming
    shopper = UserFactory(password=None)
    placed = _place(row, 3, user=shopper)
    receipt = transfers.Receipt(row.product_id, received=2, damaged=0)
    transfers.receive(transfer.pk, [receipt], actor="test")
    client.force_login(shopper)

    order = _order(client.get(reverse("orders")).content.decode(), placed)

    assert "2 of 3 shipped the rest ships around 14 Jan 2027" in _text(order)


def test_a_preorder_past_the_places_left_comes_back_as_a_message(client, coming):
    row, _ = coming
    _place(row, 18)
    _signed_in(client)

    response = _post_preorder(client, row, 3)

    assert response.status_code == 302
    assert response["Location"] == f"{_product_url(row)}?warehouse={row.warehouse_id}"
    page = html.unescape(client.get(response["Location"]).content.decode())
    assert f"Only 2 preorder places left in {row.warehouse.city}" in page
    assert Reservation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_stream_says_when_the_places_left_change(coming, monkeypatch):
    monkeypatch.setattr(live_preorders, "REFRESH_SECONDS", 0.05)
    row, _ = coming

    async def next_preorder_event(reader) -> dict:
        while (block := await reader.message()).get("event") != "preorder":
            pass
        return data_of(block)

    async def scenario():
        reader, _ = await open_stream(f"{STREAM}?product={row.product_id}")
        opened = await next_preorder_event(reader)
        await sync_to_async(_place)(row, 3)
        changed = await next_preorder_event(reader)

        offer = {"state": "open", "remaining": 20, "eta": "2027-01-14"}
        assert opened == {
            "productId": str(row.product_id),
            "offers": {str(row.warehouse_id): offer},
        }
        assert changed["offers"][str(row.warehouse_id)] == {**offer, "remaining": 17}

    run(scenario)

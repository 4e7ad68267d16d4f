"""Quantity states of a stock row: safety and unsellable units are never offered to shoppers,
incoming ones are not on hand, and the database keeps every state and `available` >= 0."""

import re

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings

from inventory.errors import StockBelowReserved
from inventory.models import Inventory
from reservations.errors import InsufficientStock
from reservations.services import holds, stock
from tests.factories import InventoryFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def row() -> Inventory:
    """10 on hand: 2 kept as safety, 1 damaged, 5 on their way; 7 available."""
    return InventoryFactory(total_stock=10, safety_stock=2, unsellable_stock=1, incoming_stock=5)


def _reserve(row: Inventory, quantity: int):
    return holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=quantity
    )


@pytest.mark.parametrize("coalescing", [False, True], ids=["one-statement", "coalesced"])
def test_shoppers_can_hold_only_what_is_available(row, coalescing):
    with override_settings(HOLD_COALESCING=coalescing):
        with pytest.raises(InsufficientStock) as refused:
            _reserve(row, 8)
        assert refused.value.extra["available"] == 7
        _reserve(row, 7)
        with pytest.raises(InsufficientStock):
            _reserve(row, 1)
    row.refresh_from_db()
    assert (row.reserved_stock, row.available) == (7, 0)


def test_the_public_api_shows_what_is_available(row, api):
    body = api.get(f"/api/products/{row.product_id}").json()
    (line,) = body["inventory"]
    assert (line["totalStock"], line["available"], body["totalAvailable"]) == (10, 7, 7)


def test_the_database_refuses_a_state_that_would_make_available_negative(row):
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.filter(pk=row.pk).update(unsellable_stock=9)
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.filter(pk=row.pk).update(incoming_stock=-1)


def test_staff_cannot_take_on_hand_below_what_is_held_kept_or_unsellable(row):
    _reserve(row, 4)
    with pytest.raises(StockBelowReserved):
        stock.adjust_stock(
            product_id=row.product_id, warehouse_id=row.warehouse_id, delta=-4, actor="staff:1"
        )
    stock.adjust_stock(
        product_id=row.product_id, warehouse_id=row.warehouse_id, delta=-3, actor="staff:1"
    )
    row.refresh_from_db()
    assert (row.total_stock, row.available) == (7, 0)


def test_a_total_below_the_kept_units_is_refused_saying_why(row):
    _reserve(row, 4)
    with pytest.raises(StockBelowReserved) as refused:
        stock.set_total(inventory_id=row.pk, total=6, actor="staff:1")
    assert str(refused.value) == (
        "Shoppers hold 4 units of this row and 3 are kept as safety stock or unsellable: "
        "the total cannot go below 7."
    )
    row.refresh_from_db()
    assert row.total_stock == 10


def test_staff_see_every_state_of_a_row(row, client):
    client.force_login(UserFactory(is_staff=True))
    html = client.get("/admin/inventory/", {"q": row.product.sku}).content.decode()
    states = html.split('<td class="states">')[1].split('<details class="states-editor">')[0]
    assert re.sub(r"<[^>]+>|\s+", " ", states).split() == [
        "2", "safety", "1", "unsellable", "5", "incoming",
    ]  # fmt: skip
    assert '<strong data-testid="available">7</strong>' in html

"""Stock counts change in one tab when a shopper reserves in another, with no reload.

The pages and the stream (/events/) come from stockd as it is served (tests/conftest.py's
stockd_server), so the stream is same-origin.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from inventory.models import Inventory, Product
from reservations.models import Reservation
from reservations.services import holds

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asgi_url(stockd_server) -> str:
    """The served app, with the seeded catalogue."""
    call_command("seed", verbosity=0)
    return stockd_server


@pytest.fixture
def earbuds(asgi_url) -> Product:
    return Product.objects.get(name="Bluetooth Earbuds")


def _row(product: Product, city: str) -> Inventory:
    return Inventory.objects.get(product=product, warehouse__city=city)


def _listening(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("data-live-stock", "open")
    page.evaluate("window.stillTheSamePage = true")


def test_a_reservation_in_one_tab_changes_the_catalogue_in_another(
    asgi_url: str, earbuds: Product, page: Page
):
    mumbai = _row(earbuds, "Mumbai")
    catalogue = page
    catalogue.goto(f"{asgi_url}/products/")
    catalogue.get_by_label("Deliver to").fill("400001")  # Mumbai: its count is on the card
    catalogue.get_by_role("button", name="Set", exact=True).click()
    card = catalogue.locator(f'article.product[data-product="{earbuds.id}"]')
    nearest = card.locator(f'.nearest[data-warehouse="{mumbai.warehouse_id}"] .count')
    expect(nearest).to_have_text("10")
    _listening(catalogue)

    shopper = catalogue.context.new_page()
    shopper.goto(f"{asgi_url}/products/{earbuds.id}/?warehouse={mumbai.warehouse_id}")
    shopper.locator(f'label[data-warehouse-id="{mumbai.warehouse_id}"]').click()
    expect(shopper.get_by_test_id("ships-from")).to_have_text("Mumbai Warehouse")
    shopper.get_by_label("Quantity").fill("3")
    shopper.get_by_role("button", name="Reserve").click()
    expect(shopper).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}/$"))
    assert Reservation.objects.get().warehouse_id == mumbai.warehouse_id

    expect(nearest).to_have_text("7")
    expect(card).to_have_attribute(f"data-stock-{mumbai.warehouse_id}", "7")
    assert catalogue.evaluate("window.stillTheSamePage") is True  # updated, not reloaded


def test_product_and_checkout_tabs_follow_holds_made_elsewhere(
    asgi_url: str, earbuds: Product, page: Page
):
    chennai = _row(earbuds, "Chennai")
    mine = holds.reserve(product_id=earbuds.id, warehouse_id=chennai.warehouse_id, quantity=2)
    checkout = page
    checkout.goto(f"{asgi_url}/checkout/{mine.id}/")
    live_count = checkout.get_by_test_id("live-available")
    expect(live_count).to_have_text("8")
    _listening(checkout)

    product = checkout.context.new_page()
    product.goto(f"{asgi_url}/products/{earbuds.id}/")
    row = product.locator(f'label[data-warehouse-id="{chennai.warehouse_id}"]')
    expect(row.locator("[data-available]")).to_have_text("8")
    _listening(product)

    # Another shopper, somewhere else, takes what is left in Chennai.
    holds.reserve(product_id=earbuds.id, warehouse_id=chennai.warehouse_id, quantity=8)

    expect(live_count).to_have_text("0")
    expect(row).to_contain_text("Sold out")
    expect(row).to_have_class(re.compile(r"\bout\b"))
    expect(product.get_by_test_id("total-available")).to_have_text("40")
    assert product.evaluate("window.stillTheSamePage") is True
    assert checkout.evaluate("window.stillTheSamePage") is True

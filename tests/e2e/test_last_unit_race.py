"""Two shoppers in two browsers race for the last unit: one holds it, the other is told kindly."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from reservations.models import Reservation
from tests.factories import InventoryFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_two_browsers_race_for_the_last_unit_and_the_loser_sees_a_friendly_message(
    browser: Browser, stockd_server
):
    row = InventoryFactory(total_stock=1, warehouse__city="Mumbai")
    path = reverse("product", kwargs={"product_id": row.product_id})
    url = f"{stockd_server}{path}?warehouse={row.warehouse_id}"
    contexts = [browser.new_context() for _ in range(2)]
    pages = [context.new_page() for context in contexts]
    for page in pages:
        page.goto(url)
        expect(page.get_by_role("button", name="Reserve")).to_be_enabled()

    # Both pages show the unit; both press Reserve without waiting for the answer, so the two
    # POSTs are in flight together. Each page then lands on a checkout or back on the product.
    for page in pages:
        page.get_by_role("button", name="Reserve").click(no_wait_after=True)
    # The loser is told in words, with the next step: the engine's 409 when both were checked
    # before either held ("Someone just took the last one in Mumbai"), or the form's own check
    # when the winner had already committed ("Sold out in Mumbai. Join the waitlist...").
    told = re.compile(r"Someone just took the last one in Mumbai|Sold out in Mumbai\. Join")
    for page in pages:
        settled = page.locator("[data-countdown]").or_(page.get_by_text(told))
        expect(settled.first).to_be_visible(timeout=30_000)

    winners = [page for page in pages if re.search(r"/checkout/[0-9a-f-]{36}/$", page.url)]
    losers = [page for page in pages if page not in winners]
    assert (len(winners), len(losers)) == (1, 1), [page.url for page in pages]
    assert winners[0].url.endswith(f"/checkout/{Reservation.objects.get().id}/")
    expect(losers[0].get_by_text(told).first).to_be_visible()
    expect(losers[0].get_by_role("button", name="Join the waitlist")).to_be_visible()
    assert Reservation.objects.count() == 1
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (1, 1)
    for context in contexts:
        context.close()

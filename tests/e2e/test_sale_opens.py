"""A drop opens in a real Chromium: the product page counts down to the start, then turns to
Reserve by itself through the live stream, with no reload, and the shopper reserves.

The page and its stream come from stockd as it is served (stockd_server: gunicorn with
uvicorn workers). The countdown and the open state are saved as screenshots in
`screenshot_dir` (docs/screenshots with STOCKD_SCREENSHOTS=1).
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from reservations.models import Reservation
from sales import services
from tests.e2e.axe import serious_violations
from tests.e2e.conftest import DESKTOP, PHONE
from tests.factories import InventoryFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEAD_SECONDS = 8  # long enough to load the page and see the countdown first


def _shoot(page: Page, folder, name: str) -> None:
    for suffix, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=folder / f"{name}-{suffix}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def test_the_product_page_turns_to_reserve_at_the_start_by_itself(
    page: Page, stockd_server, screenshot_dir
):
    row = InventoryFactory(
        total_stock=5, product__name="Midnight Drop Sneaker", product__brand="Stride"
    )
    services.set_policy(
        row.product_id,
        {
            "sale_starts_at": timezone.now() + timedelta(seconds=LEAD_SECONDS),
            "limit_per_customer": 2,
        },
    )
    page.set_viewport_size(DESKTOP)
    page.goto(f"{stockd_server}{reverse('product', kwargs={'product_id': row.product_id})}")

    panel = page.locator("#buy-panel")
    expect(panel).to_have_attribute("data-sale-state", "upcoming")
    expect(page.get_by_test_id("sale-countdown")).to_contain_text(
        re.compile(r"On sale in 00:00:0\d")
    )
    expect(page.get_by_test_id("reserve-not-yet")).to_be_disabled()
    expect(page.get_by_role("button", name="Reserve", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("sale-limit")).to_have_text("Limit 2 per customer")
    expect(page.locator("html")).to_have_attribute("data-live-stock", "open")
    page.evaluate("window.stillTheSamePage = true")
    _shoot(page, screenshot_dir, "sale-countdown")
    assert serious_violations(page) == []

    reserve = page.get_by_role("button", name="Reserve", exact=True)
    expect(reserve).to_be_enabled(timeout=(LEAD_SECONDS + 10) * 1000)
    expect(panel).to_have_attribute("data-sale-state", "open")
    # The stream said the sale opened; the page was updated, not reloaded.
    expect(page.locator("html")).to_have_attribute("data-sale-turned-by", "stream")
    assert page.evaluate("window.stillTheSamePage") is True
    _shoot(page, screenshot_dir, "sale-open")
    assert serious_violations(page) == []

    reserve.click()
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}/$"))
    held = Reservation.objects.get(product_id=row.product_id)
    assert (held.warehouse_id, held.quantity) == (row.warehouse_id, 1)

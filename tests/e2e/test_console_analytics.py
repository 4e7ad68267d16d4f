"""The console's analytics in a real Chromium: staff open it and Chart.js draws its charts.

With STOCKD_SCREENSHOTS=1 set, the test also saves docs/screenshots/console-analytics-*.png.
"""

import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from inventory.models import Product
from reservations.models import Reservation
from tests.factories import ReservationFactory
from warehouses.models import Warehouse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHARTS = ("chart-conversion", "chart-outcomes", "chart-time-to-confirm")


def _a_week_of_holds() -> int:
    """Make 120 finished holds over the last 7 days in every warehouse (a fixed random mix
    of outcomes and confirm times); return how many there are."""
    chance = random.Random(12)
    warehouses = list(Warehouse.objects.all())
    products = list(Product.objects.all())
    now = timezone.now()
    for _ in range(120):
        created_at = now - timedelta(minutes=chance.randint(15, 7 * 24 * 60 - 15))
        after = timedelta(seconds=chance.choice([20, 45, 70, 100, 130, 200, 320, 480, 660]))
        outcome = chance.choices(["CONFIRMED", "EXPIRED", "CANCELLED", "ADMIN"], [6, 3, 1, 0.3])[0]
        fields = (
            {"status": Reservation.Status.CONFIRMED, "confirmed_at": created_at + after}
            if outcome == "CONFIRMED"
            else {
                "status": Reservation.Status.RELEASED,
                "release_reason": outcome,
                "released_at": created_at + after,
            }
        )
        ReservationFactory(
            product=chance.choice(products),
            warehouse=chance.choice(warehouses),
            created_at=created_at,
            updated_at=created_at + after,
            **fields,
        )
    return 120


@pytest.mark.usefixtures("staff_signed_in")
def test_staff_open_analytics_and_the_charts_render(shoot, page: Page, stockd_server):
    call_command("seed", verbosity=0)
    holds = _a_week_of_holds()

    page.goto(f"{stockd_server}/admin/analytics/")
    expect(page.get_by_role("heading", name="Analytics", level=1)).to_be_visible()
    expect(page.get_by_test_id("period-label")).to_have_text("Last 7 days")
    expect(page.get_by_test_id("kpi-holds")).to_have_text(str(holds))
    for canvas in CHARTS:
        expect(page.locator(f"canvas#{canvas}")).to_be_visible()
    # Chart.js made a chart on each canvas and drew the data it was given.
    drawn = page.evaluate(
        """(ids) => ids.map((id) => {
            const chart = Chart.getChart(document.getElementById(id));
            return chart ? [chart.config.type, chart.data.datasets.length,
                            chart.data.labels.length] : null;
        })""",
        list(CHARTS),
    )
    assert drawn == [["bar", 3, 5], ["bar", 5, 8], ["bar", 1, 6]]
    stacked = page.evaluate("Chart.getChart('chart-outcomes').options.scales.y.stacked")
    assert stacked is True
    expect(page.get_by_test_id("by-warehouse").locator("tbody tr")).to_have_count(5)
    expect(page.get_by_test_id("by-category").locator("tbody tr")).to_have_count(5)
    shoot(page, "console-analytics")

    # A preset link narrows the period; a bad range falls back to the default with a message.
    page.get_by_role("link", name="Last 24 hours").click()
    expect(page.get_by_test_id("period-label")).to_have_text("Last 24 hours")
    page.get_by_label("From", exact=True).fill("2026-03-11")
    page.get_by_label("To", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".message.error")).to_have_text("The end date is before the start date.")
    expect(page.get_by_test_id("period-label")).to_have_text("Last 7 days")
    assert page.evaluate("Chart.getChart('chart-conversion') !== undefined")
    shoot(page, "console-analytics-bad-period")

"""The console in a real Chromium: staff sign in at /admin/login/ and watch the dashboard move.

With STOCKD_SCREENSHOTS=1 set, the test also saves the sign-in page and the dashboard for docs.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from inventory.models import Inventory
from reservations.models import Reservation
from reservations.services import holds, sweeps, transitions
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

POLL_TIMEOUT_MS = 15_000  # the dashboard polls every 5 seconds


@pytest.fixture
def site(stockd_server) -> str:
    call_command("seed", verbosity=0)
    UserFactory(email="admin@stockd.com", username="admin@stockd.com", is_staff=True)
    return stockd_server


def _activity() -> None:
    """Hold 9 units in all across rows, confirm 3 of the holds and let 2 more expire."""
    rows = list(Inventory.objects.filter(total_stock__gt=0).order_by("pk")[:6])
    made = [
        holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=q)
        for row, q in zip(rows, [1, 2, 3, 1, 1, 1], strict=True)
    ]
    for reservation in made[3:]:
        transitions.confirm(reservation_id=reservation.pk)
    doomed = [
        holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
        for row in rows[:2]
    ]
    Reservation.objects.filter(pk__in=[r.pk for r in doomed]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    sweeps.expire_due_reservations()


def test_staff_sign_in_and_see_the_dashboard_move(shoot, page: Page, site: str):
    page.goto(f"{site}/admin/")
    expect(page).to_have_url(f"{site}/admin/login/?next=/admin/")
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()

    page.get_by_label("Email").fill("admin@stockd.com")
    page.get_by_label("Password").fill("not-it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("sign-in-error")).to_contain_text("Invalid credentials")
    shoot(page, "console-login")

    page.get_by_label("Password").fill("pw-123456")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site}/admin/")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    held = page.get_by_test_id("units-held").locator(".stat-value")
    expect(held).to_have_text("0")
    # The seed's three sold-out products have 0 units in each of the 5 warehouses.
    expect(page.get_by_test_id("low-stock-count")).to_have_text("15")
    chart = page.locator("#dashboard-chart-canvas")
    expect(chart).to_have_attribute("data-reserved", "0")

    _activity()

    expect(held).to_have_text("6", timeout=POLL_TIMEOUT_MS)  # 1 + 2 + 3 still pending
    expect(chart).to_have_attribute("data-reserved", "8")
    # The chart drawn on the page is the one fed the new figures (the poll kept its canvas).
    plotted = "c => window.Chart.getChart(c).data.datasets[0].data.reduce((a, b) => a + b, 0)"
    assert chart.evaluate(plotted) == 8
    expect(page.get_by_test_id("confirmed-last-hour").locator(".stat-value")).to_have_text("3")
    expect(page.get_by_test_id("expired-last-hour").locator(".stat-value")).to_have_text("2")
    expect(page.get_by_test_id("conversion").locator(".stat-value")).to_have_text("60%")
    # The shop's totals and the week's charts follow the same poll.
    expect(page.get_by_test_id("kpi-confirmed").locator(".kpi-value")).to_have_text("3")
    expect(page.get_by_test_id("kpi-released").locator(".kpi-value")).to_have_text("2")
    expect(page.get_by_test_id("split-total")).to_have_text("8")
    week = page.locator("#week-chart-canvas")
    today = "c => window.Chart.getChart(c).data.datasets.map(d => d.data.at(-1))"
    assert week.evaluate(today) == [3, 3, 2]  # confirmed, pending, released
    split = "c => window.Chart.getChart(c).data.datasets[0].data"
    assert page.locator("#split-chart-canvas").evaluate(split) == [3, 3, 2]
    shoot(page, "console-dashboard")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site}/admin/login/")
    page.goto(f"{site}/admin/")
    expect(page).to_have_url(f"{site}/admin/login/?next=/admin/")

"""The console in a real Chromium: staff release holds by hand on /admin/reservations/ and
watch the event log's live tail pick up a new hold.

With STOCKD_SCREENSHOTS=1 set, the test also saves both pages for docs.
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds, transitions
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TAIL_TIMEOUT_MS = 10_000  # the log polls every 2 seconds


@pytest.fixture
def site(stockd_server) -> str:
    call_command("seed", verbosity=0)
    UserFactory(email="admin@stockd.com", username="admin@stockd.com", is_staff=True)
    return stockd_server


def _sign_in(page: Page, site: str, path: str) -> None:
    page.goto(f"{site}{path}")
    page.get_by_label("Email").fill("admin@stockd.com")
    page.get_by_label("Password").fill("pw-123456")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site}{path}")


def test_staff_release_holds_by_hand_and_tail_the_log(shoot, page: Page, site: str):
    rows = list(Inventory.objects.order_by("pk")[:4])
    made = [
        holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=q)
        for row, q in zip(rows, [2, 1, 3, 1], strict=True)
    ]
    transitions.confirm(reservation_id=made[3].pk)
    first, second, third = made[:3]

    _sign_in(page, site, "/admin/reservations/")
    expect(page.get_by_test_id("hold")).to_have_count(4)
    shoot(page, "console-reservations")

    # One hold, by its own button: the console asks first, and "Keep it" changes nothing.
    page.locator(f'[data-reservation="{first.pk}"]').get_by_test_id("release-one").click()
    expect(page.get_by_role("heading", name="Release 1 hold?")).to_be_visible()
    page.get_by_role("link", name="Keep it").click()
    expect(page.get_by_test_id("hold")).to_have_count(4)
    first.refresh_from_db()
    assert first.status == Reservation.Status.PENDING
    page.locator(f'[data-reservation="{first.pk}"]').get_by_test_id("release-one").click()
    shoot(page, "console-reservations-release")
    page.get_by_role("button", name="Release 1 hold").click()
    expect(page.locator(".message.success")).to_contain_text("Released 1 hold (2 units back")
    expect(page.locator(f'[data-reservation="{first.pk}"]').get_by_test_id("status")).to_have_text(
        "Released by staff"
    )
    first.refresh_from_db()
    assert first.release_reason == Reservation.ReleaseReason.ADMIN
    rows[0].refresh_from_db()
    assert rows[0].reserved_stock == 0

    # Several at once, filtered to the pending ones.
    page.get_by_label("Status").select_option("PENDING")
    expect(page.get_by_test_id("hold")).to_have_count(2)
    expect(page).to_have_url(
        f"{site}/admin/reservations/?status=PENDING&product=&warehouse=&since=&until="
    )
    for hold in (second, third):
        page.locator(f'[data-reservation="{hold.pk}"] input[type="checkbox"]').check()
    page.get_by_test_id("release-selected").click()
    expect(page.get_by_role("heading", name="Release 2 holds?")).to_be_visible()
    page.get_by_test_id("confirm-release").click()
    expect(page.locator(".message.success")).to_contain_text("Released 2 holds (4 units back")
    expect(page.get_by_test_id("empty")).to_be_visible()
    assert not Reservation.objects.filter(status=Reservation.Status.PENDING).exists()
    assert ReservationEvent.objects.filter(type="RELEASED", payload__reason="ADMIN").count() == 3

    # The event log shows the releases, then a new hold arrives through the live tail.
    page.goto(f"{site}/admin/events/")
    expect(page.get_by_test_id("event").first).to_have_attribute("data-type", "RELEASED")
    newer = holds.reserve(
        product_id=rows[0].product_id, warehouse_id=rows[0].warehouse_id, quantity=1
    )
    newest = ReservationEvent.objects.get(reservation=newer, type="RESERVED")
    expect(page.get_by_test_id("event").first).to_have_attribute(
        "data-event", str(newest.id), timeout=TAIL_TIMEOUT_MS
    )
    shoot(page, "console-events")

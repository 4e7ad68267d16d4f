"""Staff race 50 shoppers for the last unit and read the three strategies' outcomes."""

import pytest
from playwright.sync_api import Page, expect

from console.race.models import RaceRun
from inventory.models import Inventory
from reservations.invariants import find_violations
from reservations.models import Reservation
from tests.factories import InventoryFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _figure(page: Page, strategy: str, name: str) -> int:
    text = page.locator(f'[data-strategy="{strategy}"] [data-figure="{name}"]').inner_text()
    return int(text)


@pytest.mark.usefixtures("staff_signed_in")
def test_staff_race_fifty_shoppers_and_read_each_strategys_outcome(
    shoot, page: Page, stockd_server
):
    shoppers_row = InventoryFactory(total_stock=10)

    page.goto(f"{stockd_server}/admin/race/")
    expect(page.get_by_role("heading", name="Race demo", level=1)).to_be_visible()
    expect(page.get_by_text("No race yet")).to_be_visible()
    page.get_by_label("Shoppers").fill("50")
    page.get_by_role("button", name="Run the race").click()

    expect(page.locator("#race-run-title")).to_contain_text(
        "50 shoppers for 1 unit", timeout=60_000
    )
    run = RaceRun.objects.get()
    expect(page).to_have_url(f"{stockd_server}/admin/race/?run={run.pk}")

    assert _figure(page, "naive", "oversold") > 0
    assert _figure(page, "serializable", "errors") > 0
    expect(
        page.locator('[data-strategy="serializable"] [data-figure="sqlstates"]')
    ).to_contain_text("SQLSTATE")
    assert _figure(page, "stockd", "winners") == 1
    assert _figure(page, "stockd", "conflicts") == 49
    assert _figure(page, "stockd", "errors") == 0
    assert _figure(page, "stockd", "oversold") == 0
    expect(page.locator('[data-strategy="stockd"] .race-shoppers li')).to_have_count(50)
    expect(page.get_by_role("row").filter(has_text=f"#{run.pk}")).to_be_visible()
    shoot(page, "console-race")

    shoppers_row.refresh_from_db()
    assert (shoppers_row.total_stock, shoppers_row.reserved_stock) == (10, 0)
    assert Inventory.objects.count() == 1 and not Reservation.objects.exists()
    assert find_violations() == []


@pytest.mark.usefixtures("staff_signed_in")
def test_an_out_of_range_number_of_shoppers_is_explained_beside_the_field(
    page: Page, stockd_server
):
    page.goto(f"{stockd_server}/admin/race/")
    field = page.get_by_label("Shoppers")
    expect(field).to_have_attribute("min", "1")
    expect(field).to_have_attribute("max", "200")
    expect(page.locator("#shoppers-limits")).to_have_text("1 to 200, released at once.")
    field.fill("201")
    page.get_by_role("button", name="Run the race").click()
    errors = page.get_by_test_id("shoppers-errors")
    expect(errors).to_have_text("At most 200 shoppers race at once: pick 1 to 200.")
    expect(page.get_by_label("Shoppers")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Shoppers")).to_be_focused()
    assert not RaceRun.objects.exists()

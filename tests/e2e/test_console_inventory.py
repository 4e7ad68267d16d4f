"""Staff sign in, set a row's total on /admin/inventory/ and watch /admin/stock/ follow; an
editor working from a stale figure is refused; a CSV import is previewed, then applied."""

from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from inventory.models import Inventory
from reservations.services import holds
from reservations.services.stock import set_total
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Page, base: str) -> None:
    UserFactory(is_staff=True, email="ops@stockd.com")  # password pw-123456
    page.goto(f"{base}/admin/inventory/")
    expect(page).to_have_url(f"{base}/admin/login/?next=/admin/inventory/")
    page.locator('input[name="username"]').fill("ops@stockd.com")
    page.locator('input[name="password"]').fill("pw-123456")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inventory", level=1)).to_be_visible()


def _stock_scene() -> tuple[Inventory, Inventory]:
    """The seeded catalogue, with some units held, a low row and an empty one."""
    call_command("seed", stdout=StringIO())
    rows = list(Inventory.objects.select_related("product", "warehouse").order_by("pk"))
    holds.reserve(product_id=rows[0].product_id, warehouse_id=rows[0].warehouse_id, quantity=3)
    low, empty = rows[6], rows[12]
    set_total(inventory_id=low.pk, total=2, actor="seed")
    set_total(inventory_id=empty.pk, total=0, actor="seed")
    return rows[0], rows[1]


def test_staff_adjust_stock_and_see_the_matrix_change(page: Page, stockd_server, shoot):
    held, other = _stock_scene()
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, stockd_server)
    shoot(page, "console-inventory")

    # Set a total from the inventory page: the row answers in place, with the change.
    page.goto(f"{stockd_server}/admin/inventory/?q={held.product.sku}")
    row = page.locator(f"#row-{held.pk}")
    expect(row.get_by_test_id("reserved")).to_have_text("3")
    row.get_by_test_id("total-input").fill("25")
    row.get_by_label("Reason", exact=True).fill("delivery from the supplier")
    row.get_by_test_id("save-total").click()
    expect(page.locator(f"#row-{held.pk}").get_by_test_id("row-note")).to_have_text(
        "Total 10 → 25."
    )
    expect(page.locator(f"#row-{held.pk}").get_by_test_id("available")).to_have_text("22")

    # The matrix shows the new figures.
    page.goto(f"{stockd_server}/admin/stock/")
    cell = page.locator(f'[data-inventory="{held.pk}"]')
    expect(cell.get_by_test_id("total")).to_have_text("25")
    expect(cell.get_by_test_id("reserved")).to_have_text("3")
    expect(cell.get_by_test_id("available")).to_have_text("22")
    expect(page.locator(".cell.low").first).to_be_visible()
    expect(page.locator(".cell.empty").first).to_be_visible()
    shoot(page, "console-stock")

    # Another editor's change reaches the open matrix by itself (htmx polling).
    set_total(inventory_id=other.pk, total=40, actor="another editor")
    expect(page.locator(f'[data-inventory="{other.pk}"]').get_by_test_id("total")).to_have_text(
        "40", timeout=12_000
    )

    # An editor who loaded the page before that change is refused, and sees the current figure.
    page.goto(f"{stockd_server}/admin/inventory/?q={held.product.sku}")
    set_total(inventory_id=held.pk, total=30, actor="another editor")
    row = page.locator(f"#row-{held.pk}")
    row.get_by_test_id("total-input").fill("5")
    row.get_by_test_id("save-total").click()
    note = page.locator(f"#row-{held.pk}").get_by_test_id("row-note")
    expect(note).to_contain_text("changed from 25 to 30")
    expect(page.locator(f"#row-{held.pk}").get_by_test_id("total-input")).to_have_value("30")
    held.refresh_from_db()
    assert held.total_stock == 30


def test_staff_import_stock_levels_from_csv(page: Page, stockd_server, shoot, tmp_path):
    _stock_scene()
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, stockd_server)
    rows = list(Inventory.objects.select_related("product", "warehouse").order_by("pk")[:4])
    lines = ["sku,warehouse,total_stock"]
    lines += [f"{r.product.sku},{r.warehouse.code},{r.total_stock + 5}" for r in rows[1:3]]
    lines += [f"{rows[3].product.sku},{rows[3].warehouse.code},{rows[3].total_stock}"]
    lines += ["NO-SUCH-SKU,BLR,4"]
    bad = tmp_path / "stock-bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    good = tmp_path / "stock.csv"
    good.write_text("\n".join(lines[:-1]) + "\n")

    page.goto(f"{stockd_server}/admin/inventory/import/")
    page.get_by_test_id("import-file").set_input_files(str(bad))
    page.get_by_test_id("upload").click()
    expect(page.get_by_test_id("error-count")).to_have_text("1 error")
    expect(page.get_by_test_id("line-error")).to_have_text("Unknown sku 'NO-SUCH-SKU'.")
    expect(page.get_by_test_id("apply")).to_have_count(0)
    expect(page.get_by_test_id("import-verdict")).to_contain_text("3 lines ok, 1 line needs fixing")
    shoot(page, "console-inventory-import-errors")

    page.goto(f"{stockd_server}/admin/inventory/import/")
    page.get_by_test_id("import-file").set_input_files(str(good))
    page.get_by_test_id("upload").click()
    expect(page.get_by_test_id("change-count")).to_have_text("2 changes")
    shoot(page, "console-inventory-import")
    page.get_by_test_id("apply").click()
    expect(page).to_have_url(f"{stockd_server}/admin/inventory/")
    expect(page.get_by_text("stock.csv: 2 stock row(s) changed.")).to_be_visible()
    for row in rows[1:3]:
        before = row.total_stock
        row.refresh_from_db()
        assert row.total_stock == before + 5

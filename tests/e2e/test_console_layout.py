"""Every console page fits a phone (no sideways scroll of the page), and its sidebar links
never sit on one another, at 1366x900 and 390x844.

Each page is also saved as a screenshot in the test's temporary folder, to look at after a
failure (docs/screenshots come from the console's other browser tests).
"""

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from console.templatetags.console_nav import SECTIONS
from inventory.models import Inventory
from reservations.services import holds, transitions

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
PAGES = {
    "dashboard": "/admin/",
    "stock": "/admin/stock/",
    "inventory": "/admin/inventory/",
    "inventory-import": "/admin/inventory/import/",
    "events": "/admin/events/",
    "reservations": "/admin/reservations/",
    "race": "/admin/race/",
    "analytics": "/admin/analytics/",
    "integrations": "/admin/integrations/",
    "webhooks": "/admin/integrations/webhooks/",
}
SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture
def busy_shop(stockd_server) -> str:
    """The seed, with a few holds made, one confirmed: every page has rows to show."""
    call_command("seed", verbosity=0)
    rows = Inventory.objects.filter(total_stock__gt=0).order_by("pk")[:4]
    made = [
        holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=2)
        for row in rows
    ]
    transitions.confirm(reservation_id=made[0].pk)
    return stockd_server


def _page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _nav_boxes(page: Page) -> list[dict]:
    links = page.get_by_role("navigation", name="Console sections").get_by_role("link")
    return [links.nth(i).bounding_box() for i in range(links.count())]


def _current_box(page: Page) -> dict:
    nav = page.get_by_role("navigation", name="Console sections")
    return nav.locator('[aria-current="page"]').bounding_box()


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.usefixtures("staff_signed_in")
@pytest.mark.parametrize("size", SIZES)
def test_every_console_page_fits_the_screen_and_its_links_never_overlap(
    page: Page, busy_shop: str, tmp_path: Path, size: str
):
    page.set_viewport_size(SIZES[size])
    for name, path in PAGES.items():
        page.goto(f"{busy_shop}{path}")
        expect(page.get_by_role("link", name="View store")).to_be_attached()
        page.wait_for_timeout(1200)  # charts draw with an animation
        page.screenshot(path=tmp_path / f"console-{name}-{size}.png", full_page=True)
        assert _page_width(page) <= SIZES[size]["width"], f"{path} is wider than the screen"
        boxes = _nav_boxes(page)
        assert len(boxes) == len(SECTIONS)
        # The current section is in full view (on a phone the row scrolls to it), clear of
        # the screen's edges.
        current = _current_box(page)
        width = SIZES[size]["width"]
        assert current["x"] >= 8 and current["x"] + current["width"] <= width - 8, path
        for first, second in zip(boxes, boxes[1:], strict=False):
            assert not _overlap(first, second), f"{path}: two section links overlap"


@pytest.mark.parametrize("size", SIZES)
def test_the_sign_in_page_fits_the_screen(
    page: Page, stockd_server: str, tmp_path: Path, size: str
):
    page.set_viewport_size(SIZES[size])
    page.goto(f"{stockd_server}/admin/login/")
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    page.screenshot(path=tmp_path / f"console-login-{size}.png", full_page=True)
    assert _page_width(page) <= SIZES[size]["width"]

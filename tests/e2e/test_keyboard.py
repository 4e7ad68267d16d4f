"""A shopper who uses only the keyboard reserves, checks out and pays, in a real Chromium.

Tab moves between controls, Enter presses them, Space picks the payment method (a radio);
the mouse is never used. After each htmx swap, keyboard focus is in the content the swap put
in the page (static/js/htmx-config.js), not dropped to <body>; and wherever focus lands, it
is drawn: an outline or a box-shadow ring.
"""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Locator, Page, TimeoutError, expect

from inventory.models import Product
from reservations.models import Reservation
from storefront import cart
from tests.factories import InventoryFactory, ProductFactory, WarehouseFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MOST_TABS = 80  # more than any page here has controls before the one a step needs
# What each htmx swap puts in the page, recorded as it settles.
RECORD_SWAPS = """
window.swappedIn = [];
document.addEventListener("htmx:afterSettle", (event) => window.swappedIn.push(event.target));
"""
FOCUS_IN_SWAPPED_CONTENT = """() => {
  const focused = document.activeElement;
  return focused !== document.body && window.swappedIn.some(
    (region) => region.isConnected && region.contains(focused)
  );
}"""
FOCUS_RING = """(element) => {
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return outline || (style.boxShadow !== "" && style.boxShadow !== "none");
}"""


def _is_focused(target: Locator) -> bool:
    return target.evaluate("(element) => element === document.activeElement")


def _focused_description(page: Page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return `${e.tagName} ${(e.innerText || e.value || '').trim().slice(0, 40)}`; }"
    )


def _tab_to(page: Page, target: Locator) -> None:
    """Press Tab until `target` has focus; fail if it never gets it."""
    expect(target).to_be_visible()
    for _ in range(MOST_TABS):
        if _is_focused(target):
            _expect_focus_ring(page)
            return
        page.keyboard.press("Tab")
    pytest.fail(
        f"{MOST_TABS} Tabs never reached {target}; focus is on {_focused_description(page)}"
    )


def _expect_focus_ring(page: Page) -> None:
    focused = page.locator("*:focus")
    expect(focused).to_have_count(1)
    assert focused.evaluate(FOCUS_RING), f"no visible focus on {_focused_description(page)}"


def _press_and_expect_focus_in_new_content(page: Page, key: str = "Enter") -> None:
    page.evaluate("window.swappedIn = []")
    page.keyboard.press(key)
    try:
        page.wait_for_function(FOCUS_IN_SWAPPED_CONTENT, timeout=5_000)
    except TimeoutError:
        pytest.fail(f"after the swap, focus is on {_focused_description(page)}, not in it")
    _expect_focus_ring(page)


@pytest.fixture
def earbuds(stockd_server) -> Product:
    call_command("seed", verbosity=0)
    return Product.objects.get(name="Bluetooth Earbuds")


def test_reserve_check_out_and_pay_with_the_keyboard_alone(page: Page, stockd_server, earbuds):
    page.add_init_script(RECORD_SWAPS)
    page.goto(stockd_server + reverse("product", kwargs={"product_id": earbuds.id}))

    _tab_to(page, page.get_by_label("Check delivery to your pincode"))
    page.keyboard.type("560001")
    _tab_to(page, page.get_by_role("button", name="Check"))
    _press_and_expect_focus_in_new_content(page)
    expect(page.get_by_test_id("deliver-to")).to_contain_text("Bangalore")

    _tab_to(page, page.get_by_role("button", name=re.compile(r"^Reserve")))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}/$"))
    reservation = Reservation.objects.get()

    _tab_to(page, page.get_by_role("button", name="Confirm purchase"))
    _press_and_expect_focus_in_new_content(page)
    expect(page.get_by_role("heading", name="Payment")).to_be_focused()

    # The next Tab goes on into the payment form, not back to the page's top or its footer.
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio").first).to_be_focused()
    _expect_focus_ring(page)
    page.keyboard.press("Space")
    expect(page.get_by_role("radio").first).to_be_checked()
    _tab_to(page, page.get_by_role("button", name=re.compile(r"^Pay ₹")))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Order confirmed!")).to_be_visible()
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED


def test_cart_swaps_take_focus_to_what_changed(page: Page, stockd_server):
    mumbai = WarehouseFactory(city="Mumbai")
    mat = InventoryFactory(product=ProductFactory(name="Yoga Mat"), warehouse=mumbai, total_stock=2)
    bottle = InventoryFactory(product=ProductFactory(name="Water Bottle"), warehouse=mumbai)
    session = SessionStore()
    session[cart.SESSION_KEY] = [
        {"product": mat.product_id, "warehouse": mumbai.pk, "quantity": 3},
        {"product": bottle.product_id, "warehouse": mumbai.pk, "quantity": 1},
    ]
    session.create()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": stockd_server}]
    )
    page.add_init_script(RECORD_SWAPS)
    page.goto(stockd_server + reverse("cart"))

    # Refused: focus goes to the reason, which names the short line.
    _tab_to(page, page.get_by_role("button", name="Hold all"))
    _press_and_expect_focus_in_new_content(page)
    expect(page.get_by_test_id("hold-error")).to_be_focused()
    expect(page.get_by_test_id("hold-error")).to_contain_text("Only 2 left of Yoga Mat")

    # A quantity updated: focus stays on the Update button just pressed.
    _tab_to(page, page.get_by_label("Quantity of Yoga Mat"))
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    update = page.get_by_test_id("cart-line").first.get_by_role("button", name="Update")
    _tab_to(page, update)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Yoga Mat: quantity set to 2.")).to_be_visible()
    expect(update).to_be_focused()
    _expect_focus_ring(page)

    # A line removed: its button is gone, and focus goes to the message saying so.
    _tab_to(page, page.get_by_role("button", name="Remove Water Bottle from the cart"))
    _press_and_expect_focus_in_new_content(page)
    expect(page.get_by_role("status")).to_be_focused()
    expect(page.get_by_role("status")).to_contain_text("Water Bottle")

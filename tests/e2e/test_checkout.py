"""A shopper's hold on its checkout page in a real Chromium: the countdown runs on the
server's clock, flips to expired by itself, and a hold is extended and paid for.

Set STOCKD_SCREENSHOTS=1 to keep the pages' screenshots in docs/screenshots (checkout-*.png).
"""

import re
import uuid

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from inventory.models import Inventory, Product
from reservations.models import Reservation
from reservations.services import holds, transitions
from tests.factories import InventoryFactory, ProductFactory, WarehouseFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The browser's clock runs an hour fast: the page must still count the server's time left.
SKEWED_CLOCK = """
(() => {
  const skew = 3600 * 1000;
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length) { super(...args); } else { super(RealDate.now() + skew); }
    }
    static now() { return RealDate.now() + skew; }
  }
  window.Date = SkewedDate;
})();
"""
# What of the checkout page reaches past the right edge of the window.
STICKING_OUT = """
[...document.querySelectorAll(".checkout-page, .checkout-page *")]
  .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map((element) => element.tagName + "." + element.className)
"""
# Generous: the server's expiry, the page's refresh and a slow machine together.
FLIP_TIMEOUT_MS = 20_000


@pytest.fixture
def stock(db) -> Inventory:
    product = ProductFactory(name="Yoga Mat", price="1499.00")
    warehouse = WarehouseFactory(name="Mumbai Warehouse", city="Mumbai", location="Andheri East")
    return InventoryFactory(product=product, warehouse=warehouse, total_stock=5)


def test_an_expired_hold_flips_the_checkout_page_by_itself(
    page: Page, stockd_server, settings, stock
):
    # Only this process's reserve below reads it (the hold is due in 4 s); the server keeps
    # its own 10 minutes, which the page does not need here.
    settings.RESERVATION_TTL_SECONDS = 4
    reservation = holds.reserve(
        product_id=stock.product_id,
        warehouse_id=stock.warehouse_id,
        quantity=2,
        guest_id=uuid.uuid4(),
    )
    page.add_init_script(SKEWED_CLOCK)
    page.goto(f"{stockd_server}/checkout/{reservation.id}/")

    checkout = page.locator("#checkout")
    expect(checkout).to_have_attribute("data-state", "pending")
    # An hour-fast browser clock changes nothing: the page counts the seconds the server sent.
    expect(page.get_by_test_id("clock")).to_have_text(re.compile(r"^00:0[1-4]$"))
    page.evaluate("window.stillTheSamePage = true")

    expect(checkout).to_have_attribute("data-state", "expired", timeout=FLIP_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Your hold expired")).to_be_visible()
    expect(page).to_have_title("Hold expired · stockd")  # the swap updates the tab too
    hold_again = page.get_by_role("button", name="Hold again")
    expect(hold_again).to_have_attribute("href", f"/products/{stock.product_id}/")
    expect(page.get_by_test_id("countdown")).to_have_count(0)
    expect(page.get_by_role("button", name="Confirm purchase")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True  # swapped in place, no reload

    released = Reservation.objects.get(pk=reservation.pk)
    assert (released.status, released.release_reason) == ("RELEASED", "EXPIRED")
    stock.refresh_from_db()
    assert stock.reserved_stock == 0


def test_reserve_see_the_countdown_extend_and_confirm(page: Page, stockd_server, stock):
    answer = page.request.post(
        f"{stockd_server}/api/reservations",
        data={"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 2},
    )
    assert answer.status == 201, answer.text()
    reservation_id = answer.json()["id"]
    page.goto(f"{stockd_server}/checkout/{reservation_id}/")

    expect(page.get_by_role("heading", name="Held for you")).to_be_visible()
    clock = page.get_by_test_id("clock")
    expect(clock).to_have_text(re.compile(r"^(09:5\d|10:00)$"))
    first = clock.inner_text()
    expect(clock).not_to_have_text(first, timeout=5_000)  # it ticks
    expect(page.get_by_test_id("total")).to_have_text("₹2,998")

    page.get_by_role("button", name="Extend by 10 minutes").click()
    expect(page.get_by_text("Your hold is extended")).to_be_visible()
    expect(clock).to_have_text(re.compile(r"^19:5\d$"))  # ten minutes added to the time left
    expect(page.get_by_role("button", name=re.compile("^Extend"))).to_have_count(0)
    expect(page.get_by_text("You have used your one extension.")).to_be_visible()

    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Confirm purchase").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True  # the step swapped in place
    expect(clock).to_be_visible()  # the time keeps running while paying

    pay = page.get_by_role("button", name="Pay ₹2,998 and confirm")
    pay.click()
    expect(page.get_by_text("Choose how you would like to pay.")).to_be_visible()
    expect(page.locator("#method-errors")).to_be_focused()  # swapped in place, focus on it
    assert page.evaluate("window.stillTheSamePage") is True
    assert Reservation.objects.get(pk=reservation_id).status == "PENDING"

    page.get_by_label("UPI").check()
    pay.click()
    expect(page.get_by_role("heading", name="Purchase confirmed")).to_be_visible()
    expect(page).to_have_title("Order confirmed · stockd")
    expect(page.get_by_role("heading", name="Order confirmed!")).to_be_visible()
    expect(page.get_by_text("Payment received (UPI). Your order is confirmed.")).to_be_visible()
    expect(page.get_by_test_id("countdown")).to_have_count(0)

    assert Reservation.objects.get(pk=reservation_id).status == "CONFIRMED"
    stock.refresh_from_db()
    assert (stock.total_stock, stock.reserved_stock) == (3, 0)


def test_the_page_works_without_javascript(browser: Browser, stockd_server, stock):
    reservation = holds.reserve(
        product_id=stock.product_id, warehouse_id=stock.warehouse_id, quantity=1
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{stockd_server}/checkout/{reservation.id}/")

    expect(page.get_by_test_id("time-left")).to_have_text(re.compile(r"^(9|10) minutes"))
    page.get_by_role("button", name="Extend by 10 minutes").click()
    expect(page.get_by_text("Your hold is extended")).to_be_visible()
    page.get_by_role("button", name="Confirm purchase").click()  # a link to the payment step
    expect(page).to_have_url(f"{stockd_server}/checkout/{reservation.id}/pay/")
    page.get_by_label("Cash on delivery").check()
    page.get_by_role("button", name="Pay ₹1,499 and confirm").click()

    expect(page.get_by_role("heading", name="Order confirmed!")).to_be_visible()
    assert Reservation.objects.get(pk=reservation.id).status == "CONFIRMED"
    context.close()


def test_cancel_offers_to_hold_again(page: Page, stockd_server, stock):
    reservation = holds.reserve(
        product_id=stock.product_id, warehouse_id=stock.warehouse_id, quantity=1
    )
    page.goto(f"{stockd_server}/checkout/{reservation.id}/")

    page.get_by_role("button", name="Cancel hold").click()

    expect(page.get_by_role("heading", name="You cancelled this hold")).to_be_visible()
    expect(page.get_by_role("button", name="Hold again")).to_be_visible()
    assert Reservation.objects.get(pk=reservation.id).release_reason == "CANCELLED"


@pytest.mark.parametrize(
    ("width", "height", "name"), [(1280, 1000, "desktop"), (390, 844, "phone")]
)
def test_every_state_fits_the_screen(
    page: Page, stockd_server, screenshot_dir, width, height, name
):
    call_command("seed", verbosity=0)
    product = Product.objects.get(name="Sunscreen SPF 50")
    row = Inventory.objects.filter(product=product, warehouse__city="Chennai").get()
    states = {}
    for state in ("pending", "confirmed", "expired"):
        states[state] = holds.reserve(
            product_id=product.id, warehouse_id=row.warehouse_id, quantity=1
        )
    transitions.confirm(reservation_id=states["confirmed"].id)
    Reservation.objects.filter(pk=states["expired"].id).update(
        expires_at=states["expired"].created_at
    )
    target = screenshot_dir
    page.set_viewport_size({"width": width, "height": height})

    for state, reservation in states.items():
        page.goto(f"{stockd_server}/checkout/{reservation.id}/")
        expect(page.locator("#checkout")).to_have_attribute("data-state", state)
        assert page.evaluate(STICKING_OUT) == [], f"{state} page is too wide at {width}px"
        file = f"checkout-{name}.png" if state == "pending" else f"checkout-{state}-{name}.png"
        page.screenshot(path=target / file, full_page=True)

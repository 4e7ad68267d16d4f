"""A shopper's cart of three lines is held all-or-nothing, in a real Chromium.

Set STOCKD_SCREENSHOTS=1 to save the pages shown here in docs/screenshots/ (desktop 1280px,
phone 390px wide).
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from inventory.models import Inventory, Product
from reservations.models import Reservation
from storefront import cart
from warehouses.models import Warehouse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _row(product_name: str, city: str) -> Inventory:
    return Inventory.objects.get(product__name=product_name, warehouse__city=city)


@pytest.fixture
def three_line_cart(stockd_server, page: Page):
    """The seeded catalogue, 2 yoga mats left in Mumbai, and a browser whose cart asks for 3
    of them, dumbbells from Delhi and the nearest water bottle."""
    call_command("seed", verbosity=0)
    mat = _row("Yoga Mat", "Mumbai")
    Inventory.objects.filter(pk=mat.pk).update(total_stock=2)
    dumbbells = Product.objects.get(name__startswith="Dumbbells")
    bottle = Product.objects.get(name__startswith="Water Bottle")
    delhi = Warehouse.objects.get(city="Delhi")

    session = SessionStore()
    session[cart.SESSION_KEY] = [
        {"product": mat.product_id, "warehouse": mat.warehouse_id, "quantity": 3},
        {"product": dumbbells.pk, "warehouse": delhi.pk, "quantity": 1},
        {"product": bottle.pk, "warehouse": None, "quantity": 2},
    ]
    session.create()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.session_key,
                "url": stockd_server,
            }
        ]
    )
    page.set_viewport_size(DESKTOP)
    return f"{stockd_server}/cart/"


def _reserved(*rows: Inventory) -> list[int]:
    for row in rows:
        row.refresh_from_db()
    return [row.reserved_stock for row in rows]


def test_a_cart_of_three_lines_holds_all_or_nothing(shoot, page: Page, three_line_cart: str):
    page.goto(three_line_cart)
    lines = page.get_by_test_id("cart-line")
    expect(lines).to_have_count(3)
    expect(page.get_by_test_id("cart-units")).to_have_text("6")
    shoot(page, "cart")
    page.evaluate("window.stillTheSamePage = true")

    # One line is short: nothing is held, and the page names that line.
    page.get_by_role("button", name="Hold all").click()
    expect(lines.nth(0).get_by_test_id("line-problem")).to_have_text(
        re.compile(r"Only 2 left of Yoga Mat in Mumbai")
    )
    expect(page.get_by_test_id("hold-error")).to_contain_text("Nothing was held.")
    for index in (1, 2):
        expect(lines.nth(index).get_by_test_id("line-problem")).to_have_count(0)
    assert Reservation.objects.count() == 0
    rows = [_row("Yoga Mat", "Mumbai"), _row("Dumbbells (Pair, 5kg)", "Delhi")]
    assert _reserved(*rows) == [0, 0]
    assert page.evaluate("window.stillTheSamePage") is True  # htmx swapped the cart in place
    shoot(page, "cart-short")

    # Fix it: the quantity swaps in place, and the header's count follows.
    quantity = page.get_by_label("Quantity of Yoga Mat")
    quantity.fill("2")
    lines.nth(0).get_by_role("button", name="Update").click()
    expect(page.get_by_text("Yoga Mat: quantity set to 2.")).to_be_visible()
    expect(page.get_by_test_id("cart-units")).to_have_text("5")
    expect(lines.nth(0).get_by_test_id("line-problem")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True

    # Now every line is held, in one cart, and its checkout shows them all.
    page.get_by_role("button", name="Hold all").click()
    expect(page).to_have_url(re.compile(r"/checkout/cart/[0-9a-f-]{36}/$"))
    cart_id = page.url.rstrip("/").rsplit("/", 1)[1]
    holds = Reservation.objects.filter(cart_id=cart_id)
    assert holds.count() == 3
    assert set(holds.values_list("status", flat=True)) == {"PENDING"}
    assert _reserved(*rows) == [2, 1]
    expect(page.get_by_test_id("held-line")).to_have_count(3)
    expect(page.get_by_text("Held all 5 units for 10 minutes.")).to_be_visible()
    expect(page.get_by_test_id("cart-units")).to_have_count(0)  # the cart is empty now
    expect(page.get_by_test_id("total")).to_have_text("₹4,095")  # 2×799 + 1499 + 2×499
    clock = page.get_by_test_id("time-left")
    expect(clock).to_have_text(re.compile(r"^(10:00|09:\d\d)$"))
    shoot(page, "cart-checkout")

    page.get_by_role("button", name="Confirm purchase").click()
    expect(page.get_by_test_id("status")).to_have_text("Confirmed")
    assert set(holds.values_list("status", flat=True)) == {"CONFIRMED"}


def test_removing_every_line_leaves_the_empty_cart(shoot, page: Page, three_line_cart: str):
    page.goto(three_line_cart)
    for name in ("Yoga Mat", "Dumbbells (Pair, 5kg)", "Water Bottle (Steel, 1L)"):
        page.get_by_role("button", name=f"Remove {name} from the cart").click()
        expect(page.get_by_text(f"Removed {name} from your cart.")).to_be_visible()
    expect(page.get_by_test_id("cart-empty")).to_be_visible()
    expect(page.get_by_test_id("cart-units")).to_have_count(0)
    shoot(page, "cart-empty")


def test_a_held_cart_flips_to_expired_by_itself(shoot, page: Page, three_line_cart: str):
    page.goto(three_line_cart)
    page.get_by_label("Quantity of Yoga Mat").fill("2")
    page.get_by_label("Quantity of Yoga Mat").press("Enter")
    expect(page.get_by_text("Yoga Mat: quantity set to 2.")).to_be_visible()
    page.get_by_role("button", name="Hold all").click()
    expect(page.get_by_test_id("status")).to_have_text("Held")
    # The server holds for its own RESERVATION_TTL_SECONDS (10 minutes): bring the cart's
    # holds due in a few seconds, then load the page again so its countdown starts from that.
    expires_soon = timezone.now() + timedelta(seconds=4)
    assert Reservation.objects.filter(status="PENDING").update(expires_at=expires_soon) == 3
    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("Held")
    expect(page.get_by_test_id("time-left")).to_have_text(re.compile(r"^00:0[0-4]$"))
    page.evaluate("window.stillTheSamePage = true")

    expect(page.get_by_test_id("status")).to_have_text("Expired", timeout=10_000)
    expect(page.get_by_role("button", name="Hold again")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True  # no reload: htmx swapped it
    assert set(Reservation.objects.values_list("release_reason", flat=True)) == {"EXPIRED"}
    shoot(page, "cart-checkout-expired")

    page.get_by_role("button", name="Hold again").click()  # held anew, for 10 minutes
    expect(page.get_by_test_id("status")).to_have_text("Held")
    expect(page.get_by_test_id("time-left")).to_have_text(re.compile(r"^(10:00|09:\d\d)$"))
    assert Reservation.objects.filter(status="PENDING").count() == 3

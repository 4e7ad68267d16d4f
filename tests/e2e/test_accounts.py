"""Accounts and orders in a real Chromium: a guest's hold follows them into a new account.

With STOCKD_SCREENSHOTS=1 set, the tests also save the pages docs/screenshots shows.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import Page, expect

from inventory.models import Inventory, Product
from reservations.models import Reservation
from reservations.services import holds, transitions

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "amber-lantern-52"


@pytest.fixture
def site(stockd_server) -> str:
    call_command("seed", verbosity=0)
    return stockd_server


def _row(product_name: str, city: str) -> Inventory:
    return Inventory.objects.select_related("product", "warehouse").get(
        product__name=product_name, warehouse__city=city
    )


def _guest_reserves(page: Page, site: str, row: Inventory, quantity: int) -> str:
    """Hold as a guest through the API from the page's context (it shares the page's cookies)."""
    response = page.request.post(
        f"{site}/api/reservations",
        data={"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": quantity},
    )
    assert response.status == 201, response.text()
    return response.json()["id"]


def test_guest_reserves_signs_up_and_finds_the_hold_in_orders(shoot, page: Page, site: str):
    page.goto(f"{site}/orders/")
    expect(page.get_by_test_id("empty")).to_contain_text("No reservations in this browser yet")

    monitor = _row("BP Monitor", "Mumbai")
    hold_id = _guest_reserves(page, site, monitor, quantity=2)
    mat = _row("Yoga Mat", "Chennai")
    _guest_reserves(page, site, mat, quantity=1)

    page.goto(f"{site}/orders/")
    expect(page.get_by_role("heading", name="My reservations", level=1)).to_be_visible()
    orders = page.get_by_test_id("order")
    expect(orders).to_have_count(2)
    held = page.locator(f'[data-reservation="{hold_id}"]')
    expect(held).to_contain_text("BP Monitor")
    expect(held).to_contain_text("Mumbai Warehouse")
    expect(held.get_by_test_id("quantity")).to_have_text("2")
    expect(held.get_by_test_id("amount")).to_have_text("₹3,798")
    expect(held.get_by_test_id("status")).to_have_text("Held")
    shoot(page, "orders-guest")

    page.get_by_test_id("keep-holds").get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/\?next=/orders/$"))
    expect(page.get_by_test_id("guest-note")).to_be_visible()
    shoot(page, "signup")

    # A too-short password is refused beside the field; the email typed stays.
    page.get_by_label("Email").fill("asha@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Confirm password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#id_password2_error")).to_contain_text("too short")
    expect(page.get_by_label("Email")).to_have_value("asha@example.com")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(f"{site}/orders/")
    expect(page.get_by_role("heading", name="My orders", level=1)).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("signed in as asha@example.com")
    expect(page.get_by_test_id("keep-holds")).to_have_count(0)
    expect(orders).to_have_count(2)
    expect(held.get_by_test_id("status")).to_have_text("Held")
    assert Reservation.objects.get(pk=hold_id).user.email == "asha@example.com"

    held.get_by_role("button", name="Check out").click()
    expect(page).to_have_url(f"{site}/checkout/{hold_id}/")


def test_shopper_signs_in_sees_orders_page_by_page_and_signs_out(shoot, page: Page, site: str):
    page.goto(f"{site}/accounts/signup/")
    page.get_by_label("Email").fill("ravi@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{site}/orders/")
    expect(page.get_by_test_id("empty")).to_contain_text("No orders yet")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site}/")
    expect(page.locator(".messages")).to_contain_text("You're signed out.")

    # Orders in every state (held, confirmed, cancelled, expired), made through the services.
    ravi = get_user_model().objects.get(email="ravi@example.com")
    cities = ["Mumbai", "Bangalore", "Delhi", "Chennai", "Hyderabad"]
    rows = Inventory.objects.filter(total_stock__gt=F("reserved_stock")).select_related(
        "product", "warehouse"
    )
    made = []
    for index, name in enumerate(
        Product.objects.filter(active=True).order_by("name").values_list("name", flat=True)[:12]
    ):
        row = rows.filter(product__name=name, warehouse__city=cities[index % 5]).first()
        if row is None:  # sold out
            continue
        hold = holds.reserve(
            product_id=row.product_id,
            warehouse_id=row.warehouse_id,
            quantity=1 + index % 3,
            user=ravi,
        )
        if index % 4 == 1:
            transitions.confirm(reservation_id=hold.id, user=ravi)
        elif index % 4 == 2:
            transitions.release(reservation_id=hold.id, user=ravi)
        elif index % 4 == 3:
            Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now())
        made.append(hold.id)

    page.goto(f"{site}/accounts/login/?next=/orders/")
    shoot(page, "login")
    page.get_by_label("Email").fill("ravi@example.com")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("don't match an account")

    page.get_by_label("Email").fill("Ravi@Example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site}/orders/")
    orders = page.get_by_test_id("order")
    expect(orders).to_have_count(10)
    expect(page.get_by_test_id("order-count")).to_have_text(str(len(made)))
    expect(orders.first).to_have_attribute("data-reservation", str(made[-1]))
    shoot(page, "orders")

    # The pager swaps the list in place (htmx) and the address follows.
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Older").click()
    expect(page).to_have_url(f"{site}/orders/?page=2")
    expect(orders).to_have_count(len(made) - 10)
    assert page.evaluate("window.stillTheSamePage") is True


def test_forgotten_password_is_reset_through_the_emailed_link(
    shoot, page: Page, site: str, stockd_server_log: Path
):
    get_user_model().objects.create_user(
        username="meera@example.com", email="meera@example.com", password="old-password-77"
    )
    page.goto(f"{site}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    shoot(page, "password-reset")
    logged_before = stockd_server_log.stat().st_size
    page.get_by_label("Email").fill("meera@example.com")
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    # The email the server sent (its console backend flushes each one before the redirect).
    sent = stockd_server_log.read_bytes()[logged_before:].decode()
    assert re.findall(r"^To: (.*)$", sent, re.MULTILINE) == ["meera@example.com"], sent
    link = re.search(r"https?://\S+/accounts/password-reset/\S+/", sent).group(0)
    page.goto(link)
    shoot(page, "password-reset-confirm")
    page.get_by_label("New password", exact=True).fill("sunny-meadow-71")
    page.get_by_label("New password confirmation").fill("sunny-meadow-71")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()

    page.locator("main").get_by_role("button", name="Sign in").click()
    page.get_by_label("Email").fill("meera@example.com")
    page.get_by_label("Password").fill("sunny-meadow-71")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site}/orders/")

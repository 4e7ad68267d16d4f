"""axe-core finds no serious or critical violation on any page, in the states people reach.

Every storefront and console page is audited at 1366x900 and 390x844 (tests/e2e/axe.py),
in the states a shopper or a member of staff gets it in: a Deliver-to place set, a pincode
checked, a waitlist joined, a cart with a short line, a checkout held, paying, refused,
expired and confirmed, forms with errors, a missing page. Each test reports every violation
of every state at the end, one line each: state, width, rule, impact, help, selectors.
"""

import uuid
from dataclasses import asdict
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Page, expect

from inventory.models import Inventory
from reservations.models import Reservation
from reservations.planning import CartLine
from reservations.services import carts, holds, transitions
from storefront import cart, places
from tests.e2e.axe import AxeAudit, serious_violations
from tests.factories import UserFactory
from transfers import services as transfers
from warehouses.models import Warehouse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"1366x900": {"width": 1366, "height": 900}, "390x844": {"width": 390, "height": 844}}


def _sign_in_browser(page: Page, site: str, session_key: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": site}]
    )


def _shopper_session(shopper, *, cart_lines: list[dict], deliver_to: str) -> str:
    """A signed-in session of `shopper` with a cart and a Deliver-to place; its key."""
    client = Client()
    client.force_login(shopper)
    session = SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    session[cart.SESSION_KEY] = cart_lines
    session[places.SESSION_KEY] = asdict(places.resolve(deliver_to))
    session.save()
    return session.session_key


def _expired_hold(row: Inventory, shopper) -> Reservation:
    hold = holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1, user=shopper
    )
    Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return hold


def _rows_of_different_products(count: int) -> list[Inventory]:
    rows = {}
    for row in Inventory.objects.filter(total_stock__gte=3).order_by("pk"):
        rows.setdefault(row.product_id, row)
    return list(rows.values())[:count]


def _check_sign_in(page: Page, audit: AxeAudit, url: str, *, email: str, name: str) -> None:
    """Audit a sign-in form as it comes, then refused (an error beside the fields)."""
    page.goto(url)
    audit.check(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".errorlist, [role=alert]").first).to_be_visible()
    audit.check(f"{name}, wrong password")


@pytest.fixture
def seeded(stockd_server) -> str:
    call_command("seed", verbosity=0)
    return stockd_server


def test_the_audit_reports_a_violation(page: Page, seeded: str):
    """Control: a nameless button and an image without alt text are reported."""
    page.goto(seeded + reverse("login"))
    page.evaluate(
        """(markup) => document.querySelector("main").insertAdjacentHTML("beforeend", markup)""",
        '<button id="nameless"></button><img id="no-alt" src="/static/img/favicon.svg">',
    )

    found = {violation.rule: violation for violation in serious_violations(page)}

    assert found["button-name"].targets == ["#nameless"]
    assert found["image-alt"].impact == "critical"


def test_storefront_pages_have_no_serious_violations(page: Page, seeded: str):
    site = seeded
    audit = AxeAudit(page, WIDTHS)

    # Signed out: the account pages, with and without errors, and a missing page.
    _check_sign_in(page, audit, site + reverse("login"), email="nobody@example.com", name="sign in")
    page.goto(site + reverse("signup"))
    audit.check("sign up")
    page.get_by_role("button", name="Create account").click()
    audit.check("sign up, empty form")
    page.goto(site + reverse("password_reset"))
    audit.check("password reset")
    page.goto(site + reverse("password_reset_done"))
    audit.check("password reset sent")
    meera = UserFactory(email="meera@example.com")
    link = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(meera.pk)),
            "token": default_token_generator.make_token(meera),
        },
    )
    page.goto(site + link)
    audit.check("password reset, new password")
    page.goto(site + reverse("password_reset_complete"))
    audit.check("password reset complete")
    page.goto(site + reverse("orders"))
    audit.check("my reservations, a guest with none")
    response = page.goto(site + "/no-such-page/")
    assert response is not None and response.status == 404
    audit.check("404 page")

    # A signed-in shopper with a Deliver-to place and a cart that asks for more than there is.
    shopper = UserFactory(email="asha@example.com")
    short, held, other, sold_out = _rows_of_different_products(4)
    cart_lines = [
        {
            "product": short.product_id,
            "warehouse": short.warehouse_id,
            "quantity": short.total_stock + 5,
        },
        {"product": other.product_id, "warehouse": other.warehouse_id, "quantity": 1},
    ]
    _sign_in_browser(
        page, site, _shopper_session(shopper, cart_lines=cart_lines, deliver_to="560001")
    )

    page.goto(site + "/")
    audit.check("home page")
    page.goto(site + reverse("catalogue"))
    audit.check("catalogue, Deliver-to set")
    page.goto(site + reverse("catalogue") + "?q=no-such-thing")
    audit.check("catalogue, a search that finds nothing")
    product_page = reverse("product", kwargs={"product_id": held.product_id})
    page.goto(f"{site}{product_page}?pincode=560001")
    audit.check("product, pincode checked")

    Inventory.objects.filter(pk=sold_out.pk).update(total_stock=0)
    waitlist_page = reverse("product", kwargs={"product_id": sold_out.product_id})
    page.goto(f"{site}{waitlist_page}?warehouse={sold_out.warehouse_id}")
    audit.check("product, sold out")
    page.get_by_label("Email").fill("asha@example.com")
    page.get_by_role("button", name="Join the waitlist").click()
    page.wait_for_load_state("load")
    audit.check("product, waitlist joined")

    page.goto(site + reverse("cart"))
    audit.check("cart")
    page.get_by_role("button", name="Hold all").click()
    expect(page.get_by_test_id("line-problem")).to_be_visible()
    audit.check("cart, a line short")
    page.get_by_label(f"Quantity of {short.product.name}").fill(str(short.total_stock))
    page.get_by_role("button", name="Update").first.click()
    expect(page.locator(".message.success")).to_be_visible()
    audit.check("cart, a quantity updated")

    hold = holds.reserve(
        product_id=held.product_id, warehouse_id=held.warehouse_id, quantity=2, user=shopper
    )
    page.goto(site + reverse("checkout", kwargs={"reservation_id": hold.id}))
    audit.check("checkout, held")
    page.get_by_role("button", name="Confirm purchase").click()
    pay = page.get_by_role("button", name="Pay", exact=False)
    pay.click()
    expect(page.locator("#method-errors")).to_be_visible()
    audit.check("checkout, paying without a method")
    transitions.confirm(reservation_id=hold.id, user=shopper)
    page.goto(site + reverse("checkout", kwargs={"reservation_id": hold.id}))
    audit.check("checkout, confirmed")
    expired = _expired_hold(other, shopper)
    page.goto(site + reverse("checkout", kwargs={"reservation_id": expired.id}))
    audit.check("checkout, expired")

    held_cart = carts.reserve_cart(
        lines=[CartLine(held.product_id, held.warehouse_id, 1)], user=shopper
    )
    page.goto(site + reverse("cart-checkout", kwargs={"cart_id": held_cart.cart_id}))
    audit.check("cart checkout, held")
    carts.confirm_cart(cart_id=held_cart.cart_id, user=shopper)
    page.reload()
    audit.check("cart checkout, confirmed")
    page.goto(site + reverse("orders"))
    audit.check("my orders")

    audit.assert_clean()


def test_console_pages_have_no_serious_violations(page: Page, seeded: str):
    site = seeded
    audit = AxeAudit(page, WIDTHS)
    _check_sign_in(
        page,
        audit,
        site + reverse("console-login"),
        email="nobody@stockd.com",
        name="console sign in",
    )

    rows = list(Inventory.objects.filter(total_stock__gte=2)[:3])
    for row in rows:
        holds.reserve(
            product_id=row.product_id,
            warehouse_id=row.warehouse_id,
            quantity=1,
            guest_id=uuid.uuid4(),
        )
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, email="ops@stockd.com"))
    _sign_in_browser(page, site, staff.cookies[settings.SESSION_COOKIE_NAME].value)
    product = rows[0].product_id
    others = Warehouse.objects.exclude(pk=rows[0].warehouse_id)
    transfer = transfers.create(
        source_id=rows[0].warehouse_id,
        destination_id=others.first().pk,
        lines=[transfers.Line(product, 1)],
        reference="A11Y",
        actor="test",
    )
    transfers.ship(transfer.pk, actor="test")
    pages = {
        "console dashboard": reverse("console-dashboard"),
        "console stock": reverse("console-stock"),
        "console inventory": reverse("console-inventory"),
        "console products": reverse("console-products"),
        "console products, add": reverse("console-product-add"),
        "console products, edit": reverse("console-product-edit", kwargs={"product_id": product}),
        "console warehouses": reverse("console-warehouses"),
        "console warehouses, edit": reverse(
            "console-warehouse-edit", kwargs={"warehouse_id": rows[0].warehouse_id}
        ),
        "console inventory import": reverse("console-inventory-import"),
        "console events": reverse("console-events"),
        "console reservations": reverse("console-reservations"),
        "console race": reverse("console-race"),
        "console analytics": reverse("console-analytics"),
        "console transfers": reverse("console-transfers"),
        "console transfer, in transit": reverse(
            "console-transfer", kwargs={"transfer_id": transfer.pk}
        ),
    }
    for state, path in pages.items():
        page.goto(site + path)
        page.wait_for_load_state("load")
        audit.check(state)

    page.goto(site + reverse("console-inventory-import"))
    row = Inventory.objects.select_related("product", "warehouse").first()
    csv = (
        f"sku,warehouse,total_stock\n{row.product.sku},{row.warehouse.code},7\nNO-SUCH-SKU,BLR,4\n"
    )
    page.get_by_test_id("import-file").set_input_files(
        {"name": "stock.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.get_by_test_id("upload").click()
    expect(page.get_by_test_id("line-error")).to_be_visible()
    audit.check("console inventory import, a preview with an error")

    page.goto(site + reverse("console-race"))
    page.get_by_label("Shoppers").fill("10")
    page.get_by_role("button", name="Run the race").click()
    expect(page.locator("#race-run-title")).to_contain_text("10 shoppers", timeout=60_000)
    audit.check("console race, a race run")

    audit.assert_clean()

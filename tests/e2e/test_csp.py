"""Every storefront and console page passes the Content Security Policy in a real Chromium.

The policy (stockd.settings CONTENT_SECURITY_POLICY, django-csp) allows scripts, styles,
images, fonts and connections from the site itself only: no inline <script>, no inline event
handler, no style="" attribute, no <style> element, no eval. Chromium reports each thing it
blocks as a `securitypolicyviolation` event and a console error; both are collected for every
page, and any one fails the test. A control test shows the collector catches a violation.
The pages also keep working with their scripts in files: the quantity stepper, the colour
swatches, htmx's requests, the charts' data blocks (json_script: data, never executed).
"""

import re
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from inventory.models import Inventory, Product
from reservations.planning import CartLine
from reservations.services import carts, holds
from tests.factories import UserFactory
from warehouses.models import Warehouse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile || location.href}:${event.lineNumber})`
  );
});
"""


class PolicyWatch:
    """Collect what the policy blocks on `page`: DOM events and console messages."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def visit(self, url: str, *, status: int = 200) -> None:
        """Open `url`, check it carries the policy, and fail on anything the policy blocked."""
        response = self.page.goto(url)
        assert response is not None and response.status == status, (url, response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(300)  # let htmx and the charts start (not a timed assertion)
        self.assert_clean(url)

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations || []") + self.console

    def assert_clean(self, where: str) -> None:
        blocked = self.violations()
        assert not blocked, f"{where}: {blocked}"


@pytest.fixture
def scene(stockd_server) -> dict:
    """The seeded catalogue, a guest's hold and a guest's cart."""
    call_command("seed", verbosity=0)
    row = next(
        row
        for row in Inventory.objects.filter(total_stock__gte=5).select_related("product")
        if row.product.colors  # a product with colour swatches
    )
    hold = holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1, guest_id=uuid.uuid4()
    )
    cart = carts.reserve_cart(
        lines=[CartLine(row.product_id, row.warehouse_id, 1)], guest_id=uuid.uuid4()
    )
    return {"product": row.product, "hold": hold, "cart": cart}


def test_the_collector_catches_a_violation(page: Page, stockd_server):
    """Control: an inline script and a style attribute added to a page are reported."""
    watch = PolicyWatch(page)
    watch.visit(f"{stockd_server}/accounts/login/")

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.ranInline = true";
          document.body.append(script);
          document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
        }"""
    )

    expect(page.locator("p[style]")).to_have_count(1)
    assert page.evaluate("window.ranInline === undefined")
    blocked = " ".join(watch.violations())
    assert "script-src-elem" in blocked and "style-src-attr" in blocked, blocked


def test_every_storefront_page_passes_the_policy(page: Page, stockd_server, scene):
    watch = PolicyWatch(page)
    base = stockd_server
    product: Product = scene["product"]
    pages = [
        reverse("home"),
        reverse("catalogue"),
        reverse("catalogue") + "?category=Fitness&q=a",
        reverse("product", kwargs={"product_id": product.id}),
        reverse("checkout", kwargs={"reservation_id": scene["hold"].id}),
        reverse("cart-checkout", kwargs={"cart_id": scene["cart"].cart_id}),
        reverse("orders"),
        reverse("login"),
        reverse("signup"),
        reverse("password_reset"),
        reverse("password_reset_done"),
        reverse("password_reset_complete"),
        reverse("api-docs"),
    ]
    for path in pages:
        watch.visit(base + path)

    watch.visit(f"{base}/no-such-page/", status=404)
    expect(page.get_by_role("heading", level=1)).to_have_text("We couldn't find that page")

    # The product page's scripts, now in js/product.js, still work.
    page.goto(base + reverse("product", kwargs={"product_id": product.id}))
    assert page.evaluate("document.documentElement.classList.contains('js')")
    swatch = page.locator(".swatch").first
    expect(swatch).to_have_attribute("data-swatch", re.compile(r".+"))
    assert page.evaluate(
        "getComputedStyle(document.querySelector('.swatch')).getPropertyValue('--swatch')"
    ).strip()
    quantity = page.locator("#quantity")
    before = int(quantity.input_value())
    page.get_by_role("button", name="One more").click()
    expect(quantity).to_have_value(str(before + 1))

    # A form post through the page, then the cart it filled.
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_load_state("load")
    watch.visit(base + reverse("cart"))
    expect(page.get_by_test_id("cart-units")).to_be_visible()
    watch.assert_clean("after adding to the cart")

    # Swagger UI, its start-up script served as a file.
    watch.visit(base + reverse("api-docs"))
    expect(page.locator("#swagger-ui .information-container")).to_be_visible()
    watch.assert_clean("Swagger UI")


def test_every_console_page_passes_the_policy(page: Page, stockd_server, scene):
    watch = PolicyWatch(page)
    base = stockd_server
    watch.visit(base + reverse("console-login"))

    staff = Client()
    staff.force_login(UserFactory(is_staff=True, email="ops@stockd.com"))
    session = staff.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}
    page.context.add_cookies([cookie])
    product = scene["product"]
    warehouse = Warehouse.objects.first()
    pages = [
        reverse("console-dashboard"),
        reverse("console-stock"),
        reverse("console-inventory"),
        reverse("console-products"),
        reverse("console-product-add"),
        reverse("console-product-edit", kwargs={"product_id": product.id}),
        reverse("console-warehouses"),
        reverse("console-warehouse-add"),
        reverse("console-warehouse-edit", kwargs={"warehouse_id": warehouse.id}),
        reverse("console-inventory-import"),
        reverse("console-reservations"),
        reverse("console-events"),
        reverse("console-race"),
        reverse("console-analytics"),
    ]
    for path in pages:
        watch.visit(base + path)

    # The charts read their data from json_script blocks: data the policy lets through.
    page.goto(base + reverse("console-analytics"))
    assert page.evaluate("JSON.parse(document.getElementById('analytics-data').textContent)")
    watch.assert_clean("analytics charts")

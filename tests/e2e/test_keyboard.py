"""A shopper who uses only the keyboard reserves, checks out and pays, in a real Chromium.

Tab moves between controls, Enter presses them, Space picks the payment method (a radio);
the mouse is never used. After each htmx swap, keyboard focus is in the content the swap put
in the page (static/js/htmx-config.js), not dropped to <body>; and wherever focus lands, it
is drawn: an outline or a box-shadow ring. Every focus ring on a page, header to footer,
stands out from the background behind it by WCAG's 3:1 for non-text contrast.
"""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Locator, Page, TimeoutError, expect

from inventory.models import Product
from reservations.models import Reservation
from reservations.services import holds
from storefront import cart
from tests.factories import InventoryFactory, ProductFactory, UserFactory, WarehouseFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
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
# How the focus ring of the focused element stands out from what is behind it, once every
# transition has run: the contrast ratio (WCAG) of the ring's colour, blended by its alpha over
# the background behind it (the element's own for an inset shadow, else the nearest
# ancestor's), against that background; 1 when no ring is drawn. A control in a group (Pico's
# pincode box and its button) is ringed by its group. Chromium's own two-tone "auto" outline
# always shows: it counts as 21.
RING_CONTRAST = r"""async (focused) => {
  await Promise.all(document.getAnimations().map((animation) => animation.finished));
  const colour = (text) => {
    const found = /rgba?\(([^)]+)\)/.exec(text || "");
    if (!found) return null;
    const [r, g, b, a = 1] = found[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const backgroundOf = (start) => {
    for (let node = start; node; node = node.parentElement) {
      const found = colour(getComputedStyle(node).backgroundColor);
      if (found && found.a > 0) return found;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
  });
  const luminance = ({ r, g, b }) => {
    const channel = (value) => {
      const v = value / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const ringOf = (element) => {
    const style = getComputedStyle(element);
    if (style.outlineStyle === "auto") return { ring: { r: 0, g: 0, b: 0, a: 1 }, auto: true };
    if (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) {
      return { ring: colour(style.outlineColor), behind: backgroundOf(element.parentElement) };
    }
    for (const shadow of style.boxShadow.split(/,(?![^(]*\))/)) {
      const ring = colour(shadow);
      const sizes = shadow.replace(/rgba?\([^)]*\)/, "").match(/-?[\d.]+px/g) || [];
      const [, , blur = 0, spread = 0] = sizes.map(parseFloat);
      if (ring && ring.a > 0 && (spread > 0 || blur > 0)) {
        const inset = shadow.includes("inset");
        return { ring, behind: backgroundOf(inset ? element : element.parentElement) };
      }
    }
    return null;
  };
  const group = focused.closest("[role=group]");
  const found = ringOf(focused) || (group && ringOf(group));
  if (!found || !found.ring) return 1;
  if (found.auto) return 21;
  const background = over(found.behind, { r: 255, g: 255, b: 255 });
  const drawn = over(found.ring, background);
  const [light, dark] = [luminance(drawn), luminance(background)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}"""
# WCAG 2.2's non-text contrast (1.4.11) for a focus indicator.
RING_MINIMUM = 3.0


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
    ratio = focused.evaluate(RING_CONTRAST)
    assert ratio > 1, f"no focus ring is drawn on {_focused_description(page)}"


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


def test_every_focus_ring_stands_out_from_its_background(page: Page, stockd_server, earbuds):
    """Tab through a held checkout page, header to footer, on a desktop and on a phone."""
    shopper = UserFactory()
    row = earbuds.inventory.first()
    hold = holds.reserve(
        product_id=earbuds.id, warehouse_id=row.warehouse_id, quantity=1, user=shopper
    )
    client = Client()
    client.force_login(shopper)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": stockd_server}]
    )
    faint = []
    for width, size in (("1366", {"width": 1366, "height": 900}), ("390", PHONE)):
        page.set_viewport_size(size)
        page.goto(stockd_server + reverse("checkout", kwargs={"reservation_id": hold.id}))
        seen = 0
        while seen < MOST_TABS:
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement === document.body"):
                break
            seen += 1
            ratio = page.locator("*:focus").evaluate(RING_CONTRAST)
            if ratio < RING_MINIMUM:
                faint.append(f"{width}px {_focused_description(page)}: {ratio:.2f}:1")
    assert not faint, f"focus rings under {RING_MINIMUM}:1 against their background:\n" + (
        "\n".join(faint)
    )

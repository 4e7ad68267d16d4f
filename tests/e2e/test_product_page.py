"""A shopper on a product page in a real Chromium: delivery by pincode, quantity, reserve.

Set STOCKD_SCREENSHOTS=1 to save the page in docs/screenshots/ (product-desktop.png at
1280px and product-phone.png at 390px wide, after a delivery check).
"""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Browser, Locator, Page, expect

from inventory.models import Inventory, Product
from reservations.models import Reservation, WaitlistEntry

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# What of the product page reaches past the right edge of the window.
STICKING_OUT = """
[...document.querySelectorAll(".product-page, .product-page *")]
  .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map((element) => element.tagName + "." + element.className)
"""


@pytest.fixture
def earbuds(stockd_server) -> Product:
    call_command("seed", verbosity=0)
    return Product.objects.get(name="Bluetooth Earbuds")


def _url(stockd_server, product: Product, **query: str) -> str:
    path = reverse("product", kwargs={"product_id": product.id})
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return f"{stockd_server}{path}{suffix}"


def _warehouse_id(product: Product, city: str) -> int:
    return Inventory.objects.get(product=product, warehouse__city=city).warehouse_id


def test_shopper_checks_delivery_picks_a_quantity_and_reserves(
    shoot, page: Page, stockd_server, earbuds
):
    page.set_viewport_size(DESKTOP)
    page.goto(_url(stockd_server, earbuds))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bluetooth Earbuds")
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_label("Check delivery to your pincode").fill("560001")
    page.get_by_role("button", name="Check").click()

    expect(page.get_by_test_id("deliver-to")).to_contain_text("Bangalore, Karnataka")
    bangalore = page.locator(f'label[data-warehouse-id="{_warehouse_id(earbuds, "Bangalore")}"]')
    expect(bangalore.get_by_test_id("recommended")).to_be_visible()
    expect(bangalore).to_contain_text("Free shipping")
    expect(bangalore).to_contain_text("Next day")
    expect(bangalore.get_by_role("radio")).to_be_checked()
    expect(page.get_by_test_id("ships-from")).to_have_text("Bangalore Warehouse")
    expect(page.get_by_test_id("recommended")).to_have_count(1)
    assert "pincode=560001" in page.url
    assert page.evaluate("window.stillTheSamePage") is True  # swapped in, not reloaded
    others = page.locator("details.other-warehouses")
    expect(others).not_to_have_attribute("open", "")
    expect(others.locator("label[data-warehouse-id]")).to_have_count(4)
    expect(others.locator("label[data-warehouse-id]").first).to_be_hidden()
    shoot(page, "product")

    quantity = page.get_by_label("Quantity")
    page.get_by_role("button", name="One more").click()
    page.get_by_role("button", name="One more").click()
    expect(quantity).to_have_value("3")
    page.get_by_role("button", name="Reserve").click()

    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}/$"))
    reservation = Reservation.objects.get()
    assert page.url.endswith(f"/checkout/{reservation.id}/")
    assert reservation.quantity == 3
    assert reservation.warehouse.city == "Bangalore"
    assert reservation.guest_id is not None
    expect(page.get_by_text("Bluetooth Earbuds").first).to_be_visible()
    cookies = {cookie["name"] for cookie in page.context.cookies()}
    assert "stockd_guest" in cookies


def test_choosing_a_sold_out_warehouse_offers_the_waitlist(page: Page, stockd_server, earbuds):
    Inventory.objects.filter(product=earbuds, warehouse__city="Delhi").update(total_stock=0)
    delhi = _warehouse_id(earbuds, "Delhi")
    page.goto(_url(stockd_server, earbuds))
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_text("Ship from another warehouse (4)").click()
    page.locator(f'label[data-warehouse-id="{delhi}"]').click()
    expect(page.get_by_role("heading", name="Sold out in Delhi")).to_be_visible()
    expect(page.get_by_role("button", name="Reserve")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_role("button", name="Join the waitlist").click()

    expect(page.locator(".messages")).to_contain_text(
        "You're #1 on the waitlist for Bluetooth Earbuds in Delhi."
    )
    entry = WaitlistEntry.objects.get()
    assert (entry.warehouse_id, entry.email, entry.quantity) == (delhi, "ann@example.com", 1)


def test_the_page_works_without_javascript(browser: Browser, stockd_server, earbuds):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(_url(stockd_server, earbuds))
    expect(page.get_by_role("button", name="Enlarge the picture")).to_be_hidden()  # needs JS

    page.get_by_label("Check delivery to your pincode").fill("400001")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_test_id("deliver-to")).to_contain_text("Mumbai")
    expect(page.get_by_test_id("ships-from")).to_have_text("Mumbai Warehouse")
    assert "pincode=400001" in page.url

    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Reserve").click()
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}/$"))
    reservation = Reservation.objects.get()
    assert (reservation.quantity, reservation.warehouse.city) == (2, "Mumbai")
    context.close()


def test_bad_quantity_is_explained_next_to_the_field(page: Page, stockd_server, earbuds):
    page.goto(_url(stockd_server, earbuds))
    page.get_by_label("Quantity").fill("0")
    page.get_by_role("button", name="Reserve").click()
    expect(page.locator("#quantity-errors")).to_have_text("Choose at least 1.")
    expect(page.get_by_label("Quantity")).to_have_attribute("aria-invalid", "true")
    assert Reservation.objects.count() == 0


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_page_fits_the_screen(page: Page, stockd_server, earbuds, size):
    page.set_viewport_size(size)
    page.goto(_url(stockd_server, earbuds, pincode="560001"))
    expect(page.get_by_test_id("deliver-to")).to_be_visible()
    assert page.evaluate(STICKING_OUT) == []


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_after_a_pincode_check_reserve_is_above_the_fold(page: Page, stockd_server, earbuds, size):
    page.set_viewport_size(size)
    page.goto(_url(stockd_server, earbuds))
    page.get_by_label("Check delivery to your pincode").fill("560001")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_test_id("ships-from")).to_have_text("Bangalore Warehouse")

    _assert_in_view(page, page.get_by_role("button", name="Reserve"), size)

    page.goto(page.url)  # the same page opened afresh, from its top (?pincode=560001)
    expect(page.get_by_test_id("deliver-to")).to_contain_text("Bangalore")
    assert page.evaluate("window.scrollY") == 0
    _assert_in_view(page, page.get_by_role("button", name="Reserve"), size)


def _assert_in_view(page: Page, locator: Locator, size: dict) -> None:
    box = locator.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], box


def test_another_warehouse_is_one_click_away(page: Page, stockd_server, earbuds):
    page.goto(_url(stockd_server, earbuds, pincode="560001"))
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_role("link", name="change").click()
    page.locator(f'label[data-warehouse-id="{_warehouse_id(earbuds, "Delhi")}"]').click()

    expect(page.get_by_test_id("ships-from")).to_have_text("Delhi Warehouse")
    assert page.evaluate("window.stillTheSamePage") is True


def test_the_picture_enlarges_in_the_page(page: Page, stockd_server, earbuds):
    url = _url(stockd_server, earbuds)
    page.goto(url)
    enlarge = page.get_by_role("button", name="Enlarge the picture")
    assert enlarge.get_attribute("href") is None  # a button, not a link to the .svg

    enlarge.click()
    dialog = page.get_by_role("dialog", name="Bluetooth Earbuds")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("img")).to_be_visible()
    page.keyboard.press("Escape")

    expect(dialog).to_be_hidden()
    expect(enlarge).to_be_focused()
    assert page.url == url


# The WCAG contrast ratio of an element's text colour on its (first opaque) background.
CONTRAST = """
(element) => {
  const rgb = (value) => value.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  let ground = element;
  while (rgb(getComputedStyle(ground).backgroundColor)[3] === 0) ground = ground.parentElement;
  const [a, b] = [getComputedStyle(element).color, getComputedStyle(ground).backgroundColor]
    .map((value) => luminance(rgb(value)));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
"""


def test_stock_badges_meet_wcag_aa_contrast(page: Page, stockd_server, earbuds):
    Inventory.objects.filter(product=earbuds, warehouse__city="Delhi").update(total_stock=0)
    page.goto(_url(stockd_server, earbuds, pincode="560001"))
    page.get_by_text("Ship from another warehouse (4)").click()
    badges = {
        "available": page.locator(".units.badge.ok").first,
        "recommended": page.get_by_test_id("recommended"),
        "sold out": page.locator(".units.badge.bad"),
        "warehouse name": page.locator(".warehouse-option .where small").first,
    }
    ratios = {name: badge.evaluate(CONTRAST) for name, badge in badges.items()}
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios

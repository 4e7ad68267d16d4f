"""A shopper on the landing page and the catalogue in a real Chromium."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from inventory.models import Inventory
from reservations.services import holds

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def site(stockd_server) -> str:
    call_command("seed", verbosity=0)
    return stockd_server


@pytest.fixture
def catalogue_url(site) -> str:
    return f"{site}/products/"


def test_the_landing_page_leads_to_the_catalogue(shoot, page: Page, site: str):
    earbuds = Inventory.objects.filter(product__name="Bluetooth Earbuds").first()
    holds.reserve(product_id=earbuds.product_id, warehouse_id=earbuds.warehouse_id, quantity=3)
    Inventory.objects.filter(product__name="Yoga Mat").update(total_stock=1)  # 5 left
    page.goto(f"{site}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reserve it.")
    expect(page.get_by_test_id("stat-products")).to_have_text("53")
    expect(page.get_by_test_id("stat-units")).to_have_text("2,452")  # 2,500 - 3 held - 45
    expect(page.get_by_test_id("in-demand").locator(".product-name").first).to_have_text(
        "Bluetooth Earbuds"
    )
    expect(page.get_by_test_id("almost-gone").locator(".product-name")).to_have_text(["Yoga Mat"])
    shoot(page, "home")

    page.get_by_role("link", name="Fitness").click()

    expect(page).to_have_url(f"{site}/products/?category=Fitness")
    expect(page.locator("#product-list article")).to_have_count(11)


def test_category_link_swaps_the_list_in_place(shoot, page: Page, catalogue_url: str):
    page.goto(catalogue_url)
    products = page.locator("#product-list article")
    expect(products).to_have_count(53)
    shoot(page, "catalogue")

    # A marker on window survives an htmx swap but not a full page load.
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("link", name="Fitness", exact=True).click()

    expect(products).to_have_count(11)
    expect(page).to_have_url(f"{catalogue_url}?category=Fitness")
    expect(page.get_by_role("link", name="Fitness", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    assert page.evaluate("window.stillTheSamePage") is True


def test_typing_a_search_narrows_the_list(page: Page, catalogue_url: str):
    page.goto(catalogue_url)
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("searchbox", name="Search").fill("monitor")

    names = page.locator("#product-list .product-name")
    expect(names).to_contain_text(["BP Monitor"])
    expect(page.get_by_test_id("result-count")).not_to_have_text("53")
    assert "q=monitor" in page.url
    assert page.evaluate("window.stillTheSamePage") is True


def test_clearing_the_search_leaves_a_clean_url(page: Page, catalogue_url: str):
    page.goto(f"{catalogue_url}?q=monitor&category=Healthcare")
    expect(page.get_by_test_id("result-count")).to_have_text("2")

    page.get_by_role("searchbox", name="Search").fill("")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(f"{catalogue_url}?category=Healthcare")
    expect(page.get_by_test_id("result-count")).to_have_text("10")
    page.get_by_role("link", name="All", exact=True).click()
    expect(page).to_have_url(catalogue_url)
    expect(page.get_by_test_id("result-count")).to_have_text("53")


def test_search_within_a_category_keeps_the_category(page: Page, catalogue_url: str):
    page.goto(f"{catalogue_url}?category=Healthcare")
    page.get_by_role("searchbox", name="Search").fill("monitor")
    page.get_by_role("button", name="Search").click()

    names = page.locator("#product-list .product-name")
    expect(names).to_have_text(["BP Monitor", "Glucose Monitor"])


def test_deliver_to_shows_each_cards_nearest_warehouse(page: Page, catalogue_url: str):
    page.goto(catalogue_url)
    page.get_by_label("Deliver to").fill("400001")
    page.get_by_role("button", name="Set", exact=True).click()

    expect(page.get_by_test_id("deliver-to")).to_have_text("Mumbai, Maharashtra 400001")
    card = page.locator("article.product", has_text="BP Monitor")
    expect(card.locator(".availability")).to_have_text("10 in Mumbai +4 warehouses")


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_header_is_short_and_its_links_keep_their_names(page: Page, site: str, size):
    page.set_viewport_size(size)
    page.goto(f"{site}/products/")
    header = page.locator(".site-header")
    assert 56 <= header.bounding_box()["height"] <= 64
    nav = page.get_by_role("navigation", name="Main")
    for name in ("stockd", "Products", "Cart", "My reservations", "Sign in"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="Sign up")).to_be_visible()  # a link styled as one
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]


def _contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""

    def luminance(colour: str) -> float:
        channels = [int(float(c)) / 255 for c in re.findall(r"[\d.]+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _tab_to(page: Page, locator) -> dict:
    """Press Tab until `locator` has the keyboard focus; its outline and its ground colour."""
    for _ in range(30):
        page.keyboard.press("Tab")
        if locator.evaluate("(element) => element === document.activeElement"):
            return locator.evaluate(
                """(element) => {
                  const style = getComputedStyle(element);
                  let ground = element;
                  while (getComputedStyle(ground).backgroundColor === "rgba(0, 0, 0, 0)")
                    ground = ground.parentElement;
                  return {style: style.outlineStyle, width: style.outlineWidth,
                          colour: style.outlineColor,
                          ground: getComputedStyle(ground).backgroundColor};
                }"""
            )
    raise AssertionError(f"Tab never reached {locator}")


def test_the_focus_ring_is_clear_on_the_dark_header_and_on_the_page(page: Page, catalogue_url):
    page.goto(catalogue_url)
    on_header = _tab_to(page, page.locator(".site-header").get_by_role("link", name="Products"))
    on_page = _tab_to(page, page.get_by_role("link", name="Fitness", exact=True))

    for ring in (on_header, on_page):
        assert (ring["style"], ring["width"]) == ("solid", "3px"), ring
        assert _contrast(ring["colour"], ring["ground"]) >= 3, ring

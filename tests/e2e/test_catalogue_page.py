"""A shopper browses and filters the catalogue in a real Chromium."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalogue_url(stockd_server) -> str:
    call_command("seed", verbosity=0)
    return f"{stockd_server}/"


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


def test_search_within_a_category_keeps_the_category(page: Page, catalogue_url: str):
    page.goto(f"{catalogue_url}?category=Healthcare")
    page.get_by_role("searchbox", name="Search").fill("monitor")
    page.get_by_role("button", name="Search").click()

    names = page.locator("#product-list .product-name")
    expect(names).to_have_text(["BP Monitor", "Glucose Monitor"])

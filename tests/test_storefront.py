"""The catalogue at /products/ lists the products and filters them, with and without htmx."""

import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Inventory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded")]

CATALOGUE = "/products/"


def _product_names(html: str) -> list[str]:
    return re.findall(r'<h3 class="product-name"><a href="/products/\d+/">([^<]*)</a></h3>', html)


def _card(html: str, name: str) -> str:
    """One product's card, from its name to the end of its article."""
    return html.split(f'">{name}</a></h3>')[1].split("</article>")[0]


def _availability(html: str, name: str) -> str:
    """The card's availability line as a person reads it, e.g. "10 in Mumbai +4 warehouses"."""
    line = _card(html, name).split('<p class="availability">')[1].split("</p>")[0]
    return " ".join(re.sub(r"<[^>]+>", " ", line).split())


def test_catalogue_lists_all_products_in_api_order(client):
    response = client.get(CATALOGUE)
    assert response.status_code == 200
    html = response.content.decode()
    api_names = [p["name"] for p in client.get("/api/products").json()]
    assert _product_names(html) == api_names
    assert "<html" in html and "htmx-2.0.11.min.js" in html
    assert "₹1,899" in html  # BP Monitor's price


def test_a_card_shows_the_units_available_and_in_how_many_warehouses(client):
    html = client.get(CATALOGUE).content.decode()
    assert _availability(html, "BP Monitor") == "50 available in 5 warehouses"
    assert 'class="marker' not in html  # no chip per city


def test_sold_out_products_carry_a_badge(client):
    html = client.get(CATALOGUE).content.decode()
    assert html.count('data-testid="sold-out"') == 3
    card = _card(html, "Pro Resistance Band Set")
    assert 'data-testid="sold-out">Sold out' in card
    assert "Join the waitlist" in card and "View &amp; Reserve" not in card


@pytest.mark.parametrize(
    ("place", "label", "nearest"),
    [
        ("400001", "Mumbai, Maharashtra 400001", "Mumbai"),
        ("500001", "Hyderabad, Telangana 500001", "Hyderabad"),
        ("Pune", "Pune", "Mumbai"),
    ],
)
def test_deliver_to_shows_the_nearest_warehouses_count_and_is_remembered(
    client, place, label, nearest
):
    response = client.post("/deliver-to/", {"place": place})
    assert response.status_code == 302 and response["Location"] == CATALOGUE

    html = client.get(CATALOGUE).content.decode()

    assert f'data-testid="deliver-to">{label}</strong>' in html
    assert _availability(html, "BP Monitor") == f"10 in {nearest} +4 warehouses"


def test_deliver_to_the_browsers_coordinates(client):
    client.post("/deliver-to/", {"lat": "28.6", "lng": "77.2"})
    html = client.get(CATALOGUE).content.decode()
    assert 'data-testid="deliver-to">your location</strong>' in html
    assert _availability(html, "BP Monitor") == "10 in Delhi +4 warehouses"


@pytest.mark.parametrize("data", [{"place": "999999"}, {"place": "Atlantis"}, {"place": ""}, {}])
def test_an_unknown_place_is_refused_with_a_message_and_nothing_remembered(client, data):
    response = client.post("/deliver-to/", data, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="message error"' in html
    assert 'data-testid="deliver-to"' not in html
    assert _availability(html, "BP Monitor") == "50 available in 5 warehouses"


def test_deliver_to_takes_only_post(client):
    assert client.get("/deliver-to/").status_code == 405


def test_category_link_filters_without_javascript(client):
    html = client.get(CATALOGUE, {"category": "Fitness"}).content.decode()
    assert len(_product_names(html)) == 11
    assert 'aria-current="page">Fitness</a>' in html


def test_search_filters_without_javascript(client):
    html = client.get(CATALOGUE, {"q": "monitor"}).content.decode()
    names = _product_names(html)
    assert "BP Monitor" in names and "Yoga Mat" not in names


@pytest.mark.parametrize(
    ("query", "clean"),
    [
        ("?q=&category=", CATALOGUE),
        ("?q=++&category=Fitness", f"{CATALOGUE}?category=Fitness"),
        ("?q=mat&category=", f"{CATALOGUE}?q=mat"),
    ],
)
def test_a_blank_filter_redirects_to_the_clean_url(client, query, clean):
    response = client.get(CATALOGUE + query)
    assert response.status_code == 302
    assert response["Location"] == clean


def test_htmx_request_gets_only_the_results_fragment(client):
    response = client.get(CATALOGUE, {"category": "Skincare"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="catalogue-results"')
    assert "<html" not in html
    assert len(_product_names(html)) == 11
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(client):
    response = client.get(
        CATALOGUE, {"q": "mat"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    html = response.content.decode()
    assert "<html" in html
    matching = [p["name"] for p in client.get("/api/products", {"q": "mat"}).json()]
    assert "Yoga Mat" in matching
    assert _product_names(html) == matching
    assert 'name="q" value="mat"' in html


def test_no_match_says_so(client):
    html = client.get(CATALOGUE, {"q": "zzzz-nothing"}).content.decode()
    assert "No products match." in html


def test_every_htmx_request_has_a_plain_fallback(client):
    html = client.get(CATALOGUE).content.decode()
    tags = re.findall(r"<(a|form)\b[^>]*\bhx-get=[^>]*>", html)
    assert len(tags) == 7  # the search form, "All" and five categories
    for tag in re.findall(r"<(?:a|form)\b[^>]*\bhx-get=[^>]*>", html):
        assert ("href=" in tag) if tag.startswith("<a") else (f'action="{CATALOGUE}"' in tag)


def test_catalogue_uses_no_cdn(client):
    html = client.get(CATALOGUE).content.decode()
    assert "https://" not in html and "http://" not in html


def test_too_long_search_is_ignored_not_an_error(client):
    response = client.get(CATALOGUE, {"q": "x" * 500})
    assert response.status_code == 200
    html = response.content.decode()
    api_names = [p["name"] for p in client.get("/api/products").json()]
    assert len(api_names) == 53
    assert _product_names(html) == api_names
    assert '<span data-testid="result-count">53</span> products' in html
    assert '<input id="search-q" type="search" name="q" value=""' in html
    assert "x" * 500 not in html
    assert "No products match." not in html


def test_the_product_list_is_shared_for_a_second(client, settings):
    """CATALOGUE_CACHE_SECONDS: the head, categories and list are rendered once, then the page
    is served without a query."""
    settings.CATALOGUE_CACHE_SECONDS = 1
    first = client.get(CATALOGUE, {"category": "Fitness"}).content.decode()
    with CaptureQueriesContext(connection) as queries:
        again = client.get(CATALOGUE, {"category": "Fitness"}).content.decode()
    assert _product_names(again) == _product_names(first) and len(_product_names(first)) == 11
    assert [q["sql"] for q in queries] == []
    Inventory.objects.filter(product__name="Yoga Mat").update(total_stock=0)
    fitness = {"category": "Fitness"}
    shared = client.get(CATALOGUE, fitness).content.decode()
    assert 'data-testid="sold-out"' not in _card(shared, "Yoga Mat")
    time.sleep(1.1)  # a second later the change shows
    fresh = client.get(CATALOGUE, fitness).content.decode()
    assert 'data-testid="sold-out"' in _card(fresh, "Yoga Mat")

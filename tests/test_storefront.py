"""The home page lists the catalogue and filters it, with and without htmx."""

import re

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded")]


def _product_names(html: str) -> list[str]:
    marker = '<h3 class="product-name">'
    return [chunk.split("</h3>", 1)[0] for chunk in html.split(marker)[1:]]


def test_home_page_lists_all_products_in_api_order(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    api_names = [p["name"] for p in client.get("/api/products").json()]
    assert _product_names(html) == api_names
    assert "<html" in html and "htmx-2.0.11.min.js" in html
    assert "₹1,899" in html  # BP Monitor's price


def test_home_page_shows_available_units_per_warehouse(client):
    html = client.get("/").content.decode()
    for city in ("Chennai", "Bangalore", "Mumbai", "Delhi", "Hyderabad"):
        assert f'<th scope="row">{city}</th><td class="">10</td>' in html
    assert "<strong>50</strong> available" in html


def test_category_link_filters_without_javascript(client):
    html = client.get("/", {"category": "Fitness"}).content.decode()
    assert len(_product_names(html)) == 11
    assert 'aria-current="page">Fitness</a>' in html


def test_search_filters_without_javascript(client):
    html = client.get("/", {"q": "monitor"}).content.decode()
    names = _product_names(html)
    assert "BP Monitor" in names and "Yoga Mat" not in names


def test_htmx_request_gets_only_the_results_fragment(client):
    response = client.get("/", {"category": "Skincare"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="catalogue-results">')
    assert "<html" not in html
    assert len(_product_names(html)) == 11
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(client):
    response = client.get(
        "/", {"q": "mat"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    html = response.content.decode()
    assert "<html" in html
    matching = [p["name"] for p in client.get("/api/products", {"q": "mat"}).json()]
    assert "Yoga Mat" in matching
    assert _product_names(html) == matching
    assert 'name="q" value="mat"' in html


def test_no_match_says_so(client):
    html = client.get("/", {"q": "zzzz-nothing"}).content.decode()
    assert "No products match." in html


def test_every_htmx_request_has_a_plain_fallback(client):
    html = client.get("/").content.decode()
    tags = re.findall(r"<(a|form)\b[^>]*\bhx-get=[^>]*>", html)
    assert len(tags) == 7  # the search form, "All" and five categories
    for tag in re.findall(r"<(?:a|form)\b[^>]*\bhx-get=[^>]*>", html):
        assert ("href=" in tag) if tag.startswith("<a") else ('action="/"' in tag)


def test_home_page_uses_no_cdn(client):
    html = client.get("/").content.decode()
    assert "https://" not in html and "http://" not in html


def test_too_long_search_is_ignored_not_an_error(client):
    response = client.get("/", {"q": "x" * 500})
    assert response.status_code == 200
    html = response.content.decode()
    api_names = [p["name"] for p in client.get("/api/products").json()]
    assert len(api_names) == 53
    assert _product_names(html) == api_names
    assert '<span data-testid="result-count">53</span> products' in html
    assert '<input id="search-q" type="search" name="q" value=""' in html
    assert "x" * 500 not in html
    assert "No products match." not in html

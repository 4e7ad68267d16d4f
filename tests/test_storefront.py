"""The home page lists the catalogue and filters it, with and without htmx."""

import re

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded")]


def _product_names(html: str) -> list[str]:
    return re.findall(r'<h3 class="product-name"><a href="/products/\d+/">([^<]*)</a></h3>', html)


def test_home_page_lists_all_products_in_api_order(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    api_names = [p["name"] for p in client.get("/api/products").json()]
    assert _product_names(html) == api_names
    assert "<html" in html and "htmx-2.0.11.min.js" in html
    assert "₹1,899" in html  # BP Monitor's price


def _markers(html: str, name: str) -> list[tuple[str, str]]:
    """The (city, count) markers of one product's card, in order."""
    card = html.split(f'">{name}</a></h3>')[1].split("</article>")[0]
    marker = r'<span class="city">([^<]*)</span> <span class="count"[^>]*>(\d+)</span>'
    return re.findall(marker, card)


def test_home_page_shows_available_units_per_warehouse(client):
    html = client.get("/").content.decode()
    assert _markers(html, "BP Monitor") == [
        ("Chennai", "10"),
        ("Bangalore", "10"),
        ("Mumbai", "10"),
        ("Delhi", "10"),
        ("Hyderabad", "10"),
    ]
    assert '<strong data-testid="total">50</strong> available' in html


def test_sold_out_products_carry_a_badge(client):
    html = client.get("/").content.decode()
    assert html.count('data-testid="sold-out"') == 3
    card = html.split('">Pro Resistance Band Set</a></h3>')[1].split("</article>")[0]
    assert 'data-testid="sold-out">Sold out' in card
    assert all(count == "0" for _, count in _markers(html, "Pro Resistance Band Set"))


@pytest.mark.parametrize(
    ("place", "label", "nearest"),
    [
        ("400001", "Mumbai, Maharashtra 400001", "Mumbai"),
        ("500001", "Hyderabad, Telangana 500001", "Hyderabad"),
        ("Pune", "Pune", "Mumbai"),
    ],
)
def test_deliver_to_lists_the_nearest_warehouse_first_and_is_remembered(
    client, place, label, nearest
):
    response = client.post("/deliver-to/", {"place": place})
    assert response.status_code == 302 and response["Location"] == "/"

    html = client.get("/").content.decode()

    assert f'data-testid="deliver-to">{label}</strong>' in html
    assert _markers(html, "BP Monitor")[0] == (nearest, "10")
    assert 'class="marker nearest"' in html


def test_deliver_to_the_browsers_coordinates(client):
    client.post("/deliver-to/", {"lat": "28.6", "lng": "77.2"})
    html = client.get("/").content.decode()
    assert 'data-testid="deliver-to">your location</strong>' in html
    assert _markers(html, "BP Monitor")[0][0] == "Delhi"


@pytest.mark.parametrize("data", [{"place": "999999"}, {"place": "Atlantis"}, {"place": ""}, {}])
def test_an_unknown_place_is_refused_with_a_message_and_nothing_remembered(client, data):
    response = client.post("/deliver-to/", data, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="message error"' in html
    assert 'data-testid="deliver-to"' not in html
    assert _markers(html, "BP Monitor")[0][0] == "Chennai"


def test_deliver_to_takes_only_post(client):
    assert client.get("/deliver-to/").status_code == 405


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

"""The landing page at /: the shop's live figures, its categories, featured and almost sold
out products, all counted from the database; old catalogue links still land on the catalogue."""

import re

import pytest
from django.test import override_settings

from inventory.models import Inventory, Product
from reservations.services import holds
from warehouses.models import Warehouse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded")]


def _stat(html: str, name: str) -> str:
    return re.search(rf'data-testid="stat-{name}">([^<]*)<', html).group(1)


def _section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1].split("</section>")[0]


def _names(html: str) -> list[str]:
    return re.findall(r'<h3 class="product-name"><a href="/products/\d+/">([^<]*)</a></h3>', html)


def test_the_figures_are_the_databases(client):
    html = client.get("/").content.decode()
    assert _stat(html, "products") == "53"
    assert _stat(html, "warehouses") == "5"
    assert _stat(html, "hold") == "10 min"
    assert _stat(html, "units") == "2,500"  # 50 products x 5 warehouses x 10 units


@override_settings(RESERVATION_TTL_SECONDS=900)
def test_the_figures_follow_the_stock_the_warehouses_and_the_hold_setting(client):
    row = Inventory.objects.filter(product__name="BP Monitor", warehouse__city="Delhi").get()
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=4)
    Warehouse.objects.filter(city="Chennai").update(active=False)
    Product.objects.filter(name="Yoga Mat").update(active=False)

    html = client.get("/").content.decode()

    assert _stat(html, "products") == "52"
    assert _stat(html, "warehouses") == "4"
    assert _stat(html, "hold") == "15 min"
    assert _stat(html, "units") == "1,956"  # 49 stocked products x 4 warehouses x 10, 4 held


def test_shop_by_category_links_each_category_with_its_count(client):
    html = client.get("/").content.decode()
    tiles = re.findall(
        r'<a href="/products/\?category=(\w+)" data-testid="category-tile">.*?'
        r'<span class="count">(\d+) products?</span>',
        html,
        re.S,
    )
    assert tiles == [
        ("Electronics", "11"),
        ("Fitness", "11"),
        ("Healthcare", "10"),
        ("Lifestyle", "10"),
        ("Skincare", "11"),
    ]


def test_featured_puts_the_most_held_product_first(client):
    row = Inventory.objects.filter(product__name="Yoga Mat").first()
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=2)

    names = _names(_section(client.get("/").content.decode(), "in-demand"))

    assert names == ["Yoga Mat", "Analog Watch", "Anti-Acne Gel", "BP Monitor"]


def test_almost_sold_out_lists_products_with_ten_units_or_fewer_fewest_first(client):
    html = client.get("/").content.decode()
    assert 'data-testid="almost-gone"' not in html  # 50 of each: nothing is nearly gone
    Inventory.objects.filter(product__name="Yoga Mat").update(total_stock=2)
    Inventory.objects.filter(product__name="BP Monitor").update(total_stock=1)

    section = _section(client.get("/").content.decode(), "almost-gone")

    assert _names(section) == ["BP Monitor", "Yoga Mat"]
    assert '<strong data-testid="total">5</strong> available' in section


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/?q=mat", "/products/?q=mat"),
        ("/?category=Fitness&q=", "/products/?category=Fitness"),
        ("/?q=&category=", "/products/"),
    ],
)
def test_an_old_catalogue_link_goes_to_the_catalogue(client, old, new):
    response = client.get(old)
    assert response.status_code == 302
    assert response["Location"] == new


def _nav_links(html: str) -> dict[str, str]:
    """The header's links by label, each with its opening tag."""
    header = html.split('<header class="site-header">')[1].split("</header>")[0]
    link = r'(<a href="[^"]*"[^>]*>)(?:(?!</a>).)*?<span class="nav-label">([^<]*)</span>'
    return {label: tag for tag, label in re.findall(link, header, re.S)}


def test_the_header_links_home_and_products_and_marks_the_current_one(client):
    home = _nav_links(client.get("/").content.decode())
    catalogue = _nav_links(client.get("/products/").content.decode())

    assert home["Home"] == '<a href="/" aria-current="page">'
    assert home["Products"].startswith('<a href="/products/"')
    assert "aria-current" not in home["Products"]
    assert catalogue["Products"] == '<a href="/products/" aria-current="page">'
    assert "aria-current" not in catalogue["Home"]

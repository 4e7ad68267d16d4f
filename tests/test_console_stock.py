"""The console's stock matrix: staff only, figures and highlights from the database, CSV."""

import csv
import io

import pytest
from django.test import Client

from reservations.services import holds
from tests.factories import InventoryFactory, ProductFactory, UserFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

PAGES = ["/admin/stock/", "/admin/stock/stock.csv"]


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True))
    return client


@pytest.fixture
def grid():
    """Two warehouses, three products: a plain cell, a low one, an empty one and a gap."""
    north, south = WarehouseFactory(city="Northton"), WarehouseFactory(city="Southby")
    chair = ProductFactory(name="Desk Chair", category="Furniture", sku="FUR-CHAIR")
    lamp = ProductFactory(name="Desk Lamp", category="Lighting", sku="LGT-LAMP")
    mat = ProductFactory(name="Yoga Mat", category="Fitness", sku="FIT-MAT")
    rows = {
        "chair-north": InventoryFactory(product=chair, warehouse=north, total_stock=20),
        "chair-south": InventoryFactory(
            product=chair, warehouse=south, total_stock=6, low_stock_threshold=5
        ),
        "lamp-north": InventoryFactory(product=lamp, warehouse=north, total_stock=2),
        "mat-south": InventoryFactory(product=mat, warehouse=south, total_stock=1),
    }
    holds.reserve(product_id=chair.pk, warehouse_id=south.pk, quantity=2)  # 4 left <= 5
    holds.reserve(product_id=mat.pk, warehouse_id=south.pk, quantity=1)  # 0 left
    return rows


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_the_console_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("path", PAGES)
def test_shoppers_are_refused(client, path):
    client.force_login(UserFactory())
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_the_matrix_answers_get_only(staff, path):
    assert staff.post(path).status_code == 405


def _cell(html: str, inventory_id: int) -> str:
    start = html.index(f'data-inventory="{inventory_id}"')
    return html[html.rindex("<td", 0, start) : html.index("</td>", start)]


def test_cells_show_total_reserved_and_available(staff, grid):
    response = staff.get("/admin/stock/")
    assert response.status_code == 200
    html = response.content.decode()
    cell = _cell(html, grid["chair-south"].pk)
    assert 'data-testid="available">4<' in cell
    assert 'data-testid="total">6<' in cell and 'data-testid="reserved">2<' in cell


def test_cells_show_their_other_states_when_they_have_any(staff, grid):
    row = InventoryFactory(total_stock=9, safety_stock=2, unsellable_stock=1, incoming_stock=4)

    html = staff.get("/admin/stock/").content.decode()

    cell = _cell(html, row.pk)
    assert 'data-testid="available">6<' in cell
    assert 'safety: never offered to shoppers">s</abbr>2<' in cell
    assert '">u</abbr>1<' in cell and '">i</abbr>4<' in cell
    assert 'data-testid="states"' not in _cell(html, grid["chair-north"].pk)


def test_each_warehouse_shows_its_available_units(staff, grid):
    html = staff.get("/admin/stock/").content.decode()
    chips = html[html.index('data-testid="warehouse-chips"') :]
    chips = chips[: chips.index("</ul>")]
    # Northton: 20 + 2 available; Southby: 4 + 0.
    assert 'Northton <span aria-hidden="true">·</span> <strong>22 units available</strong>' in chips
    assert 'Southby <span aria-hidden="true">·</span> <strong>4 units available</strong>' in chips


def test_low_and_empty_cells_are_highlighted(staff, grid, settings):
    settings.LOW_STOCK_THRESHOLD = 3
    html = staff.get("/admin/stock/").content.decode()
    assert 'class="cell low"' in _cell(html, grid["chair-south"].pk)  # 4 <= its own 5
    assert 'class="cell low"' in _cell(html, grid["lamp-north"].pk)  # 2 <= the setting's 3
    assert 'class="cell empty"' in _cell(html, grid["mat-south"].pk)
    assert 'class="cell"' in _cell(html, grid["chair-north"].pk)  # 20 > 3
    assert 'data-testid="low-count">2 low' in html
    assert 'data-testid="empty-count">1 empty' in html
    assert "Not stocked here" in html  # the lamp in the south, the mat in the north


def test_the_setting_decides_rows_without_their_own_threshold(staff, grid, settings):
    settings.LOW_STOCK_THRESHOLD = 1
    html = staff.get("/admin/stock/").content.decode()
    assert 'class="cell"' in _cell(html, grid["lamp-north"].pk)  # 2 > 1
    assert 'class="cell low"' in _cell(html, grid["chair-south"].pk)  # its own 5 still holds


def test_filters_narrow_the_products(staff, grid):
    by_category = staff.get("/admin/stock/", {"category": "lighting"}).content.decode()
    assert "Desk Lamp" in by_category and "Desk Chair" not in by_category
    by_search = staff.get("/admin/stock/", {"q": "fit-mat"}).content.decode()
    assert "Yoga Mat" in by_search and "Desk Lamp" not in by_search
    assert "No products match." in staff.get("/admin/stock/", {"q": "nothing"}).content.decode()


def test_htmx_polling_gets_only_the_matrix(staff, grid):
    response = staff.get("/admin/stock/", {"q": "desk"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="stock-matrix"')
    assert 'hx-trigger="every 5s"' in html and "q=desk" in html  # keeps polling the same filter
    assert "<html" not in html


def test_the_matrix_reads_in_a_fixed_number_of_queries(staff, grid, django_assert_max_num_queries):
    for _ in range(10):
        InventoryFactory()
    with django_assert_max_num_queries(8):  # session, user, warehouses, rows, categories
        assert staff.get("/admin/stock/").status_code == 200


def test_csv_export_lists_every_cell_with_its_status(staff, grid, settings):
    settings.LOW_STOCK_THRESHOLD = 3
    response = staff.get("/admin/stock/stock.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(lines) == 4
    south_chair = next(
        line for line in lines if line["sku"] == "FUR-CHAIR" and line["city"] == "Southby"
    )
    assert south_chair["total_stock"] == "6" and south_chair["reserved_stock"] == "2"
    assert south_chair["available"] == "4" and south_chair["alert_at"] == "5"
    assert south_chair["status"] == "low"
    assert {line["status"] for line in lines} == {"ok", "low", "empty"}


def test_csv_export_follows_the_filters(staff, grid):
    response = staff.get("/admin/stock/stock.csv", {"category": "Fitness"})
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [line["sku"] for line in lines] == ["FIT-MAT"]


def test_csv_export_defuses_formulas(staff):
    InventoryFactory(product=ProductFactory(name="=HYPERLINK(1)"))
    lines = list(csv.DictReader(io.StringIO(staff.get("/admin/stock/stock.csv").content.decode())))
    assert lines[0]["product"] == "'=HYPERLINK(1)"

"""The CSV import's preview of a large file: the verdict first, errors only by default when
there are errors, and the lines a page at a time (a 5,000-line file, checked for real)."""

import pytest

from inventory.models import Inventory, Product
from tests.factories import ProductFactory, UserFactory, WarehouseFactory
from tests.test_console_inventory import HTMX, check_all, upload

pytestmark = pytest.mark.django_db

LINES = 5_000
BAD = 12


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True))
    return client


@pytest.fixture
def big_file() -> str:
    """A 5,000-line stock CSV for 1,000 products in 5 warehouses; BAD lines name no product."""
    warehouses = [WarehouseFactory(code=f"W{n}") for n in range(5)]
    products = Product.objects.bulk_create(ProductFactory.build_batch(LINES // 5))
    Inventory.objects.bulk_create(
        Inventory(product=p, warehouse=w, total_stock=10) for p in products for w in warehouses
    )
    lines = ["sku,warehouse,total_stock"]
    lines += [f"{p.sku},{w.code},{11 + n % 3}" for n, p in enumerate(products) for w in warehouses]
    for n in range(BAD):  # spread through the file
        lines[1 + n * 400] = f"NO-SUCH-{n},W0,5"
    return "\n".join(lines) + "\n"


@pytest.fixture
def checked(staff, big_file) -> str:
    """The URL of the big file's import, every line checked."""
    return f"/admin/inventory/import/{check_all(staff, upload(staff, big_file))}/"


def _rows(html: str) -> int:
    return html.count('data-testid="preview-line"')


def test_the_verdict_comes_first_then_only_the_lines_to_fix(staff, checked):
    html = staff.get(checked).content.decode()
    verdict = html.index('data-testid="import-verdict"')
    assert verdict < html.index("<table")
    expected = f"{LINES - BAD} lines ok</strong>, <strong>{BAD} lines need fixing</strong>"
    assert expected in html
    assert "fix them in the file and upload it again" in html
    assert 'aria-current="page" data-testid="view-errors"' in html
    assert _rows(html) == BAD
    assert html.count('data-testid="line-error"') == BAD
    assert "Unknown sku &#x27;NO-SUCH-11&#x27;." in html
    assert 'data-testid="apply"' not in html


def test_lines_come_a_page_at_a_time_and_htmx_gets_only_the_import(staff, checked):
    first = staff.get(checked, {"show": "all"}).content.decode()
    assert _rows(first) == 50
    assert "Lines 1–50 of 5000 · page 1 of 100" in first
    assert 'href="?show=all&page=2"' in first
    last = staff.get(checked, {"show": "all", "page": 100}).content.decode()
    assert _rows(last) == 50 and "Lines 4951–5000 of 5000" in last
    response = staff.get(checked, {"show": "changes", "page": 2}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="import-job"')
    assert "Lines 51–100 of" in html
    assert "HX-Request" in response["Vary"]


def test_a_bad_view_or_page_falls_back_to_the_defaults(staff, checked):
    for query in [{"show": "bogus"}, {"page": "abc"}, {"page": "-4"}]:
        response = staff.get(checked, query)
        assert response.status_code == 200
        assert _rows(response.content.decode()) == BAD, query


def test_a_file_without_errors_shows_its_changes_first(staff):
    row = Inventory.objects.create(
        product=ProductFactory(sku="MAT"), warehouse=WarehouseFactory(code="NTH"), total_stock=3
    )
    text = f"sku,warehouse,total_stock\nMAT,NTH,{row.total_stock + 4}\n"
    html = staff.get(f"/admin/inventory/import/{check_all(staff, upload(staff, text))}/")
    html = html.content.decode()
    assert "1 line ok</strong>: check the changes below, then apply them." in html
    assert 'aria-current="page" data-testid="view-changes"' in html
    assert 'data-testid="apply"' in html

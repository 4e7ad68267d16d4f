"""Inventory management in the console: totals by compare-and-set, thresholds, products,
warehouses, the CSV import and the staff JSON API of stock rows."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from console.inventory import csv_import
from console.models import StockImportJob
from inventory.errors import StaleTotal, StockBelowReserved, StockChangesRefused
from inventory.models import Inventory, Product
from reservations.models import ReservationEvent, WaitlistEntry
from reservations.services import holds, waitlist
from reservations.services.stock import TotalChange, set_total, set_totals
from tests.factories import InventoryFactory, ProductFactory, UserFactory, WarehouseFactory
from tests.races import run_together, unexpected_errors
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def staff_user():
    return UserFactory(is_staff=True)


@pytest.fixture
def staff(client: Client, staff_user) -> Client:
    client.force_login(staff_user)
    return client


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    api = APIClient()
    api.force_login(staff_user)
    return api


@pytest.fixture
def row() -> Inventory:
    """A row of 10 units, 3 of them held by a shopper."""
    row = InventoryFactory(total_stock=10)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=3)
    row.refresh_from_db()
    return row


def adjustments() -> list[ReservationEvent]:
    return list(ReservationEvent.objects.filter(type="STOCK_ADJUSTED").order_by("id"))


def total_of(row: Inventory) -> int:
    row.refresh_from_db()
    return row.total_stock


# --- permissions -----------------------------------------------------------------------------


def _pages(row: Inventory) -> list[str]:
    return [
        "/admin/inventory/",
        "/admin/inventory/products/",
        "/admin/inventory/products/new/",
        f"/admin/inventory/products/{row.product_id}/",
        "/admin/inventory/warehouses/",
        "/admin/inventory/warehouses/new/",
        f"/admin/inventory/warehouses/{row.warehouse_id}/",
        "/admin/inventory/import/",
    ]


def _actions(row: Inventory) -> list[tuple[str, dict]]:
    return [
        (f"/admin/inventory/{row.pk}/total", {"total": 20, "expected_total": 10}),
        (f"/admin/inventory/{row.pk}/threshold", {"threshold": 4}),
        (
            f"/admin/inventory/{row.pk}/states",
            {"safety": 1, "unsellable": 0, "incoming": 0, "expected_version": row.version},
        ),
        ("/admin/inventory/products/new/", {"name": "X"}),
        (f"/admin/inventory/products/{row.product_id}/", {"name": "X"}),
        ("/admin/inventory/warehouses/new/", {"code": "X"}),
        (f"/admin/inventory/warehouses/{row.warehouse_id}/", {"code": "X"}),
        ("/admin/inventory/import/", {}),
        ("/admin/inventory/import/some-token/check", {}),
        ("/admin/inventory/import/some-token/apply", {}),
    ]


def test_anonymous_visitors_are_sent_to_the_login_and_change_nothing(client, row):
    for path in _pages(row) + ["/admin/inventory/import/some-token/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path
    for path, data in _actions(row):
        response = client.post(path, data)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path
    assert total_of(row) == 10 and row.low_stock_threshold is None
    assert adjustments() == []


def test_shoppers_are_refused_and_change_nothing(client, row):
    client.force_login(UserFactory())
    for path in _pages(row) + ["/admin/inventory/import/some-token/"]:
        assert client.get(path).status_code == 403, path
    for path, data in _actions(row):
        assert client.post(path, data).status_code == 403, path
    assert total_of(row) == 10 and adjustments() == []
    assert Product.objects.count() == 1 and Warehouse.objects.count() == 1


def test_staff_see_every_page(staff, row):
    for path in _pages(row):
        assert staff.get(path).status_code == 200, path


def test_the_api_answers_401_anonymous_and_403_shoppers(row):
    anonymous = APIClient()
    assert anonymous.get("/api/admin/inventory").status_code == 401
    body = {"inventoryId": str(row.pk), "totalStock": 20}
    assert anonymous.patch("/api/admin/inventory", body, format="json").status_code == 401
    shopper = APIClient()
    shopper.force_login(UserFactory())
    assert shopper.get("/api/admin/inventory").status_code == 403
    assert shopper.patch("/api/admin/inventory", body, format="json").status_code == 403
    assert total_of(row) == 10


def test_the_api_refuses_cross_site_and_non_json_writes(staff_api, row):
    body = {"inventoryId": str(row.pk), "totalStock": 20}
    cross = staff_api.patch(
        "/api/admin/inventory", body, format="json", HTTP_SEC_FETCH_SITE="cross-site"
    )
    assert cross.status_code == 403
    foreign = staff_api.patch(
        "/api/admin/inventory", body, format="json", HTTP_ORIGIN="https://evil.example"
    )
    assert foreign.status_code == 403
    form = staff_api.patch("/api/admin/inventory", "totalStock=20", content_type="text/plain")
    assert form.status_code == 403
    assert total_of(row) == 10 and adjustments() == []


# --- setting a total: the service -------------------------------------------------------------


def test_setting_a_total_writes_it_and_one_event(row, staff_user):
    changed = set_total(
        inventory_id=row.pk, total=15, expected_total=10, reason="delivery", actor="user:1"
    )
    assert (changed.total_stock, changed.reserved_stock) == (15, 3)
    assert total_of(row) == 15
    (event,) = adjustments()
    assert event.quantity == 5 and event.actor == "user:1"
    assert event.payload == {"before": 10, "after": 15, "note": "delivery"}
    assert (event.product_id, event.warehouse_id) == (row.product_id, row.warehouse_id)


def test_the_second_of_two_editors_gets_409_with_the_current_total(row):
    set_total(inventory_id=row.pk, total=12, expected_total=10, actor="user:1")  # first editor
    with pytest.raises(StaleTotal) as refused:
        set_total(inventory_id=row.pk, total=8, expected_total=10, actor="user:2")  # saw 10
    assert refused.value.status == 409
    assert refused.value.extra["currentTotalStock"] == 12
    assert "from 10 to 12" in refused.value.detail
    assert total_of(row) == 12
    assert len(adjustments()) == 1


@pytest.mark.django_db(transaction=True)
def test_two_editors_at_once_one_wins_and_the_other_gets_409():
    row = InventoryFactory(total_stock=10)
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def edit(total: int) -> None:
        try:
            barrier.wait()
            set_total(inventory_id=row.pk, total=total, expected_total=10, actor=f"editor {total}")
            outcomes[total] = "saved"
        except StaleTotal as refused:
            outcomes[total] = refused.extra["currentTotalStock"]
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(total,)) for total in (14, 6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winner = next(total for total, outcome in outcomes.items() if outcome == "saved")
    loser = 20 - winner
    assert outcomes[loser] == winner  # the 409 carries the winner's figure
    assert total_of(row) == winner
    assert [e.payload["after"] for e in adjustments()] == [winner]


def test_a_total_below_the_held_units_is_refused(row):
    with pytest.raises(StockBelowReserved) as refused:
        set_total(inventory_id=row.pk, total=2, expected_total=10, actor="t")
    assert "cannot go below 3" in refused.value.detail
    assert total_of(row) == 10 and adjustments() == []


def test_exactly_the_held_units_is_allowed(row):
    set_total(inventory_id=row.pk, total=3, expected_total=10, actor="t")
    row.refresh_from_db()
    assert (row.total_stock, row.available) == (3, 0)


def test_an_unchanged_total_writes_nothing(row):
    set_total(inventory_id=row.pk, total=10, expected_total=10, actor="t")
    assert adjustments() == []


def test_many_totals_are_set_all_or_nothing(row):
    other = InventoryFactory(total_stock=5)
    with pytest.raises(StockChangesRefused) as refused:
        set_totals(
            changes=[
                TotalChange(other.product_id, other.warehouse_id, total=9, expected_total=5),
                TotalChange(row.product_id, row.warehouse_id, total=1, expected_total=10),
            ],
            actor="t",
        )
    (problem,) = refused.value.extra["problems"]
    assert problem["index"] == 1 and problem["code"] == "STOCK_BELOW_RESERVED"
    assert total_of(other) == 5 and total_of(row) == 10 and adjustments() == []


@pytest.mark.django_db(transaction=True)
def test_raising_a_total_promotes_the_waitlist():
    row = InventoryFactory(total_stock=1)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    joined = waitlist.join_waitlist(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1, email="a@b.co"
    )
    set_total(inventory_id=row.pk, total=2, expected_total=1, actor="t")
    assert WaitlistEntry.objects.get(pk=joined.entry.pk).status == WaitlistEntry.Status.PROMOTED
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (2, 2)


@pytest.mark.django_db(transaction=True)
def test_lowering_a_total_promotes_nobody():
    row = InventoryFactory(total_stock=3)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=3)
    joined = waitlist.join_waitlist(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1, email="a@b.co"
    )
    set_total(inventory_id=row.pk, total=3, expected_total=3, actor="t")
    assert WaitlistEntry.objects.get(pk=joined.entry.pk).status == WaitlistEntry.Status.WAITING


# --- setting a total: the page --------------------------------------------------------------


def test_the_page_lists_rows_with_what_the_editor_saw(staff, row):
    html = staff.get("/admin/inventory/").content.decode()
    assert f'id="row-{row.pk}"' in html
    assert 'name="expected_total" value="10"' in html


def test_a_next_field_is_followed_as_a_url_of_this_site_never_reversed_as_a_name(staff, row):
    """A bare word such as "x" was taken for a URL name to reverse: a 500."""
    for target, back_to in [("x", "x"), ("https://elsewhere.example/", "/admin/inventory/")]:
        data = {"threshold": 4, "next": target}
        response = staff.post(f"/admin/inventory/{row.pk}/threshold", data)
        assert (response.status_code, response["Location"]) == (302, back_to), target


def test_the_page_sets_a_total_and_answers_htmx_with_the_row(staff, row, staff_user):
    response = staff.post(
        f"/admin/inventory/{row.pk}/total",
        {"total": 14, "expected_total": 10, "reason": "found a box"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="row-{row.pk}"')
    assert "Total 10 → 14." in html and 'name="expected_total" value="14"' in html
    assert total_of(row) == 14
    (event,) = adjustments()
    assert event.actor == f"user:{staff_user.pk}" and event.payload["note"] == "found a box"


def test_the_page_sets_a_rows_states_at_the_version_the_editor_saw(staff, row, staff_user):
    states = {"safety": 2, "unsellable": 1, "incoming": 6, "reason": "cycle count"}

    saved = staff.post(
        f"/admin/inventory/{row.pk}/states", {**states, "expected_version": 2}, **HTMX
    )
    stale = staff.post(
        f"/admin/inventory/{row.pk}/states", {**states, "safety": 0, "expected_version": 2}, **HTMX
    )

    assert saved.status_code == 200
    assert "Saved: 2 safety, 1 unsellable, 6 incoming." in saved.content.decode()
    assert 'name="expected_version" value="3"' in saved.content.decode()
    assert stale.status_code == 409 and "version 3, not 2" in stale.content.decode()
    row.refresh_from_db()
    assert (row.safety_stock, row.unsellable_stock, row.incoming_stock, row.available) == (
        2, 1, 6, 4,
    )  # fmt: skip
    entry = row.ledger.get(sequence=3)
    assert (entry.reason, entry.actor, entry.reference) == (
        "COUNTED", f"user:{staff_user.pk}", "cycle count",
    )  # fmt: skip


def test_the_page_refuses_states_that_leave_less_than_the_held_units(staff, row):
    response = staff.post(
        f"/admin/inventory/{row.pk}/states",
        {"safety": 8, "unsellable": 0, "incoming": 0, "expected_version": 2},
        **HTMX,
    )
    assert response.status_code == 409
    assert "Available would go below 0" in response.content.decode()
    row.refresh_from_db()
    assert row.safety_stock == 0


def test_the_page_answers_a_stale_total_with_409_and_the_current_figure(staff, row):
    set_total(inventory_id=row.pk, total=12, expected_total=10, actor="other editor")
    response = staff.post(
        f"/admin/inventory/{row.pk}/total", {"total": 8, "expected_total": 10}, **HTMX
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed from 10 to 12" in html
    assert 'name="expected_total" value="12"' in html  # the editor now sees the current total
    assert total_of(row) == 12 and len(adjustments()) == 1


def test_the_page_refuses_a_total_below_the_held_units(staff, row):
    response = staff.post(
        f"/admin/inventory/{row.pk}/total", {"total": 1, "expected_total": 10}, **HTMX
    )
    assert response.status_code == 409
    assert "Shoppers hold 3 units" in response.content.decode()
    assert total_of(row) == 10 and adjustments() == []


@pytest.mark.parametrize(
    "data",
    [
        {"total": "", "expected_total": 10},
        {"total": "ten", "expected_total": 10},
        {"total": -1, "expected_total": 10},
        {"total": 5},
        {"total": 10_000_001, "expected_total": 10},
    ],
)
def test_the_page_refuses_bad_input_with_400(staff, row, data):
    response = staff.post(f"/admin/inventory/{row.pk}/total", data, **HTMX)
    assert response.status_code == 400
    assert total_of(row) == 10 and adjustments() == []


def test_an_unknown_row_answers_404(staff):
    response = staff.post(
        "/admin/inventory/999999/total", {"total": 5, "expected_total": 1}, **HTMX
    )
    assert response.status_code == 404
    assert adjustments() == []


def test_without_htmx_a_saved_total_redirects_back_with_a_message(staff, row):
    response = staff.post(
        f"/admin/inventory/{row.pk}/total",
        {"total": 11, "expected_total": 10, "next": "/admin/inventory/?q=x"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/inventory/?q=x"
    assert total_of(row) == 11


def test_without_htmx_a_refusal_shows_the_page_with_its_status(staff, row):
    response = staff.post(
        f"/admin/inventory/{row.pk}/total",
        {"total": 1, "expected_total": 10, "next": "https://evil.example/"},
    )
    assert response.status_code == 409
    assert "Shoppers hold 3 units" in response.content.decode()
    assert total_of(row) == 10


def test_the_page_filters_rows(staff, row, settings):
    settings.LOW_STOCK_THRESHOLD = 3
    low = InventoryFactory(total_stock=2, product=ProductFactory(name="Scarce Lamp"))
    html = staff.get("/admin/inventory/", {"low": "on"}).content.decode()
    assert f'id="row-{low.pk}"' in html and f'id="row-{row.pk}"' not in html
    html = staff.get("/admin/inventory/", {"q": "scarce"}, **HTMX).content.decode()
    assert html.lstrip().startswith('<section id="inventory-rows"')
    assert f'id="row-{low.pk}"' in html and f'id="row-{row.pk}"' not in html


# --- thresholds ------------------------------------------------------------------------------


def test_staff_set_and_clear_a_rows_threshold(staff, row, settings):
    settings.LOW_STOCK_THRESHOLD = 3
    response = staff.post(f"/admin/inventory/{row.pk}/threshold", {"threshold": 7}, **HTMX)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.low_stock_threshold == 7 and row.is_low  # 7 available <= 7
    assert 'class="low"' in response.content.decode()
    staff.post(f"/admin/inventory/{row.pk}/threshold", {"threshold": ""}, **HTMX)
    row.refresh_from_db()
    assert row.low_stock_threshold is None and row.alert_threshold == 3


@pytest.mark.parametrize("value", ["-1", "many", "2.5"])
def test_a_bad_threshold_is_refused(staff, row, value):
    response = staff.post(f"/admin/inventory/{row.pk}/threshold", {"threshold": value}, **HTMX)
    assert response.status_code == 400
    row.refresh_from_db()
    assert row.low_stock_threshold is None


def test_a_threshold_for_an_unknown_row_answers_404(staff):
    assert (
        staff.post("/admin/inventory/999999/threshold", {"threshold": 1}, **HTMX).status_code == 404
    )


# --- products and warehouses ----------------------------------------------------------------

PRODUCT = {
    "sku": "fit-new-band",
    "name": "Resistance Band",
    "brand": "Acme",
    "category": "Fitness",
    "price": "499.00",
    "description": "Stretchy.",
    "size": "1.2 m",
    "colors": "Red, Blue , ",
    "box_contents": "A band.",
    "active": "on",
}
WAREHOUSE = {
    "code": "pnq",
    "name": "Pune Warehouse",
    "location": "Pune, Maharashtra",
    "city": "Pune",
    "lat": "18.5204",
    "lng": "73.8567",
    "active": "on",
}


def test_adding_a_product_stocks_it_at_zero_in_every_warehouse(staff):
    first, second = WarehouseFactory(), WarehouseFactory(active=False)
    response = staff.post("/admin/inventory/products/new/", PRODUCT)
    assert response.status_code == 302 and response["Location"] == "/admin/inventory/products/"
    product = Product.objects.get(sku="FIT-NEW-BAND")
    assert product.colors == ["Red", "Blue"] and product.active
    rows = Inventory.objects.filter(product=product)
    assert sorted(rows.values_list("warehouse_id", flat=True)) == [first.pk, second.pk]
    assert {(r.total_stock, r.reserved_stock) for r in rows} == {(0, 0)}


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"price": "-1"},
        {"price": "cheap"},
        {"sku": ""},
        {"sku": "TAKEN"},
    ],
)
def test_a_bad_product_is_refused_and_nothing_is_written(staff, change):
    ProductFactory(sku="TAKEN")
    response = staff.post("/admin/inventory/products/new/", {**PRODUCT, **change})
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert Product.objects.count() == 1 and Inventory.objects.count() == 0


def test_editing_a_product_changes_its_details_only(staff, row):
    response = staff.post(f"/admin/inventory/products/{row.product_id}/", {**PRODUCT, "active": ""})
    assert response.status_code == 302
    product = Product.objects.get(pk=row.product_id)
    assert product.name == "Resistance Band" and not product.active
    assert total_of(row) == 10 and Inventory.objects.count() == 1


def test_editing_an_unknown_product_answers_404(staff):
    assert staff.get("/admin/inventory/products/999999/").status_code == 404


def test_adding_a_warehouse_opens_an_empty_row_for_every_product(staff):
    products = [ProductFactory(), ProductFactory(active=False)]
    response = staff.post("/admin/inventory/warehouses/new/", WAREHOUSE)
    assert response.status_code == 302
    warehouse = Warehouse.objects.get(code="PNQ")
    assert (warehouse.lat, warehouse.lng) == (18.5204, 73.8567)
    assert Inventory.objects.filter(warehouse=warehouse).count() == len(products)


@pytest.mark.parametrize(
    "change",
    [
        {"lat": "95"},
        {"lng": "-181"},
        {"lat": "north"},
        {"code": ""},
        {"city": ""},
        {"code": "TAKEN"},
    ],
)
def test_a_bad_warehouse_is_refused_and_nothing_is_written(staff, change):
    WarehouseFactory(code="TAKEN")
    response = staff.post("/admin/inventory/warehouses/new/", {**WAREHOUSE, **change})
    assert response.status_code == 400
    assert Warehouse.objects.count() == 1


def test_a_warehouse_can_be_deactivated(staff, row):
    warehouse = row.warehouse
    data = {**WAREHOUSE, "code": warehouse.code, "active": ""}
    assert staff.post(f"/admin/inventory/warehouses/{warehouse.pk}/", data).status_code == 302
    warehouse.refresh_from_db()
    assert not warehouse.active and warehouse.city == "Pune"


# --- the CSV import --------------------------------------------------------------------------


@pytest.fixture
def shelf():
    """Two warehouses and two products, stocked everywhere with 10 units."""
    north, south = WarehouseFactory(code="NTH"), WarehouseFactory(code="STH")
    chair, lamp = ProductFactory(sku="CHAIR"), ProductFactory(sku="LAMP")
    return {
        (p.sku, w.code): InventoryFactory(product=p, warehouse=w, total_stock=10)
        for p in (chair, lamp)
        for w in (north, south)
    }


def upload(client: Client, text: str, name: str = "stock.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post("/admin/inventory/import/", {"file": file})


def check_all(client: Client, response) -> str:
    """Follow an upload's redirect and check every chunk; return the token."""
    assert response.status_code == 302, response.content
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    for _ in range(1000):
        html = client.post(f"/admin/inventory/import/{token}/check", **HTMX).content.decode()
        if 'data-testid="import-progress"' not in html:
            return token
    raise AssertionError("the import never finished checking")


def test_a_good_file_previews_every_change_then_applies_them(staff, shelf, staff_user):
    text = "sku,warehouse,total_stock\nCHAIR,NTH,15\nchair,sth,10\nLAMP,NTH,0\n"
    token = check_all(staff, upload(staff, text))
    page = staff.get(f"/admin/inventory/import/{token}/?show=all").content.decode()
    assert 'data-testid="change-count">2 changes' in page
    assert 'data-testid="error-count">0 errors' in page
    assert "no change" in page
    assert total_of(shelf[("CHAIR", "NTH")]) == 10  # a preview writes nothing

    response = staff.post(f"/admin/inventory/import/{token}/apply", {"reason": "count"}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/admin/inventory/"
    assert total_of(shelf[("CHAIR", "NTH")]) == 15
    assert total_of(shelf[("CHAIR", "STH")]) == 10
    assert total_of(shelf[("LAMP", "NTH")]) == 0
    events = adjustments()
    assert [(e.quantity, e.payload["note"]) for e in events] == [(5, "count"), (-10, "count")]
    assert {e.actor for e in events} == {f"user:{staff_user.pk}"}
    # The job is gone once applied: it cannot be applied twice.
    assert staff.post(f"/admin/inventory/import/{token}/apply").status_code == 404


def test_bad_lines_are_listed_and_nothing_can_be_applied(staff, shelf):
    holds.reserve(
        product_id=shelf[("LAMP", "STH")].product_id,
        warehouse_id=shelf[("LAMP", "STH")].warehouse_id,
        quantity=4,
    )
    ProductFactory(sku="DESK")  # known, but stocked nowhere
    text = (
        "sku,warehouse,total_stock\n"
        "CHAIR,NTH,12\n"
        "GHOST,NTH,5\n"
        "CHAIR,XXX,5\n"
        "CHAIR,STH,lots\n"
        "LAMP,NTH,-2\n"
        "LAMP,STH,3\n"
        "CHAIR,NTH,13\n"
        "DESK,NTH,1\n"
        ",NTH,1\n"
    )
    token = check_all(staff, upload(staff, text))
    page = staff.get(f"/admin/inventory/import/{token}/").content.decode()
    assert 'data-testid="error-count">8 errors' in page
    for message in [
        "Unknown sku &#x27;GHOST&#x27;",
        "Unknown warehouse &#x27;XXX&#x27;",
        "The total &#x27;lots&#x27; is not a whole number",
        "The total &#x27;-2&#x27; is not a whole number",
        "Shoppers hold 4 units: the total cannot go below 4.",
        "Repeats line 2",
        "DESK is not stocked in NTH.",
        "The sku is missing.",
    ]:
        assert message in page, message
    assert 'data-testid="apply"' not in page
    response = staff.post(f"/admin/inventory/import/{token}/apply", **HTMX)
    assert response.status_code == 409
    assert total_of(shelf[("CHAIR", "NTH")]) == 10 and adjustments() == []


def test_apply_writes_nothing_if_stock_changed_since_the_preview(staff, shelf):
    text = "sku,warehouse,total_stock\nCHAIR,NTH,15\nLAMP,STH,20\n"
    token = check_all(staff, upload(staff, text))
    lamp = shelf[("LAMP", "STH")]
    set_total(inventory_id=lamp.pk, total=11, expected_total=10, actor="someone else")

    response = staff.post(f"/admin/inventory/import/{token}/apply", **HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed from 10 to 11" in html and "so nothing was written" in html
    assert total_of(shelf[("CHAIR", "NTH")]) == 10  # the good line was not applied either
    assert total_of(lamp) == 11 and len(adjustments()) == 1


def test_a_large_file_is_checked_in_chunks_with_progress(staff, shelf):
    lines = ["sku,warehouse,total_stock"] + ["CHAIR,NTH,10"] * (csv_import.CHUNK + 5)
    response = upload(staff, "\n".join(lines))
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    page = staff.get(f"/admin/inventory/import/{token}/").content.decode()
    assert f'value="0" max="{csv_import.CHUNK + 5}"' in page
    first = staff.post(f"/admin/inventory/import/{token}/check", **HTMX).content.decode()
    assert f'value="{csv_import.CHUNK}" max="{csv_import.CHUNK + 5}"' in first
    assert 'hx-trigger="load' in first  # and asks for the next chunk itself
    second = staff.post(f"/admin/inventory/import/{token}/check", **HTMX).content.decode()
    assert "import-progress" not in second
    assert f'data-testid="error-count">{csv_import.CHUNK + 4} errors' in second  # repeats


def test_without_javascript_checking_redirects_back_to_the_job(staff, shelf):
    response = upload(staff, "sku,warehouse,total_stock\nCHAIR,NTH,1\n")
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    checked = staff.post(f"/admin/inventory/import/{token}/check")
    assert checked.status_code == 302 and checked["Location"] == response["Location"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("sku,total_stock\nCHAIR,1\n", "no warehouse column"),
        ("sku,warehouse,total_stock\n", "no lines"),
    ],
)
def test_an_unreadable_file_is_refused(staff, shelf, text, message):
    response = upload(staff, text)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_file_that_is_not_utf8_is_refused(staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("s.csv", b"sku,warehouse,total_stock\n\xff\xfe,1,2\n")
    response = staff.post("/admin/inventory/import/", {"file": file})
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()


def test_another_staff_members_import_is_not_found(staff, shelf, client):
    response = upload(staff, "sku,warehouse,total_stock\nCHAIR,NTH,1\n")
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    other = Client()
    other.force_login(UserFactory(is_staff=True))
    assert other.get(f"/admin/inventory/import/{token}/").status_code == 404
    assert other.post(f"/admin/inventory/import/{token}/apply").status_code == 404


def _empty_the_cache() -> None:
    # As conftest's empty_cache: on a shared Redis, only this run's prefixed keys.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


def test_an_import_lives_in_the_database_not_in_the_cache(staff, shelf):
    # Each web process's local-memory cache is its own: a cached job 404s on another worker.
    response = upload(staff, "sku,warehouse,total_stock\nCHAIR,NTH,15\n")
    _empty_the_cache()
    token = check_all(staff, response)
    _empty_the_cache()
    response = staff.post(f"/admin/inventory/import/{token}/apply", **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/admin/inventory/"
    assert total_of(shelf[("CHAIR", "NTH")]) == 15
    assert not StockImportJob.objects.exists()


def test_an_import_older_than_an_hour_answers_404_and_applies_nothing(staff, shelf):
    uploaded = timezone.now()
    with time_machine.travel(uploaded, tick=False):
        token = check_all(staff, upload(staff, "sku,warehouse,total_stock\nCHAIR,NTH,15\n"))
    job_page = f"/admin/inventory/import/{token}/"
    just_in_time = uploaded + timedelta(seconds=csv_import.KEEP_SECONDS - 1)
    with time_machine.travel(just_in_time, tick=False):
        assert staff.get(job_page).status_code == 200
    with time_machine.travel(uploaded + timedelta(seconds=csv_import.KEEP_SECONDS + 1), tick=False):
        assert staff.get(job_page).status_code == 404
        assert staff.post(f"{job_page}check", **HTMX).status_code == 404
        assert staff.post(f"{job_page}apply", **HTMX).status_code == 404
    assert total_of(shelf[("CHAIR", "NTH")]) == 10 and adjustments() == []


def test_a_new_upload_deletes_the_expired_imports(staff, shelf):
    uploaded = timezone.now()
    with time_machine.travel(uploaded, tick=False):
        upload(staff, "sku,warehouse,total_stock\nCHAIR,NTH,15\n")
        other = Client()
        other.force_login(UserFactory(is_staff=True))
        upload(other, "sku,warehouse,total_stock\nLAMP,NTH,15\n")
    with time_machine.travel(uploaded + timedelta(seconds=60), tick=False):
        recent = upload(staff, "sku,warehouse,total_stock\nLAMP,STH,15\n")
    with time_machine.travel(uploaded + timedelta(seconds=csv_import.KEEP_SECONDS + 1), tick=False):
        latest = upload(staff, "sku,warehouse,total_stock\nCHAIR,STH,15\n")
    assert sorted(StockImportJob.objects.values_list("token", flat=True)) == sorted(
        response["Location"].rstrip("/").rsplit("/", 1)[-1] for response in (recent, latest)
    )


@pytest.mark.django_db(transaction=True)
def test_two_applies_of_one_import_at_once_apply_it_once_and_the_other_gets_404(
    staff, shelf, staff_user
):
    text = "sku,warehouse,total_stock\nCHAIR,NTH,15\nLAMP,STH,4\n"
    token = check_all(staff, upload(staff, text))
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(staff_user)

    def apply(index: int) -> int:
        url = f"/admin/inventory/import/{token}/apply"
        return clients[index].post(url, **HTMX).status_code

    outcomes = run_together(2, apply)

    assert unexpected_errors(outcomes) == []
    assert sorted(outcome.value for outcome in outcomes) == [200, 404]
    assert total_of(shelf[("CHAIR", "NTH")]) == 15 and total_of(shelf[("LAMP", "STH")]) == 4
    assert len(adjustments()) == 2
    assert not StockImportJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_of_two_applies_of_one_loaded_import_the_second_finds_it_gone(staff, shelf, staff_user):
    token = check_all(staff, upload(staff, "sku,warehouse,total_stock\nCHAIR,NTH,15\n"))
    job = csv_import.load(token, owner_id=staff_user.pk)  # both appliers got past loading

    def apply(index: int) -> int:
        return csv_import.apply(job, actor=f"applier {index}", reason="count")

    outcomes = run_together(2, apply)

    assert unexpected_errors(outcomes, csv_import.ImportJobGone) == []
    assert [outcome.value for outcome in outcomes if outcome.error is None] == [1]
    assert [type(outcome.error) for outcome in outcomes if outcome.error] == [
        csv_import.ImportJobGone
    ]
    assert total_of(shelf[("CHAIR", "NTH")]) == 15 and len(adjustments()) == 1
    assert not StockImportJob.objects.exists()


def test_the_matrix_csv_export_can_be_imported_back(staff, shelf):
    exported = staff.get("/admin/stock/stock.csv").content.decode()
    token = check_all(staff, upload(staff, exported))
    page = staff.get(f"/admin/inventory/import/{token}/").content.decode()
    assert 'data-testid="error-count">0 errors' in page
    assert "Nothing to change" in page


# --- the staff JSON API ----------------------------------------------------------------------


def test_the_api_lists_rows_with_string_ids(staff_api, row):
    response = staff_api.get("/api/admin/inventory")
    assert response.status_code == 200
    (body,) = response.json()
    assert body == {
        "id": str(row.pk),
        "productId": str(row.product_id),
        "productName": row.product.name,
        "sku": row.product.sku,
        "category": row.product.category,
        "warehouseId": str(row.warehouse_id),
        "warehouseName": row.warehouse.name,
        "warehouseCode": row.warehouse.code,
        "city": row.warehouse.city,
        "totalStock": 10,
        "reservedStock": 3,
        "safetyStock": 0,
        "unsellableStock": 0,
        "incomingStock": 0,
        "available": 7,
        "alertAt": 3,
        "isLow": False,
    }


def test_the_api_sets_a_total_and_answers_the_row(staff_api, row):
    body = {"inventoryId": str(row.pk), "totalStock": 25, "expectedTotalStock": 10, "reason": "x"}
    response = staff_api.patch("/api/admin/inventory", body, format="json")
    assert response.status_code == 200
    assert response.json()["totalStock"] == 25 and response.json()["available"] == 22
    assert total_of(row) == 25 and adjustments()[0].payload["note"] == "x"


def test_the_api_sets_a_total_without_an_expected_figure(staff_api, row):
    body = {"inventoryId": row.pk, "totalStock": 4}
    assert staff_api.patch("/api/admin/inventory", body, format="json").status_code == 200
    assert total_of(row) == 4


def test_the_api_answers_a_stale_total_with_409_and_the_current_figure(staff_api, row):
    set_total(inventory_id=row.pk, total=12, expected_total=10, actor="first editor")
    body = {"inventoryId": str(row.pk), "totalStock": 8, "expectedTotalStock": 10}
    response = staff_api.patch("/api/admin/inventory", body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "STALE_TOTAL"
    assert response.json()["currentTotalStock"] == 12
    assert total_of(row) == 12 and len(adjustments()) == 1


def test_the_api_refuses_a_total_below_the_held_units(staff_api, row):
    body = {"inventoryId": str(row.pk), "totalStock": 2}
    response = staff_api.patch("/api/admin/inventory", body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "STOCK_BELOW_RESERVED"
    assert "cannot go below 3" in response.json()["error"]
    assert total_of(row) == 10 and adjustments() == []


def test_the_api_answers_404_for_an_unknown_row(staff_api):
    body = {"inventoryId": "999999", "totalStock": 2}
    response = staff_api.patch("/api/admin/inventory", body, format="json")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "body",
    [
        {"totalStock": 5},
        {"inventoryId": "1"},
        {"inventoryId": "abc", "totalStock": 5},
        {"inventoryId": "1", "totalStock": "5"},
        {"inventoryId": "1", "totalStock": -1},
        {"inventoryId": "1", "totalStock": 5.5},
        {"inventoryId": "1", "totalStock": 5, "expectedTotalStock": "5"},
        {"inventoryId": "1", "totalStock": 5, "colour": "red"},
        [],
    ],
)
def test_the_api_refuses_bad_input_with_400(staff_api, row, body):
    if isinstance(body, dict) and body.get("inventoryId") == "1":
        body = {**body, "inventoryId": str(row.pk)}
    response = staff_api.patch("/api/admin/inventory", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert total_of(row) == 10 and adjustments() == []

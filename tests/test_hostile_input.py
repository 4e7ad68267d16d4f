"""Markup, quotes, SQL fragments and control characters are data: escaped, harmless, or refused.

Every field and search term of the API, the storefront and the console gets each payload.
The API answers JSON (4xx where the input is refused) and never 5xx; a page renders the text
escaped (the raw markup never appears); where the input is refused nothing is written; and
text that is accepted (a product's name, a stock adjustment's reason) comes back out escaped
on every page that shows it.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from idempotency.models import IdempotencyKey
from inventory.models import Inventory, Product
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from tests.factories import InventoryFactory, UserFactory
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('stockd-xss')</script>"
ATTRIBUTE = '"\'><img src=x onerror=alert("stockd-xss")>'
SQL = "1'; DROP TABLE reservations_reservation; --"
SQL_OR = "' OR '1'='1"
CONTROL = "a\x00b\x01\x08\x1b[31m\x7f\u202e\ufeffz"
NEWLINES = "line\r\nSet-Cookie: stolen=1"
TEMPLATE = "{{ 7|add:7 }}{% debug %}${7*7}"
PAYLOADS = [SCRIPT, ATTRIBUTE, SQL, SQL_OR, CONTROL, NEWLINES, TEMPLATE]
IDS = ["script", "attribute", "sql", "sql-or", "control", "newlines", "template"]
MARKUP = [SCRIPT, ATTRIBUTE]
# Pages cost more to render than JSON: they get the markup, one SQL and the control characters.
PAGE_PAYLOADS = [SCRIPT, ATTRIBUTE, SQL, CONTROL]
PAGE_IDS = ["script", "attribute", "sql", "control"]
JSON = "application/json"


def snapshot() -> dict:
    """Every row an input could write, as plain values."""
    models = [Reservation, ReservationEvent, WaitlistEntry, Inventory, Product, Warehouse]
    state = {model.__name__: sorted(map(repr, model.objects.values())) for model in models}
    state["keys"] = IdempotencyKey.objects.count()
    state["users"] = sorted(map(repr, get_user_model().objects.values("id", "email")))
    return state


def assert_json_refusal(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith(JSON)
    body = response.json()
    assert body["code"] and body["error"]


def assert_page_escapes(response, payload: str) -> None:
    """The page rendered (no 5xx) and holds no raw markup of the payload."""
    assert response.status_code < 500, response.status_code
    assert not response["Content-Type"].startswith("text/csv"), "CSV is not HTML: see below"
    page = response.content.decode()
    if payload in MARKUP:
        assert payload not in page, "raw markup in the page"
        assert "<img src=x onerror" not in page, "a live tag in the page"
        assert "<script>alert(" not in page, "a live script in the page"


@pytest.fixture
def stock() -> Inventory:
    return InventoryFactory(total_stock=5)


@pytest.fixture
def sold_out() -> Inventory:
    return InventoryFactory(total_stock=0)


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, password=None))
    return client


# --- the API -----------------------------------------------------------------------------------


def _reserve_body(stock: Inventory) -> dict:
    return {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 1}


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("field", ["productId", "warehouseId", "quantity", "city", "lat", "lng"])
def test_a_hostile_reserve_field_is_a_json_400_that_holds_nothing(api, stock, field, payload):
    body = {**_reserve_body(stock), field: payload}
    if field == "city":  # a place to route from: only without a warehouse
        del body["warehouseId"]
    before = snapshot()

    response = api.post("/api/reservations", json.dumps(body), content_type=JSON)

    assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("field", ["productId", "warehouseId", "quantity", "unknown<b>"])
def test_a_hostile_cart_line_is_a_json_400_that_holds_nothing(api, stock, field, payload):
    line = {**_reserve_body(stock), field: payload}
    before = snapshot()

    response = api.post("/api/reservations/batch", json.dumps({"items": [line]}), content_type=JSON)

    assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("field", ["productId", "warehouseId", "quantity", "email"])
def test_a_hostile_waitlist_field_is_a_json_400_that_writes_nothing(api, sold_out, field, payload):
    body = {
        "productId": sold_out.product_id,
        "warehouseId": sold_out.warehouse_id,
        "quantity": 1,
        "email": "ann@example.com",
        field: payload,
    }
    before = snapshot()

    response = api.post("/api/waitlist", json.dumps(body), content_type=JSON)

    assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_a_hostile_email_with_a_valid_address_around_it_is_refused(api, sold_out, payload):
    body = {
        "productId": sold_out.product_id,
        "warehouseId": sold_out.warehouse_id,
        "quantity": 1,
        "email": f"ann{payload}@example.com",
    }
    before = snapshot()

    response = api.post("/api/waitlist", json.dumps(body), content_type=JSON)

    assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("field", ["pincode", "productId"])
def test_a_hostile_delivery_check_is_a_json_4xx(api, stock, field, payload):
    body = {"pincode": "600032", "productId": stock.product_id, field: payload}

    response = api.post("/api/detect-warehouse", json.dumps(body), content_type=JSON)

    assert_json_refusal(response)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("param", ["q", "category", "limit", "offset"])
def test_a_hostile_catalogue_search_is_json_and_harmless(api, stock, param, payload):
    before = snapshot()

    response = api.get("/api/products", {param: payload})

    assert response.status_code < 500
    assert response["Content-Type"].startswith(JSON)
    if response.status_code == 200:
        assert param in ("q", "category")
        assert response.json() == []  # no product matches, and the query ran as a value
    else:
        assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize(
    "path",
    [
        "/api/products/{}",
        "/api/reservations/{}",
        "/api/reservations/{}/confirm",
        "/api/reservations/{}/release",
        "/api/reservations/{}/extend",
        "/api/carts/{}/confirm",
        "/api/carts/{}/release",
        "/api/waitlist/{}",
    ],
)
def test_a_hostile_id_in_the_path_is_a_json_4xx(api, stock, path, payload):
    from urllib.parse import quote

    url = path.format(quote(payload, safe=""))
    method = "get" if path.count("/") == 3 and "carts" not in path else "post"
    before = snapshot()

    response = getattr(api, method)(url)

    assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_a_hostile_idempotency_key_is_a_json_400_that_holds_nothing(api, stock, payload):
    before = snapshot()

    response = api.post(
        "/api/reservations",
        json.dumps(_reserve_body(stock)),
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY=payload,
    )

    # Printable ASCII is a valid key (markup, quotes and SQL are just characters of it).
    if payload.isascii() and payload.isprintable():
        assert response.status_code == 201
        assert IdempotencyKey.objects.get().key == payload
    else:
        assert_json_refusal(response)
        assert snapshot() == before


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_a_hostile_staff_sign_in_is_a_json_4xx(api, payload):
    UserFactory(email="staff@example.com", is_staff=True)

    response = api.post(
        "/api/admin/login",
        json.dumps({"email": payload, "password": payload}),
        content_type=JSON,
    )

    assert_json_refusal(response)
    assert "_auth_user_id" not in api.session


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("param", ["type", "actor", "product", "warehouse", "limit", "since"])
def test_a_hostile_staff_log_filter_is_json(staff_client, param, payload):
    response = staff_client.get("/api/admin/logs", {param: payload})

    assert response.status_code in (200, 400), response.content[:300]
    assert response["Content-Type"].startswith(JSON)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("field", ["inventoryId", "totalStock", "expectedTotalStock"])
def test_a_hostile_staff_stock_change_is_a_json_400_that_changes_nothing(
    staff_client, stock, field, payload
):
    body = {"inventoryId": stock.pk, "totalStock": 7, field: payload}
    before = snapshot()

    response = staff_client.patch("/api/admin/inventory", json.dumps(body), content_type=JSON)

    assert_json_refusal(response)
    assert snapshot() == before


# --- text that is accepted comes back escaped ----------------------------------------------------


@pytest.mark.parametrize("payload", MARKUP, ids=["script", "attribute"])
def test_a_stock_reason_with_markup_is_escaped_in_the_console(staff_client, stock, payload):
    body = {"inventoryId": stock.pk, "totalStock": 7, "reason": payload}
    response = staff_client.patch("/api/admin/inventory", json.dumps(body), content_type=JSON)
    assert response.status_code == 200, response.content[:300]

    for page in ("/admin/events/", "/admin/", "/admin/inventory/"):
        assert_page_escapes(staff_client.get(page), payload)


@pytest.mark.parametrize("payload", MARKUP, ids=["script", "attribute"])
def test_a_product_and_warehouse_named_with_markup_are_escaped_on_every_page(
    staff_client, stock, payload
):
    Product.objects.filter(pk=stock.product_id).update(name=payload, brand=payload)
    Warehouse.objects.filter(pk=stock.warehouse_id).update(name=payload, city=payload)
    Reservation.objects.all().delete()
    hold = (
        Client()
        .post("/api/reservations", json.dumps(_reserve_body(stock)), content_type=JSON)
        .json()
    )

    shopper_pages = [
        "/",
        f"/?q={payload}",
        f"/products/{stock.product_id}/",
        f"/checkout/{hold['id']}/",
        "/orders/",
    ]
    for page in shopper_pages:
        response = Client().get(page)
        assert_page_escapes(response, payload)
    console_pages = [
        "/admin/",
        "/admin/stock/",
        "/admin/inventory/",
        "/admin/inventory/products/",
        "/admin/inventory/warehouses/",
        "/admin/reservations/",
        "/admin/events/",
        "/admin/analytics/",
    ]
    for page in console_pages:
        response = staff_client.get(page)
        assert response.status_code == 200, page
        assert_page_escapes(response, payload)


# --- the storefront's forms and search -------------------------------------------------------


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
@pytest.mark.parametrize("param", ["q", "category", "page"])
def test_a_hostile_catalogue_search_renders_escaped(client, stock, param, payload):
    response = client.get("/", {param: payload})

    assert response.status_code in (200, 400)
    assert_page_escapes(response, payload)
    if param == "q" and payload in MARKUP and response.status_code == 200:
        assert escape(payload) in response.content.decode()  # the search box shows it back


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
@pytest.mark.parametrize("param", ["pincode", "warehouse", "quantity"])
def test_a_hostile_product_page_query_renders_escaped(client, stock, param, payload):
    response = client.get(f"/products/{stock.product_id}/", {param: payload})

    assert response.status_code in (200, 400)
    assert_page_escapes(response, payload)


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
@pytest.mark.parametrize("field", ["warehouse", "quantity", "pincode"])
@pytest.mark.parametrize("action", ["reserve", "cart"])
def test_a_hostile_purchase_form_holds_nothing_and_renders_escaped(
    client, stock, action, field, payload
):
    data = {"warehouse": stock.warehouse_id, "quantity": 1, field: payload}
    before = snapshot()

    response = client.post(f"/products/{stock.product_id}/{action}/", data)

    assert_page_escapes(response, payload)
    assert response.status_code == 400
    assert snapshot() == before
    assert_page_escapes(client.get("/cart/"), payload)


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
@pytest.mark.parametrize("field", ["email", "warehouse", "quantity"])
def test_a_hostile_waitlist_form_writes_nothing_and_renders_escaped(
    client, sold_out, field, payload
):
    data = {"warehouse": sold_out.warehouse_id, "quantity": 1, "email": "ann@example.com"}
    data[field] = payload
    before = snapshot()

    response = client.post(f"/products/{sold_out.product_id}/waitlist/", data)

    assert response.status_code == 400
    assert_page_escapes(response, payload)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
def test_a_hostile_deliver_to_place_is_harmless(client, stock, payload):
    response = client.post("/deliver-to/", {"place": payload})

    assert response.status_code in (200, 302, 400)
    assert_page_escapes(response, payload)
    assert_page_escapes(client.get("/"), payload)


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
@pytest.mark.parametrize("route", ["cart-line-quantity", "cart-line-remove"])
def test_a_hostile_cart_line_form_changes_nothing(client, stock, route, payload):
    client.post(
        f"/products/{stock.product_id}/cart/", {"warehouse": stock.warehouse_id, "quantity": 1}
    )
    before_page = client.get("/cart/").content

    response = client.post(
        reverse(route, kwargs={"index": 0}), {"product": payload, "quantity": payload}
    )

    assert response.status_code < 500
    assert_page_escapes(response, payload)
    assert client.get("/cart/").content.count(b'name="product"') == before_page.count(
        b'name="product"'
    )


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
def test_a_hostile_checkout_action_changes_nothing(client, stock, payload):
    hold = client.post(
        "/api/reservations", json.dumps(_reserve_body(stock)), content_type=JSON
    ).json()
    before = snapshot()

    for path, field in (("/checkout/{}/", "action"), ("/checkout/{}/pay/", "method")):
        response = client.post(path.format(hold["id"]), {field: payload})
        assert response.status_code == 400 or field == "method", response.status_code
        assert response.status_code < 500
        assert_page_escapes(response, payload)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
def test_hostile_sign_up_and_sign_in_create_nobody_and_render_escaped(client, payload):
    before = snapshot()

    forms = [
        ("/accounts/signup/", {"email": payload, "password1": payload, "password2": payload}),
        ("/accounts/login/", {"username": payload, "password": payload}),
        ("/accounts/password-reset/", {"email": payload}),
        ("/admin/login/", {"username": payload, "password": payload}),
    ]
    for path, data in forms:
        response = client.post(path, data)
        assert response.status_code in (200, 400, 401, 403, 429), (path, response.status_code)
        assert_page_escapes(response, payload)
    assert snapshot() == before
    assert "_auth_user_id" not in client.session


# --- the console's forms and filters ---------------------------------------------------------


CONSOLE_FILTERS = {
    "/admin/": ["period"],
    "/admin/stock/": ["q", "category"],
    "/admin/inventory/": ["q", "category", "warehouse", "low"],
    "/admin/inventory/products/": ["q", "page"],
    "/admin/reservations/": ["status", "product", "warehouse", "since", "until", "page"],
    "/admin/events/": ["type", "actor", "product", "warehouse", "since", "page"],
    "/admin/events/tail/": ["after", "type", "actor"],
    "/admin/analytics/": ["preset", "since", "until"],
}
CONSOLE_CSV_FILTERS = {
    "/admin/stock/stock.csv": ["q", "category"],
    "/admin/events.csv": ["type", "actor", "since"],
}


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
@pytest.mark.parametrize("path", CONSOLE_FILTERS)
def test_a_hostile_console_filter_renders_escaped(staff_client, stock, path, payload):
    for param in CONSOLE_FILTERS[path]:
        response = staff_client.get(path, {param: payload})
        assert response.status_code in (200, 400), (path, param, response.status_code)
        assert_page_escapes(response, payload)


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
def test_hostile_console_stock_forms_change_nothing(staff_client, stock, payload):
    before = snapshot()

    for path, data in (
        (f"/admin/inventory/{stock.pk}/total", {"total": payload, "expected_total": 5}),
        (f"/admin/inventory/{stock.pk}/total", {"total": 6, "expected_total": payload}),
        (f"/admin/inventory/{stock.pk}/threshold", {"threshold": payload}),
        ("/admin/reservations/release/", {"only": payload}),
        ("/admin/reservations/release/", {"selected": payload}),
    ):
        response = staff_client.post(path, {**data, "next": payload, "back": payload})
        assert response.status_code in (200, 302, 400), (path, data, response.status_code)
        assert_page_escapes(response, payload)
        if response.status_code == 302:
            assert not response["Location"].startswith(("http", "//", "javascript")), path
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
def test_a_hostile_product_or_warehouse_form_is_refused_or_stored_as_text(staff_client, payload):
    product = {
        "sku": "HOSTILE-1",
        "name": payload,
        "brand": payload,
        "category": payload,
        "price": "10.00",
        "description": payload,
        "colors": payload,
        "box_contents": payload,
        "size": payload,
    }
    warehouse = {
        "code": "HST",
        "name": payload,
        "location": payload,
        "city": payload,
        "lat": 10,
        "lng": 10,
    }
    for path, data, model in (
        ("/admin/inventory/products/new/", product, Product),
        ("/admin/inventory/warehouses/new/", warehouse, Warehouse),
    ):
        before = model.objects.count()
        response = staff_client.post(path, data)
        assert response.status_code in (200, 302, 400), (path, response.status_code)
        assert_page_escapes(response, payload)
        if response.status_code == 302:
            stored = model.objects.latest("pk")
            assert stored.name == payload.strip() or stored.name == payload
            for page in ("/admin/inventory/products/", "/admin/inventory/warehouses/", "/"):
                assert_page_escapes(staff_client.get(page), payload)
        else:
            assert model.objects.count() == before


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
@pytest.mark.parametrize("path", CONSOLE_CSV_FILTERS)
def test_a_hostile_console_csv_filter_is_a_csv_or_a_400(staff_client, stock, path, payload):
    for param in CONSOLE_CSV_FILTERS[path]:
        response = staff_client.get(path, {param: payload})
        assert response.status_code in (200, 400), (path, param, response.status_code)
        if response.status_code == 200:
            assert response["Content-Type"].startswith("text/csv")
            b"".join(response.streaming_content if response.streaming else [response.content])

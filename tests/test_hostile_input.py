"""Markup, quotes, SQL fragments and control characters are data: escaped, harmless, or refused.

Every field and search term of the API, the storefront and the console gets hostile input.
The API answers JSON (4xx where the input is refused) and never 5xx; a page renders the text
escaped (the raw markup never appears); where the input is refused nothing is written; and
text that is accepted (a product's name, a stock adjustment's reason) comes back out escaped
on every page that shows it.

Free text (a search, a name, an email, a place, a key, a password) gets every payload: it is
accepted, searched for, stored or shown back, and each payload can break a different step. A
field that takes a number, an id, a date, a choice or a short code gets one malformed value:
every payload is refused there by the same check, so more would repeat one proof.
"""

import json
from urllib.parse import quote

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
# The value a number, id, date, choice or code field gets. It has no "/" (so it reaches the
# view when sent in a URL path), and a page that shows it back unescaped lets a tag out.
MALFORMED = ATTRIBUTE
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


@pytest.mark.parametrize("field", ["productId", "warehouseId", "quantity", "lat", "lng"])
def test_a_malformed_reserve_number_is_a_json_400_that_holds_nothing(api, stock, field):
    body = {**_reserve_body(stock), field: MALFORMED}
    before = snapshot()

    response = api.post("/api/reservations", json.dumps(body), content_type=JSON)

    assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_a_hostile_city_to_route_from_is_a_json_400_that_holds_nothing(api, stock, payload):
    body = {"productId": stock.product_id, "quantity": 1, "city": payload}
    before = snapshot()

    response = api.post("/api/reservations", json.dumps(body), content_type=JSON)

    assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("field", ["productId", "warehouseId", "quantity", "unknown<b>"])
def test_a_malformed_cart_line_is_a_json_400_that_holds_nothing(api, stock, field):
    line = {**_reserve_body(stock), field: MALFORMED}
    before = snapshot()

    response = api.post("/api/reservations/batch", json.dumps({"items": [line]}), content_type=JSON)

    assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("field", ["productId", "warehouseId", "quantity"])
def test_a_malformed_waitlist_number_is_a_json_400_that_writes_nothing(api, sold_out, field):
    body = {
        "productId": sold_out.product_id,
        "warehouseId": sold_out.warehouse_id,
        "quantity": 1,
        "email": "ann@example.com",
        field: MALFORMED,
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


def test_a_malformed_product_id_in_a_delivery_check_is_a_json_4xx(api):
    body = {"pincode": "600032", "productId": MALFORMED}

    response = api.post("/api/detect-warehouse", json.dumps(body), content_type=JSON)

    assert_json_refusal(response)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_a_hostile_pincode_in_a_delivery_check_is_a_json_4xx(api, stock, payload):
    body = {"pincode": payload, "productId": stock.product_id}

    response = api.post("/api/detect-warehouse", json.dumps(body), content_type=JSON)

    assert_json_refusal(response)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("param", ["q", "category"])
def test_a_hostile_catalogue_search_is_json_and_harmless(api, stock, param, payload):
    before = snapshot()

    response = api.get("/api/products", {param: payload})

    assert response.status_code < 500
    assert response["Content-Type"].startswith(JSON)
    if response.status_code == 200:
        assert response.json() == []  # no product matches, and the query ran as a value
    else:
        assert_json_refusal(response)
    assert snapshot() == before


@pytest.mark.parametrize("param", ["limit", "offset"])
def test_a_malformed_catalogue_page_is_a_json_400(api, stock, param):
    response = api.get("/api/products", {param: MALFORMED})

    assert_json_refusal(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/products/{}"),
        ("get", "/api/reservations/{}"),
        ("post", "/api/reservations/{}/confirm"),
        ("post", "/api/reservations/{}/release"),
        ("post", "/api/reservations/{}/extend"),
        ("post", "/api/carts/{}/confirm"),
        ("post", "/api/carts/{}/release"),
        ("get", "/api/waitlist/{}"),
    ],
)
def test_a_malformed_id_in_the_path_is_a_json_400(api, stock, method, path):
    before = snapshot()

    response = getattr(api, method)(path.format(quote(MALFORMED, safe="")))

    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "INVALID_ID"
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
def test_a_hostile_staff_log_actor_is_json(staff_client, payload):
    response = staff_client.get("/api/admin/logs", {"actor": payload})

    assert response.status_code in (200, 400), response.content[:300]
    assert response["Content-Type"].startswith(JSON)


@pytest.mark.parametrize("param", ["type", "productId", "warehouseId", "limit", "since"])
def test_a_malformed_staff_log_filter_is_a_json_400(staff_client, param):
    response = staff_client.get("/api/admin/logs", {param: MALFORMED})

    assert_json_refusal(response)


@pytest.mark.parametrize("field", ["inventoryId", "totalStock", "expectedTotalStock"])
def test_a_malformed_staff_stock_change_is_a_json_400_that_changes_nothing(
    staff_client, stock, field
):
    body = {"inventoryId": stock.pk, "totalStock": 7, field: MALFORMED}
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
@pytest.mark.parametrize("param", ["q", "category"])
def test_a_hostile_catalogue_search_renders_escaped(client, stock, param, payload):
    response = client.get("/products/", {param: payload})

    assert response.status_code in (200, 400)
    assert_page_escapes(response, payload)
    if param == "q" and payload in MARKUP and response.status_code == 200:
        assert escape(payload) in response.content.decode()  # the search box shows it back


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/", "page"),
        ("/products/{}/", "pincode"),
        ("/products/{}/", "warehouse"),
        ("/products/{}/", "quantity"),
    ],
)
def test_a_malformed_storefront_query_renders_escaped(client, stock, path, param):
    response = client.get(path.format(stock.product_id), {param: MALFORMED})

    assert response.status_code in (200, 400)
    assert_page_escapes(response, MALFORMED)


@pytest.mark.parametrize("field", ["warehouse", "quantity", "pincode"])
@pytest.mark.parametrize("action", ["reserve", "cart"])
def test_a_malformed_purchase_form_holds_nothing_and_renders_escaped(client, stock, action, field):
    data = {"warehouse": stock.warehouse_id, "quantity": 1, field: MALFORMED}
    before = snapshot()

    response = client.post(f"/products/{stock.product_id}/{action}/", data)

    assert_page_escapes(response, MALFORMED)
    assert response.status_code == 400
    assert snapshot() == before
    assert_page_escapes(client.get("/cart/"), MALFORMED)


def _post_waitlist_form(client: Client, sold_out: Inventory, field: str, value: str):
    data = {"warehouse": sold_out.warehouse_id, "quantity": 1, "email": "ann@example.com"}
    data[field] = value
    return client.post(f"/products/{sold_out.product_id}/waitlist/", data)


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
def test_a_hostile_waitlist_email_writes_nothing_and_renders_escaped(client, sold_out, payload):
    before = snapshot()

    response = _post_waitlist_form(client, sold_out, "email", payload)

    assert response.status_code == 400
    assert_page_escapes(response, payload)
    assert snapshot() == before


@pytest.mark.parametrize("field", ["warehouse", "quantity"])
def test_a_malformed_waitlist_form_writes_nothing_and_renders_escaped(client, sold_out, field):
    before = snapshot()

    response = _post_waitlist_form(client, sold_out, field, MALFORMED)

    assert response.status_code == 400
    assert_page_escapes(response, MALFORMED)
    assert snapshot() == before


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
def test_a_hostile_deliver_to_place_is_harmless(client, stock, payload):
    response = client.post("/deliver-to/", {"place": payload})

    assert response.status_code in (200, 302, 400)
    assert_page_escapes(response, payload)
    assert_page_escapes(client.get("/products/"), payload)


@pytest.mark.parametrize("route", ["cart-line-quantity", "cart-line-remove"])
def test_a_malformed_cart_line_form_changes_nothing(client, stock, route):
    client.post(
        f"/products/{stock.product_id}/cart/", {"warehouse": stock.warehouse_id, "quantity": 1}
    )
    before_page = client.get("/cart/").content

    response = client.post(
        reverse(route, kwargs={"index": 0}), {"product": MALFORMED, "quantity": MALFORMED}
    )

    assert response.status_code < 500
    assert_page_escapes(response, MALFORMED)
    assert client.get("/cart/").content.count(b'name="product"') == before_page.count(
        b'name="product"'
    )


def test_a_malformed_checkout_action_changes_nothing(client, stock):
    hold = client.post(
        "/api/reservations", json.dumps(_reserve_body(stock)), content_type=JSON
    ).json()
    before = snapshot()

    for path, field in (("/checkout/{}/", "action"), ("/checkout/{}/pay/", "method")):
        response = client.post(path.format(hold["id"]), {field: MALFORMED})
        assert response.status_code == 400 or field == "method", response.status_code
        assert response.status_code < 500
        assert_page_escapes(response, MALFORMED)
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

# The live tail needs a valid `after`, else it refuses before reading the other filters.
CONSOLE_TEXT_FILTERS = {
    "/admin/stock/": ({}, ["q", "category"]),
    "/admin/inventory/": ({}, ["q", "category"]),
    "/admin/events/": ({}, ["actor"]),
    "/admin/events/tail/": ({"after": 0}, ["actor"]),
}
CONSOLE_FILTERS = {
    "/admin/": ({}, ["period"]),
    "/admin/inventory/": ({}, ["warehouse", "low", "page"]),
    "/admin/reservations/": ({}, ["status", "product", "warehouse", "since", "until", "page"]),
    "/admin/events/": ({}, ["type", "product", "warehouse", "since", "page"]),
    "/admin/events/tail/": ({"after": 0}, ["after", "type"]),
    "/admin/analytics/": ({}, ["preset", "from", "to"]),
}


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
@pytest.mark.parametrize("path", CONSOLE_TEXT_FILTERS)
def test_a_hostile_console_search_renders_escaped(staff_client, stock, path, payload):
    query, params = CONSOLE_TEXT_FILTERS[path]
    for param in params:
        response = staff_client.get(path, {**query, param: payload})
        assert response.status_code in (200, 400), (path, param, response.status_code)
        assert_page_escapes(response, payload)


@pytest.mark.parametrize("path", CONSOLE_FILTERS)
def test_a_malformed_console_filter_renders_escaped(staff_client, stock, path):
    query, params = CONSOLE_FILTERS[path]
    for param in params:
        response = staff_client.get(path, {**query, param: MALFORMED})
        assert response.status_code in (200, 400), (path, param, response.status_code)
        assert_page_escapes(response, MALFORMED)


def test_malformed_console_stock_forms_change_nothing(staff_client, stock):
    before = snapshot()

    for path, data in (
        (f"/admin/inventory/{stock.pk}/total", {"total": MALFORMED, "expected_total": 5}),
        (f"/admin/inventory/{stock.pk}/total", {"total": 6, "expected_total": MALFORMED}),
        (f"/admin/inventory/{stock.pk}/threshold", {"threshold": MALFORMED}),
        ("/admin/reservations/release/", {"only": MALFORMED}),
        ("/admin/reservations/release/", {"selected": MALFORMED}),
    ):
        response = staff_client.post(path, {**data, "next": MALFORMED, "back": MALFORMED})
        assert response.status_code in (200, 302, 400), (path, data, response.status_code)
        assert_page_escapes(response, MALFORMED)
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
            pages = (
                "/admin/inventory/products/",
                "/admin/inventory/warehouses/",
                "/",
                "/products/",
            )
            for page in pages:
                assert_page_escapes(staff_client.get(page), payload)
        else:
            assert model.objects.count() == before


CONSOLE_CSV_TEXT_FILTERS = {
    "/admin/stock/stock.csv": ["q", "category"],
    "/admin/events.csv": ["actor"],
}


def _assert_csv_or_400(response, path: str, param: str) -> None:
    assert response.status_code in (200, 400), (path, param, response.status_code)
    if response.status_code == 200:
        assert response["Content-Type"].startswith("text/csv")
        b"".join(response.streaming_content if response.streaming else [response.content])


@pytest.mark.parametrize("payload", PAGE_PAYLOADS, ids=PAGE_IDS)
@pytest.mark.parametrize("path", CONSOLE_CSV_TEXT_FILTERS)
def test_a_hostile_console_csv_search_is_a_csv_or_a_400(staff_client, stock, path, payload):
    for param in CONSOLE_CSV_TEXT_FILTERS[path]:
        _assert_csv_or_400(staff_client.get(path, {param: payload}), path, param)


def test_a_malformed_console_csv_filter_is_a_400(staff_client, stock):
    for param in ("type", "since"):
        response = staff_client.get("/admin/events.csv", {param: MALFORMED})
        assert response.status_code == 400, (param, response.status_code)
        assert response["Content-Type"].startswith("text/plain")

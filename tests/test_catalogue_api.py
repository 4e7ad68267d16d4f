"""The catalogue API keeps the original stockd's JSON shapes, filters and error answers."""

import threading
import time
from datetime import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from inventory.api import ProductListApi, catalogue_key
from inventory.models import Inventory, Product
from tests.factories import InventoryFactory, ProductFactory, WarehouseFactory
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db


def test_warehouses_list_has_the_original_fields(api, seeded):
    response = api.get("/api/warehouses")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 5
    mumbai = next(w for w in body if w["code"] == "BOM")
    stored = Warehouse.objects.get(code="BOM")
    assert mumbai == {
        "id": str(stored.id),
        "code": "BOM",
        "name": "Mumbai Warehouse",
        "location": "Mumbai, Maharashtra",
        "city": "Mumbai",
        "lat": 19.076,
        "lng": 72.8777,
        "createdAt": mumbai["createdAt"],
    }
    assert datetime.fromisoformat(mumbai["createdAt"]) == stored.created_at


def test_warehouses_are_listed_by_name(api, seeded):
    assert [w["code"] for w in api.get("/api/warehouses").json()] == [
        "BLR",
        "CHN",
        "DEL",
        "HYD",
        "BOM",
    ]


def test_inactive_warehouses_are_not_listed(api):
    WarehouseFactory(code="OLD", active=False)
    WarehouseFactory(code="NEW")
    assert [w["code"] for w in api.get("/api/warehouses").json()] == ["NEW"]


def test_products_list_is_a_bare_array_with_stock_per_warehouse(api, seeded):
    row = Inventory.objects.select_related("product", "warehouse").get(
        product__sku="HLT-OMRON-BP-MONITOR", warehouse__code="CHN"
    )
    Inventory.objects.filter(pk=row.pk).update(reserved_stock=3)

    response = api.get("/api/products")

    assert response.status_code == 200
    assert response["X-Total-Count"] == "53"
    body = response.json()
    assert isinstance(body, list) and len(body) == 53
    monitor = next(p for p in body if p["sku"] == "HLT-OMRON-BP-MONITOR")
    assert set(monitor) == {
        "id",
        "sku",
        "name",
        "brand",
        "category",
        "price",
        "description",
        "image",
        "images",
        "colors",
        "size",
        "boxContents",
        "inventory",
        "totalAvailable",
    }
    assert monitor["id"] == str(row.product_id)
    assert monitor["price"] == 1899 and isinstance(monitor["price"], (int, float))
    assert monitor["image"] == "http://testserver/static/img/categories/healthcare.svg"
    assert monitor["images"] == [monitor["image"]]
    assert monitor["colors"] == []
    assert monitor["size"] == "Standard cuff (22–32 cm)"
    assert monitor["boxContents"] == (
        "BP Monitor unit, arm cuff, 4× AA batteries, carry pouch, instruction manual"
    )
    assert len(monitor["inventory"]) == 5
    chennai = next(i for i in monitor["inventory"] if i["warehouseId"] == str(row.warehouse_id))
    assert chennai == {
        "warehouseId": str(row.warehouse_id),
        "warehouseName": "Chennai Warehouse",
        "city": "Chennai",
        "location": "Chennai, Tamil Nadu",
        "totalStock": 10,
        "reservedStock": 3,
        "available": 7,
    }
    assert monitor["totalAvailable"] == 47


def test_products_carry_their_colours(api, seeded):
    watch = next(
        p
        for p in api.get("/api/products").json()
        if p["sku"] == "ELC-APPLE-LIMITED-EDITION-SMARTWATCH-PRO"
    )
    assert watch["colors"] == ["Titanium", "Space Black"]
    assert watch["size"] == "45 mm, titanium"


def test_three_seeded_products_are_sold_out_everywhere(api, seeded):
    body = api.get("/api/products").json()
    sold_out = [p for p in body if p["totalAvailable"] == 0]
    assert sorted(p["name"] for p in sold_out) == [
        "Limited Edition Smartwatch Pro",
        "Organic Vitamin C Serum (20%)",
        "Pro Resistance Band Set",
    ]
    for product in sold_out:
        assert [(i["totalStock"], i["available"]) for i in product["inventory"]] == [(0, 0)] * 5
    in_stock = [p for p in body if p["totalAvailable"] != 0]
    assert len(in_stock) == 50
    assert all(p["totalAvailable"] == 50 for p in in_stock)
    assert all(i["totalStock"] == 10 for p in in_stock for i in p["inventory"])


def test_products_are_ordered_by_name(api, seeded):
    body = api.get("/api/products").json()
    # The database's collation decides where "BP Monitor" goes against "Backpack".
    by_name = Product.objects.order_by("name", "id").values_list("name", flat=True)
    assert [p["name"] for p in body] == list(by_name)
    assert body[0]["name"] == "Analog Watch"


def test_category_filter(api, seeded):
    response = api.get("/api/products", {"category": "Fitness"})
    body = response.json()
    assert len(body) == 11 and {p["category"] for p in body} == {"Fitness"}
    assert response["X-Total-Count"] == "11"


def test_category_filter_ignores_case(api, seeded):
    assert len(api.get("/api/products", {"category": "fitness"}).json()) == 11


def test_search_matches_name_and_brand(api, seeded):
    names = {p["name"] for p in api.get("/api/products", {"q": "monitor"}).json()}
    assert {"BP Monitor", "Glucose Monitor"} <= names
    brands = {p["brand"] for p in api.get("/api/products", {"q": "omron"}).json()}
    assert brands == {"Omron"}


def test_search_and_category_combine(api, seeded):
    everywhere = api.get("/api/products", {"q": "gloves"}).json()
    assert [(p["category"], p["name"]) for p in everywhere] == [
        ("Fitness", "Gym Gloves"),
        ("Healthcare", "Medical Gloves"),
    ]

    response = api.get("/api/products", {"q": "gloves", "category": "Fitness"})

    assert response.status_code == 200
    assert [(p["category"], p["name"]) for p in response.json()] == [("Fitness", "Gym Gloves")]
    assert response["X-Total-Count"] == "1"


def test_unknown_category_gives_an_empty_array(api, seeded):
    response = api.get("/api/products", {"category": "Groceries"})
    assert response.status_code == 200 and response.json() == []
    assert response["X-Total-Count"] == "0"


def test_limit_and_offset_slice_the_list_and_count_all(api, seeded):
    everything = api.get("/api/products").json()
    response = api.get("/api/products", {"limit": 10, "offset": 20})
    assert response.status_code == 200
    assert response["X-Total-Count"] == "53"
    assert [p["id"] for p in response.json()] == [p["id"] for p in everything[20:30]]


def test_offset_past_the_end_gives_an_empty_page(api, seeded):
    response = api.get("/api/products", {"limit": 10, "offset": 100})
    assert response.json() == [] and response["X-Total-Count"] == "53"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"limit": -1},
        {"offset": -5},
        {"offset": "x"},
        {"limit": "1e3"},
        {"offset": 2**63},
        {"offset": "3848520204285100687360", "limit": 156},
    ],
)
def test_bad_paging_parameters_get_400(api, seeded, params):
    response = api.get("/api/products", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and body["error"] == "Invalid input"
    field_errors = body["details"]["fieldErrors"]
    assert field_errors and set(field_errors) <= set(params)
    assert all(messages for messages in field_errors.values())


def test_limit_of_200_is_accepted(api, seeded):
    response = api.get("/api/products", {"limit": 200})
    assert response.status_code == 200 and len(response.json()) == 53


def test_product_detail_has_the_list_shape(api, seeded):
    listed = next(p for p in api.get("/api/products").json() if p["sku"] == "HLT-OMRON-BP-MONITOR")
    response = api.get(f"/api/products/{listed['id']}")
    assert response.status_code == 200
    assert response.json() == listed


def test_unknown_product_gets_404(api, seeded):
    response = api.get("/api/products/987654")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND" and response.json()["error"]


def test_inactive_product_gets_404(api):
    product = ProductFactory(active=False)
    assert api.get(f"/api/products/{product.id}").status_code == 404


@pytest.mark.parametrize("bad_id", ["abc", "-1", "0", "1.5", "99999999999999999999999", "%20"])
def test_malformed_product_id_gets_400(api, bad_id):
    response = api.get(f"/api/products/{bad_id}")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ID" and response.json()["error"]


def test_unknown_api_path_answers_json_404(api):
    response = api.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "No such resource.", "code": "NOT_FOUND"}


def test_products_list_rejects_writes(api):
    response = api.post("/api/products", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED" and response.json()["error"]


def _queries_for_product_list(api, *, expected_products: int) -> int:
    """Count the queries of GET /api/products, after checking it listed every product."""
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/products")
    assert response.status_code == 200
    body = response.json()
    assert response["X-Total-Count"] == str(expected_products)
    assert sorted(p["id"] for p in body) == sorted(
        str(pk) for pk in Product.objects.values_list("id", flat=True)
    )
    assert len(body) == expected_products
    assert all(len(p["inventory"]) == 5 and p["totalAvailable"] == 50 for p in body)
    return len(queries)


def test_products_list_runs_the_same_few_queries_for_5_and_53_products(api):
    warehouses = WarehouseFactory.create_batch(5)
    for _ in range(5):
        product = ProductFactory()
        for warehouse in warehouses:
            InventoryFactory(product=product, warehouse=warehouse)
    with_five = _queries_for_product_list(api, expected_products=5)

    for _ in range(48):
        product = ProductFactory()
        for warehouse in warehouses:
            InventoryFactory(product=product, warehouse=warehouse)
    assert Product.objects.count() == 53
    with_53 = _queries_for_product_list(api, expected_products=53)

    assert with_five == with_53
    assert with_53 <= 3


def test_sliced_products_list_stays_within_three_queries(
    api, seeded, django_assert_max_num_queries
):
    skincare = Product.objects.filter(category="Skincare").order_by("name", "id")
    expected = list(skincare.values_list("name", flat=True)[5:10])
    assert len(expected) == 5

    with django_assert_max_num_queries(3):
        response = api.get("/api/products", {"limit": 5, "offset": 5, "category": "Skincare"})

    assert response.status_code == 200
    assert [p["name"] for p in response.json()] == expected
    assert {p["category"] for p in response.json()} == {"Skincare"}
    assert all(len(p["inventory"]) == 5 for p in response.json())
    assert response["X-Total-Count"] == "11"


def test_openapi_schema_describes_the_catalogue(api):
    response = api.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/products", "/api/products/{product_id}", "/api/warehouses"} <= set(
        schema["paths"]
    )


def test_api_docs_page_is_served(api):
    response = api.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html


# --- the shared answer (CATALOGUE_CACHE_SECONDS) ---------------------------------------------


def _answer(api, **params) -> tuple[bytes, dict]:
    response = api.get("/api/products", params, HTTP_HOST="localhost")
    assert response.status_code == 200
    return response.content, {h: response[h] for h in ("Content-Type", "X-Total-Count")}


def test_the_shared_answer_is_byte_identical_to_a_rendered_one(api, seeded, settings):
    settings.CATALOGUE_CACHE_SECONDS = 0
    rendered = _answer(api, category="Fitness", limit=5)
    settings.CATALOGUE_CACHE_SECONDS = 1
    assert _answer(api, category="Fitness", limit=5) == rendered  # rendered, then shared
    with CaptureQueriesContext(connection) as queries:
        assert _answer(api, category="Fitness", limit=5) == rendered
    assert len(queries) == 0  # from the cache: no query, no serializer


def test_a_stock_change_shows_within_a_second(api, seeded, settings):
    settings.CATALOGUE_CACHE_SECONDS = 1
    row = Inventory.objects.filter(product__name="Yoga Mat").first()
    before = _answer(api, q="yoga")
    Inventory.objects.filter(pk=row.pk).update(total_stock=3)
    assert _answer(api, q="yoga") == before  # shared for up to a second
    time.sleep(1.1)
    (mat,) = api.get("/api/products", {"q": "yoga"}, HTTP_HOST="localhost").json()
    stock = {r["warehouseId"]: r["totalStock"] for r in mat["inventory"]}
    assert stock[str(row.warehouse_id)] == 3


def test_each_host_and_filter_has_its_own_answer(api, seeded, settings):
    settings.CATALOGUE_CACHE_SECONDS = 1
    fitness, _ = _answer(api, category="Fitness")
    elsewhere = api.get("/api/products", {"category": "Fitness"}, HTTP_HOST="127.0.0.1")
    assert elsewhere.json()[0]["image"].startswith("http://127.0.0.1/")
    assert _answer(api, category="Skincare")[0] != fitness


def _shared_key(**params) -> str:
    """The cache key ProductListApi shares `params`' answer under (host localhost, JSON)."""
    request = RequestFactory().get("/api/products", params, HTTP_HOST="localhost")
    query = ProductListApi.FilterSerializer().run_validation(params)
    return catalogue_key(request, "application/json", query)


def test_a_request_that_misses_while_another_renders_waits_for_its_answer(api, seeded, settings):
    settings.CATALOGUE_CACHE_SECONDS = 1
    rendered = _answer(api, q="yoga")
    key = _shared_key(q="yoga")
    shared = cache.get(key)
    assert shared is not None
    cache.delete(key)
    cache.add(f"{key}:rendering", True, timeout=5)  # another request is rendering it
    threading.Timer(0.2, cache.set, args=(key, shared, 1)).start()
    with CaptureQueriesContext(connection) as queries:
        assert _answer(api, q="yoga") == rendered
    assert len(queries) == 0  # it waited for the other's answer instead of rendering


def test_a_request_renders_itself_when_the_other_rendering_never_answers(api, seeded, settings):
    settings.CATALOGUE_CACHE_SECONDS = 1
    rendered = _answer(api, q="yoga")
    key = _shared_key(q="yoga")
    cache.delete(key)
    cache.add(f"{key}:rendering", True, timeout=5)  # a renderer that died
    started = time.monotonic()
    assert _answer(api, q="yoga") == rendered
    assert 0.9 < time.monotonic() - started < 5  # it waited its second, then rendered

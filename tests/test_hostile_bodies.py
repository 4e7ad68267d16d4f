"""Bodies built to break parsers get a 400 and change nothing, never a 500."""

import json

import pytest

from idempotency.models import IdempotencyKey
from reservations.models import Reservation, WaitlistEntry
from reservations.services import holds
from tests.factories import InventoryFactory

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000  # 2 KB, nested 1,000 levels: past Python's recursion limit
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


# The endpoints that take an Idempotency-Key fingerprint the body before DRF parses it.
IDEMPOTENT_PATHS = ["/api/reservations", "/api/reservations/batch"]


def _stocked() -> dict:
    row = InventoryFactory(total_stock=5)
    return {"product_id": row.product_id, "warehouse_id": row.warehouse_id}


# Without a key every JSON endpoint is held to the same rule below (test_every_json_endpoint...).
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_a_deeply_nested_body_with_an_idempotency_key_is_a_400_that_writes_nothing(api, body):
    _stocked()
    for path in IDEMPOTENT_PATHS:
        response = api.post(
            path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep-body-key"
        )
        assert response.status_code == 400, (path, response.status_code, response.content[:200])
        assert response.json()["code"] == "MALFORMED_JSON", path
    assert not Reservation.objects.exists()
    assert not WaitlistEntry.objects.exists()
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", [None, "deep-confirm-key"], ids=["no-key", "idempotency-key"])
def test_a_confirm_ignores_a_deeply_nested_body_instead_of_breaking_on_it(api, key):
    """A confirm takes no body; the Idempotency-Key fingerprint used to choke on this one."""
    hold = holds.reserve(**_stocked(), quantity=1)
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}

    response = api.post(
        f"/api/reservations/{hold.id}/confirm", DEEP, content_type="application/json", **headers
    )

    assert response.status_code == 200
    assert response.json()["status"] == "CONFIRMED"
    assert IdempotencyKey.objects.count() == (0 if key is None else 1)


DUPLICATE_KEY_BODIES = {
    "/api/reservations": '{"productId": %(p)d, "warehouseId": %(w)d, "quantity": true, '
    '"quantity": 1}',
    "/api/reservations/batch": '{"items": [{"productId": %(p)d, "warehouseId": %(w)d, '
    '"quantity": 1, "quantity": 2}]}',
    "/api/waitlist": '{"productId": %(p)d, "productId": %(p)d, "quantity": 1}',
}


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/reservations", None),
        ("/api/reservations", "duplicate-key"),
        ("/api/reservations/batch", None),
        ("/api/reservations/batch", "duplicate-key"),
        ("/api/waitlist", None),  # takes no Idempotency-Key
    ],
)
def test_a_body_with_a_repeated_key_is_a_400_naming_the_key_that_writes_nothing(api, path, key):
    row = InventoryFactory(total_stock=5)
    body = DUPLICATE_KEY_BODIES[path] % {"p": row.product_id, "w": row.warehouse_id}
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}

    response = api.post(path, body, content_type="application/json", **headers)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "MALFORMED_JSON"
    assert "duplicate key" in response.json()["error"]
    assert "'quantity'" in response.json()["error"] or "'productId'" in response.json()["error"]
    assert not Reservation.objects.exists()
    assert not WaitlistEntry.objects.exists()
    row.refresh_from_db()
    assert row.reserved_stock == 0


def test_the_same_key_in_two_objects_is_not_a_repeat(api):
    item = {"productId": None, "warehouseId": None, "quantity": 1}
    stocked = _stocked()
    item.update(productId=stocked["product_id"], warehouseId=stocked["warehouse_id"])
    body = json.dumps({"items": [item, item]})

    response = api.post("/api/reservations/batch", body, content_type="application/json")

    assert response.status_code == 201, response.content[:300]
    assert Reservation.objects.exists()


def test_json_the_parser_refused_before_still_is_refused(api):
    """NaN and a broken body keep DRF's answer: the parser only adds the repeated-key rule."""
    stocked = _stocked()
    for body in ['{"quantity": NaN}', '{"productId": 1,', "[1, 2"]:
        response = api.post("/api/reservations", body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json()["code"] == "MALFORMED_JSON", body
    assert not Reservation.objects.filter(product_id=stocked["product_id"]).exists()


def test_the_idempotency_fingerprint_hashes_a_repeated_key_body_as_sent():
    from types import SimpleNamespace

    from idempotency.decorators import _fingerprint

    def request(body: bytes):
        return SimpleNamespace(method="POST", path="/api/reservations", body=body)

    repeated = _fingerprint(request(b'{"quantity": true, "quantity": 1}'), "anonymous")
    last_wins = _fingerprint(request(b'{"quantity": 1}'), "anonymous")
    assert repeated != last_wins


# --- every JSON endpoint, and bodies past the upload limit ------------------------------------

# Every operation that reads a JSON body, with the client that may reach it.
JSON_ENDPOINTS = [
    ("POST", "/api/reservations", "anonymous"),
    ("POST", "/api/reservations/batch", "anonymous"),
    ("POST", "/api/waitlist", "anonymous"),
    ("POST", "/api/detect-warehouse", "anonymous"),
    ("POST", "/api/admin/login", "anonymous"),
    ("PATCH", "/api/admin/inventory", "staff"),
    ("POST", "/api/demo/race", "staff"),
]


def _client(who: str):
    from rest_framework.test import APIClient

    from tests.factories import UserFactory

    client = APIClient()
    if who == "staff":
        client.force_login(UserFactory(is_staff=True))
    return client


def _state() -> tuple:
    from inventory.models import Inventory
    from reservations.models import ReservationEvent

    return (
        sorted(Inventory.objects.values_list("pk", "total_stock", "reserved_stock")),
        Reservation.objects.count(),
        WaitlistEntry.objects.count(),
        ReservationEvent.objects.count(),
        IdempotencyKey.objects.count(),
    )


def _assert_json_4xx(response, path: str) -> None:
    assert 400 <= response.status_code < 500, (path, response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json"), path
    assert response.json()["code"], path


@pytest.mark.parametrize(
    ("method", "path", "who"), JSON_ENDPOINTS, ids=[e[1] for e in JSON_ENDPOINTS]
)
@pytest.mark.parametrize(
    "body",
    [DEEP, DEEP_OBJECT, '{"quantity": 1, "quantity": 1}'],
    ids=["deep-array", "deep-object", "repeated-key"],
)
def test_every_json_endpoint_refuses_a_nested_or_repeated_key_body(method, path, who, body):
    _stocked()
    client = _client(who)
    before = _state()

    response = client.generic(method, path, body, content_type="application/json")

    _assert_json_4xx(response, path)
    # The parser's refusal, not a validator's: without the rule these bodies would still be
    # refused, for a missing field.
    assert response.json()["code"] == "MALFORMED_JSON", path
    assert _state() == before


OVER_THE_LIMIT = 2_621_440 + 1  # one byte past DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB)


@pytest.mark.parametrize(
    ("method", "path", "who"), JSON_ENDPOINTS, ids=[e[1] for e in JSON_ENDPOINTS]
)
def test_a_json_body_over_the_upload_limit_is_a_json_4xx_that_writes_nothing(method, path, who):
    stocked = _stocked()
    body = json.dumps(
        {"productId": stocked["product_id"], "quantity": 1, "padding": "x" * OVER_THE_LIMIT}
    )
    client = _client(who)
    before = _state()

    response = client.generic(method, path, body, content_type="application/json")

    _assert_json_4xx(response, path)
    assert _state() == before


def test_a_form_over_the_upload_limit_is_refused_without_a_server_error(client):
    stocked = _stocked()
    before = _state()

    response = client.post(
        f"/products/{stocked['product_id']}/reserve/",
        {"warehouse": stocked["warehouse_id"], "quantity": 1, "padding": "x" * OVER_THE_LIMIT},
    )

    assert 400 <= response.status_code < 500
    assert _state() == before


def test_a_form_with_too_many_fields_is_refused_without_a_server_error(client):
    stocked = _stocked()
    before = _state()
    fields = {f"f{i}": "1" for i in range(1_001)}  # past DATA_UPLOAD_MAX_NUMBER_FIELDS

    response = client.post(
        f"/products/{stocked['product_id']}/reserve/",
        {"warehouse": stocked["warehouse_id"], "quantity": 1, **fields},
    )

    assert 400 <= response.status_code < 500
    assert _state() == before

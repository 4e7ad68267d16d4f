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


PATHS = ["/api/reservations", "/api/reservations/batch", "/api/waitlist", "/api/detect-warehouse"]


def _stocked() -> dict:
    row = InventoryFactory(total_stock=5)
    return {"product_id": row.product_id, "warehouse_id": row.warehouse_id}


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize("key", [None, "deep-body-key"], ids=["no-key", "idempotency-key"])
def test_a_deeply_nested_body_is_a_400_that_writes_nothing(api, body, key):
    _stocked()
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    for path in PATHS:
        response = api.post(path, body, content_type="application/json", **headers)
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


@pytest.mark.parametrize("path", DUPLICATE_KEY_BODIES)
@pytest.mark.parametrize("key", [None, "duplicate-key"], ids=["no-key", "idempotency-key"])
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

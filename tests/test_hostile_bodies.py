"""Bodies built to break parsers get a 400 and change nothing, never a 500."""

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

"""The lean reserve path (reservations/apis/lean_reserve.py) answers as the DRF view does.

Each request below is sent twice through stockd.asgi's application, on committed rows: to
`/api/reservations`, which the lean path answers on the event loop, and to
`/api/reservations?via=django`, which it hands to Django (a query string is not its case)
and ReservationCollectionApi answers. Status, body (ids and times aside), the headers and
what was written must agree; a spy on the lean path's `answer` proves which path answered.
"""

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from unittest import mock

import pytest
from django.test import override_settings

from inventory.models import Inventory
from reservations.apis.lean_reserve import LeanReserve
from reservations.models import Reservation, ReservationEvent
from tests.asgi_client import AsgiClient, committed_rows
from tests.factories import InventoryFactory, UserFactory

LEAN, DJANGO = "/api/reservations", "/api/reservations?via=django"
JSON = "application/json"
# Values that differ between two holds by nature: ids, times and the request's id.
_VARYING_KEYS = {"id", "createdAt", "updatedAt", "expiresAt"}
_VARYING_HEADERS = {"date", "x-request-id", "content-length"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class World:
    row: Inventory
    sold_out: Inventory
    shopper: object
    inactive: object


@pytest.fixture
def world(request) -> Iterator[World]:
    with committed_rows(request):
        yield World(
            row=InventoryFactory(total_stock=50),
            sold_out=InventoryFactory(total_stock=0),
            shopper=UserFactory(password=None),
            inactive=UserFactory(password=None, is_active=False),
        )


def line(row: Inventory, **changes) -> dict:
    return {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1, **changes}


def routed(row: Inventory, **changes) -> dict:
    return {"productId": row.product_id, "quantity": 1, **changes}


@dataclass(frozen=True)
class Case:
    id: str
    body: Callable[[World], bytes | str]
    headers: dict | None = None
    actor: str | None = None  # "shopper" or "inactive": signed in as that account
    lean: bool = True  # whether the lean path answers it (else it passes it to Django)


CASES = [
    Case("held", lambda w: json.dumps(line(w.row))),
    Case("held-signed-in", lambda w: json.dumps(line(w.row)), actor="shopper"),
    Case("held-inactive-account-as-a-guest", lambda w: json.dumps(line(w.row)), actor="inactive"),
    Case("sold-out-409", lambda w: json.dumps(line(w.sold_out))),
    Case("over-the-stock-409", lambda w: json.dumps(line(w.row, quantity=51))),
    Case("unknown-product-404", lambda w: json.dumps(line(w.row, productId="987654"))),
    Case("unknown-warehouse-404", lambda w: json.dumps(line(w.row, warehouseId="987654"))),
    Case("quantity-over-the-limit-400", lambda w: json.dumps(line(w.row, quantity=10_000))),
    Case("quantity-as-text-400", lambda w: json.dumps(line(w.row, quantity="1"))),
    Case("quantity-true-400", lambda w: json.dumps(line(w.row, quantity=True))),
    Case("quantity-huge-400", lambda w: json.dumps(line(w.row, quantity=10**400))),
    Case("warehouse-null-400", lambda w: json.dumps(line(w.row, warehouseId=None))),
    Case("warehouse-a-list-400", lambda w: json.dumps(line(w.row, warehouseId=[1]))),
    Case("unknown-field-400", lambda w: json.dumps(line(w.row, colour="red"))),
    Case("lat-without-lng-400", lambda w: json.dumps(line(w.row, lat=12.9))),
    Case("unknown-pincode-422", lambda w: json.dumps(line(w.row, pincode="000000"))),
    Case("nul-in-an-id-400", lambda w: json.dumps(line(w.row, productId="1\u0000"))),
    Case(
        "cross-site-with-a-cookie-403",
        lambda w: json.dumps(line(w.row)),
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    ),
    Case(
        "same-origin-browser",
        lambda w: json.dumps(line(w.row)),
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    ),
    Case(
        "charset-utf-8",
        lambda w: json.dumps(line(w.row)),
        headers={"Content-Type": f"{JSON}; charset=UTF-8"},
    ),
    Case("routed-by-city", lambda w: json.dumps(routed(w.row, city="Mumbai"))),
    Case("routed-by-pincode", lambda w: json.dumps(routed(w.row, pincode="560001"))),
    Case("routed-sold-out-everywhere-409", lambda w: json.dumps(routed(w.sold_out))),
    Case("routed-not-stocked-404", lambda w: json.dumps(routed(w.row, productId="987654"))),
    # Not the lean path's case: Django answers both, and they must still agree.
    Case("malformed-json-400", lambda w: '{"productId": ', lean=False),
    Case("duplicate-key-400", lambda w: '{"quantity": 1, "quantity": 2}', lean=False),
    Case("a-list-400", lambda w: "[1, 2]", lean=False),
    Case("nan-400", lambda w: json.dumps(line(w.row)).replace("1}", "NaN}"), lean=False),
    Case("keyed", lambda w: json.dumps(line(w.row)), {"Idempotency-Key": "k-1"}, lean=False),
    Case(
        "form-encoded-415",
        lambda w: "quantity=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        lean=False,
    ),
    Case(
        "accepts-html-406", lambda w: json.dumps(line(w.row)), {"Accept": "text/html"}, lean=False
    ),
]


def _client(world: World, case: Case) -> AsgiClient:
    client = AsgiClient()
    if case.actor is not None:
        client.force_login(getattr(world, case.actor))
    return client


def _send(world: World, case: Case, path: str, body: bytes | str):
    headers = {"Content-Type": JSON, **(case.headers or {})}
    if "Idempotency-Key" in headers and path == DJANGO:
        headers["Idempotency-Key"] = "k-2"  # a fresh key: the same one would be a replay
    return _client(world, case).generic("POST", path, body, headers=headers)


def _shape(response, ignoring: frozenset[str] = frozenset()) -> tuple:
    body = response.json()
    if isinstance(body, dict):
        body = {
            key: "<varies>" if key in _VARYING_KEYS else value
            for key, value in body.items()
            if key not in ignoring
        }
    headers = {
        name: _UUID.sub("<uuid>", value) if name != "set-cookie" else value.split("=", 1)[0]
        for name, value in response.headers.items()
        if name not in _VARYING_HEADERS and name not in ignoring
    }
    return response.status_code, body, headers


def _written() -> tuple[int, int]:
    return Reservation.objects.count(), ReservationEvent.objects.count()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_both_paths_answer_alike(world, case):
    body = case.body(world)
    with mock.patch.object(
        LeanReserve, "answer", autospec=True, side_effect=LeanReserve.answer
    ) as lean_answer:
        before = _written()
        lean = _send(world, case, LEAN, body)
        lean_wrote = tuple(a - b for a, b in zip(_written(), before, strict=True))
        assert lean_answer.called == case.lean
        lean_answer.reset_mock()
        before = _written()
        django = _send(world, case, DJANGO, body)
        django_wrote = tuple(a - b for a, b in zip(_written(), before, strict=True))
        assert not lean_answer.called
    lean_shape, django_shape = _shape(lean), _shape(django)
    assert lean_shape[:2] == django_shape[:2]
    assert lean_shape[2] == django_shape[2]
    assert lean_wrote == django_wrote
    assert (lean_wrote == (1, 1)) == (lean.status_code == 201)


@override_settings(RESERVE_RATE_LIMIT="2/m")
def test_both_paths_count_one_budget_and_answer_429_alike(world):
    client = AsgiClient()
    send = lambda path: client.generic(  # noqa: E731
        "POST", path, json.dumps(line(world.row)), JSON
    )
    assert [send(LEAN).status_code, send(DJANGO).status_code] == [201, 201]
    lean, django = send(LEAN), send(DJANGO)
    # The wait is counted in whole seconds as each request is answered: a second may tick
    # between the two.
    waits = [int(lean["Retry-After"]), int(django["Retry-After"])]
    assert [lean.json()["retryAfter"], django.json()["retryAfter"]] == waits
    assert min(waits) >= 1 and max(waits) - min(waits) <= 1
    assert _shape(lean, ignoring={"retryAfter", "retry-after"}) == _shape(
        django, ignoring={"retryAfter", "retry-after"}
    )
    assert lean.status_code == 429 and lean.json()["code"] == "RATE_LIMITED"
    assert Reservation.objects.count() == 2


def test_the_lean_answer_is_logged_counted_and_carries_the_security_headers(world, caplog):
    with caplog.at_level("INFO", logger="stockd.request"):
        response = AsgiClient().generic(
            "POST", LEAN, json.dumps(line(world.row)), JSON, HTTP_X_REQUEST_ID="req-lean-1"
        )
    assert response.status_code == 201 and response["X-Request-ID"] == "req-lean-1"
    (record,) = [r for r in caplog.records if getattr(r, "request_id", None) == "req-lean-1"]
    assert (record.route, record.status, record.user) == ("api-reservations", 201, "guest")
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert header in response.headers


def _scope(**headers: str) -> dict:
    return {
        "method": "POST",
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
    }


# In-process, with a django_db mark: pytest-django then sets up the test database the tests
# above (through the ASGI app) need, when this module runs alone.
@pytest.mark.django_db
@override_settings(HOLD_COALESCING=True)
def test_the_lean_path_takes_plain_json_by_its_headers_alone():
    takes = LeanReserve().takes
    assert takes(_scope(**{"Content-Type": JSON}))
    assert takes(_scope(**{"Content-Type": "Application/JSON; charset=utf-8", "Accept": "*/*"}))
    assert takes(_scope(**{"Content-Type": JSON, "Accept": "application/json, text/plain, */*"}))
    assert not takes(_scope(**{"Content-Type": JSON, "Idempotency-Key": "k"}))
    assert not takes(_scope(**{"Content-Type": "text/plain"}))
    assert not takes(_scope(**{"Content-Type": f"{JSON}; charset=latin-1"}))
    assert not takes(_scope(**{"Content-Type": JSON, "Accept": "application/json; q=0"}))
    assert not takes(_scope(**{"Content-Type": JSON, "Accept": "text/html"}))
    assert not takes(_scope())
    assert not takes({**_scope(**{"Content-Type": JSON}), "query_string": b"format=json"})
    with override_settings(HOLD_COALESCING=False):
        assert not takes(_scope(**{"Content-Type": JSON}))

"""Every operation of the OpenAPI document answers what the document says, key for key.

The reservation endpoints build their JSON by hand (reservations/apis/bodies.py) and document
it with serializers that nothing checks against the dicts; the catalogue and warehouses render
through their serializers. Each documented status of each operation is produced here by a real
request, and its body is validated against that status's response schema with every object
made strict: a key added to a dict but not to its serializer fails, as does a missing required
key or a wrong type.
"""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import psycopg
import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker
from rest_framework.test import APIClient

from console.race import databases as race_databases
from console.race import services as race_services
from core import signin_limits
from integrations.keys import create_key, revoke_key
from integrations.models import ApiKey, Delivery, Webhook
from inventory.models import Inventory
from payments import signatures
from reservations.models import Reservation, WaitlistEntry
from reservations.planning import CartLine
from reservations.services import carts, holds, preorders, stock_states, transitions
from sales import services as sales
from tests.asgi_client import ASGI, WSGI, AsgiClient, committed_rows
from tests.dispatching import catch_up, settled_position
from tests.factories import (
    IdempotencyKeyFactory,
    InventoryFactory,
    ReservationEventFactory,
    ReservationFactory,
    UserFactory,
    WaitlistEntryFactory,
    WarehouseFactory,
)
from transfers import services as transfers

COMPONENTS = "#/components/schemas/"
UNKNOWN_ID = "987654"
PASSWORD = "pw-123456"  # every UserFactory account's

# Keys of the Error component that core documents only as "an object" (core may not name a
# domain's component), with the component each one really is. An error body carrying one has
# it validated against that component too, objects strict as everywhere else.
ERROR_KEY_COMPONENTS = {
    "entry": "WaitlistOutput",  # ALREADY_WAITING's waiting entry
    "level": "StockLevel",  # the stock row a refused stock write left as it was
}


# --- the document, as JSON Schema --------------------------------------------------------


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Translate one OpenAPI 3.0 schema object to JSON Schema 2020-12, objects made strict."""
    if "$ref" in schema:  # OpenAPI 3.0 ignores a reference's siblings
        return {"$ref": "#/$defs/" + schema["$ref"].removeprefix(COMPONENTS)}
    schema = dict(schema)
    for key in ("items", "not", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = _strict(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            schema[key] = [_strict(member) for member in schema[key]]
    if "properties" in schema:
        schema["properties"] = {name: _strict(s) for name, s in schema["properties"].items()}
        schema["additionalProperties"] = False
    for bound, exclusive in (("maximum", "exclusiveMaximum"), ("minimum", "exclusiveMinimum")):
        if schema.get(exclusive) is True:  # 3.0's boolean form; 2020-12 takes the bound itself
            schema[exclusive] = schema.pop(bound)
        elif schema.get(exclusive) is False:
            del schema[exclusive]
    if schema.pop("nullable", False):
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _is_date_time(value: object) -> bool:
    """RFC 3339: a date, a time and an offset (jsonschema checks it only with extra packages)."""
    if not isinstance(value, str):
        return True
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value and parsed.tzinfo is not None


FORMATS = FormatChecker()
FORMATS.checks("date-time")(_is_date_time)


@pytest.fixture
def api(transport: str, request) -> Iterator[APIClient | AsgiClient]:
    """A client with no session: in-process (wsgi), or through the ASGI app (asgi)."""
    if transport == ASGI:
        with committed_rows(request):
            yield AsgiClient()
    else:
        yield APIClient()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    response = APIClient().get("/api/schema?format=json")
    assert response.status_code == 200
    return response.json()


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for methods in document["paths"].values()
        for operation in methods.values()
    }


def _validator_for(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    definitions = {name: _strict(s) for name, s in document["components"]["schemas"].items()}
    return Draft202012Validator({**_strict(schema), "$defs": definitions}, format_checker=FORMATS)


def _media(document: dict[str, Any], operation_id: str, status: int) -> dict[str, Any]:
    response = _operations(document)[operation_id]["responses"][str(status)]
    return response["content"]["application/json"]["schema"]


def _mismatches(validator: Draft202012Validator, body: Any, at: list) -> list[str]:
    return [f"{at + list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


def _schema_errors(document: dict[str, Any], operation_id: str, status: int, body: Any) -> list:
    """Say where `body` differs from the schema documented for `status` (and where an error
    body's loosely documented keys differ from the components they are)."""
    media = _media(document, operation_id, status)
    errors = _mismatches(_validator_for(document, media), body, [])
    if media == {"$ref": COMPONENTS + "Error"} and isinstance(body, dict):
        for key, component in ERROR_KEY_COMPONENTS.items():
            if key in body:
                nested = _validator_for(document, {"$ref": COMPONENTS + component})
                errors += _mismatches(nested, body[key], [key])
    return sorted(errors)


# --- the requests: one or more per documented status of every operation ------------------


@dataclass(frozen=True)
class Call:
    operation_id: str
    status: int
    send: Callable[[APIClient], HttpResponse]
    committed: bool  # runs in a transactional test: waitlist promotion waits for a commit

    def __str__(self) -> str:
        return f"{self.operation_id}-{self.status}-{self.send.__name__}"


CALLS: list[Call] = []


def answers(operation_id: str, status: int, *, committed: bool = False) -> Callable:
    """Register a request expected to answer `status` from `operation_id`."""

    def register(send: Callable[[APIClient], HttpResponse]) -> Callable:
        CALLS.append(Call(operation_id, status, send, committed))
        return send

    return register


def _row(total: int = 5) -> Inventory:
    return InventoryFactory(total_stock=total)


def _hold(row: Inventory | None = None, *, quantity: int = 1, user=None) -> Reservation:
    """Hold units through the service, so counters and events stay consistent."""
    row = row or _row()
    return holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=quantity, user=user
    )


def _cart(user=None) -> carts.Cart:
    lines = [CartLine(row.product_id, row.warehouse_id, 1) for row in (_row(), _row())]
    return carts.reserve_cart(lines=lines, user=user)


def _make_due(*reservation_ids: uuid.UUID) -> None:
    past = timezone.now() - timedelta(seconds=1)
    Reservation.objects.filter(pk__in=reservation_ids).update(expires_at=past)


def _line(row: Inventory, quantity: int = 1) -> dict[str, Any]:
    """A line as the document describes it: ids as strings."""
    return {
        "productId": str(row.product_id),
        "warehouseId": str(row.warehouse_id),
        "quantity": quantity,
    }


def _code(response: HttpResponse, code: str) -> HttpResponse:
    """Check that an error answer is the one the call means to produce."""
    assert response.json()["code"] == code, response.content
    return response


# POST /api/reservations


@answers("reservations_create", 201)
def reserve_in_a_named_warehouse(api):
    return api.post("/api/reservations", _line(_row()), format="json")


@answers("reservations_create", 201)
def reserve_routed_from_the_shoppers_location(api):
    body = {"productId": str(_row().product_id), "quantity": 1, "lat": 19.0, "lng": 72.8}
    response = api.post("/api/reservations", body, format="json")
    assert "distanceKm" in response.json()
    return response


@answers("reservations_create", 400)
def reserve_with_a_malformed_body(api):
    response = api.post("/api/reservations", {"productId": "one", "quantity": 1}, format="json")
    assert "productId" in response.json()["details"]["fieldErrors"]
    return _code(response, "VALIDATION_ERROR")


@answers("reservations_create", 404)
def reserve_an_unknown_product(api):
    body = {**_line(_row()), "productId": UNKNOWN_ID}
    return _code(api.post("/api/reservations", body, format="json"), "NOT_FOUND")


@answers("reservations_create", 409)
def reserve_more_than_available(api):
    response = api.post("/api/reservations", _line(_row(total=5), quantity=6), format="json")
    assert response.json()["available"] == 5
    return _code(response, "INSUFFICIENT_STOCK")


@answers("reservations_create", 409)
def reserve_before_the_sale_opens(api):
    row = _row()
    starts = timezone.now() + timedelta(hours=1)
    sales.set_policy(row.product_id, {"sale_starts_at": starts})
    response = api.post("/api/reservations", _line(row), format="json")
    assert datetime.fromisoformat(response.json()["saleStartsAt"]) == starts
    return _code(response, "NOT_ON_SALE")


@answers("reservations_create", 409)
def reserve_past_the_limit_per_customer(api):
    row, shopper = _row(), UserFactory()
    sales.set_policy(row.product_id, {"limit_per_customer": 1})
    api.force_login(shopper)
    assert api.post("/api/reservations", _line(row), format="json").status_code == 201
    response = api.post("/api/reservations", _line(row), format="json")
    assert (response.json()["limit"], response.json()["alreadyHeld"]) == (1, 1)
    return _code(response, "LIMIT_REACHED")


@answers("reservations_create", 409)
def reserve_past_a_channels_quota(api):
    row = _row()
    sales.set_allocation("web", row.product_id, {"quota": 1})
    assert api.post("/api/reservations", _line(row), format="json").status_code == 201
    response = api.post("/api/reservations", _line(row), format="json")
    assert (response.json()["quota"], response.json()["remaining"]) == (1, 0)
    return _code(response, "CHANNEL_QUOTA_REACHED")


@answers("reservations_create", 401)
def reserve_as_a_guest_what_needs_an_account(api):
    row = _row()
    sales.set_policy(row.product_id, {"requires_account": True})
    return _code(api.post("/api/reservations", _line(row), format="json"), "ACCOUNT_REQUIRED")


@answers("reservations_create", 403)
def reserve_with_a_key_that_is_no_channels(api):
    key = create_key(name="stock", scopes=["stock:read"]).plain
    response = api.post(
        "/api/reservations",
        _line(_row()),
        format="json",
        headers={"Authorization": f"Bearer {key}"},
    )
    return _code(response, "FORBIDDEN")


@answers("reservations_create", 409)
def reserve_while_the_same_key_is_running(api):
    IdempotencyKeyFactory(key="busy", response_status=None, response_body=None)
    response = api.post(
        "/api/reservations", _line(_row()), format="json", headers={"Idempotency-Key": "busy"}
    )
    return _code(response, "IDEMPOTENCY_KEY_IN_USE")


@answers("reservations_create", 422)
def reserve_with_a_key_used_for_another_body(api):
    row, key = _row(), {"Idempotency-Key": "reused"}
    assert api.post("/api/reservations", _line(row), format="json", headers=key).status_code == 201
    response = api.post("/api/reservations", _line(row, 2), format="json", headers=key)
    return _code(response, "IDEMPOTENCY_KEY_REUSED")


@answers("reservations_create", 422)
def reserve_routed_to_a_pincode_nobody_serves(api):
    body = {"productId": str(_row().product_id), "quantity": 1, "pincode": "012345"}
    response = api.post("/api/reservations", body, format="json")
    assert response.json()["pincode"] == "012345"
    return _code(response, "PINCODE_NOT_SERVICEABLE")


@answers("reservations_create", 429)
def reserve_over_the_rate_limit(api):
    row = _row()
    with override_settings(RESERVE_RATE_LIMIT="1/m"):
        assert api.post("/api/reservations", _line(row), format="json").status_code == 201
        response = api.post("/api/reservations", _line(row), format="json")
    assert int(response["Retry-After"]) == response.json()["retryAfter"]
    return _code(response, "RATE_LIMITED")


# GET /api/reservations


@answers("reservations_list", 200)
def list_a_shoppers_holds_in_every_state(api):
    shopper = UserFactory()
    api.force_login(shopper)
    _hold(user=shopper)
    transitions.confirm(reservation_id=_hold(user=shopper).id, user=shopper)
    transitions.release(reservation_id=_hold(user=shopper).id, user=shopper)
    _cart(user=shopper)
    response = api.get("/api/reservations")
    assert len(response.json()) == 5
    return response


@answers("reservations_list", 200)
def list_a_guests_holds(api):
    made = [api.post("/api/reservations", _line(_row()), format="json") for _ in range(2)]
    response = api.get("/api/reservations")
    assert [r["id"] for r in response.json()] == [m.json()["id"] for m in reversed(made)]
    return response


@answers("reservations_list", 200)
def list_without_a_hold_or_an_account(api):
    _hold()
    response = api.get("/api/reservations")
    assert response.json() == []
    return response


# GET /api/reservations/{id}


@answers("reservations_retrieve", 200)
def read_a_hold(api):
    return api.get(f"/api/reservations/{_hold().id}")


@answers("reservations_retrieve", 200)
def read_a_hold_whose_time_is_up(api):
    hold = _hold()
    _make_due(hold.id)
    response = api.get(f"/api/reservations/{hold.id}")
    assert response.json()["releaseReason"] == "EXPIRED"
    return response


@answers("reservations_retrieve", 404)
def read_an_unknown_hold(api):
    return _code(api.get(f"/api/reservations/{uuid.uuid4()}"), "NOT_FOUND")


# POST /api/reservations/{id}/confirm, /release, /extend


@answers("reservations_confirm", 200)
def confirm_a_hold(api):
    return api.post(f"/api/reservations/{_hold().id}/confirm")


@answers("reservations_confirm", 404)
def confirm_an_unknown_hold(api):
    return _code(api.post(f"/api/reservations/{uuid.uuid4()}/confirm"), "NOT_FOUND")


@answers("reservations_confirm", 409)
def confirm_a_released_hold(api):
    hold = _hold()
    transitions.release(reservation_id=hold.id)
    return _code(api.post(f"/api/reservations/{hold.id}/confirm"), "INVALID_TRANSITION")


@answers("reservations_confirm", 410)
def confirm_a_hold_whose_time_is_up(api):
    hold = _hold()
    _make_due(hold.id)
    return _code(api.post(f"/api/reservations/{hold.id}/confirm"), "EXPIRED")


@answers("reservations_confirm", 422)
def confirm_with_a_key_used_for_another_hold(api):
    IdempotencyKeyFactory(scope="reservations.confirm|anonymous", key="used", response_status=200)
    response = api.post(
        f"/api/reservations/{_hold().id}/confirm", headers={"Idempotency-Key": "used"}
    )
    return _code(response, "IDEMPOTENCY_KEY_REUSED")


@answers("reservations_release", 200)
def release_a_hold_nobody_waits_for(api):
    response = api.post(f"/api/reservations/{_hold().id}/release")
    assert response.json()["waitlistPromotion"] is None
    return response


@answers("reservations_release", 200, committed=True)
def release_a_hold_a_waiting_shopper_gets(api):
    row = _row(total=1)
    hold = _hold(row)
    entry = WaitlistEntryFactory(product=row.product, warehouse=row.warehouse)
    response = api.post(f"/api/reservations/{hold.id}/release")
    entry.refresh_from_db()
    assert response.json()["waitlistPromotion"] == {
        "waitlistEntryId": str(entry.id),
        "reservationId": str(entry.reservation_id),
    }
    return response


@answers("reservations_release", 404)
def release_an_unknown_hold(api):
    return _code(api.post(f"/api/reservations/{uuid.uuid4()}/release"), "NOT_FOUND")


@answers("reservations_release", 409)
def release_a_confirmed_hold(api):
    hold = _hold()
    transitions.confirm(reservation_id=hold.id)
    return _code(api.post(f"/api/reservations/{hold.id}/release"), "INVALID_TRANSITION")


@answers("reservations_extend", 200)
def extend_a_hold(api):
    return api.post(f"/api/reservations/{_hold().id}/extend")


@answers("reservations_extend", 404)
def extend_an_unknown_hold(api):
    return _code(api.post(f"/api/reservations/{uuid.uuid4()}/extend"), "NOT_FOUND")


@answers("reservations_extend", 409)
def extend_a_hold_twice(api):
    hold = _hold()
    transitions.extend(reservation_id=hold.id)
    return _code(api.post(f"/api/reservations/{hold.id}/extend"), "EXTENSION_LIMIT")


@answers("reservations_extend", 410)
def extend_a_hold_whose_time_is_up(api):
    hold = _hold()
    _make_due(hold.id)
    return _code(api.post(f"/api/reservations/{hold.id}/extend"), "EXPIRED")


# POST /api/reservations/batch


@answers("reservations_batch", 201)
def reserve_a_cart_with_a_named_and_a_routed_line(api):
    routed = {"productId": str(_row().product_id), "quantity": 1}
    body = {"items": [_line(_row()), routed], "lat": 19.0, "lng": 72.8}
    response = api.post("/api/reservations/batch", body, format="json")
    assert [("distanceKm" in r) for r in response.json()["reservations"]] == [False, True]
    return response


@answers("reservations_batch", 400)
def reserve_an_empty_cart(api):
    response = api.post("/api/reservations/batch", {"items": []}, format="json")
    assert "items" in response.json()["details"]["fieldErrors"]
    return _code(response, "VALIDATION_ERROR")


@answers("reservations_batch", 400)
def reserve_a_cart_with_a_bad_line(api):
    body = {"items": [_line(_row(), quantity=0)]}
    response = api.post("/api/reservations/batch", body, format="json")
    assert response.json()["details"]["fieldErrors"] == {
        "items": ["[0].quantity: Ensure this value is greater than or equal to 1."]
    }
    return _code(response, "VALIDATION_ERROR")


@answers("reservations_batch", 401)
def reserve_a_cart_as_a_guest_with_a_line_that_needs_an_account(api):
    row = _row()
    sales.set_policy(row.product_id, {"requires_account": True})
    body = {"items": [_line(row)]}
    return _code(api.post("/api/reservations/batch", body, format="json"), "ACCOUNT_REQUIRED")


@answers("reservations_batch", 403)
def reserve_a_cart_with_a_key_that_is_no_channels(api):
    key = create_key(name="stock", scopes=["stock:read"]).plain
    response = api.post(
        "/api/reservations/batch",
        {"items": [_line(_row())]},
        format="json",
        headers={"Authorization": f"Bearer {key}"},
    )
    return _code(response, "FORBIDDEN")


@answers("reservations_batch", 404)
def reserve_a_cart_with_an_unknown_product(api):
    body = {"items": [{**_line(_row()), "productId": UNKNOWN_ID}]}
    return _code(api.post("/api/reservations/batch", body, format="json"), "NOT_FOUND")


@answers("reservations_batch", 409)
def reserve_a_cart_with_a_short_line(api):
    short = _row(total=1)
    body = {"items": [_line(_row()), _line(short, quantity=2)]}
    response = api.post("/api/reservations/batch", body, format="json")
    assert response.json()["productId"] == str(short.product_id)
    assert response.json()["warehouseId"] == str(short.warehouse_id)
    return _code(response, "INSUFFICIENT_STOCK")


@answers("reservations_batch", 409)
def reserve_a_cart_with_a_short_routed_line(api):
    short = _row(total=1)
    body = {"items": [{"productId": str(short.product_id), "quantity": 2}]}
    response = api.post("/api/reservations/batch", body, format="json")
    assert response.json()["productId"] == str(short.product_id)
    assert response.json()["warehouseId"] is None
    return _code(response, "INSUFFICIENT_STOCK")


@answers("reservations_batch", 422)
def reserve_a_cart_with_a_key_used_for_another_cart(api):
    row, key = _row(), {"Idempotency-Key": "reused"}
    first = api.post("/api/reservations/batch", {"items": [_line(row)]}, format="json", headers=key)
    assert first.status_code == 201
    body = {"items": [_line(row, 2)]}
    response = api.post("/api/reservations/batch", body, format="json", headers=key)
    return _code(response, "IDEMPOTENCY_KEY_REUSED")


@answers("reservations_batch", 422)
def reserve_a_cart_routed_to_a_pincode_nobody_serves(api):
    body = {"items": [{"productId": str(_row().product_id), "quantity": 1}], "pincode": "012345"}
    response = api.post("/api/reservations/batch", body, format="json")
    assert response.json()["pincode"] == "012345"
    return _code(response, "PINCODE_NOT_SERVICEABLE")


@answers("reservations_batch", 429)
def reserve_a_cart_over_the_rate_limit(api):
    body = {"items": [_line(_row())]}
    with override_settings(RESERVE_RATE_LIMIT="1/m"):
        assert api.post("/api/reservations/batch", body, format="json").status_code == 201
        response = api.post("/api/reservations/batch", body, format="json")
    assert int(response["Retry-After"]) == response.json()["retryAfter"]
    return _code(response, "RATE_LIMITED")


# POST /api/carts/{id}/confirm, /release


@answers("carts_confirm", 200)
def confirm_a_cart(api):
    return api.post(f"/api/carts/{_cart().cart_id}/confirm")


@answers("carts_confirm", 404)
def confirm_an_unknown_cart(api):
    return _code(api.post(f"/api/carts/{uuid.uuid4()}/confirm"), "NOT_FOUND")


@answers("carts_confirm", 409)
def confirm_a_cart_with_a_released_hold(api):
    cart = _cart()
    transitions.release(reservation_id=cart.holds[0].reservation.id)
    return _code(api.post(f"/api/carts/{cart.cart_id}/confirm"), "INVALID_TRANSITION")


@answers("carts_confirm", 410)
def confirm_a_cart_whose_time_is_up(api):
    cart = _cart()
    _make_due(*(hold.reservation.id for hold in cart.holds))
    return _code(api.post(f"/api/carts/{cart.cart_id}/confirm"), "EXPIRED")


@answers("carts_release", 200)
def release_a_cart(api):
    return api.post(f"/api/carts/{_cart().cart_id}/release")


@answers("carts_release", 404)
def release_an_unknown_cart(api):
    return _code(api.post(f"/api/carts/{uuid.uuid4()}/release"), "NOT_FOUND")


@answers("carts_release", 409)
def release_a_confirmed_cart(api):
    cart = _cart()
    carts.confirm_cart(cart_id=cart.cart_id)
    return _code(api.post(f"/api/carts/{cart.cart_id}/release"), "INVALID_TRANSITION")


# The waitlist


def _join_body(row: Inventory, email: str = "ann@example.com") -> dict[str, Any]:
    return {**_line(row), "email": email}


@answers("waitlist_join", 201)
def join_for_units_all_held(api):
    row = _row(total=1)
    _hold(row)
    return api.post("/api/waitlist", _join_body(row), format="json")


@answers("waitlist_join", 400)
def join_with_a_malformed_email(api):
    response = api.post("/api/waitlist", _join_body(_row(), email="ann"), format="json")
    assert "email" in response.json()["details"]["fieldErrors"]
    return _code(response, "VALIDATION_ERROR")


@answers("waitlist_join", 400)
def join_while_units_are_available(api):
    response = api.post("/api/waitlist", _join_body(_row(total=5)), format="json")
    assert response.json()["available"] == 5
    return _code(response, "STOCK_AVAILABLE")


@answers("waitlist_join", 404)
def join_for_an_unknown_product(api):
    body = {**_join_body(_row()), "productId": UNKNOWN_ID}
    return _code(api.post("/api/waitlist", body, format="json"), "NOT_FOUND")


@answers("waitlist_join", 409)
def join_again_while_waiting(api):
    row = _row(total=0)
    waiting = WaitlistEntryFactory(
        product=row.product, warehouse=row.warehouse, email="ann@example.com"
    )
    response = api.post("/api/waitlist", _join_body(row, email="Ann@Example.com"), format="json")
    assert response.json()["entry"]["id"] == str(waiting.id)
    assert response.json()["position"] == 1
    return _code(response, "ALREADY_WAITING")


def _promoted_entry() -> WaitlistEntry:
    hold = ReservationFactory()
    return WaitlistEntryFactory(
        product=hold.product,
        warehouse=hold.warehouse,
        status=WaitlistEntry.Status.PROMOTED,
        reservation=hold,
    )


@answers("waitlist_list", 200)
def list_the_waitlist_as_staff(api):
    waiting, promoted = WaitlistEntryFactory(), _promoted_entry()
    cancelled = WaitlistEntryFactory(status=WaitlistEntry.Status.CANCELLED)
    api.force_login(UserFactory(is_staff=True))
    response = api.get("/api/waitlist")
    assert {e["id"] for e in response.json()} == {str(e.id) for e in (waiting, promoted, cancelled)}
    return response


@answers("waitlist_list", 403)
def list_the_waitlist_without_signing_in(api):
    WaitlistEntryFactory()
    return _code(api.get("/api/waitlist"), "NOT_AUTHENTICATED")


@answers("waitlist_list", 403)
def list_the_waitlist_as_a_shopper(api):
    WaitlistEntryFactory()
    api.force_login(UserFactory())
    return _code(api.get("/api/waitlist"), "FORBIDDEN")


@answers("waitlist_retrieve", 200)
def read_a_waiting_entry(api):
    return api.get(f"/api/waitlist/{WaitlistEntryFactory().id}")


@answers("waitlist_retrieve", 200)
def read_a_promoted_entry(api):
    return api.get(f"/api/waitlist/{_promoted_entry().id}")


@answers("waitlist_retrieve", 404)
def read_an_unknown_entry(api):
    return _code(api.get(f"/api/waitlist/{uuid.uuid4()}"), "NOT_FOUND")


@answers("waitlist_cancel", 200)
def cancel_a_waiting_entry(api):
    return api.delete(f"/api/waitlist/{WaitlistEntryFactory().id}")


@answers("waitlist_cancel", 404)
def cancel_an_unknown_entry(api):
    return _code(api.delete(f"/api/waitlist/{uuid.uuid4()}"), "NOT_FOUND")


@answers("waitlist_cancel", 409)
def cancel_a_promoted_entry(api):
    return _code(api.delete(f"/api/waitlist/{_promoted_entry().id}"), "INVALID_TRANSITION")


# The cron sweep, the catalogue, delivery and the warehouses


def _sweep(api: APIClient) -> HttpResponse:
    with override_settings(CRON_SECRET="shapes-secret"):
        return api.get("/api/cron/expire", headers={"x-cron-secret": "shapes-secret"})


@answers("cron_expire", 200)
def sweep_with_the_secret(api):
    _make_due(_hold().id)
    response = _sweep(api)
    assert response.json()["released"] == 1
    assert response.json()["waitlistPromotions"] == []
    return response


@answers("cron_expire", 200, committed=True)
def sweep_units_a_waiting_shopper_gets(api):
    row = _row(total=1)
    hold = _hold(row)
    entry = WaitlistEntryFactory(product=row.product, warehouse=row.warehouse)
    _make_due(hold.id)
    response = _sweep(api)
    entry.refresh_from_db()
    assert response.json()["waitlistPromotions"] == [
        {"waitlistEntryId": str(entry.id), "reservationId": str(entry.reservation_id)}
    ]
    return response


@answers("cron_expire", 401)
def sweep_without_the_secret(api):
    with override_settings(CRON_SECRET="shapes-secret"):
        return _code(api.get("/api/cron/expire"), "UNAUTHORIZED")


@answers("products_list", 200)
def list_products(api):
    _row(), _row()
    return api.get("/api/products")


@answers("products_retrieve", 200)
def read_a_product(api):
    return api.get(f"/api/products/{_row().product_id}")


@answers("products_retrieve", 400)
def read_a_product_by_a_malformed_id(api):
    return _code(api.get("/api/products/12.0"), "INVALID_ID")


@answers("products_retrieve", 404)
def read_an_unknown_product(api):
    return _code(api.get(f"/api/products/{UNKNOWN_ID}"), "NOT_FOUND")


def _detect(product_id: int | str, pincode: str = "110001") -> dict[str, Any]:
    return {"pincode": pincode, "productId": str(product_id)}


@answers("detect_warehouse", 200)
def quote_delivery_of_a_product_to_a_pincode(api):
    product = _row().product
    InventoryFactory(product=product, total_stock=0)
    response = api.post("/api/detect-warehouse", _detect(product.id), format="json")
    assert len(response.json()["warehouses"]) == 2
    return response


@answers("detect_warehouse", 400)
def quote_delivery_without_a_product(api):
    response = api.post("/api/detect-warehouse", {"pincode": "110001"}, format="json")
    assert "productId" in response.json()["details"]["fieldErrors"]
    return _code(response, "VALIDATION_ERROR")


@answers("detect_warehouse", 404)
def quote_delivery_of_an_unknown_product(api):
    return _code(api.post("/api/detect-warehouse", _detect(UNKNOWN_ID), format="json"), "NOT_FOUND")


@answers("detect_warehouse", 422)
def quote_delivery_to_a_pincode_nobody_serves(api):
    body = _detect(_row().product_id, pincode="012345")
    response = api.post("/api/detect-warehouse", body, format="json")
    assert response.json()["pincode"] == "012345"
    return _code(response, "PINCODE_NOT_SERVICEABLE")


@answers("warehouses_list", 200)
def list_warehouses(api):
    _row(), _row()
    return api.get("/api/warehouses")


# The staff JSON API and the race demo


def _staff(api: APIClient) -> APIClient:
    api.force_login(UserFactory(is_staff=True))
    return api


def _shopper(api: APIClient) -> APIClient:
    api.force_login(UserFactory())
    return api


def _sign_in(api: APIClient, email: str, password: str = PASSWORD) -> HttpResponse:
    return api.post("/api/admin/login", {"email": email, "password": password}, format="json")


@answers("admin_login", 200)
def sign_in_as_staff(api):
    response = _sign_in(api, UserFactory(is_staff=True).email)
    assert api.get("/api/admin/stats").status_code == 200
    return response


@answers("admin_login", 400)
def sign_in_without_a_password(api):
    response = api.post("/api/admin/login", {"email": "a@example.com"}, format="json")
    assert "password" in response.json()["details"]["fieldErrors"]
    return _code(response, "VALIDATION_ERROR")


@answers("admin_login", 401)
def sign_in_with_a_wrong_password(api):
    return _code(_sign_in(api, UserFactory(is_staff=True).email, "wrong"), "INVALID_CREDENTIALS")


@answers("admin_login", 403)
def sign_in_as_a_shopper(api):
    return _code(_sign_in(api, UserFactory().email), "FORBIDDEN")


@answers("admin_login", 403)
def sign_in_with_a_form(api):
    body = {"email": UserFactory(is_staff=True).email, "password": PASSWORD}
    return _code(api.post("/api/admin/login", body), "FORBIDDEN")


@answers("admin_login", 429)
def sign_in_after_too_many_failures(api):
    email = UserFactory(is_staff=True).email
    for _ in range(signin_limits.limit().count):
        assert _sign_in(api, email, "wrong").status_code == 401
    response = _sign_in(api, email)
    assert int(response["Retry-After"]) == response.json()["retryAfter"]
    return _code(response, "RATE_LIMITED")


@answers("admin_logout", 200)
def sign_out(api):
    response = _staff(api).post("/api/admin/logout", {}, format="json")
    assert api.get("/api/admin/stats").status_code == 401
    return response


@answers("admin_logout", 401)
def sign_out_without_signing_in(api):
    return _code(api.post("/api/admin/logout", {}, format="json"), "NOT_AUTHENTICATED")


@answers("admin_logout", 403)
def sign_out_as_a_shopper(api):
    return _code(_shopper(api).post("/api/admin/logout", {}, format="json"), "FORBIDDEN")


@answers("admin_logout", 403)
def sign_out_from_another_site(api):
    response = _staff(api).post(
        "/api/admin/logout", {}, format="json", headers={"Sec-Fetch-Site": "cross-site"}
    )
    return _code(response, "FORBIDDEN")


@answers("admin_stats", 200)
def read_the_figures(api):
    _hold(), _cart()
    transitions.confirm(reservation_id=_hold().id)
    WaitlistEntryFactory()
    response = _staff(api).get("/api/admin/stats")
    assert response.json()["topProducts"]
    return response


@answers("admin_stats", 200)
def read_the_figures_of_an_empty_shop(api):
    return _staff(api).get("/api/admin/stats")


@answers("admin_stats", 401)
def read_the_figures_without_signing_in(api):
    return _code(api.get("/api/admin/stats"), "NOT_AUTHENTICATED")


@answers("admin_stats", 403)
def read_the_figures_as_a_shopper(api):
    return _code(_shopper(api).get("/api/admin/stats"), "FORBIDDEN")


@answers("admin_inventory_list", 200)
def list_stock_rows(api):
    _hold(_row()), _row(total=0)
    response = _staff(api).get("/api/admin/inventory")
    assert len(response.json()) == 2
    return response


@answers("admin_inventory_list", 401)
def list_stock_rows_without_signing_in(api):
    return _code(api.get("/api/admin/inventory"), "NOT_AUTHENTICATED")


@answers("admin_inventory_list", 403)
def list_stock_rows_as_a_shopper(api):
    return _code(_shopper(api).get("/api/admin/inventory"), "FORBIDDEN")


def _set_total(api: APIClient, body: dict[str, Any], **extra: Any) -> HttpResponse:
    return api.patch("/api/admin/inventory", body, format="json", **extra)


@answers("admin_inventory_set_total", 200)
def set_a_rows_total(api):
    row = _row(total=5)
    body = {"inventoryId": str(row.id), "totalStock": 7, "expectedTotalStock": 5, "reason": "x"}
    response = _set_total(_staff(api), body)
    assert response.json()["totalStock"] == 7
    return response


@answers("admin_inventory_set_total", 400)
def set_a_negative_total(api):
    response = _set_total(_staff(api), {"inventoryId": str(_row().id), "totalStock": -1})
    assert "totalStock" in response.json()["details"]["fieldErrors"]
    return _code(response, "VALIDATION_ERROR")


@answers("admin_inventory_set_total", 401)
def set_a_total_without_signing_in(api):
    response = _set_total(api, {"inventoryId": str(_row().id), "totalStock": 1})
    return _code(response, "NOT_AUTHENTICATED")


@answers("admin_inventory_set_total", 403)
def set_a_total_as_a_shopper(api):
    response = _set_total(_shopper(api), {"inventoryId": str(_row().id), "totalStock": 1})
    return _code(response, "FORBIDDEN")


@answers("admin_inventory_set_total", 403)
def set_a_total_from_another_site(api):
    body = {"inventoryId": str(_row().id), "totalStock": 1}
    response = _set_total(_staff(api), body, headers={"Origin": "https://elsewhere.example"})
    return _code(response, "FORBIDDEN")


@answers("admin_inventory_set_total", 404)
def set_the_total_of_an_unknown_row(api):
    response = _set_total(_staff(api), {"inventoryId": UNKNOWN_ID, "totalStock": 1})
    return _code(response, "NOT_FOUND")


@answers("admin_inventory_set_total", 409)
def set_a_total_someone_changed_meanwhile(api):
    row = _row(total=5)
    body = {"inventoryId": str(row.id), "totalStock": 7, "expectedTotalStock": 4}
    response = _set_total(_staff(api), body)
    assert response.json()["currentTotalStock"] == 5
    return _code(response, "STALE_TOTAL")


@answers("admin_inventory_set_total", 409)
def set_a_total_below_the_held_units(api):
    row = _row(total=5)
    _hold(row, quantity=3)
    response = _set_total(_staff(api), {"inventoryId": str(row.id), "totalStock": 2})
    assert response.json()["reservedStock"] == 3
    return _code(response, "STOCK_BELOW_RESERVED")


@answers("admin_logs_list", 200)
def list_the_audit_log(api):
    hold = _hold()
    transitions.release(reservation_id=hold.id)
    _set_total(_staff(api), {"inventoryId": str(_row().id), "totalStock": 9})
    ReservationEventFactory()
    response = api.get("/api/admin/logs")
    assert {e["reservationId"] for e in response.json()} >= {str(hold.id), None}
    return response


@answers("admin_logs_list", 200)
def list_the_audit_log_filtered(api):
    hold = _hold()
    _hold()
    response = _staff(api).get("/api/admin/logs", {"productId": hold.product_id, "limit": 5})
    assert [e["reservationId"] for e in response.json()] == [str(hold.id)]
    return response


@answers("admin_logs_list", 400)
def list_the_audit_log_backwards_in_time(api):
    query = {"since": "2025-01-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"}
    response = _staff(api).get("/api/admin/logs", query)
    assert "until" in response.json()["details"]["fieldErrors"]
    return _code(response, "VALIDATION_ERROR")


@answers("admin_logs_list", 401)
def list_the_audit_log_without_signing_in(api):
    return _code(api.get("/api/admin/logs"), "NOT_AUTHENTICATED")


@answers("admin_logs_list", 403)
def list_the_audit_log_as_a_shopper(api):
    return _code(_shopper(api).get("/api/admin/logs"), "FORBIDDEN")


def _race(api: APIClient, row: Inventory, **fields: Any) -> HttpResponse:
    body = {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id)}
    body |= {"concurrency": 3, "quantity": 1, **fields}
    return api.post("/api/demo/race", body, format="json")


@answers("demo_race", 200, committed=True)  # the racing connections see committed rows only
def race_three_shoppers_for_two_units(api):
    response = _race(_staff(api), _row(total=2))
    assert response.json()["summary"]["winners"] == 2
    return response


@answers("demo_race", 200, committed=True)
def race_three_naive_shoppers(api):
    response = _race(_staff(api), _row(total=1), strategy="naive")
    assert len(response.json()["results"]) == 3
    return response


@answers("demo_race", 400)
def race_nobody(api):
    response = _race(_staff(api), _row(), concurrency=0)
    assert "concurrency" in response.json()["details"]["fieldErrors"]
    return _code(response, "VALIDATION_ERROR")


@answers("demo_race", 401)
def race_without_signing_in(api):
    return _code(_race(api, _row()), "NOT_AUTHENTICATED")


@answers("demo_race", 403)
def race_as_a_shopper(api):
    return _code(_race(_shopper(api), _row()), "FORBIDDEN")


@answers("demo_race", 404)
def race_for_a_row_nobody_stocks(api):
    other_warehouse = _row().warehouse
    row = Inventory(product=_row().product, warehouse=other_warehouse)
    return _code(_race(_staff(api), row), "NOT_FOUND")


@answers("demo_race", 409, committed=True)
def race_while_another_race_runs(api):
    with psycopg.connect(race_databases.race_conninfo(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (race_databases.ADVISORY_LOCK_KEY,))
        return _code(_race(_staff(api), _row()), "RACE_RUNNING")


@answers("demo_race", 503)
def race_on_a_database_without_row_locks(api):
    needs = {"serializable": "The original's SERIALIZABLE + FOR UPDATE needs PostgreSQL."}
    with mock.patch.object(race_services, "unavailable_strategies", return_value=needs):
        return _code(_race(_staff(api), _row(), strategy="serializable"), "RACE_NEEDS_POSTGRESQL")


# The payment webhook

WEBHOOK_SECRET = "shapes-webhook-secret"


def _webhook(api: APIClient, event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> HttpResponse:
    body = json.dumps(event).encode()
    header = signatures.signature_header([secret], int(time.time()), body)
    with override_settings(PAYMENT_WEBHOOK_SECRET=WEBHOOK_SECRET):
        return api.post(
            "/api/payments/webhook",
            body,
            content_type="application/json",
            headers={signatures.HEADER: header},
        )


@answers("payments_webhook", 200)
def pay_for_a_hold(api):
    data = {"reservationId": str(_hold().id)}
    response = _webhook(api, {"id": "evt_shapes", "type": "payment.succeeded", "data": data})
    assert response.json()["outcome"] == "confirmed"
    return response


@answers("payments_webhook", 200)
def fail_to_pay_for_a_cart(api):
    data = {"cartId": str(_cart().cart_id)}
    response = _webhook(api, {"id": "evt_shapes", "type": "payment.failed", "data": data})
    assert response.json()["outcome"] == "released"
    return response


@answers("payments_webhook", 400)
def pay_with_a_wrong_signature(api):
    data = {"reservationId": str(_hold().id)}
    event = {"id": "evt_shapes", "type": "payment.succeeded", "data": data}
    return _code(_webhook(api, event, secret="not-the-secret"), "BAD_SIGNATURE")


@answers("payments_webhook", 400)
def pay_with_a_signed_but_malformed_event(api):
    event = {"id": "evt_shapes", "type": "payment.succeeded", "data": {}}
    response = _webhook(api, event)
    assert "data" in response.json()["details"]["fieldErrors"]
    return _code(response, "VALIDATION_ERROR")


@answers("payments_webhook", 403)
def pay_while_the_webhook_has_no_secret(api):
    with override_settings(PAYMENT_WEBHOOK_SECRET=""):
        response = api.post("/api/payments/webhook", {}, format="json")
    return _code(response, "WEBHOOK_NOT_CONFIGURED")


# Malformed input in the path or the query: every operation that takes some answers 400
# (core.openapi.document_bad_input documents it; tests/test_fuzz_api.py found these).

_MALFORMED_ID = "not-a-uuid"


@answers("reservations_retrieve", 400)
def read_a_malformed_hold_id(api):
    return _code(api.get(f"/api/reservations/{_MALFORMED_ID}"), "INVALID_ID")


@answers("reservations_confirm", 400)
def confirm_a_malformed_hold_id(api):
    return _code(api.post(f"/api/reservations/{_MALFORMED_ID}/confirm"), "INVALID_ID")


@answers("reservations_release", 400)
def release_a_malformed_hold_id(api):
    return _code(api.post(f"/api/reservations/{_MALFORMED_ID}/release"), "INVALID_ID")


@answers("reservations_extend", 400)
def extend_a_malformed_hold_id(api):
    return _code(api.post(f"/api/reservations/{_MALFORMED_ID}/extend"), "INVALID_ID")


@answers("carts_confirm", 400)
def confirm_a_malformed_cart_id(api):
    return _code(api.post(f"/api/carts/{_MALFORMED_ID}/confirm"), "INVALID_ID")


@answers("carts_release", 400)
def release_a_malformed_cart_id(api):
    return _code(api.post(f"/api/carts/{_MALFORMED_ID}/release"), "INVALID_ID")


@answers("waitlist_retrieve", 400)
def read_a_malformed_entry_id(api):
    return _code(api.get(f"/api/waitlist/{_MALFORMED_ID}"), "INVALID_ID")


@answers("waitlist_cancel", 400)
def cancel_a_malformed_entry_id(api):
    return _code(api.delete(f"/api/waitlist/{_MALFORMED_ID}"), "INVALID_ID")


@answers("reservations_list", 400)
def list_holds_from_a_negative_offset(api):
    return _code(api.get("/api/reservations?offset=-1"), "VALIDATION_ERROR")


@answers("products_list", 400)
def search_the_catalogue_with_an_overlong_term(api):
    return _code(api.get("/api/products", {"q": "x" * 201}), "VALIDATION_ERROR")


@answers("waitlist_list", 400)
def list_the_waitlist_past_the_page_limit(api):
    api.force_login(UserFactory(is_staff=True, password=None))
    return _code(api.get("/api/waitlist?limit=0"), "VALIDATION_ERROR")


# The stock API (integrations): API keys or staff sessions; writes need an Idempotency-Key.


def _bearer(*scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(name='erp', scopes=list(scopes)).plain}"}


READ_KEY, WRITE_KEY = ("stock:read",), ("stock:read", "stock:write")


def _adjust(api, body: dict[str, Any], *, scopes=WRITE_KEY, key: str | None = "adj") -> Any:
    headers = {**_bearer(*scopes), **({"Idempotency-Key": key} if key else {})}
    return api.post("/api/stock/adjustments", body, format="json", headers=headers)


def _adjustment(row: Inventory, **changes: Any) -> dict[str, Any]:
    ids = {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id)}
    return {**ids, "state": "onHand", "delta": 2, "reason": "RECEIVED", **changes}


def _set_level(api, row: Inventory, body: dict[str, Any], *, key: str | None = "set") -> Any:
    headers = {**_bearer(*WRITE_KEY), **({"Idempotency-Key": key} if key else {})}
    path = f"/api/stock/levels/{row.product_id}/{row.warehouse_id}"
    return api.put(path, body, format="json", headers=headers)


@answers("stock_levels_list", 200)
def read_stock_levels_with_a_key(api):
    row = _row()
    response = api.get(
        "/api/stock/levels", {"productId": row.product_id}, headers=_bearer(*READ_KEY)
    )
    assert response.json()[0]["version"] == 1
    return response


@answers("stock_levels_list", 400)
def read_stock_levels_of_a_malformed_product(api):
    response = api.get("/api/stock/levels", {"productId": "x"}, headers=_bearer(*READ_KEY))
    return _code(response, "VALIDATION_ERROR")


@answers("stock_levels_list", 401)
def read_stock_levels_without_a_key(api):
    return _code(api.get("/api/stock/levels"), "NOT_AUTHENTICATED")


@answers("stock_levels_list", 403)
def read_stock_levels_as_a_shopper(api):
    return _code(_shopper(api).get("/api/stock/levels"), "FORBIDDEN")


@answers("stock_adjustments_create", 200)
def adjust_a_rows_stock(api):
    response = _adjust(api, _adjustment(_row(total=5)))
    assert response.json()["levels"][0]["onHand"] == 7
    return response


@answers("stock_adjustments_create", 200)
def adjust_many_rows_at_once(api):
    items = [_adjustment(_row()), _adjustment(_row(), state="unsellable", reason="DAMAGED")]
    return _adjust(api, {"items": items})


@answers("stock_adjustments_create", 400)
def adjust_with_an_unknown_state(api):
    return _code(_adjust(api, _adjustment(_row(), state="held")), "VALIDATION_ERROR")


@answers("stock_adjustments_create", 401)
def adjust_with_a_revoked_key(api):
    headers = _bearer(*WRITE_KEY)
    revoke_key(ApiKey.objects.get().pk)
    response = api.post(
        "/api/stock/adjustments", _adjustment(_row()), format="json",
        headers={**headers, "Idempotency-Key": "k"},
    )  # fmt: skip
    return _code(response, "NOT_AUTHENTICATED")


@answers("stock_adjustments_create", 403)
def adjust_with_a_read_only_key(api):
    return _code(_adjust(api, _adjustment(_row()), scopes=READ_KEY), "FORBIDDEN")


@answers("stock_adjustments_create", 404)
def adjust_an_unstocked_row(api):
    response = _adjust(api, _adjustment(_row(), productId=UNKNOWN_ID))
    assert response.json()["index"] == 0
    return _code(response, "NOT_FOUND")


@answers("stock_adjustments_create", 409)
def adjust_on_hand_below_what_is_held(api):
    row = _row(total=5)
    _hold(row, quantity=4)
    response = _adjust(api, _adjustment(row, delta=-2, reason="COUNTED"))
    assert response.json()["level"]["held"] == 4
    return _code(response, "INSUFFICIENT_STOCK")


@answers("stock_adjustments_create", 428)
def adjust_without_an_idempotency_key(api):
    return _code(_adjust(api, _adjustment(_row()), key=None), "IDEMPOTENCY_KEY_REQUIRED")


@answers("stock_level_set", 200)
def set_a_rows_states_at_its_version(api):
    response = _set_level(api, _row(total=5), {"onHand": 9, "safety": 2, "expectedVersion": 1})
    assert response.json()["available"] == 7
    return response


@answers("stock_level_set", 400)
def set_a_level_without_a_version(api):
    return _code(_set_level(api, _row(), {"onHand": 9}), "VALIDATION_ERROR")


@answers("stock_level_set", 401)
def set_a_level_without_a_key(api):
    response = api.put(f"/api/stock/levels/{UNKNOWN_ID}/{UNKNOWN_ID}", {}, format="json")
    return _code(response, "NOT_AUTHENTICATED")


@answers("stock_level_set", 403)
def set_a_level_as_a_shopper(api):
    row = _row()
    response = _shopper(api).put(
        f"/api/stock/levels/{row.product_id}/{row.warehouse_id}",
        {"onHand": 1, "expectedVersion": 1}, format="json", headers={"Idempotency-Key": "k"},
    )  # fmt: skip
    return _code(response, "FORBIDDEN")


@answers("stock_level_set", 404)
def set_the_level_of_an_unstocked_row(api):
    row = InventoryFactory.build(product_id=int(UNKNOWN_ID), warehouse_id=int(UNKNOWN_ID))
    return _code(_set_level(api, row, {"onHand": 1, "expectedVersion": 0}), "NOT_FOUND")


@answers("stock_level_set", 409)
def set_a_level_from_a_stale_version(api):
    response = _set_level(api, _row(), {"onHand": 1, "expectedVersion": 0})
    assert response.json()["level"]["version"] == 1
    return _code(response, "STALE_VERSION")


@answers("stock_level_set", 428)
def set_a_level_without_an_idempotency_key(api):
    response = _set_level(api, _row(), {"onHand": 1, "expectedVersion": 1}, key=None)
    return _code(response, "IDEMPOTENCY_KEY_REQUIRED")


def _ledger(api, query: dict[str, Any], scopes=READ_KEY) -> Any:
    return api.get("/api/stock/ledger", query, headers=_bearer(*scopes) if scopes else {})


@answers("stock_ledger_list", 200)
def read_a_rows_ledger(api):
    row = _row()
    _hold(row)
    response = _ledger(api, {"productId": row.product_id, "warehouseId": row.warehouse_id})
    assert [e["reason"] for e in response.json()["entries"]] == ["RECEIVED", "RESERVED"]
    return response


@answers("stock_ledger_list", 400)
def read_a_ledger_without_its_row(api):
    return _code(_ledger(api, {"productId": "1"}), "VALIDATION_ERROR")


@answers("stock_ledger_list", 401)
def read_a_ledger_without_a_key(api):
    return _code(_ledger(api, {}, scopes=()), "NOT_AUTHENTICATED")


@answers("stock_ledger_list", 403)
def read_a_ledger_with_a_webhooks_only_key(api):
    return _code(_ledger(api, {}, scopes=("webhooks",)), "FORBIDDEN")


@answers("stock_ledger_list", 404)
def read_the_ledger_of_an_unstocked_row(api):
    return _code(_ledger(api, {"productId": UNKNOWN_ID, "warehouseId": UNKNOWN_ID}), "NOT_FOUND")


# Webhooks and the events feed (scope `webhooks`).

HOOK_URL = "http://127.0.0.1:9/hooks"


def _hooks_key() -> dict[str, str]:
    return _bearer("webhooks")


def _a_webhook() -> Webhook:
    return Webhook.objects.create(url=HOOK_URL, events=["stock.changed"], secret="s" * 64)


def _dead_delivery() -> Delivery:
    """A delivery of a stock.changed event that failed for a day (not tried here)."""
    _hold(_row())
    hook = _a_webhook()
    catch_up()
    Delivery.objects.filter(webhook=hook).update(
        status="DEAD", attempts=9, last_status_code=500, last_error="HTTP 500"
    )
    return Delivery.objects.filter(webhook=hook).first()


@answers("webhooks_create", 201)
def register_a_webhook(api):
    with override_settings(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True):
        body = {"url": HOOK_URL, "events": ["stock.changed", "stock.out_of_stock"]}
        response = api.post("/api/webhooks", body, format="json", headers=_hooks_key())
    assert len(response.json()["secret"]) == 64
    return response


@answers("webhooks_create", 400)
def register_a_webhook_into_a_private_network(api):
    body = {"url": HOOK_URL, "events": ["stock.changed"]}
    return _code(
        api.post("/api/webhooks", body, format="json", headers=_hooks_key()), "VALIDATION_ERROR"
    )


@answers("webhooks_create", 401)
def register_a_webhook_without_a_key(api):
    return _code(api.post("/api/webhooks", {}, format="json"), "NOT_AUTHENTICATED")


@answers("webhooks_create", 403)
def register_a_webhook_with_a_stock_key(api):
    body = {"url": HOOK_URL, "events": ["stock.changed"]}
    return _code(
        api.post("/api/webhooks", body, format="json", headers=_bearer(*WRITE_KEY)), "FORBIDDEN"
    )


@answers("webhooks_list", 200)
def list_webhooks(api):
    _a_webhook()
    response = api.get("/api/webhooks", headers=_hooks_key())
    assert "secret" not in response.json()[0]
    return response


@answers("webhooks_list", 401)
def list_webhooks_without_a_key(api):
    return _code(api.get("/api/webhooks"), "NOT_AUTHENTICATED")


@answers("webhooks_list", 403)
def list_webhooks_as_a_shopper(api):
    return _code(_shopper(api).get("/api/webhooks"), "FORBIDDEN")


@answers("webhooks_delete", 200)
def delete_a_webhook(api):
    return api.delete(f"/api/webhooks/{_a_webhook().pk}", headers=_hooks_key())


@answers("webhooks_delete", 400)
def delete_a_malformed_webhook_id(api):
    return _code(api.delete("/api/webhooks/x", headers=_hooks_key()), "INVALID_ID")


@answers("webhooks_delete", 401)
def delete_a_webhook_without_a_key(api):
    return _code(api.delete(f"/api/webhooks/{UNKNOWN_ID}"), "NOT_AUTHENTICATED")


@answers("webhooks_delete", 403)
def delete_a_webhook_as_a_shopper(api):
    return _code(_shopper(api).delete(f"/api/webhooks/{UNKNOWN_ID}"), "FORBIDDEN")


@answers("webhooks_delete", 404)
def delete_an_unknown_webhook(api):
    return _code(api.delete(f"/api/webhooks/{UNKNOWN_ID}", headers=_hooks_key()), "NOT_FOUND")


@answers("webhooks_deliveries_list", 200, committed=True)
def list_a_webhooks_deliveries(api):
    dead = _dead_delivery()
    response = api.get(f"/api/webhooks/{dead.webhook_id}/deliveries", headers=_hooks_key())
    assert response.json()[0]["status"] == "DEAD"
    return response


@answers("webhooks_deliveries_list", 400)
def list_the_deliveries_of_a_malformed_webhook_id(api):
    return _code(api.get("/api/webhooks/x/deliveries", headers=_hooks_key()), "INVALID_ID")


@answers("webhooks_deliveries_list", 401)
def list_deliveries_without_a_key(api):
    return _code(api.get(f"/api/webhooks/{UNKNOWN_ID}/deliveries"), "NOT_AUTHENTICATED")


@answers("webhooks_deliveries_list", 403)
def list_deliveries_as_a_shopper(api):
    return _code(_shopper(api).get(f"/api/webhooks/{UNKNOWN_ID}/deliveries"), "FORBIDDEN")


@answers("webhooks_deliveries_list", 404)
def list_the_deliveries_of_an_unknown_webhook(api):
    response = api.get(f"/api/webhooks/{UNKNOWN_ID}/deliveries", headers=_hooks_key())
    return _code(response, "NOT_FOUND")


def _retry_path(webhook_id: object, delivery_id: object) -> str:
    return f"/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"


@answers("webhooks_deliveries_retry", 202, committed=True)
def redeliver_a_dead_delivery(api):
    dead = _dead_delivery()
    response = api.post(_retry_path(dead.webhook_id, dead.pk), headers=_hooks_key())
    assert response.json()["status"] == "PENDING"
    return response


@answers("webhooks_deliveries_retry", 400)
def redeliver_a_malformed_delivery_id(api):
    return _code(api.post(_retry_path(1, "x"), headers=_hooks_key()), "INVALID_ID")


@answers("webhooks_deliveries_retry", 401)
def redeliver_without_a_key(api):
    return _code(api.post(_retry_path(1, 1)), "NOT_AUTHENTICATED")


@answers("webhooks_deliveries_retry", 403)
def redeliver_as_a_shopper(api):
    return _code(_shopper(api).post(_retry_path(1, 1)), "FORBIDDEN")


@answers("webhooks_deliveries_retry", 404)
def redeliver_an_unknown_delivery(api):
    return _code(api.post(_retry_path(1, UNKNOWN_ID), headers=_hooks_key()), "NOT_FOUND")


@answers("events_list", 200, committed=True)
def poll_the_events(api):
    _hold(_row())
    settled_position()  # the hold is final to the feed (another worker's transaction may be open)
    response = api.get("/api/events", {"types": "reservation.created"}, headers=_hooks_key())
    assert [e["type"] for e in response.json()["events"]] == ["reservation.created"]
    return response


@answers("events_list", 400)
def poll_the_events_of_an_unknown_type(api):
    return _code(api.get("/api/events", {"types": "x"}, headers=_hooks_key()), "VALIDATION_ERROR")


@answers("events_list", 401)
def poll_the_events_without_a_key(api):
    return _code(api.get("/api/events"), "NOT_AUTHENTICATED")


@answers("events_list", 403)
def poll_the_events_with_a_stock_key(api):
    return _code(api.get("/api/events", headers=_bearer(*READ_KEY)), "FORBIDDEN")


# Sale rules (scope `policies`), and what a channel may sell (public).


def _policy_path(row: Inventory) -> str:
    return f"/api/policies/products/{row.product_id}"


def _allocation_path(row: Inventory, code: str = "web") -> str:
    return f"/api/channels/{code}/allocations/{row.product_id}"


@answers("policy_read", 200)
def read_a_products_sale_policy(api):
    row = _row()
    sales.set_policy(row.product_id, {"limit_per_customer": 2})
    response = _staff(api).get(_policy_path(row))
    assert response.json()["limitPerCustomer"] == 2
    return response


@answers("policy_read", 400)
def read_the_policy_of_a_malformed_product(api):
    return _code(_staff(api).get("/api/policies/products/x"), "INVALID_ID")


@answers("policy_read", 401)
def read_a_policy_without_a_key(api):
    return _code(api.get(_policy_path(_row())), "NOT_AUTHENTICATED")


@answers("policy_read", 403)
def read_a_policy_as_a_shopper(api):
    return _code(_shopper(api).get(_policy_path(_row())), "FORBIDDEN")


@answers("policy_read", 404)
def read_the_policy_of_an_unknown_product(api):
    return _code(_staff(api).get(f"/api/policies/products/{UNKNOWN_ID}"), "NOT_FOUND")


@answers("policy_set", 200)
def set_a_sale_window_and_a_limit(api):
    body = {"saleStartsAt": "2030-05-01T10:00:00+05:30", "limitPerCustomer": 2}
    response = _staff(api).put(_policy_path(_row()), body, format="json")
    assert response.json()["limitPerCustomer"] == 2
    return response


@answers("policy_set", 400)
def set_too_many_extensions(api):
    response = _staff(api).put(_policy_path(_row()), {"maxExtensions": 4}, format="json")
    return _code(response, "VALIDATION_ERROR")


@answers("policy_set", 401)
def set_a_policy_without_a_key(api):
    response = api.put(_policy_path(_row()), {"limitPerCustomer": 2}, format="json")
    return _code(response, "NOT_AUTHENTICATED")


@answers("policy_set", 403)
def set_a_policy_as_a_shopper(api):
    response = _shopper(api).put(_policy_path(_row()), {"limitPerCustomer": 2}, format="json")
    return _code(response, "FORBIDDEN")


@answers("policy_set", 404)
def set_the_policy_of_an_unknown_product(api):
    path = f"/api/policies/products/{UNKNOWN_ID}"
    return _code(_staff(api).put(path, {"limitPerCustomer": 2}, format="json"), "NOT_FOUND")


@answers("channels_create", 201)
def open_a_sales_channel(api):
    response = _staff(api).post("/api/channels", {"code": "app", "name": "App"}, format="json")
    assert response.json()["apiKey"].startswith("stockd_")
    return response


@answers("channels_create", 400)
def open_a_channel_with_a_bad_code(api):
    body = {"code": "Not A Slug!", "name": "App"}
    return _code(_staff(api).post("/api/channels", body, format="json"), "VALIDATION_ERROR")


@answers("channels_create", 401)
def open_a_channel_without_a_key(api):
    body = {"code": "app", "name": "App"}
    return _code(api.post("/api/channels", body, format="json"), "NOT_AUTHENTICATED")


@answers("channels_create", 403)
def open_a_channel_as_a_shopper(api):
    body = {"code": "app", "name": "App"}
    return _code(_shopper(api).post("/api/channels", body, format="json"), "FORBIDDEN")


@answers("channels_create", 409)
def open_a_channel_whose_code_is_taken(api):
    sales.create_channel(code="app", name="App")
    body = {"code": "app", "name": "App again"}
    return _code(_staff(api).post("/api/channels", body, format="json"), "CHANNEL_EXISTS")


@answers("channels_list", 200)
def list_the_sales_channels(api):
    sales.create_channel(code="app", name="App")
    response = _staff(api).get("/api/channels")
    assert "app" in [channel["code"] for channel in response.json()]
    return response


@answers("channels_list", 401)
def list_the_channels_without_a_key(api):
    return _code(api.get("/api/channels"), "NOT_AUTHENTICATED")


@answers("channels_list", 403)
def list_the_channels_as_a_shopper(api):
    return _code(_shopper(api).get("/api/channels"), "FORBIDDEN")


@answers("channel_allocation_set", 200)
def give_the_storefront_a_quota(api):
    row = _row()
    response = _staff(api).put(_allocation_path(row), {"quota": 3}, format="json")
    assert response.json()["quota"] == 3
    return response


@answers("channel_allocation_set", 400)
def allocate_a_percent_over_100(api):
    response = _staff(api).put(_allocation_path(_row()), {"bufferPercent": 101}, format="json")
    return _code(response, "VALIDATION_ERROR")


@answers("channel_allocation_set", 401)
def allocate_without_a_key(api):
    response = api.put(_allocation_path(_row()), {"quota": 3}, format="json")
    return _code(response, "NOT_AUTHENTICATED")


@answers("channel_allocation_set", 403)
def allocate_as_a_shopper(api):
    response = _shopper(api).put(_allocation_path(_row()), {"quota": 3}, format="json")
    return _code(response, "FORBIDDEN")


@answers("channel_allocation_set", 404)
def allocate_to_an_unknown_channel(api):
    response = _staff(api).put(_allocation_path(_row(), "nobody"), {"quota": 3}, format="json")
    return _code(response, "NOT_FOUND")


@answers("channel_allocations_list", 200)
def list_a_channels_allocations(api):
    row = _row()
    sales.set_allocation("web", row.product_id, {"quota": 3})
    response = _staff(api).get("/api/channels/web/allocations")
    assert response.json()[0]["quota"] == 3
    return response


@answers("channel_allocations_list", 400)
def list_the_allocations_of_a_malformed_channel(api):
    return _code(_staff(api).get("/api/channels/NOT%20A%20SLUG/allocations"), "INVALID_ID")


@answers("channel_allocations_list", 401)
def list_allocations_without_a_key(api):
    return _code(api.get("/api/channels/web/allocations"), "NOT_AUTHENTICATED")


@answers("channel_allocations_list", 403)
def list_allocations_as_a_shopper(api):
    return _code(_shopper(api).get("/api/channels/web/allocations"), "FORBIDDEN")


@answers("channel_allocations_list", 404)
def list_the_allocations_of_an_unknown_channel(api):
    return _code(_staff(api).get("/api/channels/nobody/allocations"), "NOT_FOUND")


@answers("availability_read", 200)
def read_what_the_storefront_may_sell(api):
    row = _row(total=5)
    response = api.get("/api/availability", {"productId": row.product_id, "channel": "web"})
    assert response.json()["sellable"] == 5
    return response


@answers("availability_read", 400)
def read_the_availability_of_a_malformed_product(api):
    return _code(api.get("/api/availability", {"productId": "x"}), "VALIDATION_ERROR")


@answers("availability_read", 404)
def read_the_availability_for_an_unknown_channel(api):
    response = api.get("/api/availability", {"productId": _row().product_id, "channel": "nobody"})
    return _code(response, "NOT_FOUND")


@answers("availability_read", 422)
def read_the_availability_at_a_pincode_nobody_serves(api):
    query = {"productId": _row().product_id, "pincode": "012345"}
    return _code(api.get("/api/availability", query), "PINCODE_NOT_SERVICEABLE")


# Transfers (stock:read to read, stock:write to act) and preorders.


def _transfer_body(source: Inventory, destination_id: int, quantity: int = 2) -> dict[str, Any]:
    return {
        "fromWarehouseId": str(source.warehouse_id),
        "toWarehouseId": str(destination_id),
        "lines": [{"productId": str(source.product_id), "quantity": quantity}],
    }


def _draft(quantity: int = 2, on_hand: int = 5) -> tuple[Inventory, str]:
    """A DRAFT transfer of `quantity` units out of a row with `on_hand`; the row and its id."""
    source = _row(total=on_hand)
    line = transfers.Line(source.product_id, quantity)
    destination_id = WarehouseFactory().pk
    transfer = transfers.create(
        source_id=source.warehouse_id,
        destination_id=destination_id,
        lines=[line],
        reference="",
        actor="test",
    )
    return source, str(transfer.pk)


def _in_transit(quantity: int = 2) -> tuple[Inventory, str]:
    source, transfer_id = _draft(quantity)
    transfers.ship(transfer_id, actor="test")
    return source, transfer_id


def _transfer_act(api, transfer_id: str, action: str, body=None, *, scopes=WRITE_KEY, key="t"):
    headers = {**(_bearer(*scopes) if scopes else {}), **({"Idempotency-Key": key} if key else {})}
    url = f"/api/transfers/{transfer_id}/{action}"
    return api.post(url, body or {}, format="json", headers=headers)


def _receipt(source: Inventory, received: int, damaged: int = 0) -> dict[str, Any]:
    line = {"productId": str(source.product_id), "received": received, "damaged": damaged}
    return {"lines": [line]}


@answers("transfers_create", 201)
def create_a_transfer(api):
    source = _row()
    body = _transfer_body(source, WarehouseFactory().pk)
    headers = {**_bearer(*WRITE_KEY), "Idempotency-Key": "t"}
    response = api.post("/api/transfers", body, format="json", headers=headers)
    assert response.json()["state"] == "DRAFT"
    return response


@answers("transfers_create", 400)
def create_a_transfer_to_its_own_warehouse(api):
    source = _row()
    headers = {**_bearer(*WRITE_KEY), "Idempotency-Key": "t"}
    body = _transfer_body(source, source.warehouse_id)
    return _code(
        api.post("/api/transfers", body, format="json", headers=headers), "VALIDATION_ERROR"
    )


@answers("transfers_create", 401)
def create_a_transfer_without_a_key(api):
    return _code(api.post("/api/transfers", {}, format="json"), "NOT_AUTHENTICATED")


@answers("transfers_create", 403)
def create_a_transfer_with_a_read_key(api):
    headers = {**_bearer(*READ_KEY), "Idempotency-Key": "t"}
    return _code(api.post("/api/transfers", {}, format="json", headers=headers), "FORBIDDEN")


@answers("transfers_create", 404)
def create_a_transfer_to_an_unknown_warehouse(api):
    headers = {**_bearer(*WRITE_KEY), "Idempotency-Key": "t"}
    body = _transfer_body(_row(), int(UNKNOWN_ID))
    return _code(api.post("/api/transfers", body, format="json", headers=headers), "NOT_FOUND")


@answers("transfers_create", 428)
def create_a_transfer_without_an_idempotency_key(api):
    body = _transfer_body(_row(), WarehouseFactory().pk)
    response = api.post("/api/transfers", body, format="json", headers=_bearer(*WRITE_KEY))
    return _code(response, "IDEMPOTENCY_KEY_REQUIRED")


@answers("transfers_list", 200)
def list_transfers(api):
    _draft()
    response = api.get("/api/transfers", headers=_bearer(*READ_KEY))
    assert response["X-Total-Count"] == "1"
    return response


@answers("transfers_list", 400)
def list_transfers_of_an_unknown_state(api):
    response = api.get("/api/transfers", {"state": "LOST"}, headers=_bearer(*READ_KEY))
    return _code(response, "VALIDATION_ERROR")


@answers("transfers_list", 401)
def list_transfers_without_a_key(api):
    return _code(api.get("/api/transfers"), "NOT_AUTHENTICATED")


@answers("transfers_list", 403)
def list_transfers_with_a_webhooks_key(api):
    return _code(api.get("/api/transfers", headers=_bearer("webhooks")), "FORBIDDEN")


@answers("transfers_retrieve", 200)
def read_a_transfer(api):
    _, transfer_id = _in_transit()
    response = api.get(f"/api/transfers/{transfer_id}", headers=_bearer(*READ_KEY))
    assert [step["action"] for step in response.json()["history"]] == ["CREATED", "SHIPPED"]
    return response


@answers("transfers_retrieve", 400)
def read_a_transfer_by_a_malformed_id(api):
    return _code(api.get("/api/transfers/nope", headers=_bearer(*READ_KEY)), "INVALID_ID")


@answers("transfers_retrieve", 401)
def read_a_transfer_without_a_key(api):
    return _code(api.get(f"/api/transfers/{uuid.uuid4()}"), "NOT_AUTHENTICATED")


@answers("transfers_retrieve", 403)
def read_a_transfer_with_a_webhooks_key(api):
    response = api.get(f"/api/transfers/{uuid.uuid4()}", headers=_bearer("webhooks"))
    return _code(response, "FORBIDDEN")


@answers("transfers_retrieve", 404)
def read_an_unknown_transfer(api):
    response = api.get(f"/api/transfers/{uuid.uuid4()}", headers=_bearer(*READ_KEY))
    return _code(response, "NOT_FOUND")


@answers("transfers_ship", 200)
def ship_a_transfer(api):
    _, transfer_id = _draft()
    response = _transfer_act(api, transfer_id, "ship")
    assert response.json()["lines"][0]["shipped"] == 2
    return response


@answers("transfers_ship", 400)
def ship_a_transfer_by_a_malformed_id(api):
    return _code(_transfer_act(api, "nope", "ship"), "INVALID_ID")


@answers("transfers_ship", 401)
def ship_a_transfer_without_a_key(api):
    return _code(_transfer_act(api, str(uuid.uuid4()), "ship", scopes=()), "NOT_AUTHENTICATED")


@answers("transfers_ship", 403)
def ship_a_transfer_with_a_read_key(api):
    return _code(_transfer_act(api, str(uuid.uuid4()), "ship", scopes=READ_KEY), "FORBIDDEN")


@answers("transfers_ship", 404)
def ship_an_unknown_transfer(api):
    return _code(_transfer_act(api, str(uuid.uuid4()), "ship"), "NOT_FOUND")


@answers("transfers_ship", 409)
def ship_more_than_is_available(api):
    source, transfer_id = _draft(quantity=5, on_hand=5)
    _hold(source)
    response = _transfer_act(api, transfer_id, "ship")
    assert (response.json()["index"], response.json()["available"]) == (0, 4)
    return _code(response, "INSUFFICIENT_STOCK")


@answers("transfers_ship", 409)
def ship_a_shipped_transfer(api):
    _, transfer_id = _in_transit()
    return _code(_transfer_act(api, transfer_id, "ship"), "INVALID_TRANSITION")


@answers("transfers_ship", 428)
def ship_without_an_idempotency_key(api):
    _, transfer_id = _draft()
    return _code(_transfer_act(api, transfer_id, "ship", key=None), "IDEMPOTENCY_KEY_REQUIRED")


@answers("transfers_receive", 200)
def receive_part_of_a_transfer(api):
    source, transfer_id = _in_transit()
    response = _transfer_act(api, transfer_id, "receive", _receipt(source, 1))
    assert response.json()["state"] == "PARTIALLY_RECEIVED"
    return response


@answers("transfers_receive", 400)
def receive_a_product_not_on_the_transfer(api):
    _, transfer_id = _in_transit()
    response = _transfer_act(api, transfer_id, "receive", _receipt(_row(), 1))
    return _code(response, "VALIDATION_ERROR")


@answers("transfers_receive", 401)
def receive_without_a_key(api):
    response = _transfer_act(api, str(uuid.uuid4()), "receive", scopes=())
    return _code(response, "NOT_AUTHENTICATED")


@answers("transfers_receive", 403)
def receive_with_a_read_key(api):
    response = _transfer_act(api, str(uuid.uuid4()), "receive", scopes=READ_KEY)
    return _code(response, "FORBIDDEN")


@answers("transfers_receive", 404)
def receive_an_unknown_transfer(api):
    response = _transfer_act(api, str(uuid.uuid4()), "receive", _receipt(_row(), 1))
    return _code(response, "NOT_FOUND")


@answers("transfers_receive", 409)
def receive_more_than_was_shipped(api):
    source, transfer_id = _in_transit(quantity=2)
    response = _transfer_act(api, transfer_id, "receive", _receipt(source, 2, 1))
    assert response.json()["outstanding"] == 2
    return _code(response, "RECEIPT_EXCEEDS_SHIPMENT")


@answers("transfers_receive", 428)
def receive_without_an_idempotency_key(api):
    source, transfer_id = _in_transit()
    response = _transfer_act(api, transfer_id, "receive", _receipt(source, 1), key=None)
    return _code(response, "IDEMPOTENCY_KEY_REQUIRED")


@answers("transfers_cancel", 200)
def cancel_a_transfer_in_transit(api):
    source, transfer_id = _in_transit()
    response = _transfer_act(api, transfer_id, "cancel")
    source.refresh_from_db()
    assert (response.json()["state"], source.total_stock) == ("CANCELLED", 5)
    return response


@answers("transfers_cancel", 400)
def cancel_a_transfer_by_a_malformed_id(api):
    return _code(_transfer_act(api, "nope", "cancel"), "INVALID_ID")


@answers("transfers_cancel", 401)
def cancel_a_transfer_without_a_key(api):
    return _code(_transfer_act(api, str(uuid.uuid4()), "cancel", scopes=()), "NOT_AUTHENTICATED")


@answers("transfers_cancel", 403)
def cancel_a_transfer_with_a_read_key(api):
    return _code(_transfer_act(api, str(uuid.uuid4()), "cancel", scopes=READ_KEY), "FORBIDDEN")


@answers("transfers_cancel", 404)
def cancel_an_unknown_transfer(api):
    return _code(_transfer_act(api, str(uuid.uuid4()), "cancel"), "NOT_FOUND")


@answers("transfers_cancel", 409)
def cancel_a_received_transfer(api):
    source, transfer_id = _in_transit()
    transfers.receive(transfer_id, [transfers.Receipt(source.product_id, 2, 0)], actor="test")
    return _code(_transfer_act(api, transfer_id, "cancel"), "INVALID_TRANSITION")


@answers("transfers_cancel", 428)
def cancel_without_an_idempotency_key(api):
    _, transfer_id = _draft()
    return _code(_transfer_act(api, transfer_id, "cancel", key=None), "IDEMPOTENCY_KEY_REQUIRED")


def _preorders(api, row: Inventory, body=None, *, scopes=WRITE_KEY, key: str | None = "p"):
    url = f"/api/stock/preorders/{row.product_id}/{row.warehouse_id}"
    headers = _bearer(*scopes) if scopes else {}
    if body is None:
        return api.get(url, headers=headers)
    headers = {**headers, **({"Idempotency-Key": key} if key else {})}
    return api.put(url, body, format="json", headers=headers)


_UNSTOCKED = Inventory(product_id=int(UNKNOWN_ID), warehouse_id=int(UNKNOWN_ID))


@answers("stock_preorders_retrieve", 200)
def read_a_rows_preorder_terms(api):
    response = _preorders(api, _row(), scopes=READ_KEY)
    assert (response.json()["limit"], response.json()["remaining"]) == (None, 0)
    return response


@answers("stock_preorders_retrieve", 400)
def read_the_preorder_terms_of_a_malformed_row(api):
    response = api.get("/api/stock/preorders/x/1", headers=_bearer(*READ_KEY))
    return _code(response, "INVALID_ID")


@answers("stock_preorders_retrieve", 401)
def read_preorder_terms_without_a_key(api):
    return _code(_preorders(api, _row(), scopes=()), "NOT_AUTHENTICATED")


@answers("stock_preorders_retrieve", 403)
def read_preorder_terms_with_a_webhooks_key(api):
    return _code(_preorders(api, _row(), scopes=("webhooks",)), "FORBIDDEN")


@answers("stock_preorders_retrieve", 404)
def read_the_preorder_terms_of_an_unstocked_row(api):
    return _code(_preorders(api, _UNSTOCKED, scopes=READ_KEY), "NOT_FOUND")


@answers("stock_preorders_set", 200)
def turn_preorders_on(api):
    response = _preorders(api, _row(), {"limit": 10, "eta": "2027-01-14"})
    assert response.json()["eta"] == "2027-01-14"
    return response


@answers("stock_preorders_set", 400)
def turn_preorders_on_with_a_zero_limit(api):
    return _code(_preorders(api, _row(), {"limit": 0}), "VALIDATION_ERROR")


@answers("stock_preorders_set", 401)
def turn_preorders_on_without_a_key(api):
    return _code(_preorders(api, _row(), {"limit": 1}, scopes=()), "NOT_AUTHENTICATED")


@answers("stock_preorders_set", 403)
def turn_preorders_on_with_a_read_key(api):
    return _code(_preorders(api, _row(), {"limit": 1}, scopes=READ_KEY), "FORBIDDEN")


@answers("stock_preorders_set", 404)
def turn_preorders_on_for_an_unstocked_row(api):
    return _code(_preorders(api, _UNSTOCKED, {"limit": 1}), "NOT_FOUND")


@answers("stock_preorders_set", 428)
def turn_preorders_on_without_an_idempotency_key(api):
    return _code(_preorders(api, _row(), {"limit": 1}, key=None), "IDEMPOTENCY_KEY_REQUIRED")


def _sold_out_with_preorders(limit: int) -> Inventory:
    row = _row(total=0)
    stock_states.adjust_states(
        [stock_states.Adjustment(row.product_id, row.warehouse_id, "incoming", 10, "ADJUSTED")],
        actor="test",
    )
    preorders.set_terms((row.product_id, row.warehouse_id), limit=limit, eta=None)
    return row


@answers("reservations_create", 201)
def preorder_incoming_units(api):
    body = {**_line(_sold_out_with_preorders(limit=5)), "preorder": True}
    response = _shopper(api).post("/api/reservations", body, format="json")
    assert (response.json()["kind"], response.json()["status"]) == ("PREORDER", "CONFIRMED")
    return response


@answers("reservations_create", 409)
def preorder_past_the_limit(api):
    body = {**_line(_sold_out_with_preorders(limit=1), quantity=2), "preorder": True}
    response = _shopper(api).post("/api/reservations", body, format="json")
    assert response.json()["remaining"] == 1
    return _code(response, "PREORDER_LIMIT_REACHED")


# --- the tests -----------------------------------------------------------------------------


def test_every_documented_status_of_every_operation_is_exercised(document):
    documented = {
        (operation_id, int(status))
        for operation_id, operation in _operations(document).items()
        for status in operation["responses"]
    }
    exercised = {(call.operation_id, call.status) for call in CALLS}
    assert {operation for operation, _ in exercised} == set(_operations(document))
    assert not documented - exercised, f"documented but not exercised: {documented - exercised}"
    assert not exercised - documented, f"exercised but not documented: {exercised - documented}"


def _parameters(call: Call) -> list:
    """The call in-process, in the test transaction or committed where it says so, and
    through the ASGI app, on committed rows (tests/asgi_client.py)."""
    in_process = pytest.mark.django_db(transaction=call.committed)
    return [
        pytest.param(WSGI, call, id=f"{WSGI}-{call}", marks=in_process),
        pytest.param(ASGI, call, id=f"{ASGI}-{call}"),
    ]


@pytest.mark.parametrize(("transport", "call"), [p for call in CALLS for p in _parameters(call)])
def test_the_body_matches_the_documented_schema(call, document, api):
    response = call.send(api)

    assert response.status_code == call.status, response.content
    assert response["Content-Type"] == "application/json"
    errors = _schema_errors(document, call.operation_id, call.status, response.json())
    assert not errors, "\n".join(errors)

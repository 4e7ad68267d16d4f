"""Request ids and structured logs: one line per request and per state change.

The id comes from the proxy's X-Request-ID when it is sane, else it is made here; it goes back
in the response's X-Request-ID, into the payload of every event the request writes, and into
each log line. Lines are JSON objects with LOG_FORMAT=json, readable text otherwise.
"""

import asyncio
import io
import json
import logging
import re
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import AsyncClient
from django.utils import timezone

from core.serving.logging import StockdFormatter
from core.serving.requestid import current_request_id, request_id_in_context
from reservations.models import Reservation, ReservationEvent
from reservations.tasks import expire_due_reservations
from tests.factories import InventoryFactory
from tests.processes import clean_env, manage

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"^[0-9a-f]{32}$")
RESERVE = "/api/reservations"


class Lines:
    """The lines a StockdFormatter wrote, as text or parsed from JSON."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def text(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line]

    def json(self) -> list[dict]:
        return [json.loads(line) for line in self.text()]


def _capture(as_json: bool):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(StockdFormatter(as_json=as_json))
    loggers = [logging.getLogger(name) for name in ("stockd.request", "stockd.events")]
    for logger in loggers:
        logger.addHandler(handler)
    return stream, handler, loggers


@pytest.fixture
def json_lines():
    stream, handler, loggers = _capture(as_json=True)
    yield Lines(stream)
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture
def text_lines():
    stream, handler, loggers = _capture(as_json=False)
    yield Lines(stream)
    for logger in loggers:
        logger.removeHandler(handler)


def reserve(api, row, **headers):
    body = {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id), "quantity": 1}
    response = api.post(RESERVE, body, format="json", **headers)
    assert response.status_code == 201
    return response.json()["id"]


# --- the request id -------------------------------------------------------------------------


def test_a_sane_request_id_from_the_proxy_comes_back(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a:42")
    assert response["X-Request-ID"] == "lb-7f3a:42"


def test_without_a_request_id_one_is_made(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert GENERATED.match(first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize("insane", ["x" * 129, "has space", "tab\tinside", "", "é-accent"])
def test_an_insane_request_id_is_replaced(client, insane):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=insane)
    assert GENERATED.match(response["X-Request-ID"])


def test_a_request_id_of_128_characters_is_kept(client):
    longest = "r" * 128
    assert client.get("/healthz", HTTP_X_REQUEST_ID=longest)["X-Request-ID"] == longest


def test_an_error_answer_carries_the_request_id_too(api):
    response = api.get(f"{RESERVE}/{uuid.uuid4()}", HTTP_X_REQUEST_ID="req-404")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-404"


def test_an_asgi_request_gets_its_id_back_too():
    async def get():
        return await AsyncClient().get("/healthz", headers={"X-Request-ID": "asgi-1"})

    response = asyncio.run(get())
    assert response.status_code == 200
    assert response["X-Request-ID"] == "asgi-1"


def test_the_request_id_is_current_only_during_its_request():
    assert current_request_id() is None
    with request_id_in_context("outer"):
        with request_id_in_context("inner"):
            assert current_request_id() == "inner"
        assert current_request_id() == "outer"
    assert current_request_id() is None


def test_the_events_a_request_writes_carry_its_id(api):
    row = InventoryFactory(total_stock=5)
    hold_id = reserve(api, row)
    response = api.post(f"{RESERVE}/{hold_id}/release", HTTP_X_REQUEST_ID="req-release-1")
    assert response.status_code == 200

    released = ReservationEvent.objects.get(reservation_id=hold_id, type="RELEASED")
    assert released.payload["requestId"] == "req-release-1"


def test_a_generated_request_id_is_the_one_in_the_payload(api):
    row = InventoryFactory(total_stock=0)
    response = api.post(
        "/api/waitlist",
        {
            "productId": str(row.product_id),
            "warehouseId": str(row.warehouse_id),
            "quantity": 1,
            "email": "waiting@example.com",
        },
        format="json",
    )
    assert response.status_code == 201
    joined = ReservationEvent.objects.get(type="WAITLIST_JOINED")
    assert joined.payload["requestId"] == response["X-Request-ID"]
    assert GENERATED.match(response["X-Request-ID"])


def test_events_written_outside_a_request_carry_no_request_id():
    row = InventoryFactory(total_stock=5, reserved_stock=1)
    Reservation.objects.create(
        product=row.product,
        warehouse=row.warehouse,
        quantity=1,
        expires_at=timezone.now() - timedelta(seconds=1),
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    expire_due_reservations.delay()
    expired = ReservationEvent.objects.get(type="EXPIRED")
    assert "requestId" not in expired.payload


# --- one line per request -----------------------------------------------------------------


def test_a_request_logs_one_json_line_with_its_fields(api, json_lines):
    row = InventoryFactory(total_stock=5)
    reserve(api, row, HTTP_X_REQUEST_ID="req-json-1")

    [line] = [line for line in json_lines.json() if line["logger"] == "stockd.request"]
    assert line["method"] == "POST"
    assert line["path"] == RESERVE
    assert line["route"] == "api-reservations"
    assert line["status"] == 201
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == "req-json-1"
    assert line["user"] == "guest"
    assert line["level"] == "INFO"
    assert line["time"].endswith("Z")


def test_a_signed_in_shoppers_request_names_the_user(client, json_lines, django_user_model):
    user = django_user_model.objects.create_user("a@example.com", "a@example.com", "pw-123456")
    client.force_login(user)
    client.get("/orders/")
    [line] = [line for line in json_lines.json() if line["logger"] == "stockd.request"]
    assert line["user"] == f"user:{user.pk}"
    assert line["status"] == 200


def test_a_request_line_in_text_is_readable(client, text_lines):
    client.get("/healthz", HTTP_X_REQUEST_ID="req-text-1")
    [line] = text_lines.text()
    assert re.match(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO stockd\.request: GET /healthz 200 "
        r"[\d.]+ms \[request_id=req-text-1 method=GET path=/healthz route=healthz status=200 "
        r"duration_ms=[\d.]+ user=guest\]$",
        line,
    ), line


# --- one line per state change ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the line is written when the release commits
def test_a_state_change_logs_one_line_with_the_request_id(api, json_lines):
    row = InventoryFactory(total_stock=5)
    hold_id = reserve(api, row)
    api.post(f"{RESERVE}/{hold_id}/release", HTTP_X_REQUEST_ID="req-event-1")

    [event] = [line for line in json_lines.json() if line.get("event") == "RELEASED"]
    assert event["logger"] == "stockd.events"
    assert event["request_id"] == "req-event-1"
    assert event["reservation_id"] == hold_id
    assert event["product_id"] == row.product_id
    assert event["warehouse_id"] == row.warehouse_id
    assert event["quantity"] == 1
    assert event["reason"] == "CANCELLED"
    assert event["actor"] == "anonymous"
    assert event["event_id"] == ReservationEvent.objects.get(type="RELEASED").pk


@pytest.mark.django_db(transaction=True)  # the lines are written when the task commits
def test_a_celery_task_logs_its_state_changes_with_the_task_id(json_lines):
    row = InventoryFactory(total_stock=5, reserved_stock=1)
    Reservation.objects.create(
        product=row.product,
        warehouse=row.warehouse,
        quantity=1,
        expires_at=timezone.now() - timedelta(seconds=1),
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    result = expire_due_reservations.delay()

    [event] = [line for line in json_lines.json() if line.get("event") == "EXPIRED"]
    assert event["task_id"] == result.id
    assert event["actor"] == "system:beat"
    assert "request_id" not in event


# --- LOG_FORMAT, through the settings -------------------------------------------------------


def _log_from_child(log_format: str) -> str:
    code = (
        "import logging; "
        "logging.getLogger('stockd.check').warning('disk %s full', 'nearly', "
        "extra={'free_mb': 12, 'volume': '/var/lib'})"
    )
    child = subprocess.run(
        manage("shell", "-c", code),
        cwd=settings.BASE_DIR,
        env=clean_env(
            SECRET_KEY="x", DEBUG="0", HTTPS_ONLY="0", LOG_FORMAT=log_format, DATABASE_POOL="0"
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    return child.stderr.strip().splitlines()[-1]


def test_log_format_json_writes_one_json_object_a_line():
    line = json.loads(_log_from_child("json"))
    assert line["message"] == "disk nearly full"
    assert line["level"] == "WARNING"
    assert line["logger"] == "stockd.check"
    assert line["free_mb"] == 12
    assert line["volume"] == "/var/lib"


def test_log_format_text_writes_a_readable_line():
    line = _log_from_child("text")
    assert line.endswith("WARNING stockd.check: disk nearly full [free_mb=12 volume=/var/lib]")

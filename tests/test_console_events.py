"""The console's event log, its live tail and CSV export, and GET /api/admin/logs: who may
read them, filters, pages, and shapes."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from reservations.models import ReservationEvent
from tests.factories import ReservationEventFactory, ReservationFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("console-events")
TAIL = reverse("console-events-tail")
CSV = reverse("console-events-csv")
LOGS = reverse("api-admin-logs")


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def staff_api(staff) -> APIClient:
    api = APIClient()
    api.force_login(staff)
    return api


def _event(**fields) -> ReservationEvent:
    return ReservationEventFactory(**fields)


def _ids(events) -> list[int]:
    return [e.id for e in events]


# Who may read it


@pytest.mark.parametrize("url", [PAGE, TAIL + "?after=0", CSV])
def test_anonymous_visitor_is_sent_to_the_console_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console-login"))


@pytest.mark.parametrize("url", [PAGE, TAIL + "?after=0", CSV])
def test_shopper_is_refused(client, url):
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [PAGE, TAIL + "?after=0", CSV])
def test_staff_may_read(staff_client, url):
    assert staff_client.get(url).status_code == 200


def test_logs_api_answers_401_anonymous_and_403_shoppers():
    api = APIClient()
    response = api.get(LOGS)
    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"
    api.force_login(UserFactory())
    assert api.get(LOGS).status_code == 403


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_logs_api_is_read_only(staff_api, method):
    response = getattr(staff_api, method)(LOGS, {}, format="json")
    assert response.status_code == 405


# The page


def test_page_lists_events_newest_first(staff_client):
    first, second = _event(), _event(actor="user:7", payload={"reason": "ADMIN"})
    response = staff_client.get(PAGE)
    assert _ids(response.context["page"].object_list) == [second.id, first.id]
    body = response.content.decode()
    assert "user:7" in body and "ADMIN" in body
    assert f"after={second.id}" in body  # the live tail asks for what comes next


def test_page_filters_by_type_product_warehouse_actor_and_days(staff_client):
    now = timezone.now()
    reserved = _event(actor="anonymous")
    released = _event(type="RELEASED", actor="user:1")
    swept = _event(type="EXPIRED", actor="system:sweep", product=reserved.product)
    old = _event(
        reservation=ReservationFactory(created_at=now - timedelta(days=5)), actor="user:12"
    )

    def shown(**query):
        return _ids(staff_client.get(PAGE, query).context["page"].object_list)

    assert shown(type="RELEASED") == [released.id]
    assert shown(product=reserved.product_id) == [swept.id, reserved.id]
    assert shown(warehouse=released.warehouse_id) == [released.id]
    assert shown(actor="system") == [swept.id]
    assert shown(actor="user:1") == [released.id]  # not user:12
    today = timezone.localdate().isoformat()
    assert shown(since=today) == [swept.id, released.id, reserved.id]
    day = timezone.localtime(old.created_at).date().isoformat()
    assert shown(since=day, until=day) == [old.id]


@pytest.mark.parametrize(
    "query",
    [{"type": "BOGUS"}, {"product": "x"}, {"since": "soon"}, {"page": "0"}, {"actor": "a" * 80}],
)
def test_bad_filters_are_ignored_never_a_500(staff_client, query):
    event = _event()
    response = staff_client.get(PAGE, query)
    assert response.status_code == 200
    assert _ids(response.context["page"].object_list) == [event.id]


def test_page_is_paged_by_50_and_only_the_first_page_is_live(staff_client):
    reservation = ReservationFactory()
    made = [_event(reservation=reservation) for _ in range(55)]
    first = staff_client.get(PAGE)
    assert _ids(first.context["page"].object_list) == [e.id for e in reversed(made)][:50]
    assert 'id="event-tail"' in first.content.decode()
    second = staff_client.get(PAGE, {"page": 2})
    assert _ids(second.context["page"].object_list) == [e.id for e in reversed(made)][50:]
    assert 'id="event-tail"' not in second.content.decode()


def test_htmx_gets_only_the_log(staff_client):
    _event()
    body = staff_client.get(PAGE, headers={"HX-Request": "true"}).content.decode()
    assert body.lstrip().startswith('<section id="event-log"')


def test_page_reads_in_a_fixed_number_of_queries(staff_client, django_assert_max_num_queries):
    for _ in range(30):
        _event()
    with django_assert_max_num_queries(10):
        staff_client.get(PAGE)


# The live tail


def test_tail_returns_only_newer_events_and_the_next_poller(staff_client):
    seen = _event()
    newer = [_event(), _event()]
    response = staff_client.get(TAIL, {"after": seen.id})
    assert response.status_code == 200
    assert _ids(response.context["events"]) == [newer[1].id, newer[0].id]
    body = response.content.decode()
    assert f'data-event="{seen.id}"' not in body
    assert body.index('id="event-tail"') < body.index(f'data-event="{newer[1].id}"')
    assert f"after={newer[1].id}" in body


def test_tail_with_nothing_new_keeps_its_place(staff_client):
    last = _event()
    response = staff_client.get(TAIL, {"after": last.id})
    assert response.context["events"] == []
    assert f"after={last.id}" in response.content.decode()


def test_tail_keeps_the_page_filters(staff_client):
    start = _event()
    wanted = _event(type="RELEASED")
    _event(type="CONFIRMED")
    response = staff_client.get(TAIL, {"after": start.id, "type": "RELEASED"})
    assert _ids(response.context["events"]) == [wanted.id]
    assert "type=RELEASED" in response.content.decode()


@pytest.mark.parametrize("query", [{}, {"after": "x"}, {"after": "-1"}, {"after": str(2**70)}])
def test_tail_refuses_a_bad_position(staff_client, query):
    assert staff_client.get(TAIL, query).status_code == 400


# CSV export


def _csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_exports_the_filtered_log_as_a_stream(staff_client):
    kept = _event(type="RELEASED", actor="user:3", payload={"reason": "ADMIN"})
    _event(type="CONFIRMED")
    response = staff_client.get(CSV, {"type": "RELEASED"})
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="stockd-events-')
    rows = _csv(response)
    assert rows == [
        {
            "id": str(kept.id),
            "created_at": kept.created_at.isoformat(),
            "type": "RELEASED",
            "product_id": str(kept.product_id),
            "product_sku": kept.product.sku,
            "product_name": kept.product.name,
            "warehouse_id": str(kept.warehouse_id),
            "warehouse_code": kept.warehouse.code,
            "quantity": "1",
            "reservation_id": str(kept.reservation_id),
            "actor": "user:3",
            "payload": '{"reason":"ADMIN"}',
        }
    ]


def test_csv_reads_a_long_log_in_chunks_newest_first(staff_client, monkeypatch):
    from console.events import selectors

    chunk_sizes = []
    real_chunks = selectors.event_chunks

    def small_chunks(filters, size=2000):
        for chunk in real_chunks(filters, size=3):
            chunk_sizes.append(len(chunk))
            yield chunk

    monkeypatch.setattr("console.events.views.event_chunks", small_chunks)
    reservation = ReservationFactory()
    made = [_event(reservation=reservation) for _ in range(7)]
    rows = _csv(staff_client.get(CSV))
    assert [int(r["id"]) for r in rows] == [e.id for e in reversed(made)]
    assert chunk_sizes == [3, 3, 1]


def test_csv_defuses_spreadsheet_formulas(staff_client):
    event = _event()
    event.product.name = "=HYPERLINK(1)"
    event.product.save()
    rows = _csv(staff_client.get(CSV))
    assert rows[0]["product_name"] == "'=HYPERLINK(1)"


def test_csv_refuses_bad_filters(staff_client):
    assert staff_client.get(CSV, {"type": "BOGUS"}).status_code == 400


# GET /api/admin/logs


def test_logs_api_shape_is_stockds_and_the_originals(staff_api):
    event = _event(quantity=2, actor="user:5", payload={"reason": "ADMIN"})
    product, warehouse = event.product, event.warehouse
    response = staff_api.get(LOGS)
    assert response.status_code == 200
    assert response["X-Total-Count"] == "1"
    assert response.json() == [
        {
            "id": str(event.id),
            "type": "RESERVED",
            "productId": str(event.product_id),
            "warehouseId": str(event.warehouse_id),
            "quantity": 2,
            "reservationId": str(event.reservation_id),
            "actor": "user:5",
            "payload": {"reason": "ADMIN"},
            "createdAt": event.created_at.isoformat().replace("+00:00", "Z"),
            # The original's event row with its reservation, which its UI reads.
            "event": "CREATED",
            "metadata": {"reason": "ADMIN"},
            "reservation": {
                "id": str(event.reservation_id),
                "quantity": 2,
                "product": {
                    "id": str(product.id),
                    "name": product.name,
                    "category": product.category,
                    "sku": product.sku,
                },
                "warehouse": {
                    "id": str(warehouse.id),
                    "name": warehouse.name,
                    "city": warehouse.city,
                    "code": warehouse.code,
                },
            },
        }
    ]


def test_logs_api_names_events_as_the_original_did(staff_api):
    held = _event()
    for event_type, quantity in [("RELEASED", 1), ("STOCK_ADJUSTED", 5), ("STOCK_ADJUSTED", -2)]:
        ReservationEvent.objects.create(
            type=event_type,
            product=held.product,
            warehouse=held.warehouse,
            quantity=quantity,
            actor="user:1",
            payload={},
            created_at=timezone.now(),
        )
    names = [e["event"] for e in staff_api.get(LOGS).json()]
    assert names == ["STOCK_ADJUSTED", "STOCK_ADDED", "RELEASED", "CREATED"]


def test_logs_api_event_without_a_hold_has_a_null_reservation_id(staff_api):
    held = _event()
    ReservationEvent.objects.create(
        type="STOCK_ADJUSTED",
        product=held.product,
        warehouse=held.warehouse,
        quantity=None,
        actor="user:1",
        payload={"from": 10, "to": 12},
        created_at=timezone.now(),
    )
    body = staff_api.get(LOGS).json()
    assert body[0]["reservationId"] is None
    assert body[0]["quantity"] is None
    assert body[0]["reservation"]["id"] is None  # the product and warehouse are still there
    assert body[0]["reservation"]["product"]["name"] == held.product.name


def test_logs_api_reads_in_a_fixed_number_of_queries(staff_api, django_assert_max_num_queries):
    reservation = ReservationFactory()
    for _ in range(20):
        _event(reservation=reservation)
    with django_assert_max_num_queries(8):
        assert len(staff_api.get(LOGS).json()) == 20


def test_logs_api_pages_newest_first(staff_api):
    reservation = ReservationFactory()
    made = [_event(reservation=reservation) for _ in range(5)]
    response = staff_api.get(LOGS, {"limit": 2, "offset": 1})
    assert [int(e["id"]) for e in response.json()] == [made[3].id, made[2].id]
    assert response["X-Total-Count"] == "5"


def test_logs_api_answers_the_newest_200_by_default_as_the_original(staff_api):
    reservation = ReservationFactory()
    for _ in range(201):
        _event(reservation=reservation)
    response = staff_api.get(LOGS)
    assert len(response.json()) == 200
    assert response["X-Total-Count"] == "201"


def test_logs_api_filters(staff_api):
    now = timezone.now()
    reserved = _event()
    released = _event(type="RELEASED", actor="system:sweep")
    old = _event(reservation=ReservationFactory(created_at=now - timedelta(days=2)))

    def ids(**query):
        response = staff_api.get(LOGS, query)
        assert response.status_code == 200, response.json()
        return [int(e["id"]) for e in response.json()]

    assert ids(type="RELEASED") == [released.id]
    assert ids(productId=str(reserved.product_id)) == [reserved.id]
    assert ids(warehouseId=str(released.warehouse_id)) == [released.id]
    assert ids(actor="system") == [released.id]
    since = (now - timedelta(days=1)).isoformat()
    assert ids(since=since) == [released.id, reserved.id]
    assert ids(until=since) == [old.id]


@pytest.mark.parametrize(
    "query",
    [
        {"type": "BOGUS"},
        {"productId": "abc"},
        {"warehouseId": "0"},
        {"since": "yesterday"},
        {"since": "2025-02-02T00:00:00Z", "until": "2025-02-01T00:00:00Z"},
        {"limit": "0"},
        {"limit": "201"},
        {"offset": "-1"},
    ],
)
def test_logs_api_refuses_bad_filters(staff_api, query):
    response = staff_api.get(LOGS, query)
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"

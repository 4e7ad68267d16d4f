"""GET /metrics: Prometheus metrics, summed over processes, for the scraper only.

stockd's own metrics are recorded where the work happens (reservations.metrics says where);
these tests make the work happen through the API and the services and read the page.
"""

import asyncio
import json
import os
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import override_settings
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from core.serving import prometheus
from integrations.feed import Cursor
from inventory.models import Inventory
from reservations import metrics
from reservations.models import Reservation
from reservations.services import sweeps, transitions, waitlist
from storefront.live import hub
from storefront.views import events as events_view
from tests.factories import InventoryFactory, ReservationFactory
from tests.processes import env_for_test_database, http_get, served

RESERVE = "/api/reservations"
METRICS = "/metrics"


def samples(page: str) -> dict[tuple[str, frozenset], float]:
    """Parse a metrics page into {(sample name, labels): value}."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def value(name: str, **labels: str) -> float:
    """Return a sample of this process's registry (0 when it was never recorded)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def reserve_body(row: Inventory, quantity: int = 1) -> dict:
    return {
        "productId": str(row.product_id),
        "warehouseId": str(row.warehouse_id),
        "quantity": quantity,
    }


# --- across gunicorn workers ------------------------------------------------------------------


def _post_reserve(url: str, row: Inventory, quantity: int = 1) -> int:
    request = urllib.request.Request(
        url + RESERVE,
        data=json.dumps(reserve_body(row, quantity)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _reserving_pids(log: str) -> set[int]:
    """Return the pids of the workers whose JSON request lines show a hold made."""
    pids = set()
    for line in log.splitlines():
        if not line.startswith("{"):
            continue  # gunicorn's own lines
        entry = json.loads(line)
        if entry.get("route") == "api-reservations" and entry.get("status") == 201:
            pids.add(entry["pid"])
    return pids


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reservations_made_through_two_gunicorn_workers_are_summed(tmp_path):
    row, short_row = InventoryFactory(total_stock=500), InventoryFactory(total_stock=1)
    env = env_for_test_database(
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        LOG_FORMAT="json",
        RESERVE_RATE_LIMIT="",
    )
    held = 0
    with served(tmp_path, env) as url, ThreadPoolExecutor(8) as pool:
        # Concurrent requests: a sync worker busy with one leaves the next to the other.
        for _ in range(20):
            statuses = list(pool.map(lambda _: _post_reserve(url, row), range(16)))
            assert set(statuses) == {201}
            held += len(statuses)
            if len(_reserving_pids((tmp_path / "web.log").read_text())) == 2:
                break
        assert len(_reserving_pids((tmp_path / "web.log").read_text())) == 2
        assert _post_reserve(url, short_row, quantity=2) == 409

        status, headers, page = http_get(url + METRICS)

    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    found = samples(page)
    assert found[("stockd_reservations_total", frozenset({("status", "201")}))] == held
    assert found[("stockd_reservations_total", frozenset({("status", "409")}))] == 1
    assert found[("stockd_units_held", frozenset())] == held
    # django-prometheus' request and database metrics are summed the same way.
    by_method = ("django_http_requests_total_by_method_total", frozenset({("method", "POST")}))
    assert found[by_method] == held + 1
    executed = [v for (name, _), v in found.items() if name == "django_db_execute_total"]
    assert sum(executed) > 0


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_keeps_metrics_under_var_dir_and_clears_files_of_dead_processes(tmp_path):
    directory = tmp_path / "var" / "prometheus"
    directory.mkdir(parents=True)
    dead, alive = directory / f"counter_{_dead_pid()}.db", directory / f"counter_{os.getpid()}.db"
    dead.write_bytes(b"")
    alive.write_bytes(b"")
    env = env_for_test_database(VAR_DIR=str(tmp_path / "var"))
    env.pop(prometheus.VARIABLE, None)

    with served(tmp_path, env) as url:
        assert http_get(url + "/healthz")[0] == 200
        worker_files = {path.name for path in directory.glob("*.db")} - {alive.name}

    assert not dead.exists()
    assert alive.exists()  # another process's, still running: kept
    assert any(name.startswith("counter_") for name in worker_files)


@pytest.mark.parametrize(
    ("argv", "worker"),
    [
        (["/srv/.venv/bin/celery", "-A", "stockd", "worker", "-l", "INFO"], True),
        (["/usr/lib/python3/site-packages/celery/__main__.py", "-A", "stockd", "worker"], True),
        (["/srv/.venv/bin/celery", "-A", "stockd", "beat"], False),
        (["manage.py", "worker"], False),
        ([], False),
    ],
)
def test_only_a_celery_worker_turns_multiprocess_metrics_on(argv, worker):
    assert prometheus.is_celery_worker(argv) is worker


# --- stockd's metrics, recorded where the work happens ----------------------------------------


@pytest.mark.django_db
def test_reserve_answers_are_counted_by_status(api):
    row = InventoryFactory(total_stock=2)
    held, short = (
        value("stockd_reservations_total", status="201"),
        value("stockd_reservations_total", status="409"),
    )
    assert api.post(RESERVE, reserve_body(row), format="json").status_code == 201
    assert api.post(RESERVE, reserve_body(row, 5), format="json").status_code == 409
    assert value("stockd_reservations_total", status="201") == held + 1
    assert value("stockd_reservations_total", status="409") == short + 1


@pytest.mark.django_db
def test_other_routes_are_not_counted_as_reserve_answers(api):
    before = sum(value("stockd_reservations_total", status=s) for s in ("200", "201", "404"))
    assert api.get(RESERVE).status_code == 200
    assert api.get(f"{RESERVE}/{uuid.uuid4()}").status_code == 404
    after = sum(value("stockd_reservations_total", status=s) for s in ("200", "201", "404"))
    assert after == before


@pytest.mark.django_db
def test_an_idempotent_replay_is_counted(api):
    row = InventoryFactory(total_stock=5)
    before = value("stockd_idempotent_replays_total", route="api-reservations")
    first = api.post(RESERVE, reserve_body(row), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert value("stockd_idempotent_replays_total", route="api-reservations") == before
    again = api.post(RESERVE, reserve_body(row), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert value("stockd_idempotent_replays_total", route="api-reservations") == before + 1


@pytest.mark.django_db(transaction=True)
def test_releases_are_counted_by_reason_once_committed(api):
    row = InventoryFactory(total_stock=5)
    cancelled = value("stockd_holds_released_total", reason="CANCELLED")
    expired = value("stockd_holds_released_total", reason="EXPIRED")
    hold_id = api.post(RESERVE, reserve_body(row), format="json").json()["id"]
    assert api.post(f"{RESERVE}/{hold_id}/release").status_code == 200
    past = timezone.now() - timedelta(minutes=1)
    for _ in range(2):
        due = api.post(RESERVE, reserve_body(row), format="json").json()["id"]
        Reservation.objects.filter(pk=due).update(expires_at=past)
    batches = value("stockd_sweep_batch_size_count")
    sweeps_run = value("stockd_sweep_duration_seconds_count", actor="system:cron")

    assert sweeps.expire_due_reservations(actor="system:cron") == 2

    assert value("stockd_holds_released_total", reason="CANCELLED") == cancelled + 1
    assert value("stockd_holds_released_total", reason="EXPIRED") == expired + 2
    assert value("stockd_sweep_batch_size_count") == batches + 1
    assert value("stockd_sweep_duration_seconds_count", actor="system:cron") == sweeps_run + 1


@pytest.mark.django_db
def test_a_rolled_back_release_is_not_counted(api, django_capture_on_commit_callbacks):
    row = InventoryFactory(total_stock=5)
    hold_id = api.post(RESERVE, reserve_body(row), format="json").json()["id"]
    before = value("stockd_holds_released_total", reason="CANCELLED")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        transitions.release(reservation_id=uuid.UUID(hold_id))
    assert value("stockd_holds_released_total", reason="CANCELLED") == before
    for callback in callbacks:
        callback()  # what the commit would have run
    assert value("stockd_holds_released_total", reason="CANCELLED") == before + 1


@pytest.mark.django_db(transaction=True)
def test_waitlist_promotions_are_counted(api):
    row = InventoryFactory(total_stock=1)
    hold_id = api.post(RESERVE, reserve_body(row), format="json").json()["id"]
    waitlist.join_waitlist(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1, email="a@b.co"
    )
    before = value("stockd_waitlist_promotions_total")
    transitions.release(reservation_id=uuid.UUID(hold_id))
    assert value("stockd_waitlist_promotions_total") == before + 1


def test_coalesced_batches_are_observed():
    count, total = (
        value("stockd_coalesced_batch_size_count"),
        value("stockd_coalesced_batch_size_sum"),
    )
    metrics.observe_coalesced_batch(7)
    assert value("stockd_coalesced_batch_size_count") == count + 1
    assert value("stockd_coalesced_batch_size_sum") == total + 7


@pytest.mark.django_db(transaction=True)
def test_an_open_live_stream_is_counted_until_it_ends():
    InventoryFactory()

    async def scenario():
        stock_hub = hub.hub_for_this_loop()
        before = value("stockd_live_streams_open")
        stream = events_view._stream(stock_hub, start=Cursor(), product_id=None)
        try:
            await anext(stream)  # the preamble: the stream is open
            assert value("stockd_live_streams_open") == before + 1
        finally:
            await stream.aclose()
            await stock_hub.close()
            await sync_to_async(connections.close_all)()
        assert value("stockd_live_streams_open") == before

    asyncio.run(scenario())


@pytest.mark.django_db
def test_the_stock_gauges_are_read_from_the_database(client):
    InventoryFactory(total_stock=10, reserved_stock=3)
    due = ReservationFactory(quantity=2, expires_at=timezone.now() - timedelta(seconds=90))
    assert due.status == Reservation.Status.PENDING
    held = sum(Inventory.objects.values_list("reserved_stock", flat=True))

    found = samples(client.get(METRICS).content.decode())

    assert found[("stockd_units_held", frozenset())] == held
    assert found[("stockd_holds_past_expiry", frozenset())] == 1
    assert found[("stockd_oldest_hold_past_expiry_seconds", frozenset())] >= 90


# --- who may scrape ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_loopback_may_scrape_by_default(client):
    response = client.get(METRICS, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"stockd_units_held" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED", "HTTP_X_REAL_IP"],
)
def test_a_request_relayed_by_a_proxy_on_loopback_needs_the_token(client, header):
    relayed = client.get(METRICS, REMOTE_ADDR="127.0.0.1", **{header: "203.0.113.9"})
    assert relayed.status_code == 403
    with override_settings(METRICS_TOKEN="t0ken"):
        with_token = client.get(
            METRICS, REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer t0ken", **{header: "x"}
        )
    assert with_token.status_code == 200


@pytest.mark.django_db
def test_another_network_is_refused(client):
    response = client.get(METRICS, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN_METRICS"
    assert b"stockd_" not in response.content


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_NETWORKS=("10.0.0.0/8",))
def test_an_allowed_network_may_scrape_and_others_not(client):
    assert client.get(METRICS, REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get(METRICS, REMOTE_ADDR="127.0.0.1").status_code == 403
    # X-Forwarded-For is anyone's to send: it opens nothing.
    forwarded = client.get(METRICS, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert forwarded.status_code == 403


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="s3cret-token", METRICS_ALLOWED_NETWORKS=())
def test_the_token_lets_a_scraper_in_from_anywhere(client):
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert (
        client.get(METRICS, HTTP_AUTHORIZATION="Bearer s3cret-token", **outside).status_code == 200
    )
    for wrong in ("Bearer s3cret", "Bearer s3cret-token2", "s3cret-token", "Basic s3cret-token"):
        response = client.get(METRICS, HTTP_AUTHORIZATION=wrong, **outside)
        assert response.status_code == 403, wrong
        assert response.json()["code"] == "FORBIDDEN_METRICS"
    assert client.get(METRICS, REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=())
def test_metrics_are_off_without_a_token_or_a_network(client):
    response = client.get(METRICS, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.django_db
def test_metrics_answer_only_get(client):
    assert client.post(METRICS, REMOTE_ADDR="127.0.0.1").status_code == 405

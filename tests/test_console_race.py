"""The race demo at /admin/race/ and POST /api/demo/race: three strategies on scratch rows.

Races run real threads on real connections, so every test that races commits its rows
(transaction=True) for the racing connections to see them.
"""

import threading
import time

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from console.race import engine
from console.race.databases import ADVISORY_LOCK_KEY, APPLICATION_NAME, race_conninfo
from console.race.models import RaceRun, RaceScratch
from inventory.models import Inventory
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds
from tests.factories import InventoryFactory, UserFactory

PAGE = "/admin/race/"
API = "/api/demo/race"
racing = pytest.mark.django_db(transaction=True)


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def shopper():
    return UserFactory()


@pytest.fixture
def stock() -> Inventory:
    """A shopper's stock row with 10 units, 3 of them held by a real reservation."""
    row = InventoryFactory(total_stock=10)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=3)
    return row


def _body(row: Inventory, **changes) -> dict:
    return {
        "productId": str(row.product_id),
        "warehouseId": str(row.warehouse_id),
        "concurrency": 20,
        "quantity": 1,
        **changes,
    }


def _shoppers_state() -> tuple:
    """Everything a race must leave alone: stock rows, reservations and events."""
    return (
        list(Inventory.objects.order_by("pk").values_list("pk", "total_stock", "reserved_stock")),
        list(Reservation.objects.order_by("pk").values_list("pk", "status", "quantity")),
        ReservationEvent.objects.count(),
    )


# --- who may use it ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_console_login(client):
    for method in (client.get, client.post):
        response = method(PAGE)
        assert response.status_code == 302
        assert response.url.startswith(reverse("console-login"))
    assert not RaceRun.objects.exists()


@pytest.mark.django_db
def test_shoppers_get_403_on_the_page_and_the_race(shopper):
    assert _client(shopper).get(PAGE).status_code == 403
    assert _client(shopper).post(PAGE, {"shoppers": 5}).status_code == 403
    assert not RaceRun.objects.exists()


@pytest.mark.django_db
def test_staff_see_the_page_with_the_form(staff):
    response = _client(staff).get(PAGE)
    assert response.status_code == 200
    assert b'name="shoppers"' in response.content
    assert b"No race yet" in response.content


@pytest.mark.django_db
def test_the_api_answers_anonymous_callers_401_and_shoppers_403(stock, shopper):
    assert _api().post(API, _body(stock), format="json").status_code == 401
    response = _api(shopper).post(API, _body(stock), format="json")
    assert response.status_code == 403
    assert not RaceRun.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_cross_site_and_non_json_posts(stock, staff):
    cross = _api(staff).post(API, _body(stock), format="json", HTTP_SEC_FETCH_SITE="cross-site")
    assert cross.status_code == 403
    other = _api(staff).post(API, _body(stock), format="json", HTTP_ORIGIN="https://evil.example")
    assert other.status_code == 403
    form = _api(staff).post(API, _body(stock))  # multipart, as a cross-site form would send
    assert form.status_code == 403
    assert not RaceRun.objects.exists()


@pytest.mark.django_db
def test_the_page_refuses_a_post_without_its_csrf_token(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(PAGE, {"shoppers": 5}).status_code == 403
    assert not RaceRun.objects.exists()


# --- the three strategies ------------------------------------------------------------------------


@racing
def test_fifty_shoppers_oversell_naively_error_under_serializable_and_get_one_winner_with_stockd(
    staff, stock
):
    before = _shoppers_state()
    response = _client(staff).post(PAGE, {"shoppers": 50})

    run = RaceRun.objects.get()
    assert response.status_code == 302
    assert response.url == f"{PAGE}?run={run.pk}"
    naive, original, ours = (run.results[s] for s in ("naive", "serializable", "stockd"))
    assert run.concurrency == 50 and run.starting_available == 1

    # Naive: every shopper who read 1 before the others wrote was told it got the unit.
    assert naive["oversoldUnits"] > 0
    assert naive["winners"] == naive["oversoldUnits"] + 1
    assert naive["unitsHandedOut"] == naive["winners"] and naive["finalAvailable"] == 0

    # The original: no oversell, but losers get database errors, counted with their SQLSTATE.
    assert original["errors"] > 0
    assert set(original["errorsBySqlstate"]) <= {"40001", "55P03", "40P01"}
    assert sum(original["errorsBySqlstate"].values()) == original["errors"]
    assert original["winners"] == 1 and original["oversoldUnits"] == 0
    assert original["winners"] + original["conflicts"] + original["errors"] == 50
    errored = [s for s in original["shoppers"] if s["status"] == "ERROR"]
    assert all(s["httpStatus"] == 500 and s["error"].startswith("SQLSTATE") for s in errored)

    # stockd: exactly one winner, 49 clean 409s.
    assert (ours["winners"], ours["conflicts"], ours["errors"], ours["oversoldUnits"]) == (
        1,
        49,
        0,
        0,
    )
    assert ours["finalAvailable"] == 0 and ours["unitsHandedOut"] == 1

    scratch = {row.strategy: row for row in RaceScratch.objects.filter(run=run)}
    assert scratch["stockd"].available == 0 and scratch["stockd"].units_handed_out == 1
    assert scratch["naive"].units_handed_out == naive["winners"]

    # Shoppers' stock, reservations and events are untouched; the invariants hold.
    assert _shoppers_state() == before
    assert find_violations() == []


@racing
def test_the_shoppers_share_a_bounded_set_of_connections(staff):
    """200 shoppers open at most MAX_CONNECTIONS race connections, all closed afterwards."""
    database = connection.settings_dict["NAME"]
    count_sql = (
        "SELECT count(*) FILTER (WHERE application_name = %s), count(*)"
        " FROM pg_stat_activity WHERE datname = %s"
    )
    peaks = {"race": 0, "all": 0}
    done = threading.Event()

    with psycopg.connect(race_conninfo(), autocommit=True) as watcher:
        (baseline,) = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchone()

        def watch() -> None:
            while not done.is_set():
                race, total = watcher.execute(count_sql, (APPLICATION_NAME, database)).fetchone()
                peaks["race"], peaks["all"] = max(peaks["race"], race), max(peaks["all"], total)
                done.wait(0.005)

        sampler = threading.Thread(target=watch)
        sampler.start()
        try:
            response = _client(staff).post(PAGE, {"shoppers": 200})
        finally:
            done.set()
            sampler.join()
        # A closed connection's backend leaves pg_stat_activity a moment after the client
        # hangs up: give the pool's closed connections a few seconds to be gone.
        deadline = time.monotonic() + 5
        while True:
            race_after, _ = watcher.execute(count_sql, (APPLICATION_NAME, database)).fetchone()
            if race_after == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)

    assert response.status_code == 302
    run = RaceRun.objects.get()
    assert run.connections == engine.MAX_CONNECTIONS
    assert 0 < peaks["race"] <= engine.MAX_CONNECTIONS
    # The race's pool, its guard connection and the request's own: nothing close to 200.
    assert peaks["all"] <= baseline + engine.MAX_CONNECTIONS + 2
    assert race_after == 0
    assert run.results["stockd"]["winners"] == 1
    assert run.results["stockd"]["conflicts"] == 199


@racing
def test_past_runs_are_kept_and_listed(staff):
    client = _client(staff)
    for shoppers in (3, 4):
        assert client.post(PAGE, {"shoppers": shoppers}).status_code == 302
    first, second = RaceRun.objects.order_by("pk")
    assert (first.concurrency, second.concurrency) == (3, 4)
    assert set(first.results) == {"naive", "serializable", "stockd"}
    assert first.started_by == staff

    page = client.get(PAGE)
    assert page.context["shown"] == second  # the latest by default
    assert f"?run={first.pk}".encode() in page.content
    chosen = client.get(PAGE, {"run": first.pk})
    assert chosen.context["shown"] == first
    assert b'data-strategy="stockd"' in chosen.content


@racing
def test_an_htmx_race_answers_its_results_partial_and_pushes_its_url(staff):
    response = _client(staff).post(PAGE, {"shoppers": 5}, HTTP_HX_REQUEST="true")
    run = RaceRun.objects.get()
    assert response.status_code == 200
    assert response["HX-Push-Url"] == f"{PAGE}?run={run.pk}"
    assert response.content.lstrip().startswith(b'<div id="race-results">')
    assert b"<html" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("shoppers", ["0", "201", "-3", "abc", "", "2.5"])
def test_the_page_refuses_a_bad_number_of_shoppers(staff, shoppers):
    response = _client(staff).post(PAGE, {"shoppers": shoppers})
    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert not RaceRun.objects.exists()


@pytest.mark.django_db
def test_an_htmx_race_with_a_bad_number_puts_the_error_beside_the_field(staff):
    response = _client(staff).post(PAGE, {"shoppers": "201"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#race-form", "outerHTML")
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="race-form"')
    assert 'min="1" max="200"' in html and 'aria-invalid="true"' in html
    assert "At most 200 shoppers race at once: pick 1 to 200." in html
    assert not RaceRun.objects.exists()


@racing
def test_a_second_race_is_refused_while_one_runs_and_writes_nothing(staff, stock):
    with psycopg.connect(race_conninfo(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        api = _api(staff).post(API, _body(stock), format="json")
        page = _client(staff).post(PAGE, {"shoppers": 5})
    assert api.status_code == 409 and api.json()["code"] == "RACE_RUNNING"
    assert page.status_code == 302 and page.url == PAGE
    assert not RaceRun.objects.exists() and not RaceScratch.objects.exists()


# --- the JSON API -------------------------------------------------------------------------------


@racing
def test_the_api_races_on_a_scratch_copy_of_the_rows_availability(staff, stock):
    before = _shoppers_state()
    response = _api(staff).post(API, _body(stock, concurrency=20), format="json")

    assert response.status_code == 200
    body = response.json()
    run = RaceRun.objects.get()
    summary = body["summary"]
    assert summary["runId"] == str(run.pk)
    assert summary["productId"] == str(stock.product_id)
    assert summary["warehouseId"] == str(stock.warehouse_id)
    assert summary["strategy"] == "stockd"  # the default
    # 10 units, 3 held: the scratch copy starts with 7 available, so 7 win and 13 get 409.
    assert (summary["startingAvailable"], summary["winners"], summary["conflicts"]) == (7, 7, 13)
    assert summary["errors"] == 0 and summary["oversoldUnits"] == 0
    assert len(body["results"]) == 20
    assert {r["requestId"] for r in body["results"]} == {str(i) for i in range(1, 21)}
    won = [r for r in body["results"] if r["status"] == "SUCCESS"]
    lost = [r for r in body["results"] if r["status"] == "CONFLICT"]
    assert len(won) == 7 and all(r["httpStatus"] == 201 and r["reservationId"] for r in won)
    assert len(lost) == 13 and all(r["httpStatus"] == 409 and r["error"] for r in lost)
    assert {r["outcome"] for r in won} == {"RESERVED"}  # stockd's names, kept beside
    assert {r["outcome"] for r in lost} == {"INSUFFICIENT_STOCK"}
    assert all(r["reservationId"] is None for r in lost)
    assert all(isinstance(r["durationMs"], float | int) for r in body["results"])
    # The original UI's summary and explanation.
    assert summary["concurrentRequests"] == 20
    assert (summary["availableStockBefore"], summary["availableStockAfter"]) == (7, 0)
    assert (summary["losers"], summary["correct"], summary["resetAfter"]) == (13, True, False)
    assert summary["verdict"].startswith("Correct")
    assert summary["totalDurationMs"] == summary["durationMs"]
    assert "conditional UPDATE" in body["explanation"]["mechanism"]
    assert body["explanation"]["guarantee"] and body["explanation"]["detail"]

    assert (run.source_product_id, run.source_warehouse_id) == (
        stock.product_id,
        stock.warehouse_id,
    )
    # stockd's comparison beside the original's shape: every strategy raced the same copy.
    assert set(run.results) == {"naive", "serializable", "stockd"}
    assert [s["strategy"] for s in body["comparison"]] == ["naive", "serializable", "stockd"]
    assert body["comparison"][2] == summary
    assert body["unavailable"] == {}
    assert _shoppers_state() == before
    assert find_violations() == []


@racing
def test_the_api_runs_the_strategy_it_is_asked_for(staff, stock):
    response = _api(staff).post(
        API, _body(stock, concurrency=30, quantity=2, strategy="naive"), format="json"
    )
    assert response.status_code == 200
    summary = response.json()["summary"]
    assert summary["strategy"] == "naive" and summary["quantity"] == 2
    assert summary["startingAvailable"] == 7
    assert summary["oversoldUnits"] > 0
    assert summary["correct"] is False and summary["verdict"].startswith("Incorrect")
    assert find_violations() == []


@racing
def test_the_api_takes_the_original_uis_reset_after_and_leaves_the_row_as_it_was(staff, stock):
    """The original UI always sends resetAfter; a race never changes the row anyway."""
    before = _shoppers_state()
    response = _api(staff).post(API, _body(stock, concurrency=4, resetAfter=True), format="json")
    assert response.status_code == 200, response.content
    assert _shoppers_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"concurrency": 0},
        {"concurrency": 201},
        {"concurrency": "50"},
        {"concurrency": 2.5},
        {"concurrency": None},
        {"quantity": 0},
        {"quantity": True},
        {"strategy": "optimistic"},
        {"productId": "abc"},
        {"warehouseId": ""},
        {"color": "red"},
        {"resetAfter": "yes"},
    ],
)
def test_the_api_refuses_bad_input_with_400_and_runs_nothing(staff, stock, changes):
    response = _api(staff).post(API, _body(stock, **changes), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert not RaceRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["productId", "warehouseId", "concurrency"])
def test_the_api_requires_every_field_but_the_strategy_and_quantity(staff, stock, missing):
    body = _body(stock)
    del body[missing]
    response = _api(staff).post(API, body, format="json")
    assert response.status_code == 400
    assert missing in response.json()["details"]["fieldErrors"]
    assert not RaceRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"[1, 2]", b"{not json", b'"race"'])
def test_the_api_refuses_a_body_that_is_not_a_json_object(staff, raw):
    response = _api(staff).post(API, raw, content_type="application/json")
    assert response.status_code == 400
    assert not RaceRun.objects.exists()


@pytest.mark.django_db
def test_the_api_answers_404_for_a_row_that_does_not_exist(staff, stock):
    response = _api(staff).post(API, _body(stock, warehouseId="999999"), format="json")
    assert response.status_code == 404
    assert not RaceRun.objects.exists()

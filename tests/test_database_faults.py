"""Database and cache faults: 503 with Retry-After while PostgreSQL is away, never a 500;
dead pooled connections replaced; Redis down degrades to PostgreSQL, correctness intact.

Each test runs a real gunicorn child. The machine's PostgreSQL and Redis stay up: an
unreachable database or cache is a URL pointing at a closed port, a restart or failover is
pg_terminate_backend on the child's own sessions (named by PGAPPNAME).
"""

import json
import threading
import urllib.error
import urllib.request
import uuid

import pytest
from django.db import connection

from inventory.models import Inventory
from reservations.invariants import find_violations
from reservations.models import Reservation
from tests.factories import InventoryFactory
from tests.processes import (
    clean_env,
    env_for_test_database,
    free_port,
    http_get,
    served,
    terminate_backends_of,
)
from tests.races import wait_until_blocked_by

HANG_SECONDS = 60  # only a hang waits this long
pytestmark = pytest.mark.slow


def http_post(url: str, body: bytes, headers: dict[str, str]):
    """POST `body` to `url`; return the status, headers and body text (error statuses too)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(request, timeout=HANG_SECONDS) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def post_json(url: str, payload: dict, **headers: str):
    return http_post(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers}
    )


def unreachable_database_env(**overrides: str) -> dict[str, str]:
    """Environment for a server whose DATABASE_URL points at a port where nothing listens."""
    return clean_env(
        **{
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/stockd",
            "DATABASE_POOL": "0",
            "SECRET_KEY": "stockd-test-secret-key",
            "DEBUG": "0",
            "HTTPS_ONLY": "0",
            **overrides,
        }
    )


def assert_database_unavailable_json(status: int, headers, body: str) -> None:
    assert status == 503, body
    assert headers["Retry-After"].isdigit()
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {
        "error": "The database is unavailable; retry shortly.",
        "code": "DATABASE_UNAVAILABLE",
    }


def assert_unavailable_page(status: int, headers, body: str) -> None:
    assert status == 503, body
    assert headers["Retry-After"].isdigit()
    assert headers["Content-Type"].startswith("text/html")
    assert 'data-testid="error-page"' in body
    assert '<code data-testid="error-code">DATABASE_UNAVAILABLE</code>' in body


def reserve_body(stock: Inventory, quantity: int = 1) -> dict:
    return {
        "productId": str(stock.product_id),
        "warehouseId": str(stock.warehouse_id),
        "quantity": quantity,
    }


# --- PostgreSQL unreachable ------------------------------------------------------------------


def test_api_answers_503_json_with_retry_after_when_the_database_is_unreachable(tmp_path):
    with served(tmp_path, unreachable_database_env()) as url:
        assert_database_unavailable_json(*http_get(f"{url}/api/products"))
        assert_database_unavailable_json(*http_get(f"{url}/api/warehouses"))
        assert_database_unavailable_json(
            *post_json(f"{url}/api/reservations", {"productId": "1", "quantity": 1})
        )
        assert_database_unavailable_json(
            *post_json(
                f"{url}/api/reservations/batch",
                {"items": [{"productId": "1", "quantity": 1}]},
                **{"Idempotency-Key": "while-the-database-is-down"},
            )
        )
        # The session's user is loaded (and fails) in DRF's authentication, before the view.
        assert_database_unavailable_json(
            *http_get(f"{url}/api/reservations", {"Cookie": f"sessionid={'x' * 32}"})
        )


def test_pages_answer_the_503_page_when_the_database_is_unreachable(tmp_path):
    with served(tmp_path, unreachable_database_env()) as url:
        assert_unavailable_page(*http_get(f"{url}/"))
        assert_unavailable_page(*http_get(f"{url}/products/1/"))
        assert_unavailable_page(*http_get(f"{url}/orders/", {"Cookie": f"sessionid={'x' * 32}"}))


def test_a_fault_in_the_session_middleware_answers_the_503_page(tmp_path):
    """Choosing where to deliver touches no table in the view; SessionMiddleware then saves
    the new session on the way out, and that save is what meets the dead database."""
    token = "a" * 32  # an unmasked CSRF secret is a valid token for its own cookie
    with served(tmp_path, unreachable_database_env()) as url:
        response = http_post(
            f"{url}/deliver-to/",
            f"csrfmiddlewaretoken={token}&place=Chennai".encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={token}",
            },
        )
        assert_unavailable_page(*response)
        log = (tmp_path / "web.log").read_text()
        assert "POST /deliver-to/ 503" in log
        assert "database fault answered with 503" in log


def test_with_debug_on_the_answers_are_the_same_503s_not_the_debug_page(tmp_path):
    with served(tmp_path, unreachable_database_env(DEBUG="1")) as url:
        assert_database_unavailable_json(*http_get(f"{url}/api/products"))
        assert_database_unavailable_json(
            *http_get(f"{url}/api/reservations", {"Cookie": f"sessionid={'x' * 32}"})
        )
        assert_unavailable_page(*http_get(f"{url}/"))
        assert_unavailable_page(*http_get(f"{url}/orders/", {"Cookie": f"sessionid={'x' * 32}"}))


def test_a_pool_that_times_out_answers_503(tmp_path):
    env = unreachable_database_env(DATABASE_POOL="1", DATABASE_POOL_TIMEOUT="1")
    with served(tmp_path, env) as url:
        assert_database_unavailable_json(*http_get(f"{url}/api/products"))
        assert_unavailable_page(*http_get(f"{url}/"))
        assert "PoolTimeout" in (tmp_path / "web.log").read_text()


# --- PostgreSQL restarted: backends terminated --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_pooled_connections_whose_backends_were_terminated_are_replaced(tmp_path):
    """Issue 13 item 4: after pg_terminate_backend the next requests answer normally."""
    stock = InventoryFactory(total_stock=10)
    application_name = f"stockd-pool-test-{uuid.uuid4().hex[:12]}"
    env = env_for_test_database(PGAPPNAME=application_name)
    env.update(DATABASE_POOL="1", DATABASE_POOL_MIN_SIZE="2")
    with served(tmp_path, env) as url:
        for _ in range(3):
            assert http_get(f"{url}/api/products")[0] == 200
        assert terminate_backends_of(application_name) >= 1

        for _ in range(3):
            status, _, body = http_get(f"{url}/api/products")
            assert status == 200, body
        status, _, body = post_json(f"{url}/api/reservations", reserve_body(stock))
        assert status == 201, body

        assert terminate_backends_of(application_name) >= 1
        status, _, body = http_get(f"{url}/")
        assert status == 200, body
    assert Reservation.objects.count() == 1
    assert find_violations() == []


@pytest.mark.django_db(transaction=True)
def test_a_request_whose_backend_is_terminated_mid_request_answers_503_and_writes_nothing(
    tmp_path, django_db_blocker
):
    stock = InventoryFactory(total_stock=10)
    env = {**env_for_test_database(), "DATABASE_POOL": "1"}
    answer: dict = {}
    with served(tmp_path, env) as url:
        holder = connection.copy()  # a session of the test's own, holding the stock row
        try:
            holder.set_autocommit(False)
            with holder.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {Inventory._meta.db_table} WHERE id = %s FOR UPDATE",
                    [stock.pk],
                )
                holder_pid = holder.connection.info.backend_pid

            def reserve() -> None:
                answer["response"] = post_json(f"{url}/api/reservations", reserve_body(stock))

            request = threading.Thread(target=reserve)
            request.start()
            for pid in wait_until_blocked_by(holder_pid, alive=request.is_alive):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            request.join(timeout=HANG_SECONDS)
            assert not request.is_alive()
        finally:
            holder.rollback()
            holder.close()

        assert_database_unavailable_json(*answer["response"])
        assert Reservation.objects.count() == 0
        status, _, body = post_json(f"{url}/api/reservations", reserve_body(stock))
        assert status == 201, body
    stock.refresh_from_db()
    assert stock.reserved_stock == 1
    assert find_violations() == []


# --- Redis unreachable ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_app_runs_on_postgresql_and_logs_the_cache_errors(tmp_path):
    stock = InventoryFactory(total_stock=10)
    env = env_for_test_database(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    key = {"Idempotency-Key": "redis-is-down"}
    with served(tmp_path, env) as url:
        status, _, first = post_json(f"{url}/api/reservations", reserve_body(stock, 2), **key)
        assert status == 201, first
        status, headers, again = post_json(f"{url}/api/reservations", reserve_body(stock, 2), **key)
        assert (status, headers["Idempotent-Replayed"]) == (201, "true")
        assert json.loads(again) == json.loads(first)

        status, _, body = post_json(
            f"{url}/api/reservations/batch",
            {"items": [{**reserve_body(stock), "quantity": 1}]},
            **{"Idempotency-Key": "redis-is-down-cart"},
        )
        assert status == 201, body

        status, _, body = http_get(f"{url}/api/products")
        assert status == 200, body
        [product] = json.loads(body)
        assert product["inventory"][0]["available"] == 7
        assert http_get(f"{url}/")[0] == 200
        assert http_get(f"{url}/products/{stock.product_id}/")[0] == 200
        assert http_get(f"{url}/readyz")[0] == 503

    assert Reservation.objects.count() == 2
    stock.refresh_from_db()
    assert stock.reserved_stock == 3
    assert find_violations() == []
    log = (tmp_path / "web.log").read_text()
    assert "Exception ignored" in log  # django-redis logs every cache error it swallows
    assert "Error 111 connecting to 127.0.0.1" in log

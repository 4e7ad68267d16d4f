"""Idempotency-Key: a request sent again with its key runs once and gets its first answer back.

POST /api/reservations (scope "reservations.create") and POST /api/reservations/{id}/confirm
(scope "reservations.confirm") take the header, and so does POST /api/reservations/batch
("reservations.batch", one replay test here). Every test reads the verdict from PostgreSQL
as well as from the answers: reservations, events by type, IdempotencyKey rows and the
inventory counters.

Answers are cached in Redis once their transaction commits (transaction.on_commit), so every
test that means to exercise the cache is transactional: inside pytest-django's wrapping
transaction nothing commits and nothing would be cached. Cached answers outlive the test
database's flush; tests/conftest.py empties this run's cache before each test, and every test
also uses keys of its own (uuid4), so no replay can come from another test.

Tests that hold a request in flight do it with a row lock held from another connection and
released by the test, and they wait for the database to show the requests queued behind it
(pg_stat_activity and pg_blocking_pids), never for the clock. HANG_SECONDS bounds only a
hung test; a slow machine waits longer, never fails sooner.
"""

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient

from idempotency import store as idempotency
from idempotency.models import IdempotencyKey
from idempotency.tasks import purge_expired_keys as purge_idempotency_keys
from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, http_get, served
from tests.races import Outcome, run_together, unexpected_errors

Status, Reason = Reservation.Status, Reservation.ReleaseReason
REPLAYED = "Idempotent-Replayed"
CREATE_ANONYMOUS = "reservations.create|anonymous"
CONFIRM_ANONYMOUS = "reservations.confirm|anonymous"
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": UNREACHABLE_REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


def new_key() -> str:
    return f"test-{uuid.uuid4()}"


# --- database state --------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What the database holds: rows, events by type, stored keys and one row's counters."""

    reservations: int
    events: dict[str, int]
    keys: int
    stock: tuple[int, int]  # (total_stock, reserved_stock)


def state(stock: Inventory) -> State:
    stock.refresh_from_db()
    return State(
        reservations=Reservation.objects.count(),
        events=dict(Counter(ReservationEvent.objects.values_list("type", flat=True))),
        keys=IdempotencyKey.objects.count(),
        stock=(stock.total_stock, stock.reserved_stock),
    )


def stored(key: str) -> list[tuple[str, int | None, Any]]:
    """The (scope, status, body) stored for `key`, one per scope."""
    return list(
        IdempotencyKey.objects.filter(key=key)
        .order_by("scope")
        .values_list("scope", "response_status", "response_body")
    )


# --- requests through DRF's APIClient ----------------------------------------------------------


@pytest.fixture
def stock(db) -> Inventory:
    return InventoryFactory(total_stock=5)


def _key_header(key: str | None) -> dict[str, str]:
    return {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}


def reserve(api: APIClient, stock: Inventory, quantity: int = 2, *, key: str | None, **extra):
    body = {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": quantity}
    return api.post("/api/reservations", {**body, **extra}, format="json", **_key_header(key))


def confirm(api: APIClient, reservation_id, *, key: str | None):
    return api.post(f"/api/reservations/{reservation_id}/confirm", **_key_header(key))


def make_due(reservation_id) -> None:
    Reservation.objects.filter(pk=reservation_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def is_replay(response) -> bool:
    return response.headers.get(REPLAYED) == "true"


# --- the cache in front ----------------------------------------------------------------------


@pytest.fixture
def redis_down(settings) -> None:
    """Point the cache at a Redis nobody answers.

    The `settings` fixture sends setting_changed, and django.test.signals.clear_cache_handlers
    then rebuilds django.core.cache.caches from the new CACHES (and again on restore); the
    probe below proves the override reached the `cache` proxy the idempotency module uses.
    """
    settings.CACHES = UNREACHABLE_REDIS
    with pytest.raises(RedisConnectionError):
        cache.get("idempotency-test-probe")


@pytest.fixture(params=["redis", "redis-down"])
def cache_mode(request) -> str:
    """Run a test with the Redis fast path on, then with Redis unreachable.

    Answers are cached on commit, so the test must be transactional: inside pytest-django's
    wrapping transaction the "redis" run would never cache anything and would test the
    PostgreSQL path twice. Fail the test if it is not.
    """
    marker = request.node.get_closest_marker("django_db")
    assert marker is not None and marker.kwargs.get("transaction"), (
        "cache_mode needs @pytest.mark.django_db(transaction=True): answers are cached on commit"
    )
    if request.param == "redis-down":
        request.getfixturevalue("redis_down")
    return request.param


def assert_cached(cache_mode: str, scope: str, key: str, status: int, body: Any) -> None:
    """Assert that Redis holds the stored answer of (scope, key), or nothing when it is down."""
    answer = idempotency.cached_answer(scope=scope, key=key)
    if cache_mode == "redis-down":
        assert answer is None
        return
    record = IdempotencyKey.objects.get(scope=scope, key=key)
    assert answer == {"fingerprint": record.fingerprint, "status": status, "body": body}


# --- retries -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # answers are cached on commit
def test_a_retry_gets_the_first_answer_with_the_replay_header_and_writes_nothing(
    api, stock, cache_mode
):
    key = new_key()
    first = reserve(api, stock, key=key)
    assert first.status_code == 201
    assert not is_replay(first) and REPLAYED not in first.headers
    after_first = state(stock)
    assert after_first == State(reservations=1, events={"RESERVED": 1}, keys=1, stock=(5, 2))
    assert stored(key) == [(CREATE_ANONYMOUS, 201, first.json())]
    assert_cached(cache_mode, CREATE_ANONYMOUS, key, 201, first.json())

    for _ in range(2):
        retry = reserve(api, stock, key=key)
        assert retry.status_code == 201
        assert is_replay(retry)
        assert retry.json() == first.json()
        assert state(stock) == after_first
    assert str(Reservation.objects.get().id) == first.json()["id"]


@pytest.mark.django_db(transaction=True)  # the answer is cached once its transaction commits
def test_with_redis_up_a_replay_is_answered_without_a_database_query(
    api, django_assert_num_queries
):
    stock = InventoryFactory(total_stock=5)
    key = new_key()
    first = reserve(api, stock, key=key)
    with django_assert_num_queries(0):
        retry = reserve(api, stock, key=key)
    assert (retry.status_code, is_replay(retry), retry.json()) == (201, True, first.json())


def test_the_same_body_with_its_fields_in_another_order_is_a_retry(api, stock):
    key = new_key()
    first = reserve(api, stock, key=key)
    reordered = {"quantity": 2, "warehouseId": stock.warehouse_id, "productId": stock.product_id}
    retry = api.post("/api/reservations", reordered, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (retry.status_code, is_replay(retry), retry.json()) == (201, True, first.json())
    assert state(stock) == State(reservations=1, events={"RESERVED": 1}, keys=1, stock=(5, 2))


@pytest.mark.django_db(transaction=True)  # answers are cached on commit
def test_the_same_key_with_another_body_answers_422_and_writes_nothing(api, stock, cache_mode):
    key = new_key()
    first = reserve(api, stock, quantity=2, key=key)
    assert first.status_code == 201
    assert_cached(cache_mode, CREATE_ANONYMOUS, key, 201, first.json())
    after_first = state(stock)

    for changed in ({"quantity": 3}, {"quantity": 2, "city": "Pune"}):
        response = reserve(api, stock, key=key, **changed)
        assert response.status_code == 422
        assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert response.json()["error"]
        assert not is_replay(response)
        assert state(stock) == after_first
    assert stored(key) == [(CREATE_ANONYMOUS, 201, first.json())]
    assert_cached(cache_mode, CREATE_ANONYMOUS, key, 201, first.json())

    # The original request still replays afterwards.
    again = reserve(api, stock, quantity=2, key=key)
    assert (again.status_code, is_replay(again), again.json()) == (201, True, first.json())


@pytest.mark.django_db(transaction=True)  # answers are cached on commit
def test_with_redis_up_another_body_under_a_cached_key_answers_422_from_the_cache_alone(
    api, django_assert_num_queries
):
    stock = InventoryFactory(total_stock=5)
    key = new_key()
    first = reserve(api, stock, quantity=2, key=key)
    assert first.status_code == 201
    assert_cached("redis", CREATE_ANONYMOUS, key, 201, first.json())
    after_first = state(stock)

    for changed in ({"quantity": 3}, {"quantity": 2, "city": "Pune"}):
        with django_assert_num_queries(0):  # the cached fingerprint alone refuses it
            response = reserve(api, stock, key=key, **changed)
        assert response.status_code == 422
        assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert response.json()["error"]
        assert not is_replay(response)
        assert state(stock) == after_first
    assert stored(key) == [(CREATE_ANONYMOUS, 201, first.json())]
    assert_cached("redis", CREATE_ANONYMOUS, key, 201, first.json())


@pytest.mark.django_db(transaction=True)  # answers are cached on commit
def test_a_409_insufficient_stock_answer_is_replayed_even_once_stock_has_arrived(
    api, stock, cache_mode
):
    key = new_key()
    refused = reserve(api, stock, quantity=6, key=key)
    assert refused.status_code == 409
    assert refused.json()["code"] == "INSUFFICIENT_STOCK" and refused.json()["available"] == 5
    assert not is_replay(refused)
    assert state(stock) == State(reservations=0, events={}, keys=1, stock=(5, 0))
    assert stored(key) == [(CREATE_ANONYMOUS, 409, refused.json())]
    assert_cached(cache_mode, CREATE_ANONYMOUS, key, 409, refused.json())

    Inventory.objects.filter(pk=stock.pk).update(total_stock=10)  # a re-run would now succeed
    retry = reserve(api, stock, quantity=6, key=key)

    assert retry.status_code == 409
    assert is_replay(retry)
    assert retry.json() == refused.json()
    assert state(stock) == State(reservations=0, events={}, keys=1, stock=(10, 0))
    # The same request under a fresh key runs, so the replay above really did not run.
    assert reserve(api, stock, quantity=6, key=new_key()).status_code == 201


@pytest.mark.django_db(transaction=True)  # answers are cached on commit
def test_a_404_answer_is_replayed_even_once_the_product_is_stocked(api, stock, cache_mode):
    stock.product.active = False
    stock.product.save()
    key = new_key()
    missing = reserve(api, stock, quantity=2, key=key)
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    assert stored(key) == [(CREATE_ANONYMOUS, 404, missing.json())]
    assert_cached(cache_mode, CREATE_ANONYMOUS, key, 404, missing.json())

    stock.product.active = True
    stock.product.save()
    retry = reserve(api, stock, quantity=2, key=key)

    assert (retry.status_code, is_replay(retry), retry.json()) == (404, True, missing.json())
    assert state(stock) == State(reservations=0, events={}, keys=1, stock=(5, 0))


# --- confirm -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # answers are cached on commit
def test_a_confirm_retry_gets_the_first_200_with_the_replay_header(api, stock, cache_mode):
    reservation_id = reserve(api, stock, quantity=2, key=None).json()["id"]
    key = new_key()

    first = confirm(api, reservation_id, key=key)
    assert first.status_code == 200 and not is_replay(first)
    assert first.json()["status"] == Status.CONFIRMED and first.json()["confirmedAt"]
    after_first = state(stock)
    assert after_first == State(
        reservations=1, events={"RESERVED": 1, "CONFIRMED": 1}, keys=1, stock=(3, 0)
    )
    assert stored(key) == [(CONFIRM_ANONYMOUS, 200, first.json())]
    assert_cached(cache_mode, CONFIRM_ANONYMOUS, key, 200, first.json())

    retry = confirm(api, reservation_id, key=key)
    assert (retry.status_code, is_replay(retry), retry.json()) == (200, True, first.json())
    assert state(stock) == after_first


@pytest.mark.django_db(transaction=True)  # answers are cached on commit
def test_a_410_expired_confirm_answer_is_replayed(api, stock, cache_mode):
    reservation_id = reserve(api, stock, quantity=2, key=None).json()["id"]
    make_due(reservation_id)
    key = new_key()

    first = confirm(api, reservation_id, key=key)
    assert first.status_code == 410 and not is_replay(first)
    assert first.json()["code"] == "EXPIRED"
    # The expiry found on the way is kept, and committed with the stored answer.
    hold = Reservation.objects.get()
    assert (hold.status, hold.release_reason) == (Status.RELEASED, Reason.EXPIRED)
    after_first = state(stock)
    assert after_first == State(
        reservations=1, events={"RESERVED": 1, "EXPIRED": 1}, keys=1, stock=(5, 0)
    )
    assert stored(key) == [(CONFIRM_ANONYMOUS, 410, first.json())]
    assert_cached(cache_mode, CONFIRM_ANONYMOUS, key, 410, first.json())

    retry = confirm(api, reservation_id, key=key)
    assert (retry.status_code, is_replay(retry), retry.json()) == (410, True, first.json())
    assert state(stock) == after_first


def test_the_same_confirm_key_on_another_hold_answers_422(api, stock):
    first_id = reserve(api, stock, quantity=1, key=None).json()["id"]
    second_id = reserve(api, stock, quantity=1, key=None).json()["id"]
    key = new_key()
    assert confirm(api, first_id, key=key).status_code == 200

    response = confirm(api, second_id, key=key)

    assert response.status_code == 422
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Reservation.objects.get(pk=second_id).status == Status.PENDING
    assert state(stock) == State(
        reservations=2, events={"RESERVED": 2, "CONFIRMED": 1}, keys=1, stock=(4, 1)
    )


# --- scopes ------------------------------------------------------------------------------------


def test_one_key_used_by_two_signed_in_shoppers_runs_once_for_each(api, stock, django_user_model):
    ann = django_user_model.objects.create_user("ann", password="pw-123456")
    bob = django_user_model.objects.create_user("bob", password="pw-123456")
    key = new_key()

    api.force_login(ann)
    for_ann = reserve(api, stock, quantity=1, key=key)
    api.force_login(bob)
    for_bob = reserve(api, stock, quantity=1, key=key)
    api.logout()
    for_anonymous = reserve(api, stock, quantity=1, key=key)

    answers = (for_ann, for_bob, for_anonymous)
    assert [r.status_code for r in answers] == [201, 201, 201]
    assert not any(is_replay(r) for r in answers)
    assert len({r.json()["id"] for r in answers}) == 3
    owners = dict(Reservation.objects.values_list("id", "user_id"))
    assert {str(k): v for k, v in owners.items()} == {
        for_ann.json()["id"]: ann.pk,
        for_bob.json()["id"]: bob.pk,
        for_anonymous.json()["id"]: None,
    }
    assert state(stock) == State(reservations=3, events={"RESERVED": 3}, keys=3, stock=(5, 3))
    assert [scope for scope, _, _ in stored(key)] == sorted(
        [
            CREATE_ANONYMOUS,
            f"reservations.create|user:{ann.pk}",
            f"reservations.create|user:{bob.pk}",
        ]
    )

    # Each shopper's retry replays that shopper's own answer.
    api.force_login(ann)
    retry = reserve(api, stock, quantity=1, key=key)
    assert (retry.status_code, is_replay(retry), retry.json()) == (201, True, for_ann.json())
    assert state(stock).reservations == 3


def test_a_key_on_reserve_and_the_same_key_on_confirm_are_independent(api, stock):
    key = new_key()
    created = reserve(api, stock, quantity=2, key=key)
    assert created.status_code == 201

    confirmed = confirm(api, created.json()["id"], key=key)

    assert confirmed.status_code == 200 and not is_replay(confirmed)
    assert confirmed.json()["status"] == Status.CONFIRMED
    assert state(stock) == State(
        reservations=1, events={"RESERVED": 1, "CONFIRMED": 1}, keys=2, stock=(3, 0)
    )
    assert stored(key) == [
        (CONFIRM_ANONYMOUS, 200, confirmed.json()),
        (CREATE_ANONYMOUS, 201, created.json()),
    ]
    # And each still replays its own answer.
    assert reserve(api, stock, quantity=2, key=key).json() == created.json()
    assert confirm(api, created.json()["id"], key=key).json() == confirmed.json()


def test_a_cart_retry_gets_the_first_cart_back_and_holds_nothing_more(api, db):
    first_row, second_row = InventoryFactory(total_stock=5), InventoryFactory(total_stock=5)
    items = [
        {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 2}
        for row in (first_row, second_row)
    ]
    key = new_key()

    first = api.post(
        "/api/reservations/batch", {"items": items}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    retry = api.post(
        "/api/reservations/batch", {"items": items}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert first.status_code == 201 and not is_replay(first)
    assert len(first.json()["reservations"]) == 2
    assert (retry.status_code, is_replay(retry), retry.json()) == (201, True, first.json())
    assert Reservation.objects.filter(cart_id=first.json()["cartId"]).count() == 2
    assert state(first_row) == State(reservations=2, events={"RESERVED": 2}, keys=1, stock=(5, 2))
    assert state(second_row).stock == (5, 2)
    assert stored(key) == [("reservations.batch|anonymous", 201, first.json())]


# --- the key itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_key",
    [
        pytest.param("k" * 256, id="256-chars"),
        pytest.param("", id="empty"),
        pytest.param("ключ-1", id="cyrillic"),
        pytest.param("café-1", id="latin-1"),
        pytest.param("tab\tkey", id="tab"),
        pytest.param("nul\x00key", id="nul"),
        pytest.param("line\nkey", id="newline"),
        pytest.param("del\x7fkey", id="del"),
    ],
)
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_answers_400(api, stock, bad_key):
    response = reserve(api, stock, key=bad_key)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert state(stock) == State(reservations=0, events={}, keys=0, stock=(5, 0))

    reservation_id = reserve(api, stock, key=None).json()["id"]
    response = confirm(api, reservation_id, key=bad_key)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert Reservation.objects.get().status == Status.PENDING
    assert state(stock) == State(reservations=1, events={"RESERVED": 1}, keys=0, stock=(5, 2))


def test_a_key_of_255_printable_ascii_characters_is_accepted(api, stock):
    key = (new_key() + " ~!#" + "k" * 255)[:255]
    assert len(key) == 255

    first = reserve(api, stock, key=key)
    retry = reserve(api, stock, key=key)

    assert first.status_code == 201 and not is_replay(first)
    assert (retry.status_code, is_replay(retry), retry.json()) == (201, True, first.json())
    assert stored(key) == [(CREATE_ANONYMOUS, 201, first.json())]
    assert state(stock) == State(reservations=1, events={"RESERVED": 1}, keys=1, stock=(5, 2))


# --- what is not stored ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        pytest.param(
            '{"productId": PRODUCT, "warehouseId": WAREHOUSE, "quantity": 0}',
            "application/json",
            400,
            "VALIDATION_ERROR",
            id="invalid-quantity",
        ),
        pytest.param(
            '{"productId": PRODUCT, "warehouseId": WAREHOUSE, "quantity": 2, "coupon": "X"}',
            "application/json",
            400,
            "VALIDATION_ERROR",
            id="unknown-field",
        ),
        pytest.param(
            '{"productId": PRODUCT,', "application/json", 400, "MALFORMED_JSON", id="json"
        ),
        pytest.param(
            "productId=PRODUCT&warehouseId=WAREHOUSE&quantity=2",
            "application/x-www-form-urlencoded",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            id="form-body",
        ),
    ],
)
def test_a_rejected_request_is_not_stored_so_the_corrected_retry_runs(
    api, stock, content, content_type, status, code
):
    key = new_key()
    content = content.replace("PRODUCT", str(stock.product_id))
    content = content.replace("WAREHOUSE", str(stock.warehouse_id))

    rejected = api.post(
        "/api/reservations", content, content_type=content_type, HTTP_IDEMPOTENCY_KEY=key
    )
    assert rejected.status_code == status
    assert rejected.json()["code"] == code
    assert state(stock) == State(reservations=0, events={}, keys=0, stock=(5, 0))

    corrected = reserve(api, stock, quantity=2, key=key)

    assert corrected.status_code == 201 and not is_replay(corrected)
    assert state(stock) == State(reservations=1, events={"RESERVED": 1}, keys=1, stock=(5, 2))
    assert stored(key) == [(CREATE_ANONYMOUS, 201, corrected.json())]


def test_without_a_key_two_identical_posts_make_two_holds(api, stock):
    first = reserve(api, stock, quantity=2, key=None)
    second = reserve(api, stock, quantity=2, key=None)

    assert [first.status_code, second.status_code] == [201, 201]
    assert not is_replay(first) and not is_replay(second)
    assert first.json()["id"] != second.json()["id"]
    assert state(stock) == State(reservations=2, events={"RESERVED": 2}, keys=0, stock=(5, 4))


# --- purge -------------------------------------------------------------------------------------


def _key_row(age: timedelta) -> IdempotencyKey:
    return IdempotencyKey.objects.create(
        scope=CREATE_ANONYMOUS,
        key=new_key(),
        fingerprint="0" * 64,
        response_status=201,
        response_body={"id": "x"},
        created_at=timezone.now() - age,
    )


def _purge_with_the_service() -> str:
    return f"Purged {idempotency.purge_expired_keys()}"


def _purge_with_the_celery_task() -> str:
    return f"Purged {purge_idempotency_keys()}"


def _purge_with_manage_py_expire() -> str:
    out = StringIO()
    call_command("expire", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    "purge",
    [
        pytest.param(_purge_with_the_service, id="purge_expired_keys"),
        pytest.param(_purge_with_the_celery_task, id="celery-task"),
        pytest.param(_purge_with_manage_py_expire, id="manage.py-expire"),
    ],
)
def test_keys_older_than_24_hours_are_purged_and_younger_ones_stay(db, purge):
    old = [_key_row(timedelta(hours=24, minutes=1)), _key_row(timedelta(days=3))]
    young = [_key_row(timedelta(hours=23, minutes=59)), _key_row(timedelta(minutes=1))]

    report = purge()

    assert "Purged 2" in report
    assert set(IdempotencyKey.objects.values_list("pk", flat=True)) == {row.pk for row in young}
    assert not IdempotencyKey.objects.filter(pk__in=[row.pk for row in old]).exists()
    assert "Purged 0" in purge()


def test_celery_beat_purges_keys_hourly(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["purge-idempotency-keys"]
    assert schedule["task"] == purge_idempotency_keys.name
    assert schedule["schedule"] == 3600.0


@pytest.mark.django_db(transaction=True)  # Redis really holds the answer, then forgets it
def test_a_key_older_than_24_hours_not_yet_purged_is_treated_as_new(api, stock):
    key = new_key()
    first = reserve(api, stock, quantity=2, key=key)
    assert first.status_code == 201
    IdempotencyKey.objects.filter(key=key).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    # Redis's own 24 h expiry would have dropped the cached answer by then, too.
    idempotency.forget_cached_answer(scope=CREATE_ANONYMOUS, key=key)

    again = reserve(api, stock, quantity=2, key=key)

    assert again.status_code == 201 and not is_replay(again)
    assert again.json()["id"] != first.json()["id"]
    assert state(stock) == State(reservations=2, events={"RESERVED": 2}, keys=1, stock=(5, 4))
    # The old row made way for the new answer, which now replays.
    assert stored(key) == [(CREATE_ANONYMOUS, 201, again.json())]
    assert IdempotencyKey.objects.get(key=key).created_at > timezone.now() - timedelta(minutes=1)
    retry = reserve(api, stock, quantity=2, key=key)
    assert (retry.status_code, is_replay(retry), retry.json()) == (201, True, again.json())


@pytest.mark.django_db(transaction=True)  # Redis really holds the answer, then forgets it
def test_a_key_older_than_24_hours_is_free_for_another_body(api, stock):
    key = new_key()
    assert reserve(api, stock, quantity=2, key=key).status_code == 201
    IdempotencyKey.objects.filter(key=key).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    idempotency.forget_cached_answer(scope=CREATE_ANONYMOUS, key=key)

    other = reserve(api, stock, quantity=3, key=key)

    assert other.status_code == 201 and other.json()["quantity"] == 3
    assert state(stock) == State(reservations=2, events={"RESERVED": 2}, keys=1, stock=(5, 5))


# --- real HTTP, real threads -----------------------------------------------------------------

# Only a hung test waits this long; no assertion is timed against it.
HANG_SECONDS = 120


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: Any
    seconds: float


def _post(url: str, body: dict, key: str) -> Answer:
    """POST `body` as JSON with an Idempotency-Key; return the answer, error statuses included."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": key,
        },
        method="POST",
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=HANG_SECONDS) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            status, headers, raw = error.code, error.headers, error.read()
    seconds = time.monotonic() - started
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = {"unparsed": raw.decode(errors="replace")}
    return Answer(status, {k.lower(): v for k, v in headers.items()}, parsed, seconds)


def _answers(outcomes: list[Outcome]) -> list[Answer]:
    assert unexpected_errors(outcomes) == []
    return [outcome.value for outcome in outcomes]


# stockd as the Procfile's `web` serves it (tests/processes.py), one server per environment
# for the whole module. A server is another process: it reads its settings from its
# environment, not from this process's `settings`, and it sees only committed rows, so every
# test here is transactional. DATABASE_POOL=0 (env_for_test_database's default) gives each
# request's thread a connection of its own, so all the requests a test holds in flight can
# wait on their locks in PostgreSQL at once.


def _served_with(tmp_path: Path, **environment: str) -> AbstractContextManager[str]:
    return served(tmp_path, env_for_test_database(**environment))


@pytest.fixture(scope="module")
def patient_server(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """Serve stockd, whose requests wait for the request holding their key until a hang.

    Not 10 s: what these tests check does not depend on the wait bound (its own test does),
    and on a loaded machine the request holding the key may take longer than 10 s to commit.
    """
    path = tmp_path_factory.mktemp("patient")
    with _served_with(path, IDEMPOTENCY_WAIT_SECONDS=str(HANG_SECONDS)) as url:
        yield url


@pytest.fixture(scope="module")
def patient_server_without_redis(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """Serve stockd as `patient_server` does, with a Redis nobody answers (PostgreSQL only).

    This process's own `cache` stays on the real Redis, under the prefix the servers share
    (CACHE_KEY_PREFIX): there it sees that this server cached nothing.
    """
    path = tmp_path_factory.mktemp("patient-without-redis")
    with _served_with(
        path, IDEMPOTENCY_WAIT_SECONDS=str(HANG_SECONDS), REDIS_URL=UNREACHABLE_REDIS_URL
    ) as url:
        # As redis_down's probe: the unreachable Redis is the one the server's cache uses.
        status, _, body = http_get(f"{url}/readyz")
        assert (status, json.loads(body)["checks"]) == (503, {"database": True, "cache": False})
        yield url


@pytest.fixture(scope="module")
def impatient_server(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """Serve stockd, whose requests wait at most 1 s for the request holding their key."""
    with _served_with(tmp_path_factory.mktemp("impatient"), IDEMPOTENCY_WAIT_SECONDS="1") as url:
        yield url


@pytest.fixture(params=["redis", "redis-down"])
def served_cache_mode(request) -> tuple[str, str]:
    """Return the cache mode and the URL of `patient_server`, then of its Redis-less twin.

    As `cache_mode`, for a test that talks HTTP to a server: the server's Redis is up, then
    unreachable; this process's cache stays on the real Redis either way, so
    assert_cached(mode, ...) finds the server's answer there, then nothing.
    """
    marker = request.node.get_closest_marker("django_db")
    assert marker is not None and marker.kwargs.get("transaction"), (
        "served_cache_mode needs @pytest.mark.django_db(transaction=True): the server sees"
        " only committed rows, and answers are cached on commit"
    )
    server = "patient_server" if request.param == "redis" else "patient_server_without_redis"
    return request.param, request.getfixturevalue(server)


def _assert_one_key_raced_into_one_hold(server: str, n: int) -> list[Answer]:
    stock = InventoryFactory(total_stock=10)
    url = f"{server}/api/reservations"
    body = {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 3}
    key = new_key()

    answers = _answers(run_together(n, lambda _: _post(url, body, key)))

    assert [a for a in answers if a.status >= 500] == []
    assert Counter(a.status for a in answers) == {201: n}, [a.body for a in answers]
    first = answers[0].body
    assert all(a.body == first for a in answers)
    assert Counter(a.headers.get(REPLAYED.lower()) for a in answers) == {"true": n - 1, None: 1}
    assert first["status"] == Status.PENDING and first["quantity"] == 3
    assert str(Reservation.objects.get().id) == first["id"]
    assert state(stock) == State(reservations=1, events={"RESERVED": 1}, keys=1, stock=(10, 3))
    assert stored(key) == [(CREATE_ANONYMOUS, 201, first)]
    return answers


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_50_http_clients_sending_one_key_at_once_make_one_hold_and_get_one_answer(
    patient_server,
):
    _assert_one_key_raced_into_one_hold(patient_server, 50)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_redis_unreachable_20_clients_racing_with_one_key_make_one_hold(
    patient_server_without_redis,
):
    _assert_one_key_raced_into_one_hold(patient_server_without_redis, 20)


# --- requests held in flight -----------------------------------------------------------------


def _wait_for(done: Callable[[], bool], what: str, *, unless_finished: list[Future]) -> None:
    """Poll until done() is true.

    Fail as soon as one of `unless_finished` ends first (it was meant to be held), or after
    HANG_SECONDS, which only a hang takes.
    """
    deadline = time.monotonic() + HANG_SECONDS
    while not done():
        ended = [f.exception() or f.result() for f in unless_finished if f.done()]
        assert not ended, f"ended before {what}: {ended}"
        assert time.monotonic() < deadline, f"not {what} after {HANG_SECONDS}s: a hang"
        time.sleep(0.02)


def _lock_waits() -> dict[int, list[int]]:
    """Map each session of the test database waiting on a lock to the sessions it waits for."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return dict(cursor.fetchall())


def _waiting_for(waits: dict[int, list[int]], pid: int) -> set[int]:
    """The sessions that wait for `pid` itself."""
    return {waiter for waiter, blockers in waits.items() if pid in blockers}


def _queued_behind(waits: dict[int, list[int]], pid: int) -> set[int]:
    """The sessions that wait for `pid`, directly or behind another waiting session."""
    queued: set[int] = set()
    reached = {pid}
    while reached:
        reached = set().union(*(_waiting_for(waits, p) for p in reached)) - queued
        queued |= reached
    return queued


def _wait_until_queued(holder: int, count: int, requests: list[Future]) -> dict[int, list[int]]:
    """Wait until `count` sessions are queued behind the session `holder`; return the waits."""
    waits: dict[int, list[int]] = {}

    def queued() -> bool:
        nonlocal waits
        waits = _lock_waits()
        return len(_queued_behind(waits, holder)) >= count

    _wait_for(queued, f"{count} sessions queued behind {holder}", unless_finished=requests)
    return waits


@contextmanager
def row_locked(row: Model) -> Iterator[int]:
    """Lock `row` FOR UPDATE from another thread (its own connection) while inside; yield its pid.

    The lock is released when the block is left, however long that takes: nothing lapses on
    its own, so a slow machine only makes the test wait longer.
    """
    locked, unlock = threading.Event(), threading.Event()
    holder_pid: list[int] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                type(row).objects.select_for_update().get(pk=row.pk)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    holder_pid.append(cursor.fetchone()[0])
                locked.set()
                assert unlock.wait(timeout=HANG_SECONDS), "the row was never unlocked: a hang"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        holder = pool.submit(hold)
        _wait_for(locked.is_set, f"{row!r} locked", unless_finished=[holder])
        try:
            yield holder_pid[0]
        finally:
            unlock.set()
            holder.result(timeout=HANG_SECONDS)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_requests_arriving_while_the_first_still_runs_wait_for_it_and_get_its_answer(
    served_cache_mode,
):
    cache_mode, server = served_cache_mode
    n = 20  # all waiting at once, each on the server's thread and connection of its own
    stock = InventoryFactory(total_stock=10)
    url = f"{server}/api/reservations"
    body = {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 3}
    key = new_key()

    with ThreadPoolExecutor(max_workers=n) as pool:
        with row_locked(stock) as holder:
            requests = [pool.submit(_post, url, body, key) for _ in range(n)]
            waits = _wait_until_queued(holder, n, requests)
            # One request claimed the key and is stuck on the row; all others wait for that
            # one's transaction, which holds nothing else they need but the uncommitted key.
            (first_pid,) = _waiting_for(waits, holder)
            assert len(_waiting_for(waits, first_pid)) == n - 1, waits
            assert state(stock) == State(reservations=0, events={}, keys=0, stock=(10, 0))
        answers = [request.result(timeout=HANG_SECONDS) for request in requests]

    assert Counter(a.status for a in answers) == {201: n}, [a.body for a in answers]
    (first,) = [a for a in answers if REPLAYED.lower() not in a.headers]
    assert all(a.body == first.body for a in answers)
    assert Counter(a.headers.get(REPLAYED.lower()) for a in answers) == {"true": n - 1, None: 1}
    assert str(Reservation.objects.get().id) == first.body["id"]
    assert state(stock) == State(reservations=1, events={"RESERVED": 1}, keys=1, stock=(10, 3))
    assert stored(key) == [(CREATE_ANONYMOUS, 201, first.body)]
    assert_cached(cache_mode, CREATE_ANONYMOUS, key, 201, first.body)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_request_runs_past_the_wait_bound_answers_409_in_use(
    impatient_server,
):
    stock = InventoryFactory(total_stock=5)
    url = f"{impatient_server}/api/reservations"
    body = {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 2}
    key = new_key()

    with ThreadPoolExecutor(max_workers=1) as pool:
        with row_locked(stock) as holder:
            # The first request claims the key, then blocks on the row inside its transaction
            # until the block is left, however long the retry takes.
            running = pool.submit(_post, url, body, key)
            _wait_until_queued(holder, 1, [running])

            second = _post(url, body, key)
            assert not running.done()  # still held: it was running when the 409 went out
            in_flight = state(stock)  # the first request cannot have committed yet
        first = running.result(timeout=HANG_SECONDS)

    assert second.status == 409, second
    assert second.body["code"] == "IDEMPOTENCY_KEY_IN_USE" and second.body["error"]
    assert second.headers.get("retry-after") == "1"
    assert REPLAYED.lower() not in second.headers
    # It waited out the 1 s lock_timeout first (less 0.1 s for PostgreSQL's clock against ours).
    assert second.seconds >= 0.9, second.seconds
    assert in_flight == State(reservations=0, events={}, keys=0, stock=(5, 0))

    assert first.status == 201 and REPLAYED.lower() not in first.headers
    assert first.seconds > second.seconds  # started before the retry, answered after it
    assert state(stock) == State(reservations=1, events={"RESERVED": 1}, keys=1, stock=(5, 2))
    retry = _post(url, body, key)
    assert (retry.status, retry.headers.get(REPLAYED.lower()), retry.body) == (
        201,
        "true",
        first.body,
    )
    assert state(stock) == State(reservations=1, events={"RESERVED": 1}, keys=1, stock=(5, 2))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_retries_at_once_of_a_key_older_than_24_hours_run_once_and_share_the_answer(
    patient_server,
):
    stock = InventoryFactory(total_stock=5)
    url = f"{patient_server}/api/reservations"
    body = {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 2}
    key = new_key()
    first = _post(url, body, key)
    assert first.status == 201
    IdempotencyKey.objects.filter(key=key).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    idempotency.forget_cached_answer(scope=CREATE_ANONYMOUS, key=key)  # as its expiry would
    old_key = IdempotencyKey.objects.get(key=key)

    with ThreadPoolExecutor(max_workers=2) as pool:
        # Line both retries up after each has found the old row and before either replaces
        # it: while another session holds the row's lock, both can read it, neither can
        # delete or overwrite it. (A fix that locks the row while reading it queues them
        # here too.) Fail unless both are queued on that lock.
        with row_locked(old_key) as holder:
            retries = [pool.submit(_post, url, body, key) for _ in range(2)]
            _wait_until_queued(holder, 2, retries)
            assert state(stock) == State(
                reservations=1, events={"RESERVED": 1}, keys=1, stock=(5, 2)
            )
        answers = [retry.result(timeout=HANG_SECONDS) for retry in retries]

    assert [a.status for a in answers] == [201, 201], [a.body for a in answers]
    assert answers[0].body == answers[1].body
    assert Counter(a.headers.get(REPLAYED.lower()) for a in answers) == {"true": 1, None: 1}
    assert answers[0].body["id"] != first.body["id"]
    assert state(stock) == State(reservations=2, events={"RESERVED": 2}, keys=1, stock=(5, 4))
    assert stored(key) == [(CREATE_ANONYMOUS, 201, answers[0].body)]

"""Beat's jobs are safe to run twice: a sweep started while another runs returns at once, and
two sweeps started together (a beat started twice by mistake) release each hold once.
"""

import subprocess
import sys
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from core.advisory_locks import advisory_key
from idempotency.tasks import purge_expired_keys as purge_task
from inventory.models import Inventory
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds
from reservations.services.sweeps import SCHEDULED_SWEEP_LOCK
from reservations.tasks import expire_due_reservations as expire_task
from tests.factories import InventoryFactory
from tests.processes import clean_env
from tests.races import run_together, unexpected_errors

Status, Reason = Reservation.Status, Reservation.ReleaseReason

ROWS, HOLDS_PER_ROW = 6, 100  # 600 due holds: more than one sweep batch (500)


def _due_holds(rows: int, per_row: int) -> list[Inventory]:
    stock = [InventoryFactory(total_stock=per_row) for _ in range(rows)]
    for row in stock:
        for _ in range(per_row):
            holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    return stock


def _assert_each_released_once(count: int) -> None:
    assert Reservation.objects.filter(status=Status.PENDING).count() == 0
    assert (
        Reservation.objects.filter(status=Status.RELEASED, release_reason=Reason.EXPIRED).count()
        == count
    )
    expired = ReservationEvent.objects.filter(type="EXPIRED")
    assert expired.count() == count
    assert expired.values("reservation_id").distinct().count() == count
    assert set(Inventory.objects.values_list("reserved_stock", flat=True)) == {0}
    assert find_violations() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("copies", [2, 4])
def test_sweeps_started_together_release_each_due_hold_once(copies):
    _due_holds(ROWS, HOLDS_PER_ROW)

    outcomes = run_together(copies, lambda _: expire_task())

    assert unexpected_errors(outcomes) == []
    released = [o.value for o in outcomes if o.value is not None]
    assert sum(released) == ROWS * HOLDS_PER_ROW
    _assert_each_released_once(ROWS * HOLDS_PER_ROW)


@pytest.fixture
def sweep_lock_held_elsewhere():
    """Hold the scheduled sweep's lock from another session, as a running sweep would."""
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    )
    assert other.execute(
        "SELECT pg_try_advisory_lock(%s)", [advisory_key(SCHEDULED_SWEEP_LOCK)]
    ).fetchone()[0]
    try:
        yield other
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_sweep_started_while_another_runs_returns_at_once_releasing_nothing(
    sweep_lock_held_elsewhere,
):
    _due_holds(1, 3)

    assert expire_task() is None
    assert Reservation.objects.filter(status=Status.PENDING).count() == 3
    assert not ReservationEvent.objects.filter(type="EXPIRED").exists()

    sweep_lock_held_elsewhere.execute("SELECT pg_advisory_unlock_all()")
    assert expire_task() == 3
    _assert_each_released_once(3)


@pytest.mark.django_db(transaction=True)
def test_a_finished_sweep_leaves_its_lock_free_for_the_next_run():
    _due_holds(1, 2)
    assert expire_task() == 2
    with connection.cursor() as cursor:  # the same session: its lock count must be back to 0
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        assert cursor.fetchone()[0] == 0
    assert expire_task() == 0


def test_the_jobs_are_bounded_in_time_and_retried_on_database_errors():
    for task in (expire_task, purge_task):
        assert 0 < task.soft_time_limit < task.time_limit
        assert set(task.autoretry_for) == {OperationalError, InterfaceError}
        assert task.retry_backoff and task.max_retries >= 1
    # A sweep ends before the next one is due under the default schedule.
    assert expire_task.time_limit <= settings.EXPIRY_SWEEP_INTERVAL_SECONDS


def test_the_purge_runs_hourly_and_the_sweep_every_minute_by_default():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["purge-idempotency-keys"]["schedule"] == 3600.0
    assert schedule["purge-idempotency-keys"]["task"] == purge_task.name
    assert schedule["expire-due-reservations"]["schedule"] == 60.0


def test_the_sweep_interval_comes_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CELERY_BEAT_SCHEDULE['expire-due-reservations']['schedule'])"
    )
    env = clean_env(
        DJANGO_SETTINGS_MODULE="stockd.settings",
        EXPIRY_SWEEP_INTERVAL_SECONDS="7",
        SECRET_KEY="stockd-test-secret-key",
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "7.0"

"""A failing sweep is logged and the next one runs: the `--every` loop and the beat task."""

import logging
import signal
import uuid
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds, sweeps
from reservations.tasks import expire_due_reservations as expire_task
from tests.factories import InventoryFactory
from tests.processes import (
    env_for_test_database,
    manage,
    spawn,
    terminate_backends_of,
    wait_for,
)
from tests.races import connect


def reserved(stock: Inventory) -> int:
    stock.refresh_from_db()
    return stock.reserved_stock


def hold_and_make_due(stock: Inventory, quantity: int) -> Reservation:
    reservation = holds.reserve(
        product_id=stock.product_id, warehouse_id=stock.warehouse_id, quantity=quantity
    )
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    return reservation


def backends_of(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_expire_loop_survives_a_terminated_connection_and_a_failing_sweep(tmp_path):
    stock = InventoryFactory(total_stock=10)
    application_name = f"stockd-sweeper-test-{uuid.uuid4().hex[:12]}"
    # The pool (production's default) keeps the connection between sweeps. A sweep gives up
    # on a lock it cannot get within 300 ms.
    env = env_for_test_database(PGAPPNAME=application_name, PGOPTIONS="-c lock_timeout=300")
    env["DATABASE_POOL"] = "1"
    log = tmp_path / "expire.log"
    sweeper = spawn(manage("expire", "--every", "1"), env, log)
    try:
        hold_and_make_due(stock, quantity=2)
        wait_for(lambda: reserved(stock) == 0, timeout=30, what="the first sweep", log=log)
        wait_for(
            lambda: backends_of(application_name) > 0,
            timeout=30,
            what="the sweeper's pooled connection",
            log=log,
        )

        # A terminated pooled connection is checked and replaced before the next sweep.
        assert terminate_backends_of(application_name) >= 1
        hold_and_make_due(stock, quantity=1)
        wait_for(lambda: reserved(stock) == 0, timeout=30, what="a sweep after it", log=log)

        # A sweep that fails (the holds' table locked past its lock_timeout) is logged, and
        # the loop sweeps again once the table is free.
        with connect() as blocker, blocker.transaction():
            blocker.execute(f"LOCK TABLE {Reservation._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            wait_for(
                lambda: "The sweep failed" in log.read_text(),
                timeout=30,
                what="a sweep to fail on the locked table and be logged",
                log=log,
            )
        due = hold_and_make_due(stock, quantity=3)
        wait_for(lambda: reserved(stock) == 0, timeout=30, what="a sweep after it", log=log)
        assert sweeper.poll() is None, log.read_text()
    finally:
        sweeper.send_signal(signal.SIGTERM)
        assert sweeper.wait(timeout=30) == 0, log.read_text()

    text = log.read_text()
    assert "Traceback" in text and "OperationalError" in text  # logged with its cause
    assert Reservation.objects.get(pk=due.id).status == Reservation.Status.RELEASED
    assert ReservationEvent.objects.filter(type="EXPIRED", actor="system:command").count() == 3


def test_the_beat_task_retries_database_errors_with_backoff():
    assert OperationalError in expire_task.autoretry_for
    assert expire_task.retry_backoff
    assert expire_task.retry_jitter
    assert expire_task.max_retries >= 1
    assert expire_task.retry_backoff_max <= 60  # beat's next run comes a minute later anyway


@pytest.mark.django_db
def test_a_failing_beat_sweep_is_logged_and_retried(monkeypatch, caplog):
    stock = InventoryFactory(total_stock=10)
    hold_and_make_due(stock, quantity=1)
    real = sweeps.expire_due_reservations
    calls = []

    def lose_the_connection_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return real(**kwargs)

    monkeypatch.setattr(sweeps, "expire_due_reservations", lose_the_connection_once)

    with caplog.at_level(logging.ERROR, logger="reservations.tasks"):
        expire_task.apply()

    assert len(calls) == 2  # the eager retry ran the sweep again
    (record,) = [r for r in caplog.records if r.name == "reservations.tasks"]
    assert record.getMessage() == "The expiry sweep failed."
    assert isinstance(record.exc_info[1], OperationalError)
    assert reserved(stock) == 0


@pytest.mark.django_db
def test_a_beat_sweep_failing_otherwise_is_logged_and_not_retried(monkeypatch, caplog):
    calls = []

    def fail(**kwargs):
        calls.append(kwargs)
        raise RuntimeError("a bug")

    monkeypatch.setattr(sweeps, "expire_due_reservations", fail)

    with caplog.at_level(logging.ERROR, logger="reservations.tasks"):
        result = expire_task.apply()

    assert result.failed() and isinstance(result.result, RuntimeError)
    assert len(calls) == 1
    (record,) = [r for r in caplog.records if r.name == "reservations.tasks"]
    assert isinstance(record.exc_info[1], RuntimeError)

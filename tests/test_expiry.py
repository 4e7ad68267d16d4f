"""Holds end on time: lazily when touched, and by every sweep, even when nobody reads them."""

import signal
import sys
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds, sweeps, transitions
from reservations.tasks import expire_due_reservations as expire_task
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, manage, spawn, wait_for

Status, Reason = Reservation.Status, Reservation.ReleaseReason


@pytest.fixture
def stock(db) -> Inventory:
    return InventoryFactory(total_stock=10)


def hold(stock: Inventory, quantity: int = 1) -> Reservation:
    return holds.reserve(
        product_id=stock.product_id, warehouse_id=stock.warehouse_id, quantity=quantity
    )


def reserved(stock: Inventory) -> int:
    stock.refresh_from_db()
    return stock.reserved_stock


def expired_ids() -> set:
    return set(
        Reservation.objects.filter(
            status=Status.RELEASED, release_reason=Reason.EXPIRED
        ).values_list("id", flat=True)
    )


def test_reading_a_hold_after_its_ttl_releases_it(stock):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        reservation = hold(stock, quantity=3)
    api = APIClient()

    with time_machine.travel(start + timedelta(seconds=599), tick=False):
        assert api.get(f"/api/reservations/{reservation.id}").json()["status"] == "PENDING"
        assert reserved(stock) == 3

    with time_machine.travel(start + timedelta(seconds=600), tick=False):
        body = api.get(f"/api/reservations/{reservation.id}").json()

    assert (body["status"], body["releaseReason"]) == ("RELEASED", "EXPIRED")
    assert reserved(stock) == 0
    event = ReservationEvent.objects.get(type="EXPIRED")
    assert (event.reservation_id, event.actor) == (reservation.id, "system:lazy")


def test_reading_the_catalogue_does_not_expire_holds(stock):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        hold(stock)
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        APIClient().get("/api/products")
    assert reserved(stock) == 1


def test_the_sweep_releases_due_holds_nobody_reads(stock):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        due = [hold(stock) for _ in range(3)]
    with time_machine.travel(start + timedelta(seconds=300), tick=False):
        live = hold(stock)

    released = sweeps.expire_due_reservations(now=start + timedelta(seconds=700))

    assert released == 3
    assert expired_ids() == {r.id for r in due}
    assert Reservation.objects.get(pk=live.id).status == Status.PENDING
    assert reserved(stock) == 1
    assert ReservationEvent.objects.filter(type="EXPIRED").count() == 3


def test_the_sweep_works_in_batches(stock):
    for _ in range(7):
        hold(stock)
    later = timezone.now() + timedelta(hours=1)
    assert sweeps.expire_due_reservations(now=later, batch_size=3) == 7
    assert reserved(stock) == 0


def test_a_second_sweep_releases_nothing(stock):
    hold(stock)
    later = timezone.now() + timedelta(hours=1)
    assert sweeps.expire_due_reservations(now=later) == 1
    assert sweeps.expire_due_reservations(now=later) == 0
    assert ReservationEvent.objects.filter(type="EXPIRED").count() == 1


def test_the_sweep_never_touches_confirmed_or_released_holds(stock):
    confirmed, released = hold(stock), hold(stock)
    transitions.confirm(reservation_id=confirmed.id)
    transitions.release(reservation_id=released.id)
    later = timezone.now() + timedelta(hours=1)
    assert sweeps.expire_due_reservations(now=later) == 0
    stock.refresh_from_db()
    assert (stock.total_stock, stock.reserved_stock) == (9, 0)


def _make_all_due() -> None:
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))


def test_manage_py_expire_runs_one_sweep(stock):
    hold(stock)
    hold(stock)
    _make_all_due()
    out = StringIO()
    call_command("expire", stdout=out)
    assert "Released 2 expired reservation(s). Purged 0 idempotency key(s)." in out.getvalue()
    assert reserved(stock) == 0


def test_the_celery_task_runs_the_sweep(stock):
    hold(stock)
    _make_all_due()
    assert expire_task.apply().get() == 1
    assert reserved(stock) == 0


def test_celery_beat_runs_the_sweep_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["expire-due-reservations"]
    assert entry == {"task": "reservations.tasks.expire_due_reservations", "schedule": 60.0}
    assert expire_task.name == entry["task"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_real_celery_worker_releases_due_holds(tmp_path):
    stock = InventoryFactory(total_stock=10)
    hold(stock, quantity=4)
    _make_all_due()
    queue = f"stockd-test-{tmp_path.name}"
    log = tmp_path / "worker.log"
    worker = spawn(
        [sys.executable, "-m", "celery", "-A", "stockd", "worker", "--pool", "solo", "-Q", queue],
        env_for_test_database(),
        log,
    )
    try:
        expire_task.apply_async(queue=queue)
        wait_for(lambda: reserved(stock) == 0, timeout=60, what="the worker's sweep", log=log)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert ReservationEvent.objects.get(type="EXPIRED").actor == "system:beat"


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_manage_py_expire_every_n_keeps_sweeping(tmp_path):
    stock = InventoryFactory(total_stock=10)
    log = tmp_path / "expire.log"
    sweeper = spawn(manage("expire", "--every", "1"), env_for_test_database(), log)
    try:
        hold(stock, quantity=2)
        _make_all_due()
        wait_for(lambda: reserved(stock) == 0, timeout=30, what="the first sweep", log=log)
        hold(stock, quantity=3)
        _make_all_due()
        wait_for(lambda: reserved(stock) == 0, timeout=30, what="a later sweep", log=log)
    finally:
        sweeper.send_signal(signal.SIGTERM)
        assert sweeper.wait(timeout=30) == 0
    assert ReservationEvent.objects.filter(type="EXPIRED", actor="system:command").count() == 2


def test_manage_py_expire_refuses_a_bad_interval():
    with pytest.raises(SystemExit):
        call_command("expire", "--every", "0", stderr=StringIO())


# --- GET /api/cron/expire --------------------------------------------------------------------


@pytest.fixture
def cron_secret(settings) -> str:
    settings.CRON_SECRET = "s3cret-cron"
    return settings.CRON_SECRET


def test_cron_endpoint_releases_due_holds(stock, cron_secret):
    hold(stock)
    _make_all_due()
    response = APIClient().get("/api/cron/expire", HTTP_X_CRON_SECRET=cron_secret)
    assert response.status_code == 200
    assert response.json() == {"released": 1, "waitlistPromotions": 0}
    assert reserved(stock) == 0


@pytest.mark.parametrize("header", [None, "", "wrong", "s3cret-cro", "s3cret-cron "])
def test_cron_endpoint_without_the_right_secret_answers_401(stock, cron_secret, header):
    hold(stock)
    _make_all_due()
    extra = {} if header is None else {"HTTP_X_CRON_SECRET": header}
    response = APIClient().get("/api/cron/expire", **extra)
    assert response.status_code == 401
    assert response.json()["error"] == "UNAUTHORIZED"
    assert reserved(stock) == 1


def test_cron_endpoint_is_closed_while_no_secret_is_configured(settings, stock):
    settings.CRON_SECRET = ""
    assert APIClient().get("/api/cron/expire", HTTP_X_CRON_SECRET="").status_code == 401

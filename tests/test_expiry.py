"""Holds end on time: lazily when touched, and by every sweep, even when nobody reads them."""

import hmac
import re
import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from celery.result import EagerResult
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from reservations.notifications import email_shopper
from reservations.services import holds, sweeps, transitions, waitlist
from reservations.tasks import expire_due_reservations as expire_task
from stockd.celery import app as celery_app
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


def test_the_expiry_task_function_runs_the_sweep(stock):
    hold(stock)
    _make_all_due()
    assert expire_task.apply().get() == 1
    assert reserved(stock) == 0
    assert ReservationEvent.objects.get(type="EXPIRED").actor == "system:beat"


def test_the_beat_schedule_names_the_sweep_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["expire-due-reservations"]
    assert entry == {"task": "reservations.tasks.expire_due_reservations", "schedule": 60.0}
    assert expire_task.name == entry["task"]


# --- a real worker, through the real broker ----------------------------------------------------

WORKER_TIMEOUT_SECONDS = 120  # only a hung worker takes this long, even on a loaded machine


@contextmanager
def celery_worker(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Run a Celery worker on a queue of its own, on the test database; yield queue and log.

    The queue is unique so no other worker on the same Redis takes this test's tasks.
    """
    queue = f"stockd-test-{uuid.uuid4().hex}"
    log = tmp_path / "worker.log"
    command = [
        *("celery", "-A", "stockd", "worker", "--pool", "solo", "--loglevel", "INFO"),
        *("-Q", queue, "--hostname", f"{queue}@%h"),
        *("--without-mingle", "--without-gossip", "--without-heartbeat"),
    ]
    worker = spawn(
        [sys.executable, "-m", *command],
        # EMAIL_URL empty: the console backend prints each mail into the worker's log.
        env_for_test_database(CELERY_TASK_ALWAYS_EAGER="0", EMAIL_URL=""),
        log,
    )
    try:
        yield queue, log
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=WORKER_TIMEOUT_SECONDS)


@contextmanager
def sending_to_the_broker(queue: str) -> Iterator[None]:
    """Send this process's tasks to `queue` on the broker instead of running them eagerly."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_default_queue
    conf.task_always_eager, conf.task_default_queue = False, queue
    try:
        yield
    finally:
        conf.task_always_eager, conf.task_default_queue = saved


def _succeeded(log: Path, task_name: str, task_id: str = r"[0-9a-f-]+") -> list[str]:
    """Return what the worker logged as the result of each successful run of the task.

    The text log format follows the message with its fields in brackets: " [task_id=...]".
    """
    pattern = rf"Task {re.escape(task_name)}\[{task_id}\] succeeded in [0-9.e-]+s: (.*?)(?: \[|$)"
    return re.findall(pattern, log.read_text(), re.M)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_real_celery_worker_runs_the_sweep_sent_through_the_broker(tmp_path):
    stock = InventoryFactory(total_stock=10)
    due = hold(stock, quantity=4)
    _make_all_due()
    task_id = str(uuid.uuid4())

    with celery_worker(tmp_path) as (queue, log), sending_to_the_broker(queue):
        sent = expire_task.apply_async(task_id=task_id)
        assert not isinstance(sent, EagerResult)
        wait_for(
            lambda: reserved(stock) == 0 and _succeeded(log, expire_task.name, task_id),
            timeout=WORKER_TIMEOUT_SECONDS,
            what="the worker to run the sweep",
            log=log,
        )

    assert _succeeded(log, expire_task.name, task_id) == ["1"]
    assert expired_ids() == {due.id}
    event = ReservationEvent.objects.get(type="EXPIRED")
    assert (event.reservation_id, event.actor) == (due.id, "system:beat")


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_real_celery_worker_emails_the_promoted_waitlist_shopper(tmp_path):
    stock = InventoryFactory(total_stock=1)
    held = hold(stock)
    joined = waitlist.join_waitlist(
        product_id=stock.product_id,
        warehouse_id=stock.warehouse_id,
        quantity=1,
        email="waiting@example.com",
    )
    assert joined.created
    entry = joined.entry

    with celery_worker(tmp_path) as (queue, log), sending_to_the_broker(queue):
        transitions.release(reservation_id=held.id)  # promotes on commit, emails after that
        entry.refresh_from_db()
        assert entry.status == WaitlistEntry.Status.PROMOTED
        wait_for(
            lambda: _succeeded(log, email_shopper.name),
            timeout=WORKER_TIMEOUT_SECONDS,
            what="the worker to send the promotion email",
            log=log,
        )

    assert mail.outbox == []  # not sent in this process
    text = log.read_text()
    assert len(_succeeded(log, email_shopper.name)) == 1
    assert f"emailed the shopper of waitlist_promotion {entry.id}" in text
    assert "To: waiting@example.com" in text
    assert f"Subject: {stock.product.name} is held for you" in text
    assert f"{settings.SITE_URL}/checkout/{entry.reservation_id}/" in text


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
    assert response.json() == {
        "message": "Released 1 expired reservation(s).",
        "released": 1,
        "waitlistPromotions": [],
    }
    assert reserved(stock) == 0


@pytest.mark.parametrize("header", [None, "", "wrong", "s3cret-cro", "s3cret-cron "])
def test_cron_endpoint_without_the_right_secret_answers_401(stock, cron_secret, header):
    hold(stock)
    _make_all_due()
    extra = {} if header is None else {"HTTP_X_CRON_SECRET": header}
    response = APIClient().get("/api/cron/expire", **extra)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    assert reserved(stock) == 1


@pytest.fixture
def compare_digest_calls(monkeypatch) -> list[tuple[bytes, bytes]]:
    """Record each call of hmac.compare_digest (at its definition) and answer as it does."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(given, expected):
        calls.append((given, expected))
        return real(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    return calls


@pytest.mark.parametrize(
    ("header", "status"),
    [("s3cret-cron", 200), ("s3cret-croX", 401), ("s3cret", 401), ("s3cret-cron-and-more", 401)],
)
def test_cron_secret_is_checked_by_a_constant_time_comparison(
    stock, cron_secret, compare_digest_calls, header, status
):
    hold(stock)
    _make_all_due()
    response = APIClient().get("/api/cron/expire", HTTP_X_CRON_SECRET=header)
    assert response.status_code == status
    assert compare_digest_calls == [(header.encode(), cron_secret.encode())]
    assert reserved(stock) == (0 if status == 200 else 1)


@pytest.mark.parametrize(
    ("verdict", "header", "status"), [(False, "s3cret-cron", 401), (True, "x", 200)]
)
def test_the_constant_time_comparison_alone_decides(
    stock, cron_secret, monkeypatch, verdict, header, status
):
    hold(stock)
    _make_all_due()
    monkeypatch.setattr(hmac, "compare_digest", lambda given, expected: verdict)
    response = APIClient().get("/api/cron/expire", HTTP_X_CRON_SECRET=header)
    assert response.status_code == status
    assert reserved(stock) == (0 if status == 200 else 1)


def test_cron_endpoint_is_closed_while_no_secret_is_configured(settings, stock):
    settings.CRON_SECRET = ""
    assert APIClient().get("/api/cron/expire", HTTP_X_CRON_SECRET="").status_code == 401

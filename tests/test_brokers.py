"""Celery runs on RabbitMQ as on Redis: only CELERY_BROKER_URL changes.

A real worker process, started as the Procfile's `worker` starts it, runs a sweep that a
real client process (`celery call`) sent through each broker.
"""

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from reservations.models import Reservation, ReservationEvent
from reservations.services import holds
from reservations.tasks import expire_due_reservations as expire_task
from tests.brokers import BROKERS, broker_url, delete_queue, unique_queue
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, spawn, wait_for

TIMEOUT_SECONDS = 120  # only a hung worker takes this long, even on a loaded machine


@contextmanager
def worker_on(url: str, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """Run a Celery worker whose only difference is CELERY_BROKER_URL (and a queue of its
    own); yield the environment a client needs to reach it, and the worker's log."""
    queue = unique_queue()
    env = env_for_test_database(
        CELERY_BROKER_URL=url, CELERY_TASK_DEFAULT_QUEUE=queue, CELERY_TASK_ALWAYS_EAGER="0"
    )
    log = tmp_path / "worker.log"
    command = ["celery", "-A", "stockd", "worker", "--loglevel", "INFO", "--concurrency", "1"]
    worker = spawn([sys.executable, "-m", *command, "--hostname", f"{queue}@%h"], env, log)
    try:
        wait_for(
            lambda: " ready." in log.read_text(),
            timeout=TIMEOUT_SECONDS,
            what="the worker",
            log=log,
        )
        yield env, log
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=TIMEOUT_SECONDS)
        delete_queue(url, queue)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.parametrize("broker", BROKERS)
def test_a_real_worker_runs_a_sweep_sent_through_the_broker(broker, tmp_path):
    stock = InventoryFactory(total_stock=10)
    due = holds.reserve(product_id=stock.product_id, warehouse_id=stock.warehouse_id, quantity=3)
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with worker_on(broker_url(broker), tmp_path) as (env, log):
        sent = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "stockd", "call", expire_task.name],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=True,
        )
        task_id = sent.stdout.strip()
        done = rf"Task {re.escape(expire_task.name)}\[{task_id}\] succeeded in [0-9.e-]+s: 1"
        wait_for(
            lambda: re.search(done, log.read_text()) is not None,
            timeout=TIMEOUT_SECONDS,
            what=f"the worker to run the sweep sent through {broker}",
            log=log,
        )

    due.refresh_from_db()
    assert (due.status, due.release_reason) == ("RELEASED", "EXPIRED")
    stock.refresh_from_db()
    assert stock.reserved_stock == 0
    event = ReservationEvent.objects.get(type="EXPIRED")
    assert (event.reservation_id, event.actor) == (due.id, "system:beat")

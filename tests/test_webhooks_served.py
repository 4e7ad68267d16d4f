"""Webhooks as production runs them: Celery beat starts a dispatcher pass every second and a
real worker delivers, through the real broker, to a real receiver on the loopback that
answers 500 for two minutes, then 200."""

import signal
import sys
import time
import uuid
from collections import defaultdict

import pytest
from rest_framework.test import APIClient

from integrations.keys import create_key
from integrations.models import Delivery, Event
from reservations.services import holds, transitions
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, spawn, wait_for
from tests.webhook_receiver import receiving

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DOWN_SECONDS = 120
EVENTS = ["reservation.created", "reservation.released", "stock.changed"]


def test_a_receiver_down_for_two_minutes_gets_every_event_once_in_order_per_row(tmp_path, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the receiver is on the loopback
    rows = [InventoryFactory(total_stock=100), InventoryFactory(total_stock=100)]
    queue = f"stockd-test-{uuid.uuid4().hex}"
    env = env_for_test_database(
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_TASK_DEFAULT_QUEUE=queue,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS="1",
        WEBHOOK_RETRY_BASE_MS="500",
    )
    celery = [sys.executable, "-m", "celery", "-A", "stockd"]
    key = create_key(name="hooks", scopes=["webhooks"]).plain
    with receiving() as receiver:
        up_at = time.monotonic() + DOWN_SECONDS
        receiver.answer = lambda: 200 if time.monotonic() >= up_at else 500
        client = APIClient(headers={"Authorization": f"Bearer {key}"})
        body = {"url": receiver.url, "events": EVENTS}
        assert client.post("/api/webhooks", body, format="json").status_code == 201
        worker = spawn(
            [*celery, "worker", "--pool", "solo", "-Q", queue, "--without-mingle",
             "--without-gossip", "--without-heartbeat", "--hostname", f"{queue}@%h"],
            env, tmp_path / "worker.log",
        )  # fmt: skip
        beat = spawn(
            [*celery, "beat", "-s", str(tmp_path / "beat-schedule")], env, tmp_path / "beat.log"
        )
        try:
            for n in range(20):  # while the receiver is down
                row = rows[n % 2]
                hold = holds.reserve(
                    product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1
                )
                if n % 3 == 0:
                    transitions.release(reservation_id=hold.id)
                time.sleep(0.5)
            wait_for(
                lambda: (
                    Event.objects.exists()
                    and not Delivery.objects.exclude(status="DELIVERED").exists()
                    and time.monotonic() > up_at
                ),
                timeout=DOWN_SECONDS + 240,
                what="every delivery to be delivered once the receiver is up",
                log=tmp_path / "worker.log",
            )
        finally:
            for process in (beat, worker):
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)

    assert any(r.status == 500 for r in receiver.requests)
    events = {str(e.public_id) for e in Event.objects.filter(type__in=EVENTS)}
    assert len(events) >= 20 + 7  # every hold and release, and the rows' changes
    assert set(receiver.unique()) == events  # none lost
    assert len(receiver.delivered()) == len(events)  # each delivered once
    sequences = defaultdict(list)
    for delivered in receiver.delivered():
        row = (delivered["data"]["productId"], delivered["data"]["warehouseId"])
        sequences[row].append(delivered["sequence"])
    assert len(sequences) == 2
    assert all(s == sorted(s) for s in sequences.values())  # in sequence order per row

"""The production stack, started from the Procfile, releases a hold nobody reads again.

The test starts the Procfile's `web`, `worker` and `beat` lines as they are written (read
at test time: the lead may change how `web` serves), on PostgreSQL (the test database) with
Redis as cache, and Redis or RabbitMQ as the broker; a short TTL and a short beat interval
let beat's sweep come round within seconds.
"""

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from reservations.models import Reservation, ReservationEvent
from tests.brokers import BROKERS, broker_url, delete_queue, unique_queue
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, free_port, http_get, spawn, wait_for

STACK = ("web", "worker", "beat")
TIMEOUT_SECONDS = 120  # only a hung process takes this long, even on a loaded machine


def procfile() -> dict[str, str]:
    """Return the Procfile's commands by process name."""
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    entries = (line.split(":", 1) for line in lines if ":" in line and not line.startswith("#"))
    return {name.strip(): command.strip() for name, command in entries}


def _stop(process: subprocess.Popen) -> None:
    """Stop a process and everything it started (its own session), as honcho does."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def procfile_stack(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[str, dict[str, Path]]]:
    """Run the Procfile's web, worker and beat with `env` in a shell each, as honcho does;
    yield web's base URL and each process's log, then stop them all."""
    commands = procfile()
    logs = {name: tmp_path / f"{name}.log" for name in STACK}
    started = []
    try:
        for name in STACK:
            started.append(spawn(["bash", "-c", commands[name]], env, logs[name]))
        url = f"http://127.0.0.1:{env['PORT']}"

        def serving() -> bool:
            for name, process in zip(STACK, started, strict=True):
                assert process.poll() is None, f"{name} exited:\n{logs[name].read_text()}"
            try:
                return http_get(f"{url}/healthz")[0] == 200
            except OSError:
                return False

        wait_for(serving, timeout=TIMEOUT_SECONDS, what="web to serve", log=logs["web"])
        yield url, logs
    finally:
        for process in reversed(started):
            _stop(process)


def _post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.parametrize("broker", BROKERS)
def test_beat_releases_a_hold_nobody_reads_again(broker, tmp_path):
    stock = InventoryFactory(total_stock=5)
    queue = unique_queue()
    env = env_for_test_database(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        PORT=str(free_port()),
        VAR_DIR=str(tmp_path / "var"),
        CELERY_BROKER_URL=broker_url(broker),
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CELERY_TASK_ALWAYS_EAGER="0",
        RESERVATION_TTL_SECONDS="3",
        EXPIRY_SWEEP_INTERVAL_SECONDS="1",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        CELERY_CONCURRENCY="1",
        RESERVE_RATE_LIMIT="",
    )
    try:
        with procfile_stack(tmp_path, env) as (url, logs):
            status, body = _post_json(
                f"{url}/api/reservations",
                {
                    "productId": str(stock.product_id),
                    "warehouseId": str(stock.warehouse_id),
                    "quantity": 2,
                },
            )
            assert status == 201, body
            stock.refresh_from_db()
            assert stock.reserved_stock == 2

            # Nobody reads the hold again: only the database is watched, never the API
            # (reading a hold through the API would expire it lazily).
            held = Reservation.objects.filter(pk=body["id"])
            wait_for(
                lambda: held.get().status == Reservation.Status.RELEASED,
                timeout=TIMEOUT_SECONDS,
                what="beat's sweep to release the hold",
                log=logs["worker"],
            )
    finally:
        delete_queue(broker_url(broker), queue)

    hold = held.get()
    assert hold.release_reason == Reservation.ReleaseReason.EXPIRED
    assert hold.released_at >= hold.expires_at
    events = ReservationEvent.objects.filter(reservation_id=hold.id).order_by("id")
    assert [(e.type, e.actor) for e in events] == [
        ("RESERVED", events[0].actor),
        ("EXPIRED", "system:beat"),
    ]
    stock.refresh_from_db()
    assert stock.reserved_stock == 0
    assert "expire-due-reservations" in logs["beat"].read_text()

"""Reads that may lag go to a real streaming replica; holds stay exact on the primary.

The slow test makes its own pair of PostgreSQL clusters (tests/postgres_clusters.py: a
primary made with initdb and a pg_basebackup streaming replica of it, each on a free port),
migrates and seeds a stockd database on the primary, serves stockd with DATABASE_REPLICA_URL
pointing at the replica, pauses the replica's replay and shows the catalogue answering the
replica's older state while holds are decided on the primary. The shared server is not used.
"""

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from core.serving.replicas import REPLICA, database_for
from inventory.models import Inventory, Product
from stockd.routers import PrimaryReplicaRouter
from tests.postgres_clusters import Cluster, primary_and_streaming_replica
from tests.processes import env_for_test_database, http_get, manage, served, wait_for
from warehouses.models import Warehouse

TIMEOUT_SECONDS = 120  # only a stuck replica takes this long, even on a loaded machine
DBNAME = "stockd"


# --- the router, without a replica ---------------------------------------------------------


def test_writes_always_go_to_the_primary_even_for_an_object_read_on_the_replica():
    router = PrimaryReplicaRouter()
    product = Product(pk=1)
    product._state.db = REPLICA
    assert router.db_for_write(Product, instance=product) == "default"
    assert router.db_for_write(Inventory) == "default"


def test_reads_go_to_the_primary_unless_they_follow_an_object_read_on_the_replica():
    router = PrimaryReplicaRouter()
    assert router.db_for_read(Inventory) == "default"
    on_primary = Product(pk=1)
    assert router.db_for_read(Inventory, instance=on_primary) == "default"
    on_replica = Product(pk=1)
    on_replica._state.db = REPLICA
    assert router.db_for_read(Inventory, instance=on_replica) == REPLICA


def test_migrations_run_on_the_primary_only():
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("default", "inventory")
    assert not router.allow_migrate(REPLICA, "inventory")


def test_without_a_replica_every_read_goes_to_the_primary():
    assert database_for(may_lag=True) == "default"
    assert database_for(may_lag=False) == "default"


# --- a real streaming replica ----------------------------------------------------------------


@pytest.fixture
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    """Start a throwaway primary and a hot-standby replica of it; tear both down after."""
    with primary_and_streaming_replica() as pair:
        yield pair


def _manage(*args: str, env: dict[str, str]) -> None:
    """Run a management command in a child process; fail with its output if it fails."""
    finished = subprocess.run(
        manage(*args),
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr


def _get(url: str) -> tuple[int, object]:
    status, _, body = http_get(url)
    return status, json.loads(body)


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _stock_of(product: dict, warehouse_id: int) -> dict:
    (row,) = [r for r in product["inventory"] if r["warehouseId"] == str(warehouse_id)]
    return {k: row[k] for k in ("totalStock", "reservedStock", "available")}


NO_LOG = Path(os.devnull)
INVENTORY = Inventory._meta.db_table


@pytest.mark.slow
def test_the_catalogue_is_read_on_the_replica_while_holds_stay_exact_on_the_primary(
    clusters, tmp_path
):
    primary, streaming_replica = clusters
    with primary.connect() as server:
        server.execute(f"CREATE DATABASE {DBNAME}")
    env = {
        **env_for_test_database(
            DATABASE_REPLICA_URL=streaming_replica.url(DBNAME), RESERVE_RATE_LIMIT=""
        ),
        "DATABASE_URL": primary.url(DBNAME),
    }
    # Written on the primary after the replica was made: the replica gets it by streaming.
    _manage("migrate", "--noinput", env=env)
    _manage("seed", env=env)

    with (
        primary.connect(DBNAME) as books,
        streaming_replica.connect(DBNAME) as replica,
        served(tmp_path, env) as url,
    ):
        stock_id, product_id, warehouse_id = books.execute(
            f"SELECT id, product_id, warehouse_id FROM {INVENTORY}"
            " WHERE total_stock = 10 AND reserved_stock = 0 ORDER BY id LIMIT 1"
        ).fetchone()
        count = f"SELECT count(*) FROM {INVENTORY} WHERE id = %s"
        wait_for(
            lambda: replica.execute(count, [stock_id]).fetchone()[0] == 1,
            timeout=TIMEOUT_SECONDS,
            what="the replica to replay the new stock row",
            log=NO_LOG,
        )
        status, body = _get(f"{url}/readyz")
        assert (status, body["checks"]) == (200, {"database": True, "cache": True, "replica": True})

        # Freeze the replica in the past: it keeps answering, but replays nothing more.
        replica.execute("SELECT pg_wal_replay_pause()")
        wait_for(
            lambda: (
                replica.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused"
            ),
            timeout=TIMEOUT_SECONDS,
            what="replay to pause",
            log=NO_LOG,
        )
        (new_warehouse_id,) = books.execute(
            f"INSERT INTO {Warehouse._meta.db_table}"
            " (code, name, location, city, lat, lng, active, created_at)"
            " VALUES ('WNEW', 'Pune Warehouse', 'Pune, India', 'Pune', 18.52, 73.86, true, now())"
            " RETURNING id"
        ).fetchone()
        line = {"productId": str(product_id), "warehouseId": str(warehouse_id), "quantity": 3}
        status, held = _post(f"{url}/api/reservations", line)
        assert status == 201, held

        # The catalogue answers the replica's frozen state: the hold is not in it yet...
        before = {"totalStock": 10, "reservedStock": 0, "available": 10}
        status, detail = _get(f"{url}/api/products/{product_id}")
        assert (status, _stock_of(detail, warehouse_id)) == (200, before)
        status, listing = _get(f"{url}/api/products")
        (listed,) = [p for p in listing if p["id"] == str(product_id)]
        assert (status, _stock_of(listed, warehouse_id)) == (200, before)
        status, warehouses = _get(f"{url}/api/warehouses")
        assert status == 200 and str(new_warehouse_id) not in {w["id"] for w in warehouses}

        # ...while holds are read and decided on the primary, exactly.
        status, mine = _get(f"{url}/api/reservations/{held['id']}")
        assert (status, mine["status"]) == (200, "PENDING")
        status, refused = _post(f"{url}/api/reservations", {**line, "quantity": 8})
        assert (status, refused["available"]) == (409, 7)
        stock = f"SELECT total_stock, reserved_stock FROM {INVENTORY} WHERE id = %s"
        assert books.execute(stock, [stock_id]).fetchone() == (10, 3)

        # Replay resumes and the catalogue catches up.
        replica.execute("SELECT pg_wal_replay_resume()")
        after = {"totalStock": 10, "reservedStock": 3, "available": 7}
        wait_for(
            lambda: _stock_of(_get(f"{url}/api/products/{product_id}")[1], warehouse_id) == after,
            timeout=TIMEOUT_SECONDS,
            what="the catalogue to catch up",
            log=NO_LOG,
        )

        # A replica that stops answering makes the app unready, naming it.
        streaming_replica.stop()
        status, body = _get(f"{url}/readyz")
        checks = {"database": True, "cache": True, "replica": False}
        assert (status, body) == (503, {"status": "unavailable", "checks": checks})

"""Reads that may lag go to a real streaming replica; holds stay exact on the primary.

The slow test makes a streaming replica of the machine's PostgreSQL 15 (pg_basebackup -R
into a temporary directory, a second cluster on a free port, run as the postgres user),
serves stockd with DATABASE_REPLICA_URL pointing at it, pauses the replica's replay and shows
the catalogue answering the replica's older state while holds are decided on the primary.
"""

import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from core.replicas import REPLICA, database_for
from inventory.models import Inventory, Product
from stockd.routers import PrimaryReplicaRouter
from tests.factories import InventoryFactory, WarehouseFactory
from tests.processes import env_for_test_database, free_port, gunicorn, http_get, wait_for

TIMEOUT_SECONDS = 120  # only a stuck replica takes this long, even on a loaded machine
ALLOW_REPLICATION = (
    "echo 'host replication postgres 127.0.0.1/32 trust' >> "
    "\"$(psql -h 127.0.0.1 -U postgres -Atc 'show hba_file')\" && "
    "psql -h 127.0.0.1 -U postgres -c 'select pg_reload_conf()'  # no restart needed"
)


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


def _as_postgres(*command: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a PostgreSQL binary as the postgres user (the server binaries refuse root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *command], capture_output=True, text=True, timeout=TIMEOUT_SECONDS, **kwargs
    )


@dataclass
class Replica:
    port: int
    data: Path
    bin: Path

    def connect(self, dbname: str) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def stop(self) -> None:
        _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")


@pytest.fixture
def streaming_replica() -> Iterator[Replica]:
    """Start a hot-standby replica of the local cluster on a free port; tear it down after."""
    db = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    pg_bin = Path(f"/usr/lib/postgresql/{major}/bin")
    assert (pg_bin / "pg_basebackup").exists(), f"no PostgreSQL {major} binaries in {pg_bin}"
    root = Path(tempfile.mkdtemp(prefix="stockd-replica-"))
    shutil.chown(root, "postgres")
    replica = Replica(port=free_port(), data=root / "data", bin=pg_bin)
    try:
        backup = _as_postgres(
            str(pg_bin / "pg_basebackup"),
            *("-h", db["HOST"], "-p", str(db["PORT"] or 5432), "-U", db["USER"]),
            *("-D", str(replica.data), "-R", "-X", "stream", "-c", "fast"),
        )
        if "no pg_hba.conf entry for replication" in backup.stderr:
            pytest.fail(
                "The local PostgreSQL refuses replication connections from 127.0.0.1.\n"
                f"Allow them with: {ALLOW_REPLICATION}"
            )
        assert backup.returncode == 0, backup.stderr
        # Debian keeps postgresql.conf and pg_hba.conf outside the data directory, so the
        # copy has neither. A hot standby needs max_connections at least the primary's.
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_connections")
            max_connections = cursor.fetchone()[0]
        (replica.data / "postgresql.conf").write_text(
            f"listen_addresses = '127.0.0.1'\nport = {replica.port}\n"
            f"unix_socket_directories = '{root}'\nmax_connections = {max_connections}\n"
            "shared_buffers = 16MB\nhot_standby = on\n"
        )
        (replica.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        )
        if os.geteuid() == 0:
            shutil.chown(replica.data / "postgresql.conf", "postgres")
            shutil.chown(replica.data / "pg_hba.conf", "postgres")
        started = _as_postgres(
            str(pg_bin / "pg_ctl"),
            "-D",
            str(replica.data),
            "-l",
            str(root / "replica.log"),
            *("-w", "-t", str(TIMEOUT_SECONDS), "start"),
        )
        log = root / "replica.log"
        assert started.returncode == 0, started.stderr + (log.read_text() if log.exists() else "")
        yield replica
    finally:
        replica.stop()
        shutil.rmtree(root, ignore_errors=True)


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_catalogue_is_read_on_the_replica_while_holds_stay_exact_on_the_primary(
    streaming_replica, tmp_path
):
    stock = InventoryFactory(total_stock=10)
    product_id, warehouse_id = stock.product_id, stock.warehouse_id
    dbname = connection.settings_dict["NAME"]
    replica_url = f"postgres://postgres@127.0.0.1:{streaming_replica.port}/{dbname}"
    env = env_for_test_database(DATABASE_REPLICA_URL=replica_url, RESERVE_RATE_LIMIT="")

    with streaming_replica.connect(dbname) as replica, gunicorn(tmp_path, env) as url:
        count = f"SELECT count(*) FROM {Inventory._meta.db_table} WHERE id = %s"
        wait_for(
            lambda: replica.execute(count, [stock.pk]).fetchone()[0] == 1,
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
        new_warehouse = WarehouseFactory()
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
        assert status == 200 and str(new_warehouse.pk) not in {w["id"] for w in warehouses}

        # ...while holds are read and decided on the primary, exactly.
        status, mine = _get(f"{url}/api/reservations/{held['id']}")
        assert (status, mine["status"]) == (200, "PENDING")
        status, refused = _post(f"{url}/api/reservations", {**line, "quantity": 8})
        assert (status, refused["available"]) == (409, 7)
        stock.refresh_from_db()
        assert (stock.total_stock, stock.reserved_stock) == (10, 3)

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

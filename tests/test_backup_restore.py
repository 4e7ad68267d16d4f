"""The backup procedure of docs/operations.md works: pg_dump, pg_restore into a new database,
and the restored books pass check_invariants."""

import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent
from reservations.services import holds, transitions
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, manage, spawn, wait_for

TIMEOUT_SECONDS = 120


def _client(name: str) -> str:
    """Path of a PostgreSQL client of the server's own major version (Debian's layout)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    return str(Path(f"/usr/lib/postgresql/{major}/bin") / name)


def _counts(dsn: dict) -> tuple[int, int, int, int]:
    tables = [m._meta.db_table for m in (Inventory, Reservation, ReservationEvent)]
    with psycopg.connect(**dsn) as db:
        counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]
        reserved = db.execute(f"SELECT sum(reserved_stock) FROM {tables[0]}").fetchone()[0]
    return (*counts, reserved)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_pg_dump_backup_restores_into_a_new_database_that_passes_check_invariants(tmp_path):
    stock = InventoryFactory(total_stock=10)
    key = {"product_id": stock.product_id, "warehouse_id": stock.warehouse_id}
    holds.reserve(**key, quantity=2)
    transitions.confirm(reservation_id=holds.reserve(**key, quantity=3).id)
    transitions.release(reservation_id=holds.reserve(**key, quantity=1).id)

    db = connection.settings_dict
    server = {"host": db["HOST"], "port": str(db["PORT"] or 5432), "user": db["USER"]}
    flags = ["-h", server["host"], "-p", server["port"], "-U", server["user"]]
    backup = tmp_path / "stockd.dump"
    restored = f"stockd_restore_{uuid.uuid4().hex[:12]}"

    run = {"check": True, "capture_output": True, "text": True, "timeout": TIMEOUT_SECONDS}
    subprocess.run([_client("pg_dump"), *flags, "-Fc", "-f", str(backup), db["NAME"]], **run)
    subprocess.run([_client("createdb"), *flags, restored], **run)
    try:
        subprocess.run(
            [
                _client("pg_restore"),
                *flags,
                "--no-owner",
                "--exit-on-error",
                "-d",
                restored,
                str(backup),
            ],
            **run,
        )
        source = {**server, "dbname": db["NAME"]}
        assert _counts({**server, "dbname": restored}) == _counts(source) == (1, 3, 5, 2)

        log = tmp_path / "check.log"
        url = f"postgres://{server['user']}@{server['host']}:{server['port']}/{restored}"
        checker = spawn(
            manage("check_invariants"), {**env_for_test_database(), "DATABASE_URL": url}, log
        )
        wait_for(lambda: checker.poll() is not None, timeout=TIMEOUT_SECONDS, what="check", log=log)
        assert checker.returncode == 0, log.read_text()
        assert "All invariants hold." in log.read_text()
    finally:
        subprocess.run([_client("dropdb"), *flags, "--force", "--if-exists", restored], **run)

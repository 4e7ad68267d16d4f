"""Run the race demo: set up scratch rows, race each strategy, keep the run.

Shoppers' stock is only ever read (to copy a row's availability for the JSON API); the races
themselves write nothing but the run's own RaceScratch rows.
"""

from collections.abc import Sequence

import psycopg
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from psycopg.conninfo import make_conninfo

from adminpanel.race import engine
from adminpanel.race.errors import RaceAlreadyRunning, RaceNeedsPostgres
from adminpanel.race.models import RaceRun, RaceScratch, Strategy
from inventory.errors import StockNotFound
from inventory.models import Inventory

# pg_try_advisory_lock key held while a race runs: one race at a time across every process,
# so all races together never hold more than MAX_CONNECTIONS + 1 connections.
ADVISORY_LOCK_KEY = 0x5354_4F43_4B44  # "STOCKD"


def race_is_available() -> bool:
    """Return whether this database can run the demo (PostgreSQL only)."""
    return connection.vendor == "postgresql"


def run_race(
    *,
    concurrency: int,
    quantity: int = 1,
    starting_available: int = 1,
    strategies: Sequence[str] = tuple(Strategy.values),
    source: Inventory | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> RaceRun:
    """Race `concurrency` shoppers for `starting_available` units under each strategy; keep the run.

    Each strategy races on a fresh RaceScratch row holding `starting_available` units; the
    strategies run one after another, each on its own bounded pool of connections. If another
    race is running anywhere, raise RaceAlreadyRunning and write nothing; on SQLite raise
    RaceNeedsPostgres. Call it outside any transaction: the racing connections must see the
    committed scratch rows.
    """
    if not race_is_available():
        raise RaceNeedsPostgres()
    if connection.in_atomic_block:
        # The shoppers' own connections could not see uncommitted scratch rows.
        raise RuntimeError("run_race() must be called outside a transaction.")
    conninfo = race_conninfo()
    with psycopg.connect(
        conninfo, autocommit=True, application_name=f"{engine.APPLICATION_NAME}-guard"
    ) as guard:
        (locked,) = guard.execute(
            "SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)
        ).fetchone()
        if not locked:
            raise RaceAlreadyRunning()
        # The lock is the guard connection's: closing it (even on a crash) ends the race's claim.
        run = RaceRun.objects.create(
            started_by=user if user is not None and user.is_authenticated else None,
            concurrency=concurrency,
            quantity=quantity,
            starting_available=starting_available,
            source_product_id=source.product_id if source else None,
            source_warehouse_id=source.warehouse_id if source else None,
            connections=engine.connection_count(concurrency),
        )
        for strategy in strategies:
            scratch = RaceScratch.objects.create(
                run=run,
                strategy=strategy,
                starting_available=starting_available,
                available=starting_available,
            )
            outcome = engine.race(
                conninfo=conninfo,
                table=RaceScratch._meta.db_table,
                row_id=scratch.pk,
                strategy=strategy,
                concurrency=concurrency,
                quantity=quantity,
                starting_available=starting_available,
            )
            run.results[strategy] = outcome.as_record()
        run.save(update_fields=["results"])
    return run


def race_copy_of(*, product_id: int, warehouse_id: int) -> Inventory:
    """Return the stock row whose availability a race copies; raise StockNotFound if none."""
    row = Inventory.objects.filter(product_id=product_id, warehouse_id=warehouse_id).first()
    if row is None:
        raise StockNotFound()
    return row


# Django-only options of the postgresql backend, which are no libpq connection parameters.
_DJANGO_OPTIONS = {"pool", "isolation_level", "server_side_binding", "assume_role"}


def race_conninfo() -> str:
    """Return the libpq parameters of Django's database (the test database under pytest),
    with its libpq options (sslmode, connect_timeout, ...), for the race's own connections."""
    db = connection.settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "host": db["HOST"] or None,
        "port": str(db["PORT"]) if db["PORT"] else None,
    }
    for key, value in db.get("OPTIONS", {}).items():
        if (
            key not in _DJANGO_OPTIONS
            and isinstance(value, str | int)
            and not isinstance(value, bool)
        ):
            params[key] = str(value)
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})

"""Run the race demo: set up scratch rows, race each strategy, keep the run.

Shoppers' stock is only ever read (to copy a row's availability for the JSON API); the races
themselves write nothing but the run's own RaceScratch rows.
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection

from console.race import engine
from console.race.databases import race_database
from console.race.errors import RaceNeedsPostgres
from console.race.models import RaceRun, RaceScratch, Strategy
from inventory.errors import StockNotFound
from inventory.models import Inventory


def unavailable_strategies() -> dict[str, str]:
    """Map each strategy this database cannot race to the reason (empty on PostgreSQL)."""
    database = race_database()
    vendor = database.name if database is not None else connection.display_name
    return {
        strategy.value: f"{strategy.label} needs PostgreSQL; this server runs on {vendor}."
        for strategy in Strategy
        if database is None or strategy not in database.strategies
    }


def run_race(
    *,
    concurrency: int,
    quantity: int = 1,
    starting_available: int = 1,
    strategies: Sequence[str] | None = None,
    source: Inventory | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> RaceRun:
    """Race `concurrency` shoppers for `starting_available` units under each strategy; keep the run.

    `strategies` defaults to every strategy the database can race (all three on PostgreSQL,
    naive and stockd's on SQLite); naming one it cannot race raises RaceNeedsPostgres. Each
    strategy races on a fresh RaceScratch row holding `starting_available` units; the
    strategies run one after another, each on its own bounded pool of connections. If another
    race is running anywhere, raise RaceAlreadyRunning and write nothing. Call it outside any
    transaction: the racing connections must see the committed scratch rows.
    """
    for strategy in strategies or ():
        ensure_raceable(strategy)
    database = race_database()
    if database is None:
        raise RaceNeedsPostgres()
    if connection.in_atomic_block:
        # The shoppers' own connections could not see uncommitted scratch rows.
        raise RuntimeError("run_race() must be called outside a transaction.")
    with database.one_race_at_a_time():
        run = RaceRun.objects.create(
            started_by=user if user is not None and user.is_authenticated else None,
            concurrency=concurrency,
            quantity=quantity,
            starting_available=starting_available,
            source_product_id=source.product_id if source else None,
            source_warehouse_id=source.warehouse_id if source else None,
            connections=engine.connection_count(concurrency),
        )
        for strategy in strategies or database.strategies:
            scratch = RaceScratch.objects.create(
                run=run,
                strategy=strategy,
                starting_available=starting_available,
                available=starting_available,
            )
            outcome = engine.race(
                database=database,
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


def ensure_raceable(strategy: str) -> None:
    """Raise RaceNeedsPostgres, saying why, if this database cannot race `strategy`."""
    refused = unavailable_strategies()
    if strategy in refused:
        raise RaceNeedsPostgres(refused[strategy])


def race_copy_of(*, product_id: int, warehouse_id: int) -> Inventory:
    """Return the stock row whose availability a race copies; raise StockNotFound if none."""
    row = Inventory.objects.filter(product_id=product_id, warehouse_id=warehouse_id).first()
    if row is None:
        raise StockNotFound()
    return row

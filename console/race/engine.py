"""The race engine: N shopper threads, released at once, share a few database connections.

Each strategy races on one RaceScratch row (never on shoppers' stock). The shoppers are real
threads released together by a barrier; they take turns on a pool of at most MAX_CONNECTIONS
connections opened for the race and closed after it (console.race.databases: PostgreSQL's
psycopg_pool, or SQLite's), so 200 shoppers never need 200 connections. A shopper holds a
connection only while it talks to the database (one statement, or one transaction), never
while it waits or thinks. docs/race-demo.md says why the three strategies end as they do.
"""

import contextlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.race.databases import Connections, RaceDatabase
from console.race.models import Strategy

MAX_SHOPPERS = 200
# A handful of connections is plenty to make the strategies collide, and a race can never
# starve the site or PostgreSQL's max_connections (100 by default).
MAX_CONNECTIONS = 10
# The naive shopper's pause between reading and writing: the time a real app spends between
# the two (a render, a network hop, a payment check). It is the demo's point: any gap between
# read and write is a window for another shopper's write to be lost.
NAIVE_THINK_SECONDS = 0.05
# The original checked the count in its app, between its SELECT ... FOR UPDATE and its UPDATE:
# one round trip to the database (a serverless function's) with the row locked. Without it the
# winner could commit before the others took their snapshots on a busy machine, and the demo
# would show no error by luck.
ORIGINAL_ROUND_TRIP_SECONDS = 0.01
# The original waited on FOR UPDATE without limit; a bound makes every run end.
LOCK_TIMEOUT = "5s"
JOIN_TIMEOUT_SECONDS = 120.0

RESERVED, SOLD_OUT, ERROR = "RESERVED", "INSUFFICIENT_STOCK", "ERROR"
_HTTP_STATUS = {RESERVED: 201, SOLD_OUT: 409, ERROR: 500}


@dataclass(frozen=True)
class ShopperOutcome:
    """What one shopper got: a unit (RESERVED), a 409 (INSUFFICIENT_STOCK) or a database error."""

    request_id: int
    status: str
    duration_ms: float
    sqlstate: str | None = None
    error: str | None = None
    reservation_id: str | None = None

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self.status]

    def as_json(self) -> dict[str, Any]:
        """The shopper as the API shows it (ids as strings)."""
        return {
            "requestId": str(self.request_id),
            "status": self.status,
            "httpStatus": self.http_status,
            "reservationId": self.reservation_id,
            "error": self.error,
            "sqlstate": self.sqlstate,
            "durationMs": round(self.duration_ms, 2),
        }


@dataclass
class StrategyOutcome:
    """How one strategy's race ended: its shoppers and the scratch row's counters after it."""

    strategy: str
    quantity: int
    starting_available: int
    final_available: int
    units_handed_out: int
    duration_ms: float
    connections: int
    shoppers: list[ShopperOutcome] = field(default_factory=list)

    @property
    def winners(self) -> int:
        return sum(1 for s in self.shoppers if s.status == RESERVED)

    @property
    def conflicts(self) -> int:
        return sum(1 for s in self.shoppers if s.status == SOLD_OUT)

    @property
    def errors(self) -> int:
        return sum(1 for s in self.shoppers if s.status == ERROR)

    @property
    def errors_by_sqlstate(self) -> dict[str, int]:
        counts = Counter(s.sqlstate or "none" for s in self.shoppers if s.status == ERROR)
        return dict(sorted(counts.items()))

    @property
    def oversold_units(self) -> int:
        return max(0, self.winners * self.quantity - self.starting_available)

    def summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "label": Strategy(self.strategy).label,
            "concurrency": len(self.shoppers),
            "quantity": self.quantity,
            "startingAvailable": self.starting_available,
            "winners": self.winners,
            "conflicts": self.conflicts,
            "errors": self.errors,
            "errorsBySqlstate": self.errors_by_sqlstate,
            "oversoldUnits": self.oversold_units,
            "unitsHandedOut": self.units_handed_out,
            "finalAvailable": self.final_available,
            "durationMs": round(self.duration_ms, 1),
            "connections": self.connections,
        }

    def as_record(self) -> dict[str, Any]:
        """The summary and every shopper, as RaceRun.results keeps them."""
        return {**self.summary(), "shoppers": [s.as_json() for s in self.shoppers]}


def connection_count(concurrency: int) -> int:
    """How many connections `concurrency` shoppers share: at most MAX_CONNECTIONS."""
    return max(1, min(concurrency, MAX_CONNECTIONS))


def race(
    *,
    database: RaceDatabase,
    table: str,
    row_id: int,
    strategy: str,
    concurrency: int,
    quantity: int,
    starting_available: int,
) -> StrategyOutcome:
    """Release `concurrency` shoppers at once on scratch row `row_id` under `strategy`.

    The shoppers share a pool of connection_count(concurrency) connections to `database`,
    opened before the barrier and closed after every shopper is done. A database error ends
    only that shopper (it is reported with its SQLSTATE). Raise RuntimeError if a shopper is
    still running after JOIN_TIMEOUT_SECONDS.
    """
    shop = _SHOPPERS[Strategy(strategy)]
    statements = _Statements(table, database.placeholder)
    size = connection_count(concurrency)
    outcomes: list[ShopperOutcome | None] = [None] * concurrency
    started: list[float] = []
    barrier = threading.Barrier(concurrency, action=lambda: started.append(time.perf_counter()))

    with database.pool(size, f"race-{strategy}") as pool:

        def shopper(index: int) -> None:
            barrier.wait(timeout=JOIN_TIMEOUT_SECONDS)
            began = time.perf_counter()
            sqlstate = error = None
            try:
                status = shop(pool, statements, row_id, quantity)
            except Exception as raised:
                failure = database.failure(raised)
                if failure is None:
                    raise
                status, (sqlstate, error) = ERROR, failure
            if status == SOLD_OUT:
                error = _SOLD_OUT_TEXT
            outcomes[index] = ShopperOutcome(
                request_id=index + 1,
                status=status,
                duration_ms=(time.perf_counter() - began) * 1000,
                sqlstate=sqlstate,
                error=error,
                # A demo id: the race writes no reservation, only the scratch row's counters.
                reservation_id=str(uuid.uuid4()) if status == RESERVED else None,
            )

        threads = [
            threading.Thread(target=shopper, args=(i,), name=f"race-shopper-{i + 1}", daemon=True)
            for i in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        finished = time.perf_counter()
        if any(thread.is_alive() for thread in threads):
            raise RuntimeError(f"The {strategy} race did not end in {JOIN_TIMEOUT_SECONDS}s.")
        with pool.connection() as conn:
            available, handed_out = conn.execute(statements.counters, (row_id,)).fetchone()

    return StrategyOutcome(
        strategy=strategy,
        quantity=quantity,
        starting_available=starting_available,
        final_available=available,
        units_handed_out=handed_out,
        duration_ms=(finished - started[0]) * 1000 if started else 0.0,
        connections=size,
        shoppers=[o for o in outcomes if o is not None],
    )


_SOLD_OUT_TEXT = "Not enough units are available."


class _Statements:
    """The SQL each strategy sends, on the scratch table, with the database's placeholder."""

    def __init__(self, table: str, placeholder: str) -> None:
        def statement(text: str) -> str:
            return text.format(table=f'"{table}"').replace("%s", placeholder)

        self.read = statement("SELECT available FROM {table} WHERE id = %s")
        self.read_for_update = statement("SELECT available FROM {table} WHERE id = %s FOR UPDATE")
        # Writes back the value the shopper read, minus its units: a lost update if another
        # shopper wrote in between. units_handed_out adds up (as inserted reservations would).
        self.write_read_value = statement(
            "UPDATE {table} SET available = %s, units_handed_out = units_handed_out + %s"
            " WHERE id = %s"
        )
        self.take = statement(
            "UPDATE {table} SET available = available - %s,"
            " units_handed_out = units_handed_out + %s WHERE id = %s"
        )
        self.take_if_available = statement(
            "UPDATE {table} SET available = available - %s,"
            " units_handed_out = units_handed_out + %s WHERE id = %s AND available >= %s"
        )
        self.counters = statement("SELECT available, units_handed_out FROM {table} WHERE id = %s")


def _naive(pool: Connections, sql_: _Statements, row_id: int, quantity: int) -> str:
    """Read the availability, think, then write back what was read minus `quantity`.

    Each statement autocommits on whichever connection is free, as Django's ORM does with
    `row = get(); row.available -= q; row.save()`: nothing stops two shoppers reading the same
    value, and the later write silently erases the earlier one.
    """
    with pool.connection() as conn:
        (available,) = conn.execute(sql_.read, (row_id,)).fetchone()
    if available < quantity:
        return SOLD_OUT
    time.sleep(NAIVE_THINK_SECONDS)
    with pool.connection() as conn:
        conn.execute(sql_.write_read_value, (available - quantity, quantity, row_id))
    return RESERVED


def _serializable(pool: Connections, sql_: _Statements, row_id: int, quantity: int) -> str:
    """The original's transaction: SERIALIZABLE, SELECT ... FOR UPDATE, check, UPDATE, COMMIT.

    Under contention PostgreSQL aborts the losers with 40001 (could not serialize access due
    to concurrent update); a wait longer than LOCK_TIMEOUT fails with 55P03. Either raises
    psycopg.Error after rolling back. PostgreSQL only (console.race.databases).
    """
    with pool.connection() as conn:
        try:
            conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            (available,) = conn.execute(sql_.read_for_update, (row_id,)).fetchone()
            if available < quantity:
                conn.execute("ROLLBACK")
                return SOLD_OUT
            time.sleep(ORIGINAL_ROUND_TRIP_SECONDS)
            conn.execute(sql_.take, (quantity, quantity, row_id))
            conn.execute("COMMIT")
        except Exception:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise
    return RESERVED


def _stockd(pool: Connections, sql_: _Statements, row_id: int, quantity: int) -> str:
    """stockd's hold: one conditional UPDATE at READ COMMITTED; 0 rows matched is a 409."""
    with pool.connection() as conn:
        cursor = conn.execute(sql_.take_if_available, (quantity, quantity, row_id, quantity))
    return RESERVED if cursor.rowcount == 1 else SOLD_OUT


_SHOPPERS: dict[Strategy, Callable[[Connections, _Statements, int, int], str]] = {
    Strategy.NAIVE: _naive,
    Strategy.SERIALIZABLE: _serializable,
    Strategy.STOCKD: _stockd,
}

"""The databases a race runs on: PostgreSQL (every strategy) and SQLite (naive and stockd's).

A race's shoppers take turns on a bounded pool of connections of their own, opened for the
race and closed after it (console.race.engine). Each database here says which strategies
it can race, how to open that pool, how it keeps races one at a time across processes, and
how to name a shopper's database error.

SQLite has no row locks and no SERIALIZABLE isolation level to ask for, so the original's
strategy needs PostgreSQL. The other two show the same thing on both: the naive read-then-write
loses updates, and one conditional UPDATE hands out each unit once (SQLite runs one write at a
time; a shopper waits for the write lock as long as Django's connections do,
SQLITE_BUSY_TIMEOUT_SECONDS).
"""

import contextlib
import fcntl
import queue
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import psycopg
from django.db import connection
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from console.race.errors import RaceAlreadyRunning
from console.race.models import Strategy

APPLICATION_NAME = "stockd-race"
POOL_WAIT_SECONDS = 30.0
# pg_try_advisory_lock key held while a race runs: one race at a time across every process,
# so all races together never hold more than MAX_CONNECTIONS + 1 connections.
ADVISORY_LOCK_KEY = 0x5354_4F43_4B44  # "STOCKD"
NO_CONNECTION_FREE = "No connection was free in time."


class Connections(Protocol):
    """A pool the shoppers share: `with pool.connection() as conn: conn.execute(sql, args)`."""

    def connection(self) -> contextlib.AbstractContextManager[Any]: ...


class RaceDatabase(Protocol):
    name: str
    strategies: tuple[Strategy, ...]
    placeholder: str

    def pool(self, size: int, name: str) -> contextlib.AbstractContextManager[Connections]: ...

    def one_race_at_a_time(self) -> contextlib.AbstractContextManager[None]: ...

    def failure(self, error: Exception) -> tuple[str | None, str] | None:
        """(SQLSTATE, text) if `error` is a shopper's database error, else None."""


def race_database() -> RaceDatabase | None:
    """Return the database Django uses as a place to race, or None if it is neither kind."""
    if connection.vendor == "postgresql":
        return PostgreSQL()
    if connection.vendor == "sqlite":
        options = connection.settings_dict.get("OPTIONS", {})
        return SQLite(Path(connection.settings_dict["NAME"]), options.get("timeout", 5.0))
    return None


class PostgreSQL:
    name = "PostgreSQL"
    strategies = (Strategy.NAIVE, Strategy.SERIALIZABLE, Strategy.STOCKD)
    placeholder = "%s"

    @contextlib.contextmanager
    def pool(self, size: int, name: str) -> Iterator[Connections]:
        with ConnectionPool(
            race_conninfo(),
            min_size=size,
            max_size=size,
            timeout=POOL_WAIT_SECONDS,
            kwargs={"autocommit": True, "application_name": APPLICATION_NAME},
            name=name,
            open=True,
        ) as pool:
            pool.wait(timeout=POOL_WAIT_SECONDS)
            yield pool

    @contextlib.contextmanager
    def one_race_at_a_time(self) -> Iterator[None]:
        """Hold the advisory lock on a connection of its own; raise RaceAlreadyRunning if taken.

        The lock is that connection's: closing it (even on a crash) ends the race's claim.
        """
        with psycopg.connect(
            race_conninfo(), autocommit=True, application_name=f"{APPLICATION_NAME}-guard"
        ) as guard:
            (locked,) = guard.execute(
                "SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)
            ).fetchone()
            if not locked:
                raise RaceAlreadyRunning()
            yield

    def failure(self, error: Exception) -> tuple[str | None, str] | None:
        if isinstance(error, PoolTimeout):
            return None, NO_CONNECTION_FREE
        if isinstance(error, psycopg.Error):
            message = error.diag.message_primary or str(error).strip().splitlines()[0]
            text = f"SQLSTATE {error.sqlstate}: {message}" if error.sqlstate else message
            return error.sqlstate, text
        return None


class SQLite:
    name = "SQLite"
    strategies = (Strategy.NAIVE, Strategy.STOCKD)
    placeholder = "?"

    def __init__(self, path: Path, lock_wait_seconds: float) -> None:
        self.path = path
        self.lock_wait_seconds = lock_wait_seconds

    @contextlib.contextmanager
    def pool(self, size: int, name: str) -> Iterator[Connections]:
        pool = _SQLitePool(self.path, size, self.lock_wait_seconds)
        try:
            yield pool
        finally:
            pool.close()

    @contextlib.contextmanager
    def one_race_at_a_time(self) -> Iterator[None]:
        """Hold an exclusive lock on a file beside the database; raise RaceAlreadyRunning if
        another process holds it. The operating system drops the lock if the process dies."""
        with open(self.path.with_name(f"{self.path.name}.race-lock"), "a") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RaceAlreadyRunning() from None
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def failure(self, error: Exception) -> tuple[str | None, str] | None:
        if isinstance(error, _NoConnectionFree):
            return None, NO_CONNECTION_FREE
        if isinstance(error, sqlite3.Error):
            return None, f"SQLite: {error}"
        return None


class _NoConnectionFree(Exception):
    pass


class _SQLitePool:
    """`size` autocommitting connections to the database file, lent to one thread at a time."""

    def __init__(self, path: Path, size: int, lock_wait_seconds: float) -> None:
        self._free: queue.Queue[sqlite3.Connection] = queue.Queue()
        for _ in range(size):
            self._free.put(
                sqlite3.connect(
                    path, timeout=lock_wait_seconds, isolation_level=None, check_same_thread=False
                )
            )
        self._size = size

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._free.get(timeout=POOL_WAIT_SECONDS)
        except queue.Empty:
            raise _NoConnectionFree() from None
        try:
            yield conn
        finally:
            self._free.put(conn)

    def close(self) -> None:
        for _ in range(self._size):
            self._free.get(timeout=POOL_WAIT_SECONDS).close()


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

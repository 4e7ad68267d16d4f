"""Run work on real threads released at once, each with its own database connection."""

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection

JOIN_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Outcome:
    """What one racing thread got: the value its work returned, or the error it raised."""

    value: Any = None
    error: BaseException | None = None


def run_together(n: int, work: Callable[[int], Any]) -> list[Outcome]:
    """Run work(0), ..., work(n - 1) on n threads released at once; return their outcomes.

    Each thread opens its own database connection on first use and closes it at the end
    (handing it back to the pool). Fail if any thread is still running after
    JOIN_TIMEOUT_SECONDS, which is what a deadlock or a starved pool looks like.
    """
    barrier = threading.Barrier(n)
    outcomes: list[Outcome | None] = [None] * n

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT_SECONDS)
            outcomes[index] = Outcome(value=work(index))
        except BaseException as error:
            outcomes[index] = Outcome(error=error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {JOIN_TIMEOUT_SECONDS}s: {stuck}"
    return outcomes


def unexpected_errors(outcomes: list[Outcome], *expected: type[BaseException]) -> list[str]:
    """Return the traceback of every error in `outcomes` that is not one of `expected`."""
    return [
        "".join(traceback.format_exception(outcome.error))
        for outcome in outcomes
        if outcome.error is not None and not isinstance(outcome.error, expected)
    ]


def connect(*, autocommit: bool = True) -> psycopg.Connection:
    """Open a psycopg connection of its own to the test database (a session Django can't see).

    With `autocommit=False` a transaction opens on its first statement.
    """
    params = connection.settings_dict
    return psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        host=params["HOST"],
        port=params["PORT"] or 5432,
        password=params["PASSWORD"] or None,
        autocommit=autocommit,
    )


def wait_until_blocked_by(pid: int, *, at_least: int = 1, alive: Callable[[], bool]) -> list[int]:
    """Wait until `at_least` sessions wait on locks held by session `pid`; return them.

    Fail at once if `alive()` turns false first (the work ended without waiting), or after
    JOIN_TIMEOUT_SECONDS (nothing came to wait).
    """
    deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
    with connect() as watcher:
        while True:
            waiting = [
                row[0]
                for row in watcher.execute(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND %s = ANY(pg_blocking_pids(pid))",
                    [pid],
                )
            ]
            if len(waiting) >= at_least:
                return waiting
            assert alive(), "the work ended before it waited on the lock"
            assert time.monotonic() < deadline, f"nothing waited on {pid}"
            time.sleep(0.02)

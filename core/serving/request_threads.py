"""Threads for a request's sync steps that lend no pooled connection while they wait.

Under ASGI, Django runs a request's sync steps (sync middleware hooks, a sync view, the
request_finished signal) one after another on a thread of the request's own, and gives the
thread's database connection back to the pool only at request_finished. Between two steps
the thread waits for the event loop, and under load (the loop busy, the GIL shared with every
other request's thread) that wait lasted seconds while the connection sat unused and checked
out. With a pool of two per process, other requests then waited for connections nobody was
using until the pool timed out: `make chaos` found it (docs/reliability.md, "What chaos
found, and the fixes", 3). The threads here give back, after every step, each pooled connection
that has no transaction open; a later step that needs the database takes one again.

Only pooled connections (PostgreSQL's, Django's psycopg pool) are given back: a SQLite
connection costs a file open and its pragmas, and nothing waits for it.
"""

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections

logger = logging.getLogger(__name__)


def release_idle_connections() -> None:
    """Give this thread's pooled connections back to their pools, unless a transaction is open.

    A connection inside an atomic block, or with autocommit turned off, is kept: closing it
    would end its transaction. A broken connection goes back too, and the pool replaces it.
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is None or getattr(connection, "pool", None) is None:
            continue
        if connection.in_atomic_block or not connection.get_autocommit():
            continue
        connection.close()


class ConnectionReleasingExecutor(ThreadPoolExecutor):
    """Threads for sync steps; after each step, the thread's idle connections go back.

    With one worker (the default), asgiref's ThreadSensitiveContext(executor=...) runs a
    request's thread-sensitive calls here (stockd.asgi), as thread-sensitive code needs. With
    more, it runs blocking calls that may share no thread with other requests (`off_loop`).
    """

    def __init__(self, name: str, *, workers: int = 1) -> None:
        super().__init__(max_workers=workers, thread_name_prefix=name)

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        return super().submit(_step, fn, args, kwargs)


def _step(fn: Callable, args: tuple, kwargs: dict) -> Any:
    try:
        return fn(*args, **kwargs)
    finally:
        try:
            release_idle_connections()
        except Exception:  # the step's own outcome stands; the pool replaces a bad connection
            logger.exception("could not give a connection back to the pool")


# Blocking calls of the lean reserve path: the session's user and the rate limit (which reads
# the cache). A pool of their own: never a thread another request's sync steps run on, and
# never the event loop.
_OFF_LOOP_THREADS = ConnectionReleasingExecutor("stockd-off-loop", workers=8)


def off_loop(function: Callable) -> Callable:
    """Return an async version of the blocking `function` that runs on the off-loop pool."""
    return sync_to_async(function, thread_sensitive=False, executor=_OFF_LOOP_THREADS)

"""Cluster-wide named locks on PostgreSQL, for jobs of which one copy at a time must run."""

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)


def advisory_key(name: str) -> int:
    """Map `name` to the signed 64-bit key PostgreSQL's advisory locks take."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


@contextmanager
def held_alone(name: str, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[bool]:
    """Try to take the lock `name` without waiting; yield whether it was taken.

    On PostgreSQL this is a session-level advisory lock on this thread's connection (not a
    transaction-level one: the job it guards commits many transactions), released on exit,
    or by PostgreSQL itself when the connection or the process dies, so a crashed job never
    keeps it. Elsewhere (SQLite: one machine, writers already serialized) it is always taken.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield True
        return
    key = advisory_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        taken = cursor.fetchone()[0]
    try:
        yield taken
    finally:
        if taken:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except Exception:
                # A connection that cannot unlock is broken; its session, and so the lock,
                # ends with it. Close it so the pool does not hand it out again.
                logger.exception("could not release the advisory lock %r", name)
                connection.close()

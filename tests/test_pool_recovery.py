"""After a restart or failover, the pool replaces its dead connections at once.

pg_terminate_backend kills every connection idle in a pool together. The backend
(core.serving.postgresql) checks each connection as it lends it; the first found dead makes the pool
replace every idle one, so the request waits for one fresh connection instead of meeting the
dead ones one by one, with psycopg_pool backing off a second, two, four between them. These
tests run a pool of their own, on the test database, with real terminated backends.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from core.serving.postgresql.base import DatabaseWrapper

POOL_SIZE = 3
pytestmark = pytest.mark.django_db


@pytest.fixture
def own_pool():
    """A DatabaseWrapper factory on a pool of POOL_SIZE connections of the test's own."""
    alias = f"pool-test-{uuid.uuid4().hex[:8]}"
    settings_dict = {
        **connections["default"].settings_dict,
        "OPTIONS": {"pool": {"min_size": POOL_SIZE, "max_size": POOL_SIZE, "timeout": 10}},
        "CONN_HEALTH_CHECKS": False,
    }
    wrappers: list[DatabaseWrapper] = []

    def wrapper() -> DatabaseWrapper:
        wrappers.append(DatabaseWrapper(settings_dict, alias))
        return wrappers[-1]

    yield wrapper
    pool = DatabaseWrapper._connection_pools.pop(alias, None)
    if pool is not None:
        pool.close()


def backend_pid(wrapper: DatabaseWrapper, hold: threading.Barrier | None = None) -> int:
    """Take a connection from the pool on this thread, read its backend's pid, give it back."""
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        if hold is not None:
            hold.wait(timeout=30)  # every thread holds its connection at once: all are used
        return pid
    finally:
        wrapper.close()


def pids_of_every_connection(own_pool) -> set[int]:
    hold = threading.Barrier(POOL_SIZE)
    with ThreadPoolExecutor(POOL_SIZE) as threads:
        return set(threads.map(lambda _: backend_pid(own_pool(), hold), range(POOL_SIZE)))


def dead_found(wrapper: DatabaseWrapper) -> int:
    stats = wrapper.pool.get_stats()
    return stats.get("returns_bad", 0) + stats.get("connections_lost", 0)


def test_after_every_backend_is_terminated_the_first_request_meets_one_dead_connection(own_pool):
    idle = pids_of_every_connection(own_pool)
    assert len(idle) == POOL_SIZE
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM unnest(%s) AS pid", [list(idle)]
        )
        assert cursor.fetchone()[0] == POOL_SIZE

    first = own_pool()
    assert backend_pid(first) not in idle
    assert dead_found(first) == 1

    assert pids_of_every_connection(own_pool).isdisjoint(idle)
    assert dead_found(first) == 1  # the others idle beside it were replaced, not met


def test_a_live_pool_lends_its_connections_without_replacing_them(own_pool):
    first = pids_of_every_connection(own_pool)
    again = pids_of_every_connection(own_pool)
    assert again == first
    assert dead_found(own_pool()) == 0

"""Test configuration: the suite runs on real PostgreSQL and real Redis.

tests/settings.py points it at the local PostgreSQL and Redis unless DATABASE_URL and
REDIS_URL say otherwise. When one does not answer, the run stops at once with a message saying
what to start: no test is skipped for a missing service. The tests that run Celery on
RabbitMQ fail the same way when it does not answer (tests/brokers.py).
"""

import os
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import psycopg
import pytest
import redis
from django.core.cache import cache, caches
from django.core.management import call_command
from rest_framework.test import APIClient

from reservations import coalescer
from tests.processes import env_for_test_database, lane, served

_START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
_START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
)


def _require_services() -> None:
    database_url = os.environ["DATABASE_URL"]
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.exit(f"The suite needs PostgreSQL; DATABASE_URL is {database_url!r}.", returncode=3)
    try:
        # Connect to the maintenance database: the test database does not exist yet.
        psycopg.connect(database_url, dbname="postgres", connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.exit(
            f"PostgreSQL is not answering at {database_url} ({error}).\n"
            f"Start it with: {_START_POSTGRES}",
            returncode=3,
        )
    redis_url = os.environ["REDIS_URL"]
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.exit(
            f"Redis is not answering at {redis_url} ({error}).\nStart it with: {_START_REDIS}",
            returncode=3,
        )


def pytest_configure(config: pytest.Config) -> None:
    _require_services()


@pytest.fixture
def seeded(db) -> None:
    """Load the original catalogue: 5 warehouses, 53 products, 265 rows of 10 units."""
    call_command("seed", stdout=StringIO())


@pytest.fixture(autouse=True, scope="session")
def hold_coalescer(django_db_setup, django_db_blocker):
    """Close the hold coalescer's own connections before the test database is dropped."""
    yield
    holds = coalescer.get()
    holds.run_blocking(holds.close())


@pytest.fixture(autouse=True)
def fresh_hold_coalescer() -> None:
    """Each test starts with a coalescer that knows nothing of rows an earlier test left."""
    coalescer.get().forget_rows()


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Start every test with an empty cache: the database is emptied too, and cached
    answers (idempotency replays) must not outlive the rows they describe."""
    if hasattr(cache, "delete_pattern"):  # django-redis: only this run's prefixed keys
        cache.delete_pattern("*")
    else:
        cache.clear()
    caches["fragments"].clear()  # this process's own rendered fragments


@pytest.fixture
def api() -> APIClient:
    """A REST client with no session: an anonymous shopper."""
    return APIClient()


@pytest.fixture(scope="session")
def served_stockd(django_db_setup, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Serve the test database as the Procfile's `web` does, for the whole run.

    gunicorn with two uvicorn workers on stockd.asgi, with the production defaults (the
    connection pool, the hold coalescer). Yield its URL and its log; tests reach them through
    `stockd_server` and `stockd_server_log`.
    """
    folder = tmp_path_factory.mktemp("served")
    with served(folder, env_for_test_database(DATABASE_POOL="1")) as url:
        yield url, folder / "web.log"


@pytest.fixture(scope="session")
def served_behind_a_proxy(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """Serve the test database as the Procfile's `web` does, set up for a reverse proxy.

    TRUSTED_PROXIES=1, as docs/migrating.md tells an operator whose original UI's Next.js
    rewrites send /api/* to stockd; no reservation rate limit, since every request comes from
    the proxy's one address. Yield its URL.
    """
    env = env_for_test_database(
        TRUSTED_PROXIES="1", ALLOWED_HOSTS="127.0.0.1,localhost", RESERVE_RATE_LIMIT=""
    )
    with served(tmp_path_factory.mktemp("behind-a-proxy"), env) as url:
        yield url


@pytest.fixture
def stockd_server(served_stockd, transactional_db) -> str:
    """The URL of stockd as it is served (`served_stockd`), for a test whose data it must see.

    The server's processes have connections of their own, so the test's rows are committed
    (transactional_db) and emptied afterwards.
    """
    return served_stockd[0]


@pytest.fixture
def stockd_server_log(served_stockd) -> Path:
    """The log of `stockd_server` (without EMAIL_URL, the emails it sends are printed there)."""
    return served_stockd[1]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Let only slow and browser tests start processes, their fixtures included."""
    lane.slow = any(item.get_closest_marker(name) for name in ("slow", "e2e"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of the served app slow, and run the browser tests last.

    A test on `served_stockd` or `served_behind_a_proxy` needs the server's processes:
    `make test-fast` leaves it out with the other slow tests. Playwright's sync API keeps an
    event loop running in the main thread from its first test to the end of the session; tests
    that start their own loop or call an async view through WSGI cannot run after it in the
    same thread.
    """
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "served_stockd" in fixtures or "served_behind_a_proxy" in fixtures:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)

"""Test configuration: the suite runs on real PostgreSQL and real Redis.

tests/settings.py points it at the local PostgreSQL and Redis unless DATABASE_URL and
REDIS_URL say otherwise, and the broker tests at the local RabbitMQ unless RABBITMQ_URL
does. When one does not answer, the run stops at once with a message saying what to start:
no test is skipped for a missing service.
"""

import os
from io import StringIO

import psycopg
import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

from reservations import coalescer
from tests.brokers import RABBITMQ_URL, START_RABBITMQ, rabbitmq_error

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
    # Celery runs on RabbitMQ as well as on Redis (tests/test_brokers.py).
    if error := rabbitmq_error():
        pytest.exit(
            f"RabbitMQ is not answering at {RABBITMQ_URL} ({error}).\n"
            f"Start it with: {START_RABBITMQ}",
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


@pytest.fixture
def api() -> APIClient:
    """A REST client with no session: an anonymous shopper."""
    return APIClient()


# Django's test server listens with a backlog of 10 (WSGIServer.request_queue_size): a burst of
# 50 connects overflows it and the kernel resets the excess before Django sees them.
LISTEN_BACKLOG = 128  # gunicorn's default is 2048


@pytest.fixture
def live_server_with_backlog(live_server):
    """Return pytest-django's live server, listening with a production-sized backlog.

    Calling listen() again on the bound socket widens the backlog (Linux).
    """
    live_server.thread.httpd.socket.listen(LISTEN_BACKLOG)
    return live_server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last.

    Playwright's sync API keeps an event loop running in the main thread from its first test
    to the end of the session; tests that start their own loop (the live stock stream's) or
    call an async view through WSGI cannot run after it in the same thread.
    """
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)

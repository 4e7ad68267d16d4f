"""Probes: /healthz answers while the process serves; /readyz names the service that is down.

The real PostgreSQL and Redis stay up: a dead database is a child server pointed at a closed
port, a dead cache is this process's CACHES pointed at one.
"""

import json
import socket

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper

from tests.processes import clean_env, free_port, http_get, served


@pytest.fixture
def unreachable_cache(settings) -> None:
    """Point this process's cache at a Redis port where nothing listens."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }


@pytest.mark.django_db
def test_readyz_answers_200_when_the_database_and_the_cache_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True, "cache": True}}


@pytest.mark.django_db
def test_readyz_answers_503_naming_the_cache_when_redis_is_down(client, unreachable_cache):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": True, "cache": False},
    }


@pytest.mark.slow
def test_readyz_answers_503_naming_the_database_when_postgresql_is_down(tmp_path):
    env = clean_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/stockd",
        DATABASE_POOL="0",
        SECRET_KEY="stockd-test-secret-key",
        DEBUG="0",
        HTTPS_ONLY="0",
    )
    with served(tmp_path, env) as url:
        status, _, body = http_get(f"{url}/readyz")
        assert status == 503
        assert json.loads(body) == {
            "status": "unavailable",
            "checks": {"database": False, "cache": True},
        }
        status, _, body = http_get(f"{url}/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})


@pytest.fixture
def io_attempts(monkeypatch, unreachable_cache) -> list[str]:
    """Record every database cursor and every socket connect this process attempts.

    The cache is a fresh one on a dead port, so any use of it must connect a new socket.
    """
    attempts: list[str] = []
    real_cursor, real_connect = BaseDatabaseWrapper._cursor, socket.socket.connect

    def cursor(self, *args, **kwargs):
        attempts.append(f"database {self.alias}")
        return real_cursor(self, *args, **kwargs)

    def connect(self, address):
        attempts.append(f"socket {address}")
        return real_connect(self, address)

    monkeypatch.setattr(BaseDatabaseWrapper, "_cursor", cursor)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


# No django_db mark either: pytest-django refuses any query.
def test_healthz_answers_200_without_touching_the_database_or_the_cache(client, io_attempts):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert io_attempts == []


@pytest.mark.django_db
def test_readyz_is_seen_to_touch_the_database_and_the_cache(client, io_attempts):
    """The recording that shows /healthz does no I/O does see a probe that does."""
    assert client.get("/readyz").status_code == 503
    assert "database default" in io_attempts
    assert any(attempt.startswith("socket") for attempt in io_attempts)


def test_probes_answer_only_get(client):
    for path in ("/healthz", "/readyz"):
        assert client.post(path).status_code == 405

"""A Redis of a test's own, to stop under a running app: the cache going down for real."""

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from tests.processes import free_port

_BOOT_ATTEMPTS = 200


@dataclass
class OwnRedis:
    url: str
    server: subprocess.Popen

    def caches(self, *, ignore_exceptions: bool) -> dict:
        """Return CACHES for Django's cache on this server, as stockd/settings.py builds it.

        `ignore_exceptions` is django-redis's IGNORE_EXCEPTIONS: with it an unreachable Redis
        reads as a miss; without it every cache call raises.
        """
        options = {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}
        if ignore_exceptions:
            options["IGNORE_EXCEPTIONS"] = True
        return {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": self.url,
                "OPTIONS": options,
            }
        }

    def stop(self) -> None:
        """Stop the server (it saves nothing) and wait until it has exited."""
        self.server.terminate()
        self.server.wait(timeout=30)


@contextmanager
def own_redis() -> Iterator[OwnRedis]:
    """Start a redis-server on a free port for one test; stop it at the end if still up."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        + ["--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(_BOOT_ATTEMPTS):
            try:
                redis.Redis.from_url(url, socket_connect_timeout=1).ping()
                break
            except redis.ConnectionError:
                assert server.poll() is None, "redis-server exited at start"
                time.sleep(0.05)
        else:
            raise AssertionError("redis-server did not answer")
        yield OwnRedis(url, server)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)

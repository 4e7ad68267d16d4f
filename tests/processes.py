"""Start stockd's own processes (worker, sweeper, server) from tests, against real services."""

import os
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

_TEST_ONLY_VARIABLES = {"DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER"}


def clean_env(**overrides: str) -> dict[str, str]:
    """Return this process's environment without pytest's settings module, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if k not in _TEST_ONLY_VARIABLES}
    env.update(overrides)
    return env


def env_for_test_database(**overrides: str) -> dict[str, str]:
    """Environment for a child process that uses the test database the suite is running on."""
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    test_url = url._replace(path=f"/{connection.settings_dict['NAME']}").geturl()
    return clean_env(
        DATABASE_URL=test_url,
        DATABASE_POOL="0",
        SECRET_KEY="stockd-test-secret-key",
        DEBUG="0",
        HTTPS_ONLY="0",
        **overrides,
    )


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `command` in its own process group in the project folder, logging to `log`."""
    with log.open("w") as output:
        return subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, log: Path) -> None:
    """Poll `condition` until it holds; fail with the child's log after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}.\n{log.read_text()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

"""Start stockd's own processes (worker, sweeper, server) from tests, against real services."""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    """Environment for a child process that uses the test database the suite is running on.

    `overrides` win over these defaults (DATABASE_URL included)."""
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    test_url = url._replace(path=f"/{connection.settings_dict['NAME']}").geturl()
    defaults = {
        "DATABASE_URL": test_url,
        "DATABASE_POOL": "0",
        "SECRET_KEY": "stockd-test-secret-key",
        "DEBUG": "0",
        "HTTPS_ONLY": "0",
    }
    return clean_env(**{**defaults, **overrides})


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


class _Lane:
    """Whether the test being set up may start processes (tests/conftest.py says, per test)."""

    slow = True


lane = _Lane()


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `command` in its own process group in the project folder, logging to `log`.

    Only a test marked slow (or e2e) may: `make test-fast` leaves those out.
    """
    assert lane.slow, "a test that starts processes must be marked slow (make test-fast)"
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


BOOT_TIMEOUT_SECONDS = 120  # only a hung server takes this long, even on a loaded machine


def http_get(url: str, headers: dict[str, str] | None = None):
    """GET `url` without following redirects; return the status, headers and body."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@contextmanager
def _serve(
    name: str, command: list[str], env: dict[str, str], log: Path, url: str
) -> Iterator[str]:
    """Run the server `command` until it answers /healthz at `url`; yield `url`, then stop it."""
    server = spawn(command, env, log)

    def serving() -> bool:
        assert server.poll() is None, f"{name} exited early:\n{log.read_text()}"
        try:
            return http_get(f"{url}/healthz")[0] == 200
        except OSError:
            return False

    try:
        wait_for(serving, timeout=BOOT_TIMEOUT_SECONDS, what=f"{name} to serve", log=log)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=BOOT_TIMEOUT_SECONDS)


PROCFILE = Path(settings.BASE_DIR) / "Procfile"


def procfile_command(process: str, env: dict[str, str]) -> list[str]:
    """Return the Procfile's command for `process` as argv, its ${NAME:-default} filled from env.

    The program is run from this interpreter's environment (`python -m gunicorn`).
    """
    line = next(
        line.split(":", 1)[1]
        for line in PROCFILE.read_text().splitlines()
        if line.startswith(f"{process}:")
    )
    expanded = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m[1]) or m[2] or "", line)
    program, *arguments = shlex.split(expanded)
    return [sys.executable, "-m", program, *arguments]


@contextmanager
def served(tmp_path: Path, env: dict[str, str], *, workers: int = 2) -> Iterator[str]:
    """Serve stockd as the Procfile's `web` process does; yield its URL, then stop it.

    That is gunicorn with uvicorn workers on stockd.asgi (`make run` serves the same), here
    with `workers` processes, listening on a free port of 127.0.0.1 with env in a child
    process. Its log is tmp_path/web.log.
    """
    port = free_port()
    env = {**env, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    command = [
        "127.0.0.1" + argument.removeprefix("0.0.0.0")
        if argument.startswith("0.0.0.0:")
        else argument
        for argument in procfile_command("web", env)
    ]
    with _serve("web", command, env, tmp_path / "web.log", f"http://127.0.0.1:{port}") as url:
        yield url


@contextmanager
def wsgi_gunicorn(tmp_path: Path, env: dict[str, str], *, workers: int = 2) -> Iterator[str]:
    """Serve the WSGI app (stockd.wsgi) with gunicorn's threaded workers; yield its URL.

    stockd still ships the WSGI entry point for servers without ASGI; `served` is what the
    Procfile and `make run` run.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "stockd.wsgi", "--workers", str(workers)]
    command += ["--worker-class", "gthread", "--threads", "8", "--bind", f"127.0.0.1:{port}"]
    with _serve("gunicorn", command, env, tmp_path / "web.log", f"http://127.0.0.1:{port}") as url:
        yield url


def terminate_backends_of(application_name: str) -> int:
    """End the database sessions of the children started with PGAPPNAME=`application_name`."""
    with connection.cursor() as cursor:
        # In the select list, not the WHERE clause: PostgreSQL may evaluate a WHERE clause's
        # terms in any order, and would terminate other backends (this test's) too.
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return sum(terminated for (terminated,) in cursor.fetchall())

"""`make run` serves the whole app with no database or cache server: SQLite and local memory."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

BOOT_TIMEOUT_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode}:\n{log.read_text()}")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"make run did not serve {url} in {BOOT_TIMEOUT_SECONDS}s:\n{log.read_text()}")


def test_make_run_serves_the_catalogue_on_sqlite_without_servers(tmp_path):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG"}
        and not key.startswith(("HTTPS_ONLY", "PYTEST", "CELERY_"))
    }
    env["VAR_DIR"] = str(tmp_path / "var")
    log = tmp_path / "make-run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_serving(f"{base}/healthz", process, log)

        status, body = _get(f"{base}/")
        assert status == 200
        assert b"BP Monitor" in body and b"Catalogue" in body

        status, body = _get(f"{base}/api/products")
        products = json.loads(body)
        assert status == 200 and len(products) == 53
        assert {row["totalStock"] for p in products for row in p["inventory"]} == {10}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)

    database = tmp_path / "var" / "stockd.sqlite3"
    assert database.is_file()
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT COUNT(*) FROM inventory_inventory").fetchone()[0] == 265

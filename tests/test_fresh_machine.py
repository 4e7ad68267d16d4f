"""`make test` on a machine with exactly what the README lists: no test needs more than it says."""

import subprocess
import sys

import pytest
from django.conf import settings

from tests.processes import clean_env

pytestmark = pytest.mark.slow


def test_unit_tests_run_with_no_broker_answering():
    """The suite's start used to require RabbitMQ for every test, pure unit tests included."""
    env = clean_env(RABBITMQ_URL="amqp://guest:guest@127.0.0.1:1//")
    env.pop("CACHE_KEY_PREFIX", None)  # the child run's own
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_cart_planning.py",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout

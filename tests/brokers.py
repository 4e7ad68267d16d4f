"""The brokers the suite runs Celery on: the local Redis and the local RabbitMQ.

RABBITMQ_URL points the RabbitMQ tests elsewhere (default: guest on 127.0.0.1:5672). Only the
tests that run Celery on RabbitMQ need it: each fails, saying how to start it, when it does
not answer (tests/conftest.py checks PostgreSQL and Redis for the whole run).
"""

import os
import uuid

import pytest
from kombu import Connection

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
START_RABBITMQ = "rabbitmq-server -detached"


BROKERS = ("rabbitmq", "redis")  # every broker the stack must work on


def broker_url(name: str) -> str:
    """Return broker `name`'s URL; fail the test, saying how to start it, if it is RabbitMQ
    and it does not answer."""
    if name == "redis":
        return os.environ["REDIS_URL"]
    if error := rabbitmq_error():
        pytest.fail(
            f"RabbitMQ is not answering at {RABBITMQ_URL} ({error}).\n"
            f"Start it with: {START_RABBITMQ}"
        )
    return RABBITMQ_URL


def unique_queue() -> str:
    """A queue no other worker on the same broker listens to."""
    return f"stockd-test-{uuid.uuid4().hex}"


def delete_queue(url: str, queue: str) -> None:
    """Remove a test's queue from the broker once its workers are gone."""
    with Connection(url, connect_timeout=5) as broker:
        broker.default_channel.queue_delete(queue)


def rabbitmq_error() -> str | None:
    """Return why RabbitMQ does not answer at RABBITMQ_URL, or None when it does."""
    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as broker:
            broker.ensure_connection(max_retries=1)
    except Exception as error:  # any failure to connect means the same: start it
        return f"{type(error).__name__}: {error}"
    return None

"""The brokers the suite runs Celery on: the local Redis and the local RabbitMQ.

RABBITMQ_URL points the RabbitMQ tests elsewhere (default: guest on 127.0.0.1:5672);
tests/conftest.py stops the run, saying how to start it, when RabbitMQ does not answer.
"""

import os
import uuid

from kombu import Connection

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
START_RABBITMQ = "rabbitmq-server -detached"


def broker_urls() -> dict[str, str]:
    """Name each broker the stack must work on, with its URL."""
    return {"redis": os.environ["REDIS_URL"], "rabbitmq": RABBITMQ_URL}


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

"""Celery tasks of the idempotency store."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from idempotency import store


# One DELETE of old rows: running it twice, or twice at once, deletes each row once. A lost
# database is retried with backoff; the time limits bound a run that hangs on it.
@shared_task(
    name="idempotency.tasks.purge_expired_keys",
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=240,
    time_limit=300,
)
def purge_expired_keys() -> int:
    """Delete Idempotency-Key records older than 24 hours (beat runs this hourly)."""
    return store.purge_expired_keys()

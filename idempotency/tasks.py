"""Celery tasks of the idempotency store."""

from celery import shared_task

from idempotency import store


@shared_task(name="idempotency.tasks.purge_expired_keys", ignore_result=True)
def purge_expired_keys() -> int:
    """Delete Idempotency-Key records older than 24 hours (beat runs this hourly)."""
    return store.purge_expired_keys()

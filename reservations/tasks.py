"""Celery tasks; each one calls a service."""

from celery import shared_task

from reservations import idempotency, services


@shared_task(name="reservations.tasks.expire_due_reservations", ignore_result=True)
def expire_due_reservations() -> int:
    """Release every due hold (Celery beat runs this every minute)."""
    return services.expire_due_reservations(actor="system:beat")


@shared_task(name="reservations.tasks.purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Key records older than 24 hours (beat runs this hourly)."""
    return idempotency.purge_expired_keys()

"""Celery tasks; each one calls a service."""

from celery import shared_task

from reservations import services


@shared_task(name="reservations.tasks.expire_due_reservations", ignore_result=True)
def expire_due_reservations() -> int:
    """Release every due hold (Celery beat runs this every minute)."""
    return services.expire_due_reservations(actor="system:beat")

"""Celery tasks of reservations' scheduled jobs; each one calls a service.

The waitlist's email task lives in reservations.notifications (CELERY_IMPORTS loads it).
"""

from celery import shared_task

from reservations.services import sweeps


@shared_task(name="reservations.tasks.expire_due_reservations", ignore_result=True)
def expire_due_reservations() -> int:
    """Release every due hold (Celery beat runs this every minute)."""
    return sweeps.expire_due_reservations(actor="system:beat")

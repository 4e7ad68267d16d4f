"""Celery tasks of reservations' scheduled jobs; each one calls a service.

The waitlist's email task lives in reservations.notifications (CELERY_IMPORTS loads it).
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from reservations.services import sweeps

logger = logging.getLogger(__name__)

# A sweep that lost its database (a terminated backend, a failover) is tried again soon, with
# growing, jittered pauses; beat's next run comes a minute later anyway. The worker closes
# every database connection after each run (Celery's Django fixup), so a retry starts on a
# fresh one instead of the broken one.
DATABASE_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    name="reservations.tasks.expire_due_reservations",
    ignore_result=True,
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=2,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=3,
)
def expire_due_reservations() -> int:
    """Release every due hold (Celery beat runs this every minute).

    On failure, log it and raise: a database error is retried with backoff, any other error
    fails this run and the next beat run sweeps again.
    """
    try:
        return sweeps.expire_due_reservations(actor="system:beat")
    except Exception:
        logger.exception("The expiry sweep failed.")
        raise

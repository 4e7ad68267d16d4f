"""Celery tasks of reservations' scheduled jobs; each one calls a service.

The waitlist's email task lives in reservations.notifications (CELERY_IMPORTS loads it).
"""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from reservations.services import sweeps

logger = logging.getLogger(__name__)

# A sweep that lost its database (a terminated backend, a failover) is tried again soon, with
# growing, jittered pauses; beat's next run comes a minute later anyway. The worker closes
# every database connection after each run (Celery's Django fixup), so a retry starts on a
# fresh one instead of the broken one.
DATABASE_ERRORS = (OperationalError, InterfaceError)

# A sweep is bounded in time. At the soft limit it stops: the batch in flight rolls back (each
# batch is its own transaction, so nothing is left half done), the batches before it stay
# committed and the next run goes on. At the hard limit (prefork pool) the worker's child is
# killed; PostgreSQL rolls back the open batch and ends the session's advisory lock.
SWEEP_SOFT_TIME_LIMIT_SECONDS = 50
SWEEP_TIME_LIMIT_SECONDS = 60


@shared_task(
    name="reservations.tasks.expire_due_reservations",
    ignore_result=True,
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=2,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=SWEEP_SOFT_TIME_LIMIT_SECONDS,
    time_limit=SWEEP_TIME_LIMIT_SECONDS,
)
def expire_due_reservations() -> int | None:
    """Release every due hold (Celery beat runs this every EXPIRY_SWEEP_INTERVAL_SECONDS).

    Return how many were released, or None if another sweep was running (this one returns at
    once). On failure, log it and raise: a database error is retried with backoff, any other
    error fails this run and the next beat run sweeps again.
    """
    try:
        released = sweeps.expire_due_reservations_alone(actor="system:beat")
    except SoftTimeLimitExceeded:
        logger.warning("The expiry sweep reached its time limit; the next run goes on.")
        return None
    except Exception:
        logger.exception("The expiry sweep failed.")
        raise
    if released is None:
        logger.info("Another expiry sweep is running; this one returns at once.")
    return released

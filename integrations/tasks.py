"""Celery tasks of outbound events: the dispatcher's pass (beat, every
EVENT_DISPATCH_INTERVAL_SECONDS) and each webhook's deliveries."""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.db.models import Min
from django.utils import timezone

from integrations import delivery, dispatch
from integrations.models import Delivery

DATABASE_ERRORS = (OperationalError, InterfaceError)


@shared_task(name="integrations.tasks.dispatch_events", ignore_result=True, time_limit=60)
def dispatch_events() -> None:
    """Turn new ledger entries into events and deliveries; start each due webhook's deliverer."""
    dispatch.dispatch_once()
    kick_due_deliveries()


def kick_due_deliveries() -> list[int]:
    """Queue a deliverer for every webhook with a delivery due now; return their ids."""
    due = (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now())
        .values("webhook_id")
        .annotate(first=Min("id"))
        .values_list("webhook_id", flat=True)
    )
    webhooks = list(due)
    for webhook_id in webhooks:
        deliver_webhook.delay(webhook_id)
    return webhooks


@shared_task(
    name="integrations.tasks.deliver_webhook",
    ignore_result=True,
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=2,
    max_retries=3,
    time_limit=300,
)
def deliver_webhook(webhook_id: int) -> None:
    """Deliver what is due for one webhook (a deliverer already at work makes this return)."""
    delivery.deliver_pending(webhook_id)

"""Deliver a webhook's pending events: POST each, signed, in event order per stock row.

One deliverer per webhook at a time (a session-level advisory lock, taken without waiting;
no transaction is held open during a POST, which would hold back the ledger feed's horizon).
A row's deliveries go out in order: once one of them fails, the row's later ones wait for
it. A failure is retried with exponential backoff and jitter; after WEBHOOK_RETRY_HOURS the
delivery is DEAD (and the row's later ones go on), until redelivered. Redirects are not
followed. At least once: a receiver dedupes by the event id (body `id`, header
Stockd-Event-Id).
"""

import json
import random
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.utils import timezone

from core.advisory_locks import held_alone
from core.errors import StockdError
from core.signing import HEADER, signature_header
from integrations.models import Delivery, Webhook
from integrations.url_safety import check_url

EVENT_ID_HEADER = "Stockd-Event-Id"
BATCH = 500
# A deliverer hands over after this long (the dispatcher's next pass starts another), so a
# webhook that always has more to take never keeps one task running for ever.
RUN_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600


def backoff(attempts: int) -> timedelta:
    """The pause before the next try after `attempts` failures: doubling from
    WEBHOOK_RETRY_BASE_MS up to an hour, with full jitter on its upper half."""
    base = settings.WEBHOOK_RETRY_BASE_MS / 1000
    ceiling = min(base * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311


def _unsafe(webhook: Webhook) -> str | None:
    """Why the webhook's URL may not be called now (it resolves into a private network), or
    None. Checked once per batch of deliveries, not once per POST (a DNS lookup each)."""
    try:
        check_url(webhook.url)
    except StockdError as unsafe:
        return unsafe.detail
    return None


def _post(client: httpx.Client, webhook: Webhook, delivery: Delivery) -> tuple[int | None, str]:
    """Send one delivery; return the status code (None: no answer) and an error, if any."""
    body = json.dumps(delivery.event.body(), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "stockd-webhooks/1",
        EVENT_ID_HEADER: str(delivery.event.public_id),
        HEADER: signature_header([webhook.secret], int(time.time()), body),
    }
    try:
        response = client.post(webhook.url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:300]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}"


def _record(delivery: Delivery, code: int | None, error: str) -> bool:
    """Write down a try; return whether it was delivered."""
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = code, error
    if not error:
        delivery.status, delivery.delivered_at = Delivery.Status.DELIVERED, now
    elif now - delivery.created_at >= timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
        delivery.status = Delivery.Status.DEAD
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "attempts", "last_status_code", "last_error", "status", "delivered_at",
            "next_attempt_at",
        ]
    )  # fmt: skip
    return not error


def deliver_pending(webhook_id: int) -> int | None:
    """Deliver what is due for one webhook, for up to RUN_SECONDS; return how many were
    delivered, or None if another deliverer has the webhook."""
    webhook = Webhook.objects.filter(pk=webhook_id).first()
    if webhook is None:
        return 0
    delivered = 0
    with held_alone(f"stockd:webhook:{webhook_id}") as mine:
        if not mine:
            return None
        timeout = httpx.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS)
        stop_at = time.monotonic() + RUN_SECONDS
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            while time.monotonic() < stop_at:
                sent = _deliver_batch(client, webhook)
                delivered += sent
                if sent == 0:
                    break
    return delivered


def _deliver_batch(client: httpx.Client, webhook: Webhook) -> int:
    """Try the webhook's next pending deliveries in event order, a row's in sequence: a row
    whose earlier delivery is not due (or just failed) waits. Return how many were sent."""
    pending = (
        Delivery.objects.filter(webhook=webhook, status=Delivery.Status.PENDING)
        .select_related("event")
        .order_by("event__product_id", "event__warehouse_id", "event__sequence", "event_id")[:BATCH]
    )
    now, waiting, sent = timezone.now(), set(), 0
    unsafe = _unsafe(webhook)
    for delivery in pending:
        row = (delivery.event.product_id, delivery.event.warehouse_id)
        if row in waiting:
            continue
        if delivery.next_attempt_at > now:
            waiting.add(row)
            continue
        outcome = (None, unsafe) if unsafe else _post(client, webhook, delivery)
        if _record(delivery, *outcome):
            sent += 1
        else:
            waiting.add(row)
    return sent


def redeliver(delivery: Delivery) -> Delivery:
    """Send a delivery again (a DEAD one, or a PENDING one now rather than later)."""
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = delivery.created_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at", "created_at"])
    return delivery

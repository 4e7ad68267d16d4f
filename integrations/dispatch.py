"""The dispatcher: turn newly committed ledger entries into webhooks' events and deliveries.

One pass at a time, anywhere (a transaction-level advisory lock; a pass that finds it taken
returns), and at most one pass a second (so a row's `stock.changed` goes out at most once a
second). A pass reads the ledger past the dispatcher's cursor in commit-safe order
(integrations.feed), writes the events some webhook takes (integrations.derive) and one
delivery per subscribed webhook, and moves the cursor, all in one transaction: a pass that
fails leaves no trace and the next one reads the same entries again. `GET /api/events`
derives the same events from the ledger itself, with a cursor of its own.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.advisory_locks import advisory_key
from integrations import derive, feed
from integrations.models import Delivery, DispatchState, Event, Webhook

PASS_LOCK = "stockd:integrations:dispatch"
ENTRIES_PER_PASS = 20_000


@dataclass(frozen=True)
class Pass:
    entries: int
    events: int
    deliveries: int
    webhooks: list[int]  # the webhooks that got deliveries


def _take_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: writers are serialized already
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [advisory_key(PASS_LOCK)])
        return cursor.fetchone()[0]


def dispatch_once(*, force: bool = False) -> Pass | None:
    """Run one pass; return what it did, or None if another pass runs or one ran less than
    EVENT_DISPATCH_INTERVAL_SECONDS ago (unless `force`)."""
    now = timezone.now()
    with transaction.atomic():
        if not _take_lock():
            return None
        state, _ = DispatchState.objects.get_or_create(pk=1)
        interval = timedelta(seconds=settings.EVENT_DISPATCH_INTERVAL_SECONDS)
        if not force and state.passed_at is not None and now - state.passed_at < interval:
            return None
        cursor = feed.Cursor(txid=state.txid, entry_id=state.entry_id)
        entries, cursor = feed.read(cursor, limit=ENTRIES_PER_PASS)
        hooks = list(Webhook.objects.only("pk", "events"))
        wanted = {event_type for hook in hooks for event_type in hook.events}
        events = Event.objects.bulk_create(derive.events_of(entries, wanted))
        deliveries = _deliveries(hooks, events, now)
        state.txid, state.entry_id, state.passed_at = cursor.txid, cursor.entry_id, now
        state.save()
    return Pass(
        entries=len(entries),
        events=len(events),
        deliveries=len(deliveries),
        webhooks=sorted({d.webhook_id for d in deliveries}),
    )


def _deliveries(hooks: list[Webhook], events: list[Event], now) -> list[Delivery]:
    if not events:
        return []
    deliveries = [
        Delivery(webhook_id=webhook.pk, event=event, next_attempt_at=now, created_at=now)
        for webhook in hooks
        for event in events
        if event.type in webhook.events
    ]
    return Delivery.objects.bulk_create(deliveries, batch_size=2000)

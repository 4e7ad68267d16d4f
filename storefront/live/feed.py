"""Read stock changes from the event log by id: the source of `GET /events/stock/`.

Every change to a stock row writes a ReservationEvent in the same transaction, and event ids
come from one sequence, so "the events after id N" is a cursor that any process on any host
can poll and resume from, with no LISTEN/NOTIFY (a transaction that notifies takes a
database-wide lock at commit, which would serialize the reserve hot path).

A read is two indexed queries: the events past the cursor (primary key range), then the
current counters of the stock rows they touch (the (product, warehouse) unique index). A
message carries a row's counters as they are now, not a delta, so reading a change twice is
harmless and several events on one row become one message.

Ids are drawn when a transaction inserts, not when it commits: event 101 can become visible
after event 102. A reader whose cursor moved past 101 on seeing 102 would miss it, so the ids
it skipped stay open for OPEN_ID_SECONDS and are asked for again on every read, until they
show up or time out (a rolled-back transaction leaves its id unused for ever).

These functions are synchronous ORM code: the hub runs them on its own thread.
"""

import time
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from django.db.models import Q

from inventory.models import Inventory
from reservations.models import ReservationEvent

EventType = ReservationEvent.Type

# Events that change no counter: the stream skips them (a new type is streamed by default).
NO_STOCK_CHANGE = frozenset(
    {EventType.EXTENDED, EventType.WAITLIST_JOINED, EventType.WAITLIST_CANCELLED}
)
BATCH_SIZE = 1000  # events per read; a full batch is read again at once
OPEN_ID_SECONDS = 30.0  # longer than any transaction that writes events should take
MAX_OPEN_IDS = 1000  # a jump in the sequence larger than this keeps only its newest ids


@dataclass(frozen=True)
class StockChange:
    """A stock row's counters after the latest event on it that a read found."""

    product_id: int
    warehouse_id: int
    total_stock: int
    reserved_stock: int
    available: int
    event_id: int

    def as_message(self) -> dict[str, Any]:
        """Return the stream's JSON body: ids as strings, like the rest of the API."""
        return {
            "productId": str(self.product_id),
            "warehouseId": str(self.warehouse_id),
            "totalStock": self.total_stock,
            "reservedStock": self.reserved_stock,
            "available": self.available,
            "eventId": str(self.event_id),
        }


@dataclass(frozen=True)
class FeedCursor:
    """Where a reader is: the highest event id read, and lower ids not seen yet (open)."""

    last_id: int
    open_ids: dict[int, float] = field(default_factory=dict)  # id -> when first skipped


@dataclass(frozen=True)
class FeedRead:
    changes: list[StockChange]
    cursor: FeedCursor
    full: bool  # the batch was full: more events are waiting


def latest_event_id() -> int:
    """Return the highest event id (0 with no events): where a new stream starts."""
    return ReservationEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def read_changes(
    cursor: FeedCursor, *, limit: int = BATCH_SIZE, now: float | None = None
) -> FeedRead:
    """Read the events past `cursor` and its open ids; return the rows they touched.

    Return the next cursor: past the events read, with the ids skipped on the way left open
    and those open longer than OPEN_ID_SECONDS dropped. One query when nothing is new, two
    otherwise.
    """
    now = time.monotonic() if now is None else now
    found = Q(id__gt=cursor.last_id)
    if cursor.open_ids:
        found |= Q(id__in=list(cursor.open_ids))
    events = list(
        ReservationEvent.objects.filter(found)
        .order_by("id")
        .values_list("id", "type", "product_id", "warehouse_id")[:limit]
    )
    new_ids = [event[0] for event in events if event[0] > cursor.last_id]
    open_ids = {
        event_id: since
        for event_id, since in cursor.open_ids.items()
        if now - since < OPEN_ID_SECONDS
    }
    for event in events:
        open_ids.pop(event[0], None)
    open_ids.update(dict.fromkeys(_skipped(cursor.last_id, new_ids), now))
    if len(open_ids) > MAX_OPEN_IDS:
        open_ids = dict(sorted(open_ids.items())[-MAX_OPEN_IDS:])
    next_cursor = FeedCursor(last_id=max(new_ids, default=cursor.last_id), open_ids=open_ids)
    return FeedRead(_changes(events), next_cursor, full=len(events) == limit)


def read_range(*, after: int, until: int, product_id: int | None = None) -> list[StockChange]:
    """Return the rows that events in (after, until] touched: a resuming stream's catch-up.

    The hub tracks open ids from `until` on; this one-off read does not (one or two queries).
    """
    events = ReservationEvent.objects.filter(id__gt=after, id__lte=until)
    if product_id is not None:
        events = events.filter(product_id=product_id)
    rows = events.order_by("id").values_list("id", "type", "product_id", "warehouse_id")
    return _changes(list(rows))


def _skipped(last_id: int, new_ids: list[int]) -> list[int]:
    """Return the ids between `last_id` and the new ones that a read did not see."""
    skipped: list[int] = []
    for low, high in pairwise([last_id, *new_ids]):
        skipped.extend(range(max(low + 1, high - MAX_OPEN_IDS), high))
    return skipped


def _changes(events: list[tuple[int, str, int, int]]) -> list[StockChange]:
    """Read the current counters of the rows `events` touched: one message per row.

    A row's message carries its latest event id; messages come in event id order.
    """
    latest: dict[tuple[int, int], int] = {}
    for event_id, event_type, product_id, warehouse_id in events:
        if event_type in NO_STOCK_CHANGE:
            continue
        key = (product_id, warehouse_id)
        latest[key] = max(event_id, latest.get(key, 0))
    if not latest:
        return []
    # A superset (every product x every warehouse named) keeps it one indexed query.
    rows = (
        Inventory.objects.filter(
            product_id__in={key[0] for key in latest}, warehouse_id__in={key[1] for key in latest}
        )
        .with_available()
        .values_list(
            "product_id", "warehouse_id", "total_stock", "reserved_stock", "available_units"
        )
    )
    changes = [
        StockChange(
            product_id, warehouse_id, total, reserved, available, latest[(product_id, warehouse_id)]
        )
        for product_id, warehouse_id, total, reserved, available in rows
        if (product_id, warehouse_id) in latest
    ]
    return sorted(changes, key=lambda change: change.event_id)

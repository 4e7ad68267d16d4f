"""Read paths of the audit log for the console and the staff API. They never lock or write."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from reservations.models import ReservationEvent

TAIL_LIMIT = 100  # the newest events one poll of the live tail hands out at most


@dataclass(frozen=True)
class EventFilters:
    """Which events to read: any of type, product, warehouse, actor and a time window
    (`since` inclusive, `until` exclusive).

    An actor matches itself and, without its own colon part, every actor under it: "system"
    matches "system:sweep" and "system:lazy"; "user:1" matches only "user:1".
    """

    type: str = ""
    product_id: int | None = None
    warehouse_id: int | None = None
    actor: str = ""
    since: datetime | None = None
    until: datetime | None = None


def filtered_events(filters: EventFilters) -> QuerySet[ReservationEvent]:
    """Return the events `filters` selects, newest first (by id, the log's own order)."""
    events = ReservationEvent.objects.all()
    if filters.type:
        events = events.filter(type=filters.type)
    if filters.product_id is not None:
        events = events.filter(product_id=filters.product_id)
    if filters.warehouse_id is not None:
        events = events.filter(warehouse_id=filters.warehouse_id)
    if filters.actor:
        events = events.filter(Q(actor=filters.actor) | Q(actor__startswith=f"{filters.actor}:"))
    if filters.since is not None:
        events = events.filter(created_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(created_at__lt=filters.until)
    return events.order_by("-id")


def event_list(filters: EventFilters) -> QuerySet[ReservationEvent]:
    """The selected events newest first, with their product and warehouse joined, for a page."""
    return filtered_events(filters).select_related("product", "warehouse")


def events_after(filters: EventFilters, *, after_id: int) -> list[ReservationEvent]:
    """Return the selected events newer than `after_id`, newest first, at most TAIL_LIMIT."""
    return list(event_list(filters).filter(id__gt=after_id)[:TAIL_LIMIT])


def newest_event_id() -> int:
    """The id of the newest event in the whole log (0 when it is empty)."""
    newest = ReservationEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return newest or 0


def event_chunks(filters: EventFilters, *, size: int = 2000) -> Iterator[list[ReservationEvent]]:
    """Yield the selected events newest first, `size` at a time.

    Each chunk is its own query, keyed on the id (never OFFSET), so a log of any length is
    read in bounded memory, without holding a cursor open between chunks.
    """
    events = event_list(filters)
    before: int | None = None
    while True:
        chunk = events if before is None else events.filter(id__lt=before)
        rows = list(chunk[:size])
        if rows:
            yield rows
        if len(rows) < size:
            return
        before = rows[-1].id

"""Which outbound events a stretch of committed ledger entries makes.

- exact, one per entry that causes it: `reservation.*` for the holds' own entries,
  `transfer.*` for a transfer's line leaving its source (shipped), arriving (received) or
  coming back (cancelled), and
  `stock.out_of_stock` / `stock.back_in_stock` / `stock.low` when available crosses zero or
  the row's alert threshold (each entry says what available was before and after it, and a
  row's entries are numbered without gaps, so no crossing is missed or counted twice);
- coalesced: one `stock.changed` per row per stretch, carrying the row's states after its
  last entry in the stretch. The dispatcher reads a stretch at most once a second, so a row
  gets at most one `stock.changed` a second, and always its latest states.

Only the types asked for are made: the dispatcher asks for those some webhook takes, so a
hold's `reservation.created` costs nothing while nobody subscribes to it.
"""

import uuid
from collections.abc import Container, Iterable

from django.conf import settings

from integrations.feed import Entry
from integrations.models import Event
from inventory.levels import level
from inventory.models import LedgerEntry
from reservations.models import Reservation
from transfers.models import Transfer

Type = Event.Type
ALL_TYPES = frozenset(Type.values)
Reason = LedgerEntry.Reason
RESERVATION_EVENTS = {
    Reason.RESERVED: Type.RESERVATION_CREATED,
    Reason.CONFIRMED: Type.RESERVATION_CONFIRMED,
    Reason.RELEASED: Type.RESERVATION_RELEASED,
    Reason.EXPIRED: Type.RESERVATION_EXPIRED,
}
TRANSFER_EVENTS = {
    Reason.TRANSFER_OUT: Type.TRANSFER_SHIPPED,
    Reason.TRANSFER_IN: Type.TRANSFER_RECEIVED,
    Reason.TRANSFER_BACK: Type.TRANSFER_CANCELLED,
}
TRANSFER_REFERENCE = "transfer:"
# What a hold's status was once the entry's step was made.
STATUS_AFTER = {
    Reason.RESERVED: Reservation.Status.PENDING,
    Reason.CONFIRMED: Reservation.Status.CONFIRMED,
    Reason.RELEASED: Reservation.Status.RELEASED,
    Reason.EXPIRED: Reservation.Status.RELEASED,
}


def stock_data(entry: Entry) -> dict:
    """The row as this entry left it: its level (inventory.levels) at the entry's sequence."""
    return level(
        product_id=entry.product_id,
        warehouse_id=entry.warehouse_id,
        states=entry.after,
        version=entry.sequence,
    )


# Event ids are derived, not drawn: the same entry's event has the same id wherever it is
# made (a webhook's delivery, a page of GET /api/events).
EVENT_IDS = uuid.UUID("5b0c6f3e-8d5a-4f43-9a51-3c2f0e4d7a10")


def _event(entry: Entry, event_type: str, data: dict) -> Event:
    return Event(
        public_id=uuid.uuid5(EVENT_IDS, f"{entry.id}:{event_type}"),
        type=event_type,
        product_id=entry.product_id,
        warehouse_id=entry.warehouse_id,
        sequence=entry.sequence,
        data=data,
        created_at=entry.created_at,
    )


def _crossings(entry: Entry) -> Iterable[str]:
    before, after = entry.available_before, entry.available_after
    if before > 0 >= after:
        yield Type.OUT_OF_STOCK
    elif before <= 0 < after:
        yield Type.BACK_IN_STOCK
    threshold = settings.LOW_STOCK_THRESHOLD if entry.threshold is None else entry.threshold
    if before > threshold >= after:
        yield Type.LOW


def _reservations(entries: list[Entry], types: Container[str]) -> dict[str, dict]:
    """The holds the entries name, as events show them, by id (one query; none when no
    reservation event is wanted)."""
    ids = {
        e.reference
        for e in entries
        if e.reason in RESERVATION_EVENTS and RESERVATION_EVENTS[e.reason] in types
    }
    if not ids:
        return {}
    holds = Reservation.objects.filter(pk__in=ids).values(
        "id", "quantity", "status", "release_reason", "expires_at", "created_at", "user_id"
    )
    return {
        str(h["id"]): {
            "id": str(h["id"]),
            "quantity": h["quantity"],
            "status": h["status"],
            "releaseReason": h["release_reason"],
            "expiresAt": h["expires_at"].isoformat(),
            "createdAt": h["created_at"].isoformat(),
            "userId": None if h["user_id"] is None else str(h["user_id"]),
        }
        for h in holds
    }


def _transfers(entries: list[Entry], types: Container[str]) -> dict[str, dict]:
    """The transfers the entries name, as events show them, by reference (one query; none
    when no transfer event is wanted)."""
    ids = {
        e.reference.removeprefix(TRANSFER_REFERENCE)
        for e in entries
        if e.reason in TRANSFER_EVENTS and TRANSFER_EVENTS[e.reason] in types
    }
    if not ids:
        return {}
    transfers = Transfer.objects.filter(pk__in=ids).values(
        "id", "reference", "state", "source_id", "destination_id"
    )
    return {
        f"{TRANSFER_REFERENCE}{t['id']}": {
            "id": str(t["id"]),
            "reference": t["reference"],
            "state": t["state"],
            "fromWarehouseId": str(t["source_id"]),
            "toWarehouseId": str(t["destination_id"]),
        }
        for t in transfers
    }


def _transfer_line(entry: Entry) -> dict:
    """What the entry moved of its transfer's line: units shipped or returned (on hand at the
    source), or received and damaged (at the destination)."""
    on_hand, unsellable = entry.deltas[0], entry.deltas[3]
    if entry.reason == Reason.TRANSFER_IN:  # broken units are on hand, as unsellable
        return {
            "productId": str(entry.product_id),
            "received": on_hand - unsellable,
            "damaged": unsellable,
        }
    return {"productId": str(entry.product_id), "units": abs(on_hand)}


def events_of(entries: list[Entry], types: Container[str] = ALL_TYPES) -> list[Event]:
    """The events of `types` a stretch of committed entries makes, each row's in sequence
    order (the feed's commit-safe order is by transaction id, which a transaction that waited
    for the row's lock after taking its id breaks); a row's `stock.changed` comes last."""
    entries = sorted(entries, key=lambda e: (e.product_id, e.warehouse_id, e.sequence))
    holds = _reservations(entries, types)
    transfers = _transfers(entries, types)
    last_of_row = {(e.product_id, e.warehouse_id): e for e in entries}
    made: list[Event] = []
    for entry in entries:
        reservation_event = RESERVATION_EVENTS.get(entry.reason)
        if reservation_event in types:
            hold = {**holds.get(entry.reference, {"id": entry.reference})}
            hold["status"] = STATUS_AFTER[entry.reason]
            made.append(
                _event(entry, reservation_event, {**stock_data(entry), "reservation": hold})
            )
        transfer_event = TRANSFER_EVENTS.get(entry.reason)
        if transfer_event in types:
            transfer = transfers.get(entry.reference, {"id": entry.reference})
            line = _transfer_line(entry)
            made.append(
                _event(
                    entry, transfer_event, {**stock_data(entry), "transfer": transfer, "line": line}
                )
            )
        made.extend(
            _event(entry, crossing, stock_data(entry))
            for crossing in _crossings(entry)
            if crossing in types
        )
        last = last_of_row[(entry.product_id, entry.warehouse_id)] is entry
        if last and Type.STOCK_CHANGED in types:
            made.append(_event(entry, Type.STOCK_CHANGED, stock_data(entry)))
    return made

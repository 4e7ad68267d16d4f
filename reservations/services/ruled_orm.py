"""Holds under sale rules on stock rows locked through the ORM: a cart's lines (on any
database) and the SQLite form of the ruled batch; and giving tallies their units back when
holds are released. reservations.services.ruled is the PostgreSQL batch (the coalescer's,
and a keyed hold's); both decide with the same walk (reservations.admission).
"""

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from core.errors import StockdError
from core.serving.requestid import current_request_id
from inventory import locks as stock_locks
from inventory.errors import StockNotFound
from inventory.models import Inventory, LedgerEntry
from reservations import admission, events, locks
from reservations.admission import Admitted, Ask, Terms
from reservations.models import Reservation
from sales import selectors, tallies


def _row(key: stock_locks.StockKey, available: int, asks: Sequence[Ask], now: datetime):
    product_id, warehouse_id = key
    channels = {ask.channel for ask in asks}
    return admission.Row(
        product_id=product_id,
        warehouse_id=warehouse_id,
        available=available,
        now=now,
        rules=selectors.rules_for(product_id, channels),
        rooms=selectors.rooms_for(product_id, warehouse_id, channels),
    )


def decide(
    asks_by_row: dict[stock_locks.StockKey, Sequence[Ask]],
    available: dict[stock_locks.StockKey, int],
    *,
    now: datetime,
) -> dict[stock_locks.StockKey, list[Terms | StockdError]]:
    """Decide requests on locked stock rows: lock their tallies, walk each row's requests in
    arrival order (a customer's units admitted on one row count on the next), and add the
    admitted units to the tallies. Return each request's terms, or why it was refused."""
    rows = {key: _row(key, available[key], asks, now) for key, asks in asks_by_row.items()}
    counted = tallies.lock(
        scope
        for key, row in rows.items()
        for scope in admission.scopes(row.product_id, asks_by_row[key], row.rules, row.rooms)
    )
    before = dict(counted)
    decided = {}
    for key, row in rows.items():
        verdicts = admission.admit(row, asks_by_row[key], counted)
        decided[key] = [
            admission.terms_of(row, ask, v) if isinstance(v, Admitted) else v
            for ask, v in zip(asks_by_row[key], verdicts, strict=True)
        ]
    tallies.add({scope: counted[scope] - before[scope] for scope in counted})
    return decided


def terms_for_planned(
    planned: Sequence[tuple[stock_locks.StockKey, int]],
    available: dict[stock_locks.StockKey, int],
    *,
    channel: str,
    user_id: int | None,
    guest_id: uuid.UUID | None,
    now: datetime,
) -> list[Terms]:
    """The terms of holds planned on locked stock rows (a cart's lines: row, quantity), in
    order; raise the first line's refusal (the caller's transaction then writes nothing).
    Products without rules get the settings' terms and count in no tally."""
    products = selectors.ruled_among({key[0] for key, _ in planned})
    asks_by_row: dict[stock_locks.StockKey, list[Ask]] = {}
    for key, quantity in planned:
        if key[0] in products:
            ask = Ask(quantity, channel, user_id=user_id, guest_id=guest_id)
            asks_by_row.setdefault(key, []).append(ask)
    decided = {key: iter(v) for key, v in decide(asks_by_row, available, now=now).items()}
    terms = []
    for key, _ in planned:
        outcome = next(decided[key]) if key in decided else Terms(channel=channel)
        if isinstance(outcome, StockdError):
            raise outcome
        terms.append(outcome)
    return terms


def hold_batch(requests: Sequence, now: datetime) -> list:
    """What batch_steps does, with the ORM, for SQLite (whose transactions are IMMEDIATE)."""
    key = requests[0].key
    row = (
        Inventory.objects.sellable()
        .filter(product_id=key[0], warehouse_id=key[1])
        .select_related("product", "warehouse")
        .select_for_update(of=("self",))
        .first()
    )
    if row is None:
        missing = StockNotFound.of_row(*key)
        return [missing for _ in requests]
    asks = [Ask(r.quantity, r.channel, user_id=r.user_id, guest_id=r.guest_id) for r in requests]
    decided = decide({key: asks}, {key: row.available}, now=now)[key]
    outcomes = []
    written = []
    for request, terms in zip(requests, decided, strict=True):
        if isinstance(terms, StockdError):
            outcomes.append(terms)
            continue
        reservation = _reservation(request, terms, row, now)
        written.append((request, reservation))
        outcomes.append(_hold_of(reservation, row))
    _write(written, now)
    return outcomes


def _reservation(request, terms: Terms, row: Inventory, now: datetime) -> Reservation:
    return Reservation(
        id=uuid.uuid4(),
        product=row.product,
        warehouse=row.warehouse,
        quantity=request.quantity,
        expires_at=now + timedelta(seconds=terms.seconds),
        created_at=now,
        updated_at=now,
        user_id=request.user_id,
        guest_id=request.guest_id,
        **terms.fields(),
    )


def _write(written: list[tuple], now: datetime) -> None:
    """Insert the admitted holds and their events, then add them to the (locked) row."""
    if not written:
        return
    Reservation.objects.bulk_create([reservation for _, reservation in written])
    events.record(
        events.about(
            r, events.EventType.RESERVED, actor=request.actor, at=now, **request.event_payload()
        )
        for request, r in written
    )
    stock_locks.apply(
        [
            replace(
                locks.stock_change(r, LedgerEntry.Reason.RESERVED, actor=request.actor),
                request_id=(request.payload or {}).get(events.REQUEST_ID)
                or current_request_id()
                or "",
            )
            for request, r in written
        ],
        at=now,
    )


def _hold_of(reservation: Reservation, row: Inventory) -> locks.Hold:
    product, warehouse = row.product, row.warehouse
    return locks.Hold.written(
        (product.name, product.price, product.image, product.category,
         warehouse.name, warehouse.city, warehouse.location),
        reservation_id=reservation.id,
        product_id=reservation.product_id,
        warehouse_id=reservation.warehouse_id,
        quantity=reservation.quantity,
        created_at=reservation.created_at,
        expires_at=reservation.expires_at,
        user_id=reservation.user_id,
        guest_id=reservation.guest_id,
        channel=reservation.channel,
        hold_seconds=reservation.hold_seconds,
        max_extensions=reservation.max_extensions,
    )  # fmt: skip


def give_back(released: Sequence[Reservation]) -> None:
    """Take released holds' units off the tallies they counted in (call after locking their
    stock rows: tallies come after them in the lock order)."""
    units: dict[str, int] = {}
    for reservation in released:
        for scope in (reservation.limit_tally_id, reservation.quota_tally_id):
            if scope is not None:
                units[scope] = units.get(scope, 0) - reservation.quantity
    if units:
        tallies.lock(units)
        tallies.add(units)

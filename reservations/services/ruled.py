"""Holding units of a product that follows sale rules (a window, a per-customer limit,
channel allocations, its own hold terms).

The hold statements in reservations.locks leave such products alone; this path does what they
do with the rules added, in one transaction: lock the stock row(s), lock the tallies the
requests count against (after every stock row, in scope order: reservations.locks), let the
pure walk in reservations.admission decide each request in arrival order, then write the
admitted holds, their events and ledger entries, and add their units to the tallies. The
coalescer runs a row's queued requests through `hold_batch` as one batch; holds inside a
caller's transaction (keyed requests, carts) call it for one request, or `terms_for_cart`.
"""

import json
import uuid
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.errors import StockdError
from core.serving.requestid import current_request_id
from idempotency.context import current_idempotency_key
from inventory import locks as stock_locks
from inventory.errors import StockNotFound
from inventory.models import Inventory, LedgerEntry
from reservations import admission, events, locks
from reservations.admission import Admitted, Ask
from reservations.models import Reservation, ReservationEvent
from sales import selectors, tallies
from sales.models import WEB

# Extensions a hold may have when no policy says otherwise (the original allowed one).
DEFAULT_MAX_EXTENSIONS = 1


@dataclass(frozen=True, slots=True)
class Terms:
    """What a new hold's row records of the rules it was admitted under."""

    channel: str = WEB
    hold_seconds: int | None = None
    max_extensions: int = DEFAULT_MAX_EXTENSIONS
    limit_tally_id: str | None = None
    quota_tally_id: str | None = None

    @property
    def seconds(self) -> int:
        return self.hold_seconds or settings.RESERVATION_TTL_SECONDS

    def fields(self) -> dict:
        return {
            "channel": self.channel,
            "hold_seconds": self.seconds,
            "max_extensions": self.max_extensions,
            "limit_tally_id": self.limit_tally_id,
            "quota_tally_id": self.quota_tally_id,
        }


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


def _terms(row: admission.Row, ask: Ask, verdict: Admitted) -> Terms:
    rules = row.rules[ask.channel]
    return Terms(
        channel=ask.channel,
        hold_seconds=rules.seconds_to_hold(
            signed_in=ask.user_id is not None, default=settings.RESERVATION_TTL_SECONDS
        ),
        max_extensions=rules.extensions_allowed(DEFAULT_MAX_EXTENSIONS),
        limit_tally_id=verdict.limit_scope,
        quota_tally_id=verdict.quota_scope,
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
            _terms(row, ask, v) if isinstance(v, Admitted) else v
            for ask, v in zip(asks_by_row[key], verdicts, strict=True)
        ]
    tallies.add({scope: counted[scope] - before[scope] for scope in counted})
    return decided


@dataclass(frozen=True)
class Step:
    """Queries to run in order (SQL, parameters); `last`: the caller needs no rows of them."""

    queries: list[tuple[str, Any]]
    last: bool = False


Steps = Generator[Step, list[list[tuple]], list]


def batch_steps(requests: Sequence, *, now: datetime, idempotency_key: str = "") -> Steps:
    """A stock row's requests (coalescer.HoldRequest, in arrival order) held under their
    product's rules, as SQL steps, whoever runs them (sans-IO: `run` on Django's connection,
    `arun` on the coalescer's): yield a Step, receive its queries' rows.

    1. Read the product's policies and the channels' allocations (no lock).
    2. Lock the sellable stock row, then the tallies the requests count against (making the
       missing ones), in one round trip.
    3. Walk the requests (reservations.admission), then write the admitted ones in one
       statement (locks.RULED_HOLD_SQL), the last step: its rows are not needed, so a runner
       may send it with the commit. The row stays locked for steps 2 and 3 only.
    Return a locks.Hold or a StockdError per request.
    """
    product_id, warehouse_id = requests[0].key
    channels = sorted({request.channel for request in requests})
    read = {"product_id": product_id, "warehouse_id": warehouse_id, "channels": channels}
    policies, allocations = yield Step(
        [(selectors.POLICIES_SQL, read), (selectors.ALLOCATIONS_SQL, read)]
    )
    rules, rooms = (
        selectors.rules_from(policies, channels),
        selectors.rooms_from(allocations, channels),
    )
    asks = [Ask(r.quantity, r.channel, user_id=r.user_id, guest_id=r.guest_id) for r in requests]
    scopes = sorted(admission.scopes(product_id, asks, rules, rooms))
    locking = [(locks.RULED_LOCK_SQL, read)]
    if scopes:
        locking.append((tallies.LOCK_SQL, [scopes]))
    stock, *locked = yield Step(locking)
    if not stock:
        missing = StockNotFound(f"Product {product_id} is not stocked in warehouse {warehouse_id}.")
        return [missing for _ in requests]
    stock_id, available, *shown = stock[0]
    row = admission.Row(
        product_id=product_id,
        warehouse_id=warehouse_id,
        available=available,
        now=now,
        rules=rules,
        rooms=rooms,
    )
    counted = dict(locked[0]) if locked else {}
    outcomes, admitted = [], []
    for request, ask, verdict in zip(
        requests, asks, admission.admit(row, asks, counted), strict=True
    ):
        if isinstance(verdict, StockdError):
            outcomes.append(verdict)
            continue
        terms = _terms(row, ask, verdict)
        hold = locks.Hold.written(
            tuple(shown),
            reservation_id=uuid.uuid4(),
            product_id=product_id,
            warehouse_id=warehouse_id,
            quantity=request.quantity,
            created_at=now,
            expires_at=now + timedelta(seconds=terms.seconds),
            user_id=request.user_id,
            guest_id=request.guest_id,
            channel=terms.channel,
            hold_seconds=terms.seconds,
            max_extensions=terms.max_extensions,
        )
        admitted.append((request, terms, hold))
        outcomes.append(hold)
    if admitted:
        written = _written(admitted, stock_id, now, idempotency_key)
        yield Step([(locks.RULED_HOLD_SQL, written)], last=True)
    return outcomes


def _written(admitted: list[tuple], stock_id: int, now: datetime, idempotency_key: str) -> dict:
    """RULED_HOLD_SQL's parameters: one array per column of the admitted holds."""
    columns = {
        "ids": lambda r, t, h: h.reservation_id,
        "quantities": lambda r, t, h: h.quantity,
        "user_ids": lambda r, t, h: h.user_id,
        "guest_ids": lambda r, t, h: h.guest_id,
        "actors": lambda r, t, h: r.actor,
        "payloads": lambda r, t, h: json.dumps(r.event_payload()),
        "channels": lambda r, t, h: t.channel,
        "expires": lambda r, t, h: h.expires_at,
        "hold_seconds": lambda r, t, h: t.seconds,
        "max_extensions": lambda r, t, h: t.max_extensions,
        "limit_tallies": lambda r, t, h: t.limit_tally_id,
        "quota_tallies": lambda r, t, h: t.quota_tally_id,
    }
    return {
        **{name: [column(*held) for held in admitted] for name, column in columns.items()},
        "stock_id": stock_id,
        "product_id": admitted[0][2].product_id,
        "warehouse_id": admitted[0][2].warehouse_id,
        "now": now,
        "idempotency_key": idempotency_key,
        "pending": Reservation.Status.PENDING,
        "reserved": ReservationEvent.Type.RESERVED,
        "reason": LedgerEntry.Reason.RESERVED,
    }


def run(steps: Steps) -> list:
    """Run SQL steps on Django's connection (the caller's transaction)."""
    with connection.cursor() as cursor:
        try:
            step = next(steps)
            while True:
                results = []
                for sql, params in step.queries:
                    cursor.execute(sql, params)
                    results.append(cursor.fetchall())
                step = steps.send(results)
        except StopIteration as done:
            return done.value


async def arun(steps: Steps, conn) -> list:
    """Run SQL steps on an async psycopg connection in pipeline mode: a step's queries in one
    round trip; the last step's left queued, to go with what follows (the commit)."""
    try:
        step = next(steps)
        while True:
            if step.last:
                for sql, params in step.queries:
                    await conn.execute(sql, params)
                step = steps.send([])
                continue
            async with conn.pipeline():
                cursors = [await conn.execute(sql, params) for sql, params in step.queries]
            step = steps.send([await cursor.fetchall() for cursor in cursors])
    except StopIteration as done:
        return done.value


def hold_batch(requests: Sequence, *, now: datetime | None = None) -> list:
    """Hold a stock row's requests under their product's rules in one transaction on Django's
    connection (batch_steps; SQLite takes the ORM's way); a locks.Hold or a StockdError each."""
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor != "postgresql":
            return _hold_batch_portably(requests, now)
        outcomes = run(
            batch_steps(requests, now=now, idempotency_key=current_idempotency_key() or "")
        )
        held = [
            locks.reserved_event(hold, actor=request.actor)
            for request, hold in zip(requests, outcomes, strict=True)
            if isinstance(hold, locks.Hold)
        ]
        transaction.on_commit(partial(events.announce, held))
    return outcomes


def _hold_batch_portably(requests: Sequence, now: datetime) -> list:
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
        missing = StockNotFound(f"Product {key[0]} is not stocked in warehouse {key[1]}.")
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

"""Holding units of a product that follows sale rules (a window, a per-customer limit,
channel allocations, its own hold terms).

The hold statements in reservations.locks leave such products alone; this path does what they
do with the rules added, in one transaction, as SQL steps (`batch_steps`): read the rules,
lock the stock row and the tallies the requests count against (after the row, in scope
order: reservations.locks), let the pure walk in reservations.admission decide each request
in arrival order, then write the admitted holds, their events, ledger entries and tally
units. The coalescer runs a row's queued requests through the steps on its own connection
(`arun`); a hold inside a caller's transaction (a keyed request, a waitlist promotion) runs
them for one request on Django's (`hold_batch`). Carts and SQLite take the ORM's way
(reservations.services.ruled_orm).
"""

import json
import uuid
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.errors import StockdError
from idempotency.context import current_idempotency_key
from inventory.errors import StockNotFound
from inventory.models import LedgerEntry
from reservations import admission, events, locks
from reservations.admission import Ask
from reservations.models import Reservation, ReservationEvent
from reservations.services import ruled_orm
from sales import selectors, tallies


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
        missing = StockNotFound.of_row(product_id, warehouse_id)
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
        terms = admission.terms_of(row, ask, verdict)
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
            return ruled_orm.hold_batch(requests, now)
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

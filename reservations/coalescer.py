"""Coalesced holds: concurrent holds on one stock row share one statement and one commit.

Every hold on a stock row waits for the previous one's commit, so one row commits at most
about one hold per PostgreSQL transaction time, however many shoppers wait. The coalescer
breaks that ceiling inside each process: while one batch for a row is in the database, the
holds that arrive for the same row queue up, and the next batch takes them all at once in
locks.BATCH_HOLD_SQL, which admits them in arrival order exactly as one by one would. A hold
that arrives while its row is idle runs alone, as the one-hold statement (locks.HOLD_SQL),
so a batch of one costs what a single hold costs.

The coalescer runs on an asyncio event loop with its own small pool of autocommit psycopg
connections (the commit is part of the statement's round trip, never a second one under the
row lock). Under ASGI it uses the server's loop, and async views await it directly; sync
callers (WSGI threads, management commands, tests) hand their hold to a background loop
thread and wait for its answer. Holds inside a caller's transaction (Idempotency-Key
requests, carts, promotions) cannot join a batch, which commits on its own: they run the
one-hold statement on the caller's connection (reservations.services.holds).
"""

import asyncio
import json
import math
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.db import connections
from django.db import utils as db_utils
from django.utils import timezone
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from inventory.locks import StockKey
from inventory.models import LedgerEntry
from reservations import events, locks, metrics
from reservations.models import Reservation, ReservationEvent
from reservations.policy import hold_ttl
from reservations.services import ruled
from reservations.shared_reads import SharedReads
from sales.models import WEB
from warehouses.routing import Location, StockOption

T = TypeVar("T")

# How long a row found following sale rules goes straight to the ruled path; after, its next
# batch tries the hold statement again (which refuses it while rules apply).
RULED_HINT_SECONDS = 5.0


@dataclass(frozen=True)
class HoldRequest:
    """One shopper's hold, as the coalescer queues it."""

    product_id: int
    warehouse_id: int
    quantity: int
    actor: str
    user_id: int | None = None
    guest_id: uuid.UUID | None = None
    payload: dict | None = None
    channel: str = WEB

    @property
    def key(self) -> StockKey:
        return (self.product_id, self.warehouse_id)

    def event_payload(self) -> dict:
        """The RESERVED event's payload: the request's, naming a channel other than the web."""
        payload = self.payload or {}
        return payload if self.channel == WEB else {**payload, "channel": self.channel}


@dataclass(frozen=True)
class Refused:
    """A hold that was not admitted: it did not fit, or the row is missing or not sellable."""


class _Pending:
    """A queued hold and the future its caller awaits."""

    __slots__ = ("request", "future", "reservation_id")

    def __init__(self, request: HoldRequest, future: asyncio.Future) -> None:
        self.request = request
        self.future = future
        self.reservation_id = uuid.uuid4()


def _conninfo() -> dict:
    """Connection parameters of Django's default database (the test database under pytest)."""
    params = connections["default"].get_connection_params()
    keep = ("dbname", "user", "password", "host", "port", "sslmode", "options")
    return {name: value for name, value in params.items() if name in keep and value}


class HoldCoalescer:
    """Batch concurrent holds per stock row; see the module docstring."""

    def __init__(self, *, pool_size: int, max_batch: int, now: Callable[[], datetime]) -> None:
        self._pool_size = pool_size
        self._max_batch = max_batch
        self._now = now
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: asyncio.Future | None = None
        self._queues: dict[StockKey, list[_Pending]] = defaultdict(list)
        self._running: set[StockKey] = set()
        # Per row: units left after the last batch or read; when its due holds were last
        # released before a sold-out answer; the release running now.
        self._left: dict[StockKey, int | None] = {}
        self._swept_at: dict[StockKey, float] = {}
        self._sweeps: dict[StockKey, asyncio.Future] = {}
        # Rows whose product a read found following sale rules, and when: their batches go
        # to the ruled path (a hint only: the hold statements refuse such rows anyway).
        self._ruled: dict[StockKey, float] = {}
        self._available = SharedReads(self._read_available)
        self._options = SharedReads(self._read_options)
        self._bind_lock = threading.Lock()

    # --- entry points ---------------------------------------------------------------------

    def use_running_loop(self) -> None:
        """Adopt the running loop (an ASGI server's, which lives as long as the process)."""
        with self._bind_lock:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()

    def _own_loop(self) -> asyncio.AbstractEventLoop:
        with self._bind_lock:
            if self._loop is None:  # no server loop: WSGI threads, commands, tests
                self._loop = _background_loop()
            return self._loop

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await `coroutine` run on the coalescer's loop, from any loop."""
        loop = self._own_loop()
        if asyncio.get_running_loop() is loop:
            return await coroutine
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))

    def run_blocking(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the coalescer's loop from sync code and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._own_loop()).result()

    # --- on the coalescer's loop ----------------------------------------------------------

    async def hold(self, request: HoldRequest) -> locks.Hold | Refused:
        """Hold units for one shopper; await the answer of the batch it joined."""
        pending = _Pending(request, asyncio.get_running_loop().create_future())
        self._queues[request.key].append(pending)
        if request.key not in self._running:
            self._running.add(request.key)
            asyncio.get_running_loop().create_task(self._drain(request.key))
        return await pending.future

    async def available(self, key: StockKey) -> int | None:
        """Read what a row has available without locking it (None: missing or inactive).

        Askers that arrive together share one read, sent after each asked (SharedReads): a
        sold-out row costs one read per round trip, not one per refusal.
        """
        return await self._available(key)

    async def stock_options(self, product_id: int) -> list[StockOption]:
        """Read where an active product is stocked (active warehouses) and what each has
        available, without locking; shared as `available` is."""
        return await self._options(product_id)

    async def _read_available(self, key: StockKey) -> int | None:
        rows = await self._read(locks.AVAILABLE_SQL, {"product_id": key[0], "warehouse_id": key[1]})
        available, ruled_ = rows[0] if rows else (None, False)
        self._left[key] = available
        if ruled_:
            self._ruled[key] = time.monotonic()
        else:
            self._ruled.pop(key, None)
        return available

    def follows_rules(self, key: StockKey) -> bool:
        """Say whether a read lately found the row's product following sale rules."""
        seen = self._ruled.get(key)
        return seen is not None and time.monotonic() - seen < RULED_HINT_SECONDS

    async def _read_options(self, product_id: int) -> list[StockOption]:
        rows = await self._read(locks.STOCK_OPTIONS_SQL, {"product_id": product_id})
        return [StockOption(w, Location(lat, lng), available) for w, lat, lng, available in rows]

    async def _read(self, sql: str, params: dict) -> list[tuple]:
        """Run a plain read on the pool; a failure is Django's error class, as a batch's is."""
        try:
            pool = await self._open_pool()
            async with pool.connection() as conn:
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall()
        except Exception as error:
            raise _as_django_error(error) from error

    def looks_short(self, request: HoldRequest) -> bool:
        """Say whether the row's last known figure (a batch's or a read's) is below the ask."""
        left = self._left.get(request.key)
        return left is not None and left < request.quantity

    async def sweep_once(self, key: StockKey, sweep: Callable[[StockKey], Awaitable]) -> bool:
        """Run `sweep(key)` unless it ran for this row in the last SOLD_OUT_SWEEP_INTERVAL_MS.

        Concurrent callers share one running sweep. Return whether a sweep ran (or was
        joined), i.e. whether trying the hold again may now succeed.
        """
        running = self._sweeps.get(key)
        if running is None:
            now = time.monotonic()
            if (
                now - self._swept_at.get(key, -math.inf)
                < settings.SOLD_OUT_SWEEP_INTERVAL_MS / 1000
            ):
                return False
            self._swept_at[key] = now
            running = asyncio.ensure_future(sweep(key))
            self._sweeps[key] = running
            running.add_done_callback(lambda _: self._sweeps.pop(key, None))
        await asyncio.shield(running)
        self._left.pop(key, None)
        return True

    def queued(self, key: StockKey) -> int:
        """How many holds for `key` wait for the next batch (not counting the running one)."""
        return len(self._queues.get(key, ()))

    def forget_rows(self) -> None:
        """Forget what is known of rows (figures left, sweep times, rules); queued holds are
        kept."""
        self._left.clear()
        self._swept_at.clear()
        self._ruled.clear()

    async def close(self) -> None:
        """Close the pool (its connections keep the database busy: tests drop it after)."""
        if self._pool is not None:
            pool, self._pool = await self._pool, None
            await pool.close()

    # --- batching -------------------------------------------------------------------------

    async def _drain(self, key: StockKey) -> None:
        """Run batches for `key` until its queue is empty: each takes what queued meanwhile."""
        try:
            while self._queues.get(key):
                queue = self._queues[key]
                batch, self._queues[key] = queue[: self._max_batch], queue[self._max_batch :]
                await self._run(key, batch)
        finally:
            self._running.discard(key)
            self._queues.pop(key, None)

    async def _run(self, key: StockKey, batch: list[_Pending]) -> None:
        """Run one batch; a failing statement fails only this batch's callers."""
        try:
            if self.follows_rules(key):
                outcomes = await self._execute_under_rules(batch)
            else:
                outcomes = await self._execute(key, batch)
        except Exception as error:
            failure = _as_django_error(error)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(failure)
            return
        metrics.observe_coalesced_batch(len(batch))
        events.announce(
            [
                locks.reserved_event(outcome, actor=p.request.actor)
                for p, outcome in zip(batch, outcomes, strict=True)
                if isinstance(outcome, locks.Hold)
            ]
        )
        for pending, outcome in zip(batch, outcomes, strict=True):
            if not pending.future.done():
                pending.future.set_result(outcome)

    async def _execute(self, key: StockKey, batch: list[_Pending]) -> list[locks.Hold | Refused]:
        now = self._now()
        expires_at = now + hold_ttl()
        common = {
            "product_id": key[0],
            "warehouse_id": key[1],
            "now": now,
            "expires_at": expires_at,
            "pending": Reservation.Status.PENDING,
            "reserved": ReservationEvent.Type.RESERVED,
            "reason": LedgerEntry.Reason.RESERVED,
            "hold_seconds": settings.RESERVATION_TTL_SECONDS,
        }
        pool = await self._open_pool()
        async with pool.connection() as conn:
            if len(batch) == 1:
                self._left.pop(key, None)  # unknown until a read or a larger batch tells
                return [await _hold_one(conn, batch[0], common)]
            requests = [p.request for p in batch]
            cursor = await conn.execute(
                locks.BATCH_HOLD_SQL,
                {
                    **common,
                    "ids": [p.reservation_id for p in batch],
                    "quantities": [r.quantity for r in requests],
                    "user_ids": [r.user_id for r in requests],
                    "guest_ids": [r.guest_id for r in requests],
                    "actors": [r.actor for r in requests],
                    "payloads": [json.dumps(r.event_payload()) for r in requests],
                    "channels": [r.channel for r in requests],
                },
            )
            rows = await cursor.fetchall()
        if not rows:  # no such sellable row: nobody is admitted
            self._left[key] = None
            return [Refused() for _ in batch]
        last_admitted, last_left = rows[-1][0], rows[-1][1]
        self._left[key] = last_left - batch[-1].request.quantity if last_admitted else last_left
        return [
            _hold(p, row[2:], now, expires_at) if row[0] else Refused()
            for p, row in zip(batch, rows, strict=True)
        ]

    async def _execute_under_rules(self, batch: list[_Pending]) -> list:
        """A batch of a row whose product follows sale rules: reservations.services.ruled's
        steps, in one transaction on a connection of the pool."""
        steps = ruled.batch_steps([p.request for p in batch], now=self._now())
        pool = await self._open_pool()
        # In a pipeline, BEGIN travels with the first step and COMMIT with the last.
        async with pool.connection() as conn, conn.pipeline(), conn.transaction():
            return await ruled.arun(steps, conn)

    async def _open_pool(self) -> AsyncConnectionPool:
        failed = self._pool is not None and self._pool.done() and self._pool.exception()
        if self._pool is None or failed:  # none yet, or the database was down: try again
            self._pool = asyncio.ensure_future(self._new_pool())
        return await asyncio.shield(self._pool)

    async def _new_pool(self) -> AsyncConnectionPool:
        pool = AsyncConnectionPool(
            kwargs={**_conninfo(), "autocommit": True},
            connection_class=AsyncConnection,
            min_size=1,
            max_size=self._pool_size,
            # A connection the server dropped (restart, failover) is replaced, not used.
            check=self._check_connection,
            open=False,
            name="stockd-holds",
        )
        await pool.open()
        return pool

    async def _check_connection(self, conn: AsyncConnection) -> None:
        """psycopg_pool's check; the first dead connection found replaces every idle one.

        A restart kills them all at once, and met one by one they cost the hold psycopg_pool's
        back-off (1 s, 2 s ...) between them; drained, it waits for one fresh connection (as
        core.serving.postgresql does for Django's pool).
        """
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            if self._pool is not None and self._pool.done() and not self._pool.exception():
                await self._pool.result().drain()
            raise


async def _hold_one(conn: AsyncConnection, pending: _Pending, common: dict):
    """A batch of one: today's one-hold statement, nothing more."""
    request = pending.request
    cursor = await conn.execute(
        locks.HOLD_SQL,
        {
            **common,
            "id": pending.reservation_id,
            "quantity": request.quantity,
            "user_id": request.user_id,
            "guest_id": request.guest_id,
            "actor": request.actor,
            "payload": json.dumps(request.event_payload()),
            "channel": request.channel,
            "request_id": (request.payload or {}).get(events.REQUEST_ID, ""),
            "idempotency_key": "",  # keyed holds run in their request's transaction
        },
    )
    row = await cursor.fetchone()
    if row is None:
        return Refused()  # short or unsellable: the caller reads which
    return _hold(pending, row, common["now"], common["expires_at"])


def _as_django_error(error: Exception) -> Exception:
    """Give a psycopg error Django's class of the same name, as Django's own cursors do, so
    callers handle a batch's failure as any other database error (a 503 when unreachable)."""
    if not isinstance(error, psycopg.Error):
        return error
    for name in _DJANGO_ERRORS:
        if isinstance(error, getattr(psycopg, name)):
            django_error = getattr(db_utils, name)(*error.args)
            django_error.__cause__ = error
            return django_error
    return error


# Most specific first, as django.db.utils.DatabaseErrorWrapper tries them.
_DJANGO_ERRORS = (
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "DatabaseError",
    "InterfaceError",
    "Error",
)


def _hold(pending: _Pending, row, now: datetime, expires_at: datetime) -> locks.Hold:
    request = pending.request
    return locks.Hold.written(
        row,
        reservation_id=pending.reservation_id,
        product_id=request.product_id,
        warehouse_id=request.warehouse_id,
        quantity=request.quantity,
        created_at=now,
        expires_at=expires_at,
        user_id=request.user_id,
        guest_id=request.guest_id,
        channel=request.channel,
        hold_seconds=settings.RESERVATION_TTL_SECONDS,
    )


_coalescer: HoldCoalescer | None = None
_coalescer_pid: int | None = None


def get() -> HoldCoalescer:
    """The process's coalescer (a forked worker makes its own: pools do not survive a fork)."""
    global _coalescer, _coalescer_pid
    if _coalescer is None or _coalescer_pid != os.getpid():
        _coalescer = HoldCoalescer(
            pool_size=settings.HOLD_POOL_SIZE,
            max_batch=settings.HOLD_BATCH_MAX,
            now=timezone.now,
        )
        _coalescer_pid = os.getpid()
    return _coalescer


def _background_loop() -> asyncio.AbstractEventLoop:
    """Start an event loop on a daemon thread of its own, for sync callers."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="stockd-holds", daemon=True).start()
    return loop

"""One poller per process, shared by every open stock stream: the hub.

Open streams cost the database nothing each: the hub reads the stock ledger once per
POLL_SECONDS (storefront.live.feed) and hands every stream the changes it asked for. Its
ORM calls run on one thread of its own, not through `sync_to_async`: Django's ASGI handler
gives each request a thread of its own for sync code, and a stream that queried from there
would keep that thread's database connection for as long as it stays open.

Everything here runs on the event loop's thread except the feed's reads, so the hub's state
needs no lock: a subscriber is added, and the changes a read found are handed out, between
two awaits.
"""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from django.db import connection

from integrations.feed import Cursor
from storefront.live import feed
from storefront.live.feed import StockChange
from storefront.live.preorders import PreorderPlaces
from storefront.live.sales import SaleWindows

logger = logging.getLogger(__name__)
T = TypeVar("T")

POLL_SECONDS = 0.5
ERROR_BACKOFF_SECONDS = 2.0
MAX_CATCH_UP_ENTRIES = 10_000  # a stream resuming from further back catches up on the newest
MAX_QUEUED_BATCHES = 200  # a stream that lags further is ended; its client resumes


class Overflow(Exception):
    """The client read too slowly and its stream fell MAX_QUEUED_BATCHES behind."""


@dataclass(eq=False)
class Subscription:
    """One open stream's place in the hub: what it wants and what waits for it."""

    product_id: int | None
    start: Cursor
    catch_up_until: Cursor | None = None  # read (start, catch_up_until] before the queue
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def wants(self, change: StockChange) -> bool:
        return self.product_id is None or change.product_id == self.product_id


class StockHub:
    """Poll the ledger while any stream is open and fan the changes out to them."""

    def __init__(self, *, poll_seconds: float | None = None) -> None:
        self.poll_seconds = POLL_SECONDS if poll_seconds is None else poll_seconds
        self.cursor: Cursor | None = None  # None while nobody listens
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stock-hub")
        # Products' streams share them.
        self.sale_windows = SaleWindows(self.read)
        self.preorder_places = PreorderPlaces(self.read)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def run_in_db_thread(self, function: Callable[..., T], *args, **kwargs) -> T:
        """Run ORM code on the hub's own thread (one connection for the whole process)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(function, *args, **kwargs))

    async def read(self, function: Callable[..., T], *args) -> T:
        """Run an ORM read on the hub's thread, releasing a pooled connection after it."""
        return await self.run_in_db_thread(_released, function, *args)

    async def latest_position(self) -> Cursor:
        """Return where a new stream starts: the hub's cursor, or past the newest entry."""
        if self.cursor is not None:
            return self.cursor
        return await self.run_in_db_thread(feed.latest_position)

    def subscribe(self, *, start: Cursor, product_id: int | None = None) -> Subscription:
        """Add a stream that has seen the changes up to `start`; start polling if needed.

        A stream behind the hub first catches up on the entries between it and the hub's
        cursor (the newest MAX_CATCH_UP_ENTRIES of them); one ahead gets changes it may have
        seen, which is harmless: a message carries counters, not a delta.
        """
        if self.cursor is None:
            self.cursor = start
        subscription = Subscription(product_id=product_id, start=start)
        if start < self.cursor:
            subscription.catch_up_until = self.cursor
        self._subscribers.add(subscription)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll())
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    async def catch_up(self, subscription: Subscription) -> list[StockChange]:
        """Return what a resuming stream missed before it joined (read once, then cleared)."""
        if subscription.catch_up_until is None:
            return []
        changes = await self.run_in_db_thread(
            feed.read_range,
            after=subscription.start,
            until=subscription.catch_up_until,
            product_id=subscription.product_id,
            limit=MAX_CATCH_UP_ENTRIES,
        )
        subscription.catch_up_until = None
        return changes

    async def poll_once(self) -> bool:
        """Read past the cursor once and hand the changes to every subscriber.

        Return True when the read was a full batch (more entries are waiting).
        """
        assert self.cursor is not None
        read = await self.run_in_db_thread(_read_and_release, self.cursor)
        if self.cursor is None:  # the hub stopped while the read ran
            return False
        self.cursor = read.cursor
        if read.changes:
            self._publish(read.changes)
        return read.full

    async def close(self) -> None:
        """Stop polling, end every stream and close the hub's connection (tests, shutdown)."""
        for subscription in list(self._subscribers):
            subscription.queue.put_nowait(Overflow())
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.cursor = None
        await self.run_in_db_thread(_close_connection)

    def _publish(self, changes: list[StockChange]) -> None:
        for subscription in list(self._subscribers):
            wanted = [change for change in changes if subscription.wants(change)]
            if not wanted:
                continue
            if subscription.queue.qsize() >= MAX_QUEUED_BATCHES:
                self._subscribers.discard(subscription)
                subscription.queue.put_nowait(Overflow())
            else:
                subscription.queue.put_nowait(wanted)

    async def _poll(self) -> None:
        """Poll while anyone listens; then forget the cursor and close the connection."""
        while True:
            if not self._subscribers:
                # No await between this check and clearing _task: a subscriber added later
                # sees no task and starts one.
                self._task = None
                self.cursor = None
                self._executor.submit(_close_connection)
                return
            try:
                full = await self.poll_once()
            except Exception:
                logger.exception("Reading the stock feed failed; retrying.")
                self._executor.submit(_close_connection)
                await asyncio.sleep(ERROR_BACKOFF_SECONDS)
                continue
            if not full:
                await asyncio.sleep(self.poll_seconds)


def _read_and_release(cursor: Cursor) -> feed.FeedRead:
    """Read the feed; hand a pooled connection back so requests can use it meanwhile."""
    return _released(feed.read_changes, cursor)


def _released(function: Callable[..., T], *args) -> T:
    """Run a read; then hand a pooled connection back so requests can use it meanwhile.

    Without a pool the connection stays open between polls (connecting costs more than a poll)
    and is closed when the hub stops.
    """
    try:
        return function(*args)
    finally:
        if connection.settings_dict.get("OPTIONS", {}).get("pool"):
            connection.close()


def _close_connection() -> None:
    connection.close()


_hubs: dict[asyncio.AbstractEventLoop, StockHub] = {}


def hub_for_this_loop() -> StockHub:
    """Return the hub of the running event loop (one per process under an ASGI server)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for stale in [other for other in _hubs if other.is_closed()]:
            _hubs.pop(stale)._executor.shutdown(wait=False)
        hub = _hubs[loop] = StockHub()
    return hub

"""Read stock changes from the stock ledger: the source of `GET /events/stock/`.

Every change to a stock row writes a ledger entry in the same transaction, so "the entries
after position P" is a cursor that any process on any host can poll and resume from, with no
LISTEN/NOTIFY (a transaction that notifies takes a database-wide lock at commit, which would
serialize the reserve hot path). The ledger is read in commit-safe order
(integrations.feed): an entry whose transaction commits late is never passed over, however
late it commits. A position reads `<txid>-<entry id>`; the stream's SSE ids are positions.

A read is one indexed query: each entry carries the row's states after it, so a message
carries a row's counters as they were after its latest entry the read found, not a delta;
reading a change twice is harmless, and several entries on one row become one message.

These functions are synchronous ORM code: the hub runs them on its own thread.
"""

from dataclasses import dataclass
from typing import Any

from integrations import feed
from integrations.feed import Cursor, Entry

BATCH_SIZE = 1000  # entries per read; a full batch is read again at once


@dataclass(frozen=True)
class StockChange:
    """A stock row's counters after the latest entry on it that a read found."""

    product_id: int
    warehouse_id: int
    total_stock: int
    reserved_stock: int
    available: int
    position: Cursor  # just past that entry

    def as_message(self) -> dict[str, Any]:
        """Return the stream's JSON body: ids as strings, like the rest of the API."""
        return {
            "productId": str(self.product_id),
            "warehouseId": str(self.warehouse_id),
            "totalStock": self.total_stock,
            "reservedStock": self.reserved_stock,
            "available": self.available,
            "eventId": str(self.position),
        }


@dataclass(frozen=True)
class FeedRead:
    changes: list[StockChange]
    cursor: Cursor
    full: bool  # the batch was full: more entries are waiting


def latest_position() -> Cursor:
    """Return where a new stream starts: past the newest committed entry."""
    return feed.newest()


def read_changes(cursor: Cursor, *, limit: int = BATCH_SIZE) -> FeedRead:
    """Read the committed entries past `cursor`; return the rows they touched and the cursor
    past them."""
    entries, next_cursor = feed.read(cursor, limit=limit)
    return FeedRead(_changes(entries), next_cursor, full=len(entries) == limit)


def read_range(
    *, after: Cursor, until: Cursor, product_id: int | None = None, limit: int
) -> list[StockChange]:
    """Return the rows the newest `limit` entries in (after, until] touched: a resuming
    stream's catch-up."""
    return _changes(feed.read_between(after, until, product_id=product_id, limit=limit))


def _changes(entries: list[Entry]) -> list[StockChange]:
    """One message per row: its states after its last entry (by sequence), at the position
    of its furthest entry; messages in position order."""
    latest: dict[tuple[int, int], Entry] = {}
    furthest: dict[tuple[int, int], Cursor] = {}
    for entry in entries:
        key = (entry.product_id, entry.warehouse_id)
        if key not in latest or entry.sequence > latest[key].sequence:
            latest[key] = entry
        furthest[key] = max(entry.position, furthest.get(key, entry.position))
    changes = [
        StockChange(
            product_id=entry.product_id,
            warehouse_id=entry.warehouse_id,
            total_stock=entry.after[0],
            reserved_stock=entry.after[1],
            available=entry.available_after,
            position=furthest[key],
        )
        for key, entry in latest.items()
    ]
    return sorted(changes, key=lambda change: change.position)

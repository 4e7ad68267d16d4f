"""Follow the stock ledger in commit-safe order: the source of outbound events.

Ledger ids are drawn when a transaction inserts, not when it commits, so "the entries after
id N" can miss an entry with a lower id that commits later. On PostgreSQL each entry also
records its transaction's id (`txid`, migration inventory 0007), and a reader takes only
entries of transactions older than every transaction still running (`txid` below the xmin
of its snapshot): those are final, and every entry still to come has a larger txid. Read in
(txid, id) order, a cursor never passes an entry that is yet to commit; a long transaction
delays the feed, it never loses an entry. On SQLite writers commit one at a time, so id order
is commit order.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from inventory.models import STATES, Inventory, LedgerEntry

_LEDGER, _STOCK = LedgerEntry._meta.db_table, Inventory._meta.db_table
_COLUMNS = ", ".join(
    [
        "l.id", "i.product_id", "i.warehouse_id", "i.low_stock_threshold", "l.sequence",
        "l.reason", "l.reference", "l.created_at",
    ]
    + [f"l.{state}" for state in STATES]
    + [f"l.{state}_after" for state in STATES]
)  # fmt: skip
_READ_SQL = f"""
SELECT l.txid::text::bigint, {_COLUMNS}
  FROM {_LEDGER} AS l JOIN {_STOCK} AS i ON i.id = l.stock_id
 WHERE (l.txid, l.id) > (%s::text::xid8, %s)
   AND l.txid < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY l.txid, l.id
 LIMIT %s
"""
_READ_BY_ID_SQL = f"""
SELECT 0, {_COLUMNS}
  FROM {_LEDGER} AS l JOIN {_STOCK} AS i ON i.id = l.stock_id
 WHERE l.id > %s
 ORDER BY l.id
 LIMIT %s
"""


@dataclass(frozen=True)
class Cursor:
    """Where a reader of the ledger is: past the entry `entry_id` of transaction `txid`."""

    txid: int = 0
    entry_id: int = 0


@dataclass(frozen=True)
class Entry:
    """A committed ledger entry, with its stock row's product, warehouse and threshold."""

    id: int
    product_id: int
    warehouse_id: int
    threshold: int | None
    sequence: int
    reason: str
    reference: str
    created_at: datetime
    deltas: tuple[int, ...]  # STATES order
    after: tuple[int, ...]  # STATES order

    @property
    def available_after(self) -> int:
        on_hand, held, safety, unsellable, _ = self.after
        return on_hand - held - safety - unsellable

    @property
    def available_before(self) -> int:
        on_hand, held, safety, unsellable, _ = self.deltas
        return self.available_after - (on_hand - held - safety - unsellable)


def read(cursor: Cursor, *, limit: int) -> tuple[list[Entry], Cursor]:
    """Up to `limit` committed entries past `cursor`, in commit-safe order, and the cursor
    past them (the same one when nothing is new)."""
    with connection.cursor() as db:
        if connection.vendor == "postgresql":
            db.execute(_READ_SQL, [str(cursor.txid), cursor.entry_id, limit])
        else:
            db.execute(_READ_BY_ID_SQL, [cursor.entry_id, limit])
        rows = db.fetchall()
    entries = [_entry(row[1:]) for row in rows]
    if not rows:
        return [], cursor
    return entries, Cursor(txid=rows[-1][0], entry_id=rows[-1][1])


def _entry(row: tuple) -> Entry:
    n = len(STATES)
    fixed, deltas, after = row[:8], row[8 : 8 + n], row[8 + n :]
    return Entry(*fixed, deltas=tuple(deltas), after=tuple(after))

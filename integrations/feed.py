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

from inventory.models import STATES, Inventory, LedgerEntry, available_of

_LEDGER, _STOCK = LedgerEntry._meta.db_table, Inventory._meta.db_table
_COLUMNS = ", ".join(
    [
        "l.id", "i.product_id", "i.warehouse_id", "i.low_stock_threshold", "l.sequence",
        "l.reason", "l.reference", "l.created_at",
    ]
    + [f"l.{state}" for state in STATES]
    + [f"l.{state}_after" for state in STATES]
)  # fmt: skip
# PostgreSQL: entries of transactions older than every running one, in (txid, id) order.
_FINAL = "l.txid < pg_snapshot_xmin(pg_current_snapshot())"
_READ_SQL = f"""
SELECT l.txid::text::bigint, {_COLUMNS}
  FROM {_LEDGER} AS l JOIN {_STOCK} AS i ON i.id = l.stock_id
 WHERE (l.txid, l.id) > (%s::text::xid8, %s) AND {_FINAL}
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
_BETWEEN_SQL = f"""
SELECT l.txid::text::bigint, {_COLUMNS}
  FROM {_LEDGER} AS l JOIN {_STOCK} AS i ON i.id = l.stock_id
 WHERE (l.txid, l.id) > (%s::text::xid8, %s) AND (l.txid, l.id) <= (%s::text::xid8, %s)
   AND (%s::bigint IS NULL OR i.product_id = %s)
 ORDER BY l.txid DESC, l.id DESC
 LIMIT %s
"""
_BETWEEN_BY_ID_SQL = f"""
SELECT 0, {_COLUMNS}
  FROM {_LEDGER} AS l JOIN {_STOCK} AS i ON i.id = l.stock_id
 WHERE l.id > %s AND l.id <= %s AND (%s IS NULL OR i.product_id = %s)
 ORDER BY l.id DESC
 LIMIT %s
"""
_NEWEST_SQL = f"""
SELECT l.txid::text::bigint, l.id FROM {_LEDGER} AS l
 WHERE {_FINAL} ORDER BY l.txid DESC, l.id DESC LIMIT 1
"""


MAX_POSITION = 2**63 - 1  # transaction and entry ids both fit a signed 64-bit integer


@dataclass(frozen=True, order=True)
class Cursor:
    """Where a reader of the ledger is: past the entry `entry_id` of transaction `txid`.

    Cursors compare in the feed's order; as text they read `<txid>-<entry_id>`.
    """

    txid: int = 0
    entry_id: int = 0

    def __str__(self) -> str:
        return f"{self.txid}-{self.entry_id}"

    @classmethod
    def parse(cls, text: str) -> "Cursor | None":
        """The cursor `text` names, or None if it names none."""
        txid, dash, entry_id = text.strip().partition("-")
        numbers = (txid, entry_id)
        if not dash or not all(n.isascii() and n.isdigit() and len(n) <= 19 for n in numbers):
            return None
        if max(int(txid), int(entry_id)) > MAX_POSITION:
            return None
        return cls(txid=int(txid), entry_id=int(entry_id))


@dataclass(frozen=True)
class Entry:
    """A committed ledger entry, with its stock row's product, warehouse and threshold."""

    id: int
    txid: int
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
    def position(self) -> Cursor:
        """The cursor just past this entry."""
        return Cursor(txid=self.txid, entry_id=self.id)

    @property
    def available_after(self) -> int:
        return available_of(*self.after)

    @property
    def available_before(self) -> int:
        return self.available_after - available_of(*self.deltas)


def read(cursor: Cursor, *, limit: int) -> tuple[list[Entry], Cursor]:
    """Up to `limit` committed entries past `cursor`, in commit-safe order, and the cursor
    past them (the same one when nothing is new)."""
    with connection.cursor() as db:
        if connection.vendor == "postgresql":
            db.execute(_READ_SQL, [str(cursor.txid), cursor.entry_id, limit])
        else:
            db.execute(_READ_BY_ID_SQL, [cursor.entry_id, limit])
        rows = db.fetchall()
    entries = [_entry(row) for row in rows]
    return entries, (entries[-1].position if entries else cursor)


def read_between(
    after: Cursor, until: Cursor, *, product_id: int | None = None, limit: int
) -> list[Entry]:
    """The newest `limit` entries past `after` up to `until` (of one product's rows, or all),
    in feed order: what a reader that stopped at `after` missed (all of them committed)."""
    with connection.cursor() as db:
        if connection.vendor == "postgresql":
            db.execute(
                _BETWEEN_SQL,
                [str(after.txid), after.entry_id, str(until.txid), until.entry_id,
                 product_id, product_id, limit],
            )  # fmt: skip
        else:
            db.execute(
                _BETWEEN_BY_ID_SQL, [after.entry_id, until.entry_id, product_id, product_id, limit]
            )
        rows = db.fetchall()
    return [_entry(row) for row in reversed(rows)]


def newest() -> Cursor:
    """The cursor past the newest committed entry: a new reader starts there."""
    with connection.cursor() as db:
        if connection.vendor == "postgresql":
            db.execute(_NEWEST_SQL)
        else:
            db.execute(f"SELECT 0, MAX(id) FROM {_LEDGER}")
        row = db.fetchone()
    return Cursor(txid=row[0], entry_id=row[1] or 0) if row else Cursor()


def _entry(row: tuple) -> Entry:
    n = len(STATES)
    fixed, deltas, after = row[:9], row[9 : 9 + n], row[9 + n :]
    txid, entry_id, *rest = fixed
    return Entry(entry_id, txid, *rest, deltas=tuple(deltas), after=tuple(after))

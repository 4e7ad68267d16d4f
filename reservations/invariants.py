"""SQL checks of stockd's invariants over the whole database.

1. Never oversold: every quantity state >= 0 and available (on hand less held, safety and
   unsellable) >= 0 on every inventory row.
2. reserved_stock equals the sum of that row's PENDING reservations.
4. A reservation leaves PENDING at most once, with exactly one event for the exit
   (CONFIRMED, RELEASED or EXPIRED), and exactly one RESERVED event for its creation.
5. Replaying a row's ledger from zero gives its counters exactly: its entries are numbered
   1 .. version without gaps, and their deltas sum to each quantity state.
6. Every tally (a customer's limit, a channel's quota in a sale window) equals the units of
   the PENDING and CONFIRMED holds counted in it: no limit or quota is ever passed unseen.
7. Every row's preorder places taken (PreorderTerms.placed) equal the units of its
   confirmed preorders not served yet: no preorder limit is ever passed unseen.

Not checked here: that total_stock is the row's opening stock less its CONFIRMED units (plus
adjustments). No row records its opening stock (creating a row logs no event), and event ids
do not order a confirmation against an adjustment (a confirm logs before it takes the row),
so SQL cannot tell a right total from a drifted one. Tests that set the opening stock check
it themselves (tests/test_lock_order.py, assert_books_balance).
"""

from dataclasses import dataclass

from django.db import connection

from inventory.locks import COLUMNS
from inventory.models import STATES, Inventory, LedgerEntry, PreorderTerms
from reservations.models import Reservation, ReservationEvent
from sales.models import Tally

# Table names and status values come from the models, so a rename cannot silently break a check.
_STOCK = Inventory._meta.db_table
_HOLDS = Reservation._meta.db_table
_EVENTS = ReservationEvent._meta.db_table
_LEDGER = LedgerEntry._meta.db_table
_PENDING = Reservation.Status.PENDING.value
_CONFIRMED = Reservation.Status.CONFIRMED.value
_RELEASED = Reservation.Status.RELEASED.value
_EXPIRED = Reservation.ReleaseReason.EXPIRED.value
_TALLIES = Tally._meta.db_table
_PREORDER_TERMS = PreorderTerms._meta.db_table
_PREORDER = Reservation.Kind.PREORDER.value
_Type = ReservationEvent.Type
_EXITS = f"'{_Type.CONFIRMED.value}', '{_Type.RELEASED.value}', '{_Type.EXPIRED.value}'"


@dataclass(frozen=True)
class Violation:
    invariant: int
    subject: str  # the row that breaks it, e.g. "inventory 12" or "reservation <uuid>"
    detail: str
    inventory_id: int | None = None  # set for drifted counters, which --repair can mend


_STOCK_BOUNDS_SQL = f"""
SELECT id, product_id, warehouse_id, total_stock, reserved_stock, safety_stock,
       unsellable_stock, incoming_stock
  FROM {_STOCK}
 WHERE LEAST(total_stock, reserved_stock, safety_stock, unsellable_stock, incoming_stock) < 0
    OR reserved_stock + safety_stock + unsellable_stock > total_stock
 ORDER BY id
"""

_RESERVED_DRIFT_SQL = f"""
SELECT i.id, i.product_id, i.warehouse_id, i.reserved_stock, COALESCE(p.pending, 0)
  FROM {_STOCK} AS i
  LEFT JOIN (SELECT product_id, warehouse_id, SUM(quantity) AS pending
               FROM {_HOLDS}
              WHERE status = '{_PENDING}'
              GROUP BY product_id, warehouse_id) AS p
         ON p.product_id = i.product_id AND p.warehouse_id = i.warehouse_id
 WHERE i.reserved_stock <> COALESCE(p.pending, 0)
 ORDER BY i.id
"""

_ORPHAN_HOLDS_SQL = f"""
SELECT r.id, r.product_id, r.warehouse_id
  FROM {_HOLDS} AS r
  LEFT JOIN {_STOCK} AS i
         ON i.product_id = r.product_id AND i.warehouse_id = r.warehouse_id
 WHERE r.status = '{_PENDING}' AND i.id IS NULL
"""

_LIFECYCLE_SQL = f"""
SELECT r.id, r.status, r.release_reason,
       COUNT(e.id) FILTER (WHERE e.type = '{_Type.RESERVED.value}') AS created,
       COUNT(e.id) FILTER (WHERE e.type IN ({_EXITS})) AS exits,
       COUNT(e.id) FILTER (WHERE e.type = '{_Type.CONFIRMED.value}') AS confirmations,
       COUNT(e.id) FILTER (WHERE e.type = '{_Type.EXPIRED.value}') AS expiries
  FROM {_HOLDS} AS r
  LEFT JOIN {_EVENTS} AS e ON e.reservation_id = r.id
 GROUP BY r.id, r.status, r.release_reason
HAVING COUNT(e.id) FILTER (WHERE e.type = '{_Type.RESERVED.value}') <> 1
    OR (r.status = '{_PENDING}'
        AND COUNT(e.id) FILTER (WHERE e.type IN ({_EXITS})) <> 0)
    OR (r.status <> '{_PENDING}'
        AND COUNT(e.id) FILTER (WHERE e.type IN ({_EXITS})) <> 1)
    OR (r.status = '{_CONFIRMED}'
        AND COUNT(e.id) FILTER (WHERE e.type = '{_Type.CONFIRMED.value}') <> 1)
    OR (r.status = '{_RELEASED}'
        AND (r.release_reason = '{_EXPIRED}')
            <> (COUNT(e.id) FILTER (WHERE e.type = '{_Type.EXPIRED.value}') = 1))
"""

_SUMS = ", ".join(f"SUM({state}) AS {state}" for state in STATES)
_LEDGER_REPLAY_SQL = f"""
SELECT i.id, i.product_id, i.warehouse_id, i.version, {", ".join(f"i.{c}" for c in COLUMNS)},
       COALESCE(l.entries, 0), COALESCE(l.last, 0),
       {", ".join(f"COALESCE(l.{state}, 0)" for state in STATES)}
  FROM {_STOCK} AS i
  LEFT JOIN (SELECT stock_id, COUNT(*) AS entries, MAX(sequence) AS last, {_SUMS}
               FROM {_LEDGER} GROUP BY stock_id) AS l
         ON l.stock_id = i.id
 WHERE (i.version, i.version, {", ".join(f"i.{c}" for c in COLUMNS)})
       IS DISTINCT FROM (COALESCE(l.entries, 0), COALESCE(l.last, 0),
                         {", ".join(f"COALESCE(l.{state}, 0)" for state in STATES)})
 ORDER BY i.id
"""


def _replay_detail(row: tuple) -> str:
    """Say how a row's counters differ from its ledger's replay."""
    product, warehouse, version, *figures = row
    counters, (entries, last), replayed = figures[:5], figures[5:7], figures[7:]
    differences = [
        f"{state} {counter} but the ledger sums to {sum_}"
        for state, counter, sum_ in zip(STATES, counters, replayed, strict=True)
        if counter != sum_
    ]
    if not entries == last == version:
        differences.append(f"version {version} but {entries} entries numbered up to {last}")
    return f"product {product} @ warehouse {warehouse}: " + "; ".join(differences)


_TALLY_DRIFT_SQL = f"""
SELECT scope, COALESCE(t.units, 0), COALESCE(h.units, 0)
  FROM {_TALLIES} AS t
  FULL JOIN (SELECT scope, SUM(quantity) AS units
               FROM (SELECT limit_tally_id AS scope, quantity FROM {_HOLDS}
                      WHERE status IN ('{_PENDING}', '{_CONFIRMED}')
                        AND limit_tally_id IS NOT NULL
                     UNION ALL
                     SELECT quota_tally_id, quantity FROM {_HOLDS}
                      WHERE status IN ('{_PENDING}', '{_CONFIRMED}')
                        AND quota_tally_id IS NOT NULL) AS counted
              GROUP BY scope) AS h USING (scope)
 WHERE COALESCE(t.units, 0) <> COALESCE(h.units, 0)
 ORDER BY scope
"""


_PREORDER_DRIFT_SQL = f"""
SELECT i.id, i.product_id, i.warehouse_id, COALESCE(t.placed, 0), COALESCE(p.open, 0)
  FROM {_STOCK} AS i
  LEFT JOIN {_PREORDER_TERMS} AS t ON t.stock_id = i.id
  LEFT JOIN (SELECT product_id, warehouse_id, SUM(quantity - served) AS open
               FROM {_HOLDS}
              WHERE kind = '{_PREORDER}' AND status = '{_CONFIRMED}'
              GROUP BY product_id, warehouse_id) AS p
         ON p.product_id = i.product_id AND p.warehouse_id = i.warehouse_id
 WHERE COALESCE(t.placed, 0) <> COALESCE(p.open, 0)
 ORDER BY i.id
"""


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def find_violations() -> list[Violation]:
    """Return every row that breaks invariant 1, 2, 4, 5, 6 or 7; an empty list when all hold."""
    violations = [
        Violation(
            1,
            f"inventory {row_id}",
            f"product {product} @ warehouse {warehouse}: total {total}, reserved {reserved}, "
            f"safety {safety}, unsellable {unsellable}, incoming {incoming}",
        )
        for row_id, product, warehouse, total, reserved, safety, unsellable, incoming in _rows(
            _STOCK_BOUNDS_SQL
        )
    ]
    violations += [
        Violation(
            2,
            f"inventory {row_id}",
            f"product {product} @ warehouse {warehouse}: reserved_stock {reserved} but "
            f"PENDING holds sum to {pending}",
            inventory_id=row_id,
        )
        for row_id, product, warehouse, reserved, pending in _rows(_RESERVED_DRIFT_SQL)
    ]
    violations += [
        Violation(
            2,
            f"reservation {reservation_id}",
            f"PENDING hold on product {product} @ warehouse {warehouse}, which has no stock row",
        )
        for reservation_id, product, warehouse in _rows(_ORPHAN_HOLDS_SQL)
    ]
    violations += [
        Violation(
            4,
            f"reservation {reservation_id}",
            f"status {status_} ({reason or '-'}) with {created} RESERVED, {exits} exit "
            f"({confirmations} CONFIRMED, {expiries} EXPIRED) event(s)",
        )
        for reservation_id, status_, reason, created, exits, confirmations, expiries in _rows(
            _LIFECYCLE_SQL
        )
    ]
    violations += [
        Violation(5, f"inventory {row[0]}", _replay_detail(row[1:]))
        for row in _rows(_LEDGER_REPLAY_SQL)
    ]
    violations += [
        Violation(6, f"tally {scope}", f"counts {units} unit(s) but its holds sum to {held}")
        for scope, units, held in _rows(_TALLY_DRIFT_SQL)
    ]
    violations += [
        Violation(
            7,
            f"inventory {row_id}",
            f"product {product} @ warehouse {warehouse}: {placed} preorder unit(s) placed but "
            f"its open preorders await {awaiting}",
        )
        for row_id, product, warehouse, placed, awaiting in _rows(_PREORDER_DRIFT_SQL)
    ]
    return violations

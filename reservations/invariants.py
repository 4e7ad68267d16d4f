"""SQL checks of stockd's invariants over the whole database.

1. Never oversold: 0 <= reserved_stock <= total_stock on every inventory row.
2. reserved_stock equals the sum of that row's PENDING reservations.
4. A reservation leaves PENDING at most once, with exactly one event for the exit
   (CONFIRMED, RELEASED or EXPIRED), and exactly one RESERVED event for its creation.
"""

from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Violation:
    invariant: int
    subject: str  # the row that breaks it, e.g. "inventory 12" or "reservation <uuid>"
    detail: str
    inventory_id: int | None = None  # set for drifted counters, which --repair can mend


_STOCK_BOUNDS_SQL = """
SELECT id, product_id, warehouse_id, total_stock, reserved_stock
  FROM inventory_inventory
 WHERE total_stock < 0 OR reserved_stock < 0 OR reserved_stock > total_stock
 ORDER BY id
"""

_RESERVED_DRIFT_SQL = """
SELECT i.id, i.product_id, i.warehouse_id, i.reserved_stock, COALESCE(p.pending, 0)
  FROM inventory_inventory AS i
  LEFT JOIN (SELECT product_id, warehouse_id, SUM(quantity) AS pending
               FROM reservations_reservation
              WHERE status = 'PENDING'
              GROUP BY product_id, warehouse_id) AS p
         ON p.product_id = i.product_id AND p.warehouse_id = i.warehouse_id
 WHERE i.reserved_stock <> COALESCE(p.pending, 0)
 ORDER BY i.id
"""

_ORPHAN_HOLDS_SQL = """
SELECT r.id, r.product_id, r.warehouse_id
  FROM reservations_reservation AS r
  LEFT JOIN inventory_inventory AS i
         ON i.product_id = r.product_id AND i.warehouse_id = r.warehouse_id
 WHERE r.status = 'PENDING' AND i.id IS NULL
"""

_LIFECYCLE_SQL = """
SELECT r.id, r.status, r.release_reason,
       COUNT(e.id) FILTER (WHERE e.type = 'RESERVED') AS created,
       COUNT(e.id) FILTER (WHERE e.type IN ('CONFIRMED', 'RELEASED', 'EXPIRED')) AS exits,
       COUNT(e.id) FILTER (WHERE e.type = 'CONFIRMED') AS confirmations,
       COUNT(e.id) FILTER (WHERE e.type = 'EXPIRED') AS expiries
  FROM reservations_reservation AS r
  LEFT JOIN reservations_reservationevent AS e ON e.reservation_id = r.id
 GROUP BY r.id, r.status, r.release_reason
HAVING COUNT(e.id) FILTER (WHERE e.type = 'RESERVED') <> 1
    OR (r.status = 'PENDING'
        AND COUNT(e.id) FILTER (WHERE e.type IN ('CONFIRMED', 'RELEASED', 'EXPIRED')) <> 0)
    OR (r.status <> 'PENDING'
        AND COUNT(e.id) FILTER (WHERE e.type IN ('CONFIRMED', 'RELEASED', 'EXPIRED')) <> 1)
    OR (r.status = 'CONFIRMED' AND COUNT(e.id) FILTER (WHERE e.type = 'CONFIRMED') <> 1)
    OR (r.status = 'RELEASED'
        AND (r.release_reason = 'EXPIRED')
            <> (COUNT(e.id) FILTER (WHERE e.type = 'EXPIRED') = 1))
"""


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def find_violations() -> list[Violation]:
    """Return every row that breaks invariant 1, 2 or 4; an empty list when all hold."""
    violations = [
        Violation(
            1,
            f"inventory {row_id}",
            f"product {product} @ warehouse {warehouse}: total {total}, reserved {reserved}",
        )
        for row_id, product, warehouse, total, reserved in _rows(_STOCK_BOUNDS_SQL)
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
    return violations

"""One unit added to one state of a stock row, with its ledger entry, in one statement, as a
transaction of a client of its own writes it (what inventory.locks.apply does)."""

from inventory.models import STATES


def one_unit_sql(column: str, state: str, reason: str) -> str:
    """SQL taking a stock row id: add 1 to `column` (its ledger `state`) for `reason`."""
    deltas = ", ".join("1" if s == state else "0" for s in STATES)
    return f"""
WITH changed AS (
    UPDATE inventory_inventory SET {column} = {column} + 1, version = version + 1
     WHERE id = %s
 RETURNING id, version, total_stock, reserved_stock, safety_stock, unsellable_stock,
           incoming_stock
)
INSERT INTO inventory_ledgerentry
       (stock_id, sequence, reason, actor, reference, request_id, idempotency_key, created_at,
        on_hand, held, safety, unsellable, incoming, on_hand_after, held_after, safety_after,
        unsellable_after, incoming_after)
SELECT id, version, '{reason}', 'test', '', '', '', now(),
       {deltas},
       total_stock, reserved_stock, safety_stock, unsellable_stock, incoming_stock
  FROM changed
"""

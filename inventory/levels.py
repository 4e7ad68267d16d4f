"""A stock row's level as integrations read it: every quantity state, what shoppers may hold
and the row's version (its last ledger entry's sequence number)."""

from inventory.models import Inventory


def level_of(row: Inventory) -> dict:
    """{productId, warehouseId, onHand, held, safety, unsellable, incoming, available,
    version}: the body of GET /api/stock/levels, and the `level` of a refused write."""
    return {
        "productId": str(row.product_id),
        "warehouseId": str(row.warehouse_id),
        "onHand": row.total_stock,
        "held": row.reserved_stock,
        "safety": row.safety_stock,
        "unsellable": row.unsellable_stock,
        "incoming": row.incoming_stock,
        "available": row.available,
        "version": row.version,
    }

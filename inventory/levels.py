"""A stock row's level as integrations read it: every quantity state, what shoppers may hold
and the row's version (its last ledger entry's sequence number). The stock API, a refused
stock write's `level` and an outbound stock event's `data` all have this shape."""

from collections.abc import Sequence

from inventory.models import STATES, Inventory, available_of

# The API's name of each state (STATES order).
API_NAMES = dict(zip(STATES, ("onHand", "held", "safety", "unsellable", "incoming"), strict=True))


def level(*, product_id: int, warehouse_id: int, states: Sequence[int], version: int) -> dict:
    """{productId, warehouseId, onHand, held, safety, unsellable, incoming, available,
    version} of a row in `states` (STATES order) at `version`."""
    return {
        "productId": str(product_id),
        "warehouseId": str(warehouse_id),
        **{API_NAMES[state]: value for state, value in zip(STATES, states, strict=True)},
        "available": available_of(*states),
        "version": version,
    }


def level_of(row: Inventory) -> dict:
    """A row's level now: the body of GET /api/stock/levels, and the `level` of a refused
    write."""
    states = (
        row.total_stock,
        row.reserved_stock,
        row.safety_stock,
        row.unsellable_stock,
        row.incoming_stock,
    )
    return level(
        product_id=row.product_id, warehouse_id=row.warehouse_id, states=states, version=row.version
    )

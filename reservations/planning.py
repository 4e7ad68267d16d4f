"""Pure planners for carts: which warehouses hold each line. No database access here.

The cart service locks the stock rows, asks `plan_cart` with the locked figures, and writes
the plan, or nothing if a line is short.
"""

from dataclasses import dataclass

from warehouses.routing import (
    Allocation,
    Location,
    StockOption,
    choose_warehouse,
    distance_km,
    plan_split,
    total_available,
)


@dataclass(frozen=True)
class CartLine:
    """One line of a cart: a warehouse of the shopper's choosing, or None to route it."""

    product_id: int
    warehouse_id: int | None
    quantity: int


@dataclass(frozen=True)
class PlannedHold:
    product_id: int
    warehouse_id: int
    quantity: int
    distance_km: float | None  # set for routed lines when the shopper's location is known


@dataclass(frozen=True)
class ShortLine:
    """The first line the cart cannot cover, and how many units it could have."""

    product_id: int
    warehouse_id: int | None
    available: int


def merge_lines(lines: list[CartLine]) -> list[CartLine]:
    """Merge lines for the same product and warehouse (or both routed), keeping first order."""
    merged: dict[tuple[int, int | None], int] = {}
    for line in lines:
        key = (line.product_id, line.warehouse_id)
        merged[key] = merged.get(key, 0) + line.quantity
    return [CartLine(p, w, quantity) for (p, w), quantity in merged.items()]


def _allocate(
    line: CartLine, options: list[StockOption], origin: Location | None, allow_split: bool
) -> list[Allocation] | ShortLine:
    if line.warehouse_id is not None:
        return _allocate_pinned(line, options, origin, allow_split)
    choice = choose_warehouse(options, line.quantity, origin)
    if choice is not None:
        return [Allocation(choice.warehouse_id, line.quantity)]
    split = plan_split(options, line.quantity, origin) if allow_split else None
    if split is None:
        return ShortLine(line.product_id, None, total_available(options))
    return split


def _allocate_pinned(
    line: CartLine, options: list[StockOption], origin: Location | None, allow_split: bool
) -> list[Allocation] | ShortLine:
    """A line the shopper tied to a warehouse: all of it there, or with `allow_split` what
    that warehouse has and the rest from the others, nearest to the shopper (or to it) first."""
    pinned = [o for o in options if o.warehouse_id == line.warehouse_id]
    available = total_available(pinned)
    if available >= line.quantity:
        return [Allocation(line.warehouse_id, line.quantity)]
    if not allow_split:
        return ShortLine(line.product_id, line.warehouse_id, available)
    others = [o for o in options if o.warehouse_id != line.warehouse_id]
    near = origin or (pinned[0].location if pinned else None)
    rest = plan_split(others, line.quantity - available, near)
    if rest is None:
        return ShortLine(line.product_id, line.warehouse_id, total_available(options))
    return ([Allocation(line.warehouse_id, available)] if available else []) + rest


def plan_cart(
    lines: list[CartLine],
    stock: dict[int, list[StockOption]],
    *,
    origin: Location | None,
    allow_split: bool,
) -> list[PlannedHold] | ShortLine:
    """Plan every line against `stock` (options per product), or name the first short line.

    Lines are planned in order and each one's holds count against the next ones, so two
    lines of one product never promise the same units twice.
    """
    remaining = {
        (product_id, option.warehouse_id): option.available
        for product_id, options in stock.items()
        for option in options
    }
    locations = {
        (product_id, option.warehouse_id): option.location
        for product_id, options in stock.items()
        for option in options
    }
    planned: list[PlannedHold] = []
    for line in lines:
        options = [
            StockOption(o.warehouse_id, o.location, remaining[(line.product_id, o.warehouse_id)])
            for o in stock.get(line.product_id, [])
        ]
        allocations = _allocate(line, options, origin, allow_split)
        if isinstance(allocations, ShortLine):
            return allocations
        for allocation in allocations:
            key = (line.product_id, allocation.warehouse_id)
            remaining[key] -= allocation.quantity
            routed = line.warehouse_id is None and origin is not None
            planned.append(
                PlannedHold(
                    product_id=line.product_id,
                    warehouse_id=allocation.warehouse_id,
                    quantity=allocation.quantity,
                    distance_km=distance_km(origin, locations[key]) if routed else None,
                )
            )
    return planned

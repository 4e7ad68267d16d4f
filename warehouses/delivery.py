"""Delivery options from warehouses to a shopper: distance, shipping cost and time (pure).

Shipping goes by great-circle distance: under 100 km free and next day; under 300 km ₹29 in
2 days; under 700 km ₹49 in 3-4 days; under 1,500 km ₹79 in 5-6 days; beyond, ₹99 in 6-8
days. The nearest warehouse that has the units is recommended.
"""

from dataclasses import dataclass

from warehouses.routing import Location, StockOption, distance_km


@dataclass(frozen=True)
class Shipping:
    cost: int  # rupees
    days: int  # at the most
    label: str


# (distance below which the tier applies, what it costs and takes); the last tier has no bound.
_TIERS: list[tuple[float, Shipping]] = [
    (100, Shipping(0, 1, "Next day")),
    (300, Shipping(29, 2, "2 days")),
    (700, Shipping(49, 4, "3-4 days")),
    (1500, Shipping(79, 6, "5-6 days")),
    (float("inf"), Shipping(99, 8, "6-8 days")),
]


def shipping_for(distance: float) -> Shipping:
    """Return the shipping tier for a distance in kilometres."""
    return next(shipping for bound, shipping in _TIERS if distance < bound)


@dataclass(frozen=True)
class DeliveryOption:
    warehouse_id: int
    distance_km: int  # whole kilometres
    available: int
    shipping: Shipping
    is_nearest: bool
    is_recommended: bool


def delivery_options(
    origin: Location, stock: list[StockOption], *, quantity: int = 1
) -> list[DeliveryOption]:
    """Return one option per warehouse, nearest first, marking the nearest and recommended.

    The recommended warehouse is the nearest one with at least `quantity` units; none is
    recommended when no warehouse has them.
    """
    measured = sorted(
        ((distance_km(origin, option.location), option) for option in stock),
        key=lambda pair: (pair[0], pair[1].warehouse_id),
    )
    recommended = next(
        (option.warehouse_id for _, option in measured if option.available >= quantity), None
    )
    return [
        DeliveryOption(
            warehouse_id=option.warehouse_id,
            distance_km=round(distance),
            available=option.available,
            shipping=shipping_for(distance),
            is_nearest=index == 0,
            is_recommended=option.warehouse_id == recommended,
        )
        for index, (distance, option) in enumerate(measured)
    ]

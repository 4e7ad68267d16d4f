"""What one sales channel may sell of a product now, per warehouse: the read path of
`GET /api/availability`. It never locks and never writes; a hold decides again, under its
locks (reservations.admission), so this is what a hold would be admitted for had it been made
at the moment of the read.
"""

from dataclasses import dataclass
from datetime import datetime

from inventory.models import Inventory, Product
from sales.errors import ProductNotFound
from sales.models import WEB, Allocation
from sales.rules import Room, SaleRules, channel_sellable
from sales.selectors import ALLOCATION_COLUMNS, quota_used, rooms_by_warehouse, rules_for
from sales.services import channel
from warehouses.routing import Location, distance_km


@dataclass(frozen=True)
class Offer:
    """One stock row as the channel sees it."""

    row: Inventory  # with available_units and its warehouse
    room: Room | None  # the channel's allocation there
    sellable: int
    quota: int | None
    remaining: int | None  # of the quota, in the sale window
    distance_km: float | None


@dataclass(frozen=True)
class ChannelAvailability:
    product_id: int
    channel: str
    rules: SaleRules
    on_sale: bool
    offers: list[Offer]  # nearest first with an origin, else by warehouse
    used: dict[int, int]  # the units counted against each quota, by allocation

    @property
    def sellable(self) -> int:
        """What the channel may sell in all: a quota shared by warehouses counts once."""
        if not self.on_sale:
            return 0
        return channel_sellable(((o.room, o.row.available_units) for o in self.offers), self.used)


def sellable_of(available: int, *, on_sale: bool, room: Room | None, remaining: int | None) -> int:
    """What a channel may sell of a row's `available` units: nothing outside the sale window,
    else what its allocation leaves it (Room.sellable), at most its quota's remaining units."""
    if not on_sale:
        return 0
    sellable = available if room is None else room.sellable(available)
    return sellable if remaining is None else min(sellable, remaining)


def channel_availability(
    *, product_id: int, channel_code: str, now: datetime, origin: Location | None = None
) -> ChannelAvailability:
    """Say what the channel may sell of the product now in each active warehouse stocking
    it, nearest to `origin` first. Raise ChannelNotFound for an unknown channel (the
    storefront's, `web`, always exists) and ProductNotFound for an unknown or inactive
    product."""
    if channel_code != WEB:
        channel(channel_code)
    if not Product.objects.active().filter(pk=product_id).exists():
        raise ProductNotFound(f"No product {product_id}.")
    rows = list(
        Inventory.objects.sellable()
        .with_available()
        .filter(product_id=product_id)
        .select_related("warehouse")
        .order_by("warehouse_id")
    )
    rules = rules_for(product_id, [channel_code])[channel_code]
    allocations = Allocation.objects.filter(product_id=product_id, channel__code=channel_code)
    rooms = rooms_by_warehouse(
        allocations.values_list(*ALLOCATION_COLUMNS),
        channel_code,
        [row.warehouse_id for row in rows],
    )
    quotas = {
        room.allocation_id: room.quota
        for room in rooms.values()
        if room is not None and room.quota is not None
    }
    used = quota_used((allocation, rules.window) for allocation in quotas)
    remaining = {a: max(0, quota - used.get(a, 0)) for a, quota in quotas.items()}
    on_sale = rules.on_sale(now)
    offers = []
    for row in rows:
        room = rooms[row.warehouse_id]
        capped = room is not None and room.quota is not None
        left = remaining[room.allocation_id] if capped else None
        offers.append(
            Offer(
                row=row,
                room=room,
                sellable=sellable_of(
                    row.available_units, on_sale=on_sale, room=room, remaining=left
                ),
                quota=room.quota if capped else None,
                remaining=left,
                distance_km=None if origin is None else distance_km(origin, _location(row)),
            )
        )
    if origin is not None:
        offers.sort(key=lambda offer: (offer.distance_km, offer.row.warehouse_id))
    return ChannelAvailability(product_id, channel_code, rules, on_sale, offers, used)


def _location(row: Inventory) -> Location:
    return Location(row.warehouse.lat, row.warehouse.lng)

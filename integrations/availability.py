"""What one sales channel may sell of a product now, per warehouse: the read path of
`GET /api/availability`. It never locks and never writes; a hold decides again, under its
locks (reservations.admission), so this is what a hold would be admitted for had it been made
at the moment of the read.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from inventory.models import Inventory, Product
from sales import tallies
from sales.errors import ProductNotFound
from sales.models import WEB, Allocation, Tally
from sales.rules import Room, SaleRules
from sales.selectors import ALLOCATION_COLUMNS, rooms_from, rules_for
from sales.services import channel
from warehouses.routing import Location, distance_km

_WAREHOUSE = ALLOCATION_COLUMNS.index("warehouse_id")


@dataclass(frozen=True)
class Offer:
    """One stock row as the channel sees it."""

    row: Inventory  # with available_units and its warehouse
    sellable: int
    quota: int | None
    remaining: int | None  # of the quota, in the sale window
    allocation_id: int | None  # the allocation whose quota caps it
    distance_km: float | None


@dataclass(frozen=True)
class ChannelAvailability:
    product_id: int
    channel: str
    rules: SaleRules
    on_sale: bool
    offers: list[Offer]  # nearest first with an origin, else by warehouse

    @property
    def sellable(self) -> int:
        """What the channel may sell in all: a quota shared by warehouses counts once."""
        capped: dict[int, int] = {}
        total = 0
        for offer in self.offers:
            if offer.allocation_id is None:
                total += offer.sellable
            else:
                capped[offer.allocation_id] = capped.get(offer.allocation_id, 0) + offer.sellable
        remaining = {o.allocation_id: o.remaining for o in self.offers if o.allocation_id}
        return total + sum(min(units, remaining[a]) for a, units in capped.items())


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
    rooms = _rooms(product_id, channel_code, [row.warehouse_id for row in rows])
    remaining = _remaining(rooms.values(), rules.window)
    on_sale = rules.on_sale(now)
    offers = []
    for row in rows:
        room = rooms[row.warehouse_id]
        capped = room is not None and room.quota is not None
        left = remaining[room.allocation_id] if capped else None
        offers.append(
            Offer(
                row=row,
                sellable=sellable_of(
                    row.available_units, on_sale=on_sale, room=room, remaining=left
                ),
                quota=room.quota if capped else None,
                remaining=left,
                allocation_id=room.allocation_id if capped else None,
                distance_km=None if origin is None else distance_km(origin, _location(row)),
            )
        )
    if origin is not None:
        offers.sort(key=lambda offer: (offer.distance_km, offer.row.warehouse_id))
    return ChannelAvailability(product_id, channel_code, rules, on_sale, offers)


def _rooms(product_id: int, code: str, warehouse_ids: list[int]) -> dict[int, Room | None]:
    """The channel's allocation in each warehouse (sales.selectors.rooms_from: a warehouse's
    own, else the product-wide one), from one read of all of them."""
    rows = list(
        Allocation.objects.filter(product_id=product_id, channel__code=code).values_list(
            *ALLOCATION_COLUMNS
        )
    )
    return {
        warehouse_id: rooms_from(
            (r for r in rows if r[_WAREHOUSE] in (None, warehouse_id)), [code]
        )[code]
        for warehouse_id in warehouse_ids
    }


def _remaining(rooms: Iterable[Room | None], window: str) -> dict[int, int]:
    """Each quota's units left in the sale window, by allocation (a missing tally is 0 used)."""
    quotas = {room.allocation_id: room.quota for room in rooms if room and room.quota is not None}
    scopes = {tallies.quota_scope(a, window): a for a in quotas}
    used = dict(Tally.objects.filter(scope__in=scopes).values_list("scope", "units"))
    return {
        allocation: max(0, quotas[allocation] - used.get(scope, 0))
        for scope, allocation in scopes.items()
    }


def _location(row: Inventory) -> Location:
    return Location(row.warehouse.lat, row.warehouse.lng)

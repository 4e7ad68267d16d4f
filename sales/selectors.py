"""Reading a product's sale rules and its channels' allocations."""

from collections.abc import Collection

from django.db.models import Q

from sales.models import Allocation, SalePolicy
from sales.rules import Room, SaleRules


def has_rules(product_id: int) -> bool:
    """Say whether holds of this product follow any sale rule or allocation."""
    return bool(ruled_among([product_id]))


def ruled_among(product_ids: Collection[int]) -> set[int]:
    """The products among these whose holds follow a sale rule or an allocation."""
    return set(
        SalePolicy.objects.filter(product_id__in=product_ids).values_list("product_id", flat=True)
    ) | set(
        Allocation.objects.filter(product_id__in=product_ids).values_list("product_id", flat=True)
    )


def rules_for(product_id: int, channels: Collection[str]) -> dict[str, SaleRules]:
    """Each channel's rules for the product: the product's policy, then the channel's own."""
    policies = list(
        SalePolicy.objects.filter(product_id=product_id)
        .filter(Q(channel__isnull=True) | Q(channel__code__in=channels))
        .select_related("channel")
    )
    common = next((p for p in policies if p.channel is None), None)
    own = {p.channel.code: p for p in policies if p.channel is not None}
    return {channel: SaleRules.merged(common, own.get(channel)) for channel in channels}


def rooms_for(
    product_id: int, warehouse_id: int, channels: Collection[str]
) -> dict[str, Room | None]:
    """Each channel's allocation of the product in the warehouse: its own for that warehouse,
    else its product-wide one, else None (no quota, nothing kept back)."""
    rows = (
        Allocation.objects.filter(product_id=product_id, channel__code__in=channels)
        .filter(Q(warehouse_id=warehouse_id) | Q(warehouse__isnull=True))
        .select_related("channel")
    )
    rooms: dict[str, Room | None] = dict.fromkeys(channels)
    for row in sorted(rows, key=lambda a: a.warehouse_id is not None):  # specific wins
        rooms[row.channel.code] = Room(
            allocation_id=row.pk,
            quota=row.quota,
            buffer=row.buffer,
            buffer_percent=row.buffer_percent,
            floor=row.floor,
        )
    return rooms

"""Reading a product's sale rules and its channels' allocations.

Each read has two forms giving the same rows: the ORM's (for sync callers) and plain SQL (for
the hold coalescer, which reads on its own async connections inside the batch's transaction).
`rules_from` and `rooms_from` turn either form's rows into rules.
"""

from collections.abc import Collection, Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from inventory.models import Product
from sales import tallies
from sales.models import Allocation, Channel, SalePolicy, Tally
from sales.rules import Room, SaleRules

# A policy's rules (SaleRules' fields), and the columns of a policy row and of an allocation
# row, in the order both forms give them.
POLICY_FIELDS = (
    "sale_starts_at",
    "sale_ends_at",
    "limit_per_customer",
    "requires_account",
    "hold_seconds",
    "hold_seconds_signed_in",
    "max_extensions",
)
POLICY_COLUMNS = ("channel__code", *POLICY_FIELDS)
ALLOCATION_COLUMNS = (
    "channel__code",
    "id",
    "warehouse_id",
    "quota",
    "buffer",
    "buffer_percent",
    "floor",
)

_POLICY, _ALLOCATION, _CHANNEL = (m._meta.db_table for m in (SalePolicy, Allocation, Channel))
# %(product_id)s, %(warehouse_id)s and %(channels)s (a list of codes).
POLICIES_SQL = f"""
SELECT c.code, {", ".join(f"s.{column}" for column in POLICY_COLUMNS[1:])}
  FROM {_POLICY} AS s LEFT JOIN {_CHANNEL} AS c ON c.id = s.channel_id
 WHERE s.product_id = %(product_id)s AND (s.channel_id IS NULL OR c.code = ANY(%(channels)s))
"""
ALLOCATIONS_SQL = f"""
SELECT c.code, {", ".join(f"a.{column}" for column in ALLOCATION_COLUMNS[1:])}
  FROM {_ALLOCATION} AS a JOIN {_CHANNEL} AS c ON c.id = a.channel_id
 WHERE a.product_id = %(product_id)s AND c.code = ANY(%(channels)s)
   AND (a.warehouse_id = %(warehouse_id)s OR a.warehouse_id IS NULL)
"""


def ruled_products() -> QuerySet[Product]:
    """The products whose holds follow a sale rule or an allocation."""
    return Product.objects.filter(
        Exists(SalePolicy.objects.filter(product=OuterRef("pk")))
        | Exists(Allocation.objects.filter(product=OuterRef("pk")))
    )


def has_rules(product_id: int) -> bool:
    """Say whether holds of this product follow any sale rule or allocation (one query)."""
    return ruled_products().filter(pk=product_id).exists()


def ruled_among(product_ids: Collection[int]) -> set[int]:
    """The products among these whose holds follow a sale rule or an allocation."""
    return set(ruled_products().filter(pk__in=product_ids).values_list("pk", flat=True))


def rules_from(rows: Iterable[tuple], channels: Collection[str]) -> dict[str, SaleRules]:
    """Each channel's rules from policy rows (POLICY_COLUMNS): the product's row, then the
    channel's own over it, field by field."""
    common, own = None, {}
    for code, *values in rows:
        fields = dict(zip(POLICY_COLUMNS[1:], values, strict=True))
        if code is None:
            common = fields
        else:
            own[code] = fields
    return {channel: SaleRules.merged(common, own.get(channel)) for channel in channels}


def rooms_from(rows: Iterable[tuple], channels: Collection[str]) -> dict[str, Room | None]:
    """Each channel's allocation from allocation rows (ALLOCATION_COLUMNS): its own for the
    warehouse, else its product-wide one, else None (no quota, nothing kept back)."""
    rooms: dict[str, Room | None] = dict.fromkeys(channels)
    for code, allocation_id, _, quota, buffer, percent, floor in sorted(
        rows, key=lambda row: row[2] is not None
    ):  # a warehouse's own (its warehouse_id set) comes last and wins
        rooms[code] = Room(allocation_id, quota, buffer, percent, floor)
    return rooms


def rooms_by_warehouse(
    rows: Iterable[tuple], channel: str, warehouse_ids: Iterable[int]
) -> dict[int, Room | None]:
    """One channel's allocation in each warehouse (rooms_from), from allocation rows
    (ALLOCATION_COLUMNS) of the product, read once for all of them."""
    rows = [row for row in rows if row[0] == channel]
    return {
        warehouse_id: rooms_from(
            (row for row in rows if row[2] in (None, warehouse_id)), [channel]
        )[channel]
        for warehouse_id in warehouse_ids
    }


def rules_for(product_id: int, channels: Collection[str]) -> dict[str, SaleRules]:
    """Each channel's rules for the product (rules_from)."""
    rows = (
        SalePolicy.objects.filter(product_id=product_id)
        .filter(Q(channel__isnull=True) | Q(channel__code__in=channels))
        .values_list(*POLICY_COLUMNS)
    )
    return rules_from(rows, channels)


def rooms_for(
    product_id: int, warehouse_id: int, channels: Collection[str]
) -> dict[str, Room | None]:
    """Each channel's allocation of the product in the warehouse (rooms_from)."""
    rows = (
        Allocation.objects.filter(product_id=product_id, channel__code__in=channels)
        .filter(Q(warehouse_id=warehouse_id) | Q(warehouse__isnull=True))
        .values_list(*ALLOCATION_COLUMNS)
    )
    return rooms_from(rows, channels)


def quota_used(quotas: Iterable[tuple[int, str]]) -> dict[int, int]:
    """The units counted against each quota, by allocation, from (allocation id, sale
    window) pairs: its tally in that window (none yet: 0)."""
    scopes = {tallies.quota_scope(allocation, window): allocation for allocation, window in quotas}
    if not scopes:
        return {}
    counted = Tally.objects.filter(scope__in=scopes).values_list("scope", "units")
    return {scopes[scope]: units for scope, units in counted}

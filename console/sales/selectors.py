"""Reading sales for the console: the products a sale's rules apply to, and one product's
live board (per channel: units sold, held and still to sell in the current sale window)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from integrations.models import ApiKey
from inventory.models import Inventory, Product
from reservations.models import Reservation
from sales import selectors as sale_selectors
from sales.models import Allocation, Channel, SalePolicy
from sales.rules import ENDED, SaleRules, channel_sellable

# Before any sale window: a channel without a start counts every hold it made.
_DAWN = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ProductSale:
    """A product with sale rules, for the sales list: its product-wide policy (None: only
    allocations or channel overrides), and how many allocations and overrides it has."""

    product: Product
    policy: SalePolicy | None
    allocations: int
    overrides: int
    state: str


def products_with_rules(now: datetime) -> list[ProductSale]:
    """List the products that have a sale policy or an allocation, by name, in two queries."""
    allocations = Allocation.objects.filter(product=OuterRef("pk"))
    overrides = SalePolicy.objects.filter(product=OuterRef("pk"), channel__isnull=False)
    products = list(
        sale_selectors.ruled_products()
        .annotate(
            allocation_count=_count_of(allocations),
            override_count=_count_of(overrides),
        )
        .order_by("name", "id")
    )
    policies = {
        p.product_id: p
        for p in SalePolicy.objects.filter(
            product_id__in=[p.pk for p in products], channel__isnull=True
        )
    }
    return [
        ProductSale(
            product=product,
            policy=policies.get(product.pk),
            allocations=product.allocation_count,
            overrides=product.override_count,
            state=_window_of(policies.get(product.pk)).state(now),
        )
        for product in products
    ]


def _window_of(policy: SalePolicy | None) -> SaleRules:
    if policy is None:
        return SaleRules()
    return SaleRules(sale_starts_at=policy.sale_starts_at, sale_ends_at=policy.sale_ends_at)


def _count_of(rows) -> Subquery:
    counted = rows.order_by().values("product").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@dataclass(frozen=True)
class ChannelRow:
    """A channel for the channels list: its active keys and how many allocations it has."""

    channel: Channel
    keys: list[ApiKey]
    allocations: int


def channels_with_keys() -> list[ChannelRow]:
    """List the channels by code with their active API keys, in two queries."""
    channels = Channel.objects.annotate(allocation_count=Count("allocations")).order_by("code")
    keys: dict[int, list[ApiKey]] = defaultdict(list)
    active = ApiKey.objects.filter(channel__isnull=False, revoked_at__isnull=True)
    for key in active.order_by("created_at", "pk"):
        keys[key.channel_id].append(key)
    return [
        ChannelRow(channel=channel, keys=keys[channel.pk], allocations=channel.allocation_count)
        for channel in channels
    ]


@dataclass(frozen=True)
class ChannelFigures:
    """One channel's units of a product in its current sale window."""

    code: str
    name: str
    state: str
    sold: int  # CONFIRMED units
    held: int  # PENDING units
    quota: int | None  # the quotas that apply, added up; None: no quota
    counted: int  # units counted against those quotas (their tallies)
    remaining: int  # what the channel may still hold: its quota's rest, at most sellable


@dataclass(frozen=True)
class SaleBoard:
    """A product's sale as it stands: each channel's figures and the units available."""

    product_id: int
    available: int
    channels: list[ChannelFigures]
    now: datetime

    @property
    def live(self) -> bool:
        """Whether any channel's sale is still to come or going on (worth refreshing)."""
        return any(channel.state != ENDED for channel in self.channels)

    @property
    def sold(self) -> int:
        return sum(channel.sold for channel in self.channels)

    @property
    def held(self) -> int:
        return sum(channel.held for channel in self.channels)


def sale_board(product_id: int, *, now: datetime) -> SaleBoard:
    """Read a product's sale per channel, in a fixed number of queries whatever the number of
    channels, allocations or warehouses: the channels, their rules, the allocations, their
    quota tallies, the stock rows' available units and one grouped sum of the holds."""
    channels = list(Channel.objects.values_list("code", "name"))
    codes = [code for code, _ in channels]
    rules = sale_selectors.rules_for(product_id, codes)
    allocations = list(
        Allocation.objects.filter(product_id=product_id).values_list(
            *sale_selectors.ALLOCATION_COLUMNS
        )
    )
    available = dict(
        Inventory.objects.sellable()
        .with_available()
        .filter(product_id=product_id)
        .values_list("warehouse_id", "available_units")
    )
    rooms = {
        code: sale_selectors.rooms_by_warehouse(allocations, code, available) for code in codes
    }
    quotas = {
        room.allocation_id: (room.quota, rules[code].window)
        for code in codes
        for room in rooms[code].values()
        if room is not None and room.quota is not None
    }
    used = sale_selectors.quota_used((a, window) for a, (_, window) in quotas.items())
    units = _units_by_channel(product_id, rules)
    figures = []
    for code, name in channels:
        capping = {
            room.allocation_id
            for room in rooms[code].values()
            if room is not None and room.quota is not None
        }
        sold, held = units.get(code, (0, 0))
        figures.append(
            ChannelFigures(
                code=code,
                name=name,
                state=rules[code].state(now),
                sold=sold,
                held=held,
                quota=sum(quotas[a][0] for a in capping) if capping else None,
                counted=sum(used.get(a, 0) for a in capping),
                remaining=channel_sellable(
                    ((rooms[code][w], units) for w, units in available.items()), used
                ),
            )
        )
    total = sum(max(0, units) for units in available.values())
    return SaleBoard(product_id=product_id, available=total, channels=figures, now=now)


def _units_by_channel(product_id: int, rules: dict[str, SaleRules]) -> dict[str, tuple[int, int]]:
    """Each channel's (CONFIRMED, PENDING) units of holds made since its sale started."""
    starts = [
        When(channel=code, then=Value(r.sale_starts_at))
        for code, r in rules.items()
        if r.sale_starts_at is not None
    ]
    since = Case(*starts, default=Value(_DAWN), output_field=DateTimeField())
    status = Reservation.Status
    rows = (
        Reservation.objects.filter(
            product_id=product_id, status__in=[status.CONFIRMED, status.PENDING]
        )
        .filter(created_at__gte=since)
        .order_by()
        .values("channel")
        .annotate(
            sold=Sum("quantity", filter=Q(status=status.CONFIRMED), default=0),
            held=Sum("quantity", filter=Q(status=status.PENDING), default=0),
        )
    )
    return {row["channel"]: (row["sold"], row["held"]) for row in rows}

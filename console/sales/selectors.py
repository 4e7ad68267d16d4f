"""Reading sales for the console: the products a sale's rules apply to, and one product's
live board (per channel: units sold, held and still to sell in the current sale window)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
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
from sales import tallies
from sales.models import Allocation, Channel, SalePolicy, Tally
from sales.rules import Room, SaleRules

# Before any sale window: a channel without a start counts every hold it made.
_DAWN = datetime(1970, 1, 1, tzinfo=UTC)


def sale_state(rules: SaleRules, now: datetime) -> str:
    """Say where `now` falls in the rules' window: "upcoming", "on sale" or "ended"."""
    if rules.sale_starts_at is not None and now < rules.sale_starts_at:
        return "upcoming"
    if rules.sale_ends_at is not None and now >= rules.sale_ends_at:
        return "ended"
    return "on sale"


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
        Product.objects.filter(
            Exists(SalePolicy.objects.filter(product=OuterRef("pk"))) | Exists(allocations)
        )
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
            state=sale_state(_window_of(policies.get(product.pk)), now),
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
        return any(channel.state != "ended" for channel in self.channels)

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
    allocations = list(Allocation.objects.filter(product_id=product_id).select_related("channel"))
    used = _quota_units(allocations, rules)
    available = dict(
        Inventory.objects.sellable()
        .with_available()
        .filter(product_id=product_id)
        .values_list("warehouse_id", "available_units")
    )
    units = _units_by_channel(product_id, rules)
    figures = []
    for code, name in channels:
        quota, counted, remaining = _room_left(
            [a for a in allocations if a.channel.code == code], available, used, rules[code]
        )
        sold, held = units.get(code, (0, 0))
        figures.append(
            ChannelFigures(
                code=code,
                name=name,
                state=sale_state(rules[code], now),
                sold=sold,
                held=held,
                quota=quota,
                counted=counted,
                remaining=remaining,
            )
        )
    total = sum(max(0, units) for units in available.values())
    return SaleBoard(product_id=product_id, available=total, channels=figures, now=now)


def _quota_units(allocations: list[Allocation], rules: dict[str, SaleRules]) -> dict[str, int]:
    scopes = [
        tallies.quota_scope(a.pk, rules[a.channel.code].window)
        for a in allocations
        if a.quota is not None
    ]
    if not scopes:
        return {}
    return dict(Tally.objects.filter(scope__in=scopes).values_list("scope", "units"))


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


def _room_left(
    allocations: list[Allocation],
    available: dict[int, int],
    used: dict[str, int],
    rules: SaleRules,
) -> tuple[int | None, int, int]:
    """A channel's quota (None without one), the units counted against it, and what it may
    still hold across the warehouses.

    Each stock row follows the channel's allocation for its warehouse, else its product-wide
    one (as holds do: sales.selectors.rooms_for). Rows under one allocation share its quota,
    so what they may sell is capped once by what is left of it.
    """
    general = next((a for a in allocations if a.warehouse_id is None), None)
    specific = {a.warehouse_id: a for a in allocations if a.warehouse_id is not None}
    rows_of: dict[Allocation | None, list[int]] = defaultdict(list)
    for warehouse_id, units in available.items():
        rows_of[specific.get(warehouse_id, general)].append(max(0, units))
    quota: int | None = None
    counted = remaining = 0
    for allocation, units in rows_of.items():
        if allocation is None:
            remaining += sum(units)
            continue
        room = Room(
            allocation_id=allocation.pk,
            quota=allocation.quota,
            buffer=allocation.buffer,
            buffer_percent=allocation.buffer_percent,
            floor=allocation.floor,
        )
        sellable = sum(room.sellable(u) for u in units)
        if allocation.quota is not None:
            scope = tallies.quota_scope(allocation.pk, rules.window)
            taken = used.get(scope, 0)
            sellable = min(sellable, max(0, allocation.quota - taken))
            quota = (quota or 0) + allocation.quota
            counted += taken
        remaining += sellable
    return quota, counted, remaining

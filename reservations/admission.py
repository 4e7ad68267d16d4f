"""Which of a stock row's hold requests a sale's rules admit, in arrival order, and the terms
an admitted hold records: pure, no database. The caller has locked the row and the tallies
the requests count against, and writes what this decides (reservations.services.ruled and
ruled_orm).

Each request is admitted only if the sale is open, its shopper may hold it (signed in when the
product requires an account), the customer's limit, the channel's quota and what the channel
may sell of the row's available units all still allow it, counting the requests admitted
before it: exactly what running them one by one would decide.

The customer a limit counts is the signed-in account. A guest is a browser session, renewed
as easily as a cookie, so counting guests would bind nobody: a limit binds everyone only on a
product that also requires an account.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from core.errors import StockdError
from reservations.errors import InsufficientStock
from sales import tallies
from sales.errors import AccountRequired, ChannelQuotaReached, LimitReached, NotOnSale
from sales.models import WEB
from sales.rules import Room, SaleRules


@dataclass(frozen=True, slots=True)
class Ask:
    """One request for a row: how many units, who asks and through which channel."""

    quantity: int
    channel: str
    user_id: int | None = None
    guest_id: object = None


@dataclass(frozen=True, slots=True)
class Admitted:
    """An admitted request and the tallies its units now count in."""

    limit_scope: str | None
    quota_scope: str | None


@dataclass(frozen=True)
class Row:
    """What the requests share: the row's product, available units, the time, and each
    channel's rules and allocation."""

    product_id: int
    warehouse_id: int
    available: int
    now: datetime
    rules: Mapping[str, SaleRules]
    rooms: Mapping[str, Room | None]

    def limit_scope(self, ask: Ask) -> str | None:
        return limit_scope(self.product_id, ask, self.rules)

    def quota_scope(self, ask: Ask) -> str | None:
        return quota_scope(ask, self.rules, self.rooms)


def limit_scope(product_id: int, ask: Ask, rules: Mapping[str, SaleRules]) -> str | None:
    """The tally of the customer's units of the product in this sale, if a limit binds them."""
    rule = rules[ask.channel]
    if rule.limit_per_customer is None or ask.user_id is None:
        return None
    return tallies.customer_scope(product_id, f"u{ask.user_id}", rule.window)


def quota_scope(
    ask: Ask, rules: Mapping[str, SaleRules], rooms: Mapping[str, Room | None]
) -> str | None:
    """The tally of the channel's units under its allocation in this sale, if it has a quota."""
    room = rooms[ask.channel]
    if room is None or room.quota is None:
        return None
    return tallies.quota_scope(room.allocation_id, rules[ask.channel].window)


def scopes(
    product_id: int,
    asks: Sequence[Ask],
    rules: Mapping[str, SaleRules],
    rooms: Mapping[str, Room | None],
) -> set[str]:
    """The tallies these requests count against, to lock before `admit`."""
    return {
        scope
        for ask in asks
        for scope in (limit_scope(product_id, ask, rules), quota_scope(ask, rules, rooms))
        if scope is not None
    }


def outside_window(rules: SaleRules, now: datetime) -> NotOnSale | None:
    """The refusal of a hold (or a preorder) made outside the sale window, or None inside."""
    if rules.on_sale(now):
        return None
    starts, ends = rules.sale_starts_at, rules.sale_ends_at
    return NotOnSale(
        saleStartsAt=None if starts is None else starts.isoformat(),
        saleEndsAt=None if ends is None else ends.isoformat(),
    )


def admit(row: Row, asks: Sequence[Ask], counted: dict[str, int]) -> list[Admitted | StockdError]:
    """Decide each request in arrival order. `counted` holds each tally's locked units; the
    units admitted are added to it (so a customer's holds on one row count on the next)."""
    available = row.available
    verdicts: list[Admitted | StockdError] = []
    for ask in asks:
        verdict = _decide(row, ask, available, counted)
        if isinstance(verdict, Admitted):
            available -= ask.quantity
            for scope in (verdict.limit_scope, verdict.quota_scope):
                if scope is not None:
                    counted[scope] += ask.quantity
        verdicts.append(verdict)
    return verdicts


def _decide(
    row: Row, ask: Ask, available: int, counted: Mapping[str, int]
) -> Admitted | StockdError:
    rules, room = row.rules[ask.channel], row.rooms[ask.channel]
    closed = outside_window(rules, row.now)
    if closed is not None:
        return closed
    if rules.requires_account and ask.user_id is None:
        return AccountRequired()
    limit_scope, quota_scope = row.limit_scope(ask), row.quota_scope(ask)
    if limit_scope is not None:
        already = counted[limit_scope]
        if already + ask.quantity > rules.limit_per_customer:
            return LimitReached(
                f"One customer may hold {rules.limit_per_customer} unit(s) of this product; "
                f"you hold {already}.",
                limit=rules.limit_per_customer,
                alreadyHeld=already,
            )
    if quota_scope is not None:
        used = counted[quota_scope]
        if used + ask.quantity > room.quota:
            return ChannelQuotaReached(
                f"Channel {ask.channel} may hold {room.quota - used} more unit(s) of this product.",
                channel=ask.channel,
                quota=room.quota,
                remaining=max(0, room.quota - used),
            )
    sellable = available if room is None else room.sellable(available)
    if ask.quantity > sellable:
        return InsufficientStock(
            f"Only {sellable} unit(s) available in warehouse {row.warehouse_id}.",
            available=sellable,
        )
    return Admitted(limit_scope, quota_scope)


# Extensions a hold may have when no policy says otherwise (the original allowed one).
DEFAULT_MAX_EXTENSIONS = 1


@dataclass(frozen=True, slots=True)
class Terms:
    """What a new hold's row records of the rules it was admitted under."""

    channel: str = WEB
    hold_seconds: int | None = None
    max_extensions: int = DEFAULT_MAX_EXTENSIONS
    limit_tally_id: str | None = None
    quota_tally_id: str | None = None

    @property
    def seconds(self) -> int:
        return self.hold_seconds or settings.RESERVATION_TTL_SECONDS

    def fields(self) -> dict:
        return {
            "channel": self.channel,
            "hold_seconds": self.seconds,
            "max_extensions": self.max_extensions,
            "limit_tally_id": self.limit_tally_id,
            "quota_tally_id": self.quota_tally_id,
        }


def terms_of(row: Row, ask: Ask, verdict: Admitted) -> Terms:
    """The terms an admitted request's hold records."""
    rules = row.rules[ask.channel]
    return Terms(
        channel=ask.channel,
        hold_seconds=rules.seconds_to_hold(
            signed_in=ask.user_id is not None, default=settings.RESERVATION_TTL_SECONDS
        ),
        max_extensions=rules.extensions_allowed(DEFAULT_MAX_EXTENSIONS),
        limit_tally_id=verdict.limit_scope,
        quota_tally_id=verdict.quota_scope,
    )

"""A sale's rules as plain values, and what they allow: the window, the hold's length, and
what a channel may sell of a row's available units. No database access here."""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

UPCOMING, OPEN, ENDED = "upcoming", "open", "ended"


def window_state(starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> str:
    """Where `now` falls in a sale window (either end may be open): before its start UPCOMING,
    from its end ENDED, else OPEN."""
    if starts_at is not None and now < starts_at:
        return UPCOMING
    if ends_at is not None and now >= ends_at:
        return ENDED
    return OPEN


@dataclass(frozen=True, slots=True)
class SaleRules:
    """The rules one channel's holds of one product follow (None: no such rule)."""

    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None
    limit_per_customer: int | None = None
    requires_account: bool = False
    hold_seconds: int | None = None
    hold_seconds_signed_in: int | None = None
    max_extensions: int | None = None

    @classmethod
    def merged(cls, *layers: Mapping[str, Any] | None) -> "SaleRules":
        """The rules of policy rows (field name to value), later ones overriding earlier ones
        field by field (a null field inherits)."""
        values = {}
        for layer in layers:
            for field in fields(cls):
                value = (layer or {}).get(field.name)
                if value is not None:
                    values[field.name] = value
        return cls(**values)

    def state(self, now: datetime) -> str:
        """Where `now` falls in the sale window: UPCOMING, OPEN or ENDED."""
        return window_state(self.sale_starts_at, self.sale_ends_at, now)

    def on_sale(self, now: datetime) -> bool:
        return self.state(now) == OPEN

    @property
    def window(self) -> str:
        """The sale window a tally counts in: holds made under an earlier start are not
        counted against a new drop's limit."""
        if self.sale_starts_at is None:
            return "open"
        return self.sale_starts_at.astimezone(UTC).isoformat()  # the same however it was given

    def seconds_to_hold(self, *, signed_in: bool, default: int) -> int:
        if signed_in and self.hold_seconds_signed_in is not None:
            return self.hold_seconds_signed_in
        return self.hold_seconds if self.hold_seconds is not None else default

    def extensions_allowed(self, default: int) -> int:
        return self.max_extensions if self.max_extensions is not None else default


@dataclass(frozen=True, slots=True)
class Room:
    """One channel's allocation of a product: its quota and what it keeps back."""

    allocation_id: int
    quota: int | None = None
    buffer: int | None = None
    buffer_percent: int | None = None
    floor: int | None = None

    def sellable(self, available: int) -> int:
        """What the channel may hold of `available` units: nothing at or below its floor,
        else available less the larger of its buffer and its percentage of available."""
        if self.floor is not None and available <= self.floor:
            return 0
        kept = max(self.buffer or 0, math.ceil(available * (self.buffer_percent or 0) / 100))
        return max(0, available - kept)


def channel_sellable(rows: Iterable[tuple[Room | None, int]], used: Mapping[int, int]) -> int:
    """What a channel may sell in all of a product's stock rows, each given as (its room
    there, its available units) with `used` the units counted against each quota (by
    allocation): each row what its room leaves it, and rows under one quota together at most
    what is left of that quota (a quota shared by warehouses counts once)."""
    uncapped = 0
    capped: dict[int, int] = {}
    quotas: dict[int, int] = {}
    for room, available in rows:
        units = max(0, available) if room is None else room.sellable(available)
        if room is None or room.quota is None:
            uncapped += units
        else:
            capped[room.allocation_id] = capped.get(room.allocation_id, 0) + units
            quotas[room.allocation_id] = room.quota
    return uncapped + sum(
        min(units, max(0, quotas[allocation] - used.get(allocation, 0)))
        for allocation, units in capped.items()
    )

"""A sale's rules as plain values, and what they allow: the window, the hold's length, and
what a channel may sell of a row's available units. No database access here."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any


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

    def on_sale(self, now: datetime) -> bool:
        starts, ends = self.sale_starts_at, self.sale_ends_at
        return (starts is None or starts <= now) and (ends is None or now < ends)

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

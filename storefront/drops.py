"""A product's sale as the storefront shows it: coming (and how long until it opens), open, or
ended; how many units one customer may hold; whether a guest must sign in first.

Pure: the rules come from sales.selectors and the time from the caller, so the product page
and the live stream (storefront.live.sales) decide the state with one rule
(sales.rules.window_state, which holds and the console follow too), on the server's clock.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from sales.rules import SaleRules


def next_change(
    starts_at: datetime | None, ends_at: datetime | None, now: datetime
) -> datetime | None:
    """Return when the state next changes after `now` (the start, then the end), or None."""
    for moment in (starts_at, ends_at):
        if moment is not None and now < moment:
            return moment
    return None


def iso(moment: datetime | None) -> str:
    """Write a moment the one way the page and the stream both write it (UTC, ISO 8601)."""
    return "" if moment is None else moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Drop:
    """What the buy panel says of the product's sale at `now`, for this shopper."""

    state: str
    starts_at: datetime | None
    ends_at: datetime | None
    now: datetime
    limit: int | None
    requires_account: bool
    hold_seconds: int

    @property
    def scheduled(self) -> bool:
        """Tell whether the sale has a window at all (the page then follows it live)."""
        return self.starts_at is not None or self.ends_at is not None

    @property
    def seconds_to_start(self) -> int:
        if self.starts_at is None:
            return 0
        return max(0, math.ceil((self.starts_at - self.now).total_seconds()))

    @property
    def countdown(self) -> str:
        """The time to the start as HH:MM:SS (the hours may pass 24)."""
        hours, rest = divmod(self.seconds_to_start, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}"

    @property
    def hold_length(self) -> str:
        """How long this shopper's hold lasts: "10 minutes", "1 minute", "90 seconds"."""
        seconds = self.hold_seconds
        if seconds % 60 or seconds < 60:
            return f"{seconds} second{'' if seconds == 1 else 's'}"
        minutes = seconds // 60
        return f"{minutes} minute{'' if minutes == 1 else 's'}"

    @property
    def starts_at_iso(self) -> str:
        return iso(self.starts_at)

    @property
    def ends_at_iso(self) -> str:
        return iso(self.ends_at)

    @property
    def now_iso(self) -> str:
        return iso(self.now)


def drop_of(rules: SaleRules, *, now: datetime, signed_in: bool, default_hold_seconds: int) -> Drop:
    """Describe the sale `rules` set, at `now`, to a shopper signed in or not."""
    return Drop(
        state=rules.state(now),
        starts_at=rules.sale_starts_at,
        ends_at=rules.sale_ends_at,
        now=now,
        limit=rules.limit_per_customer,
        requires_account=rules.requires_account,
        hold_seconds=rules.seconds_to_hold(signed_in=signed_in, default=default_hold_seconds),
    )

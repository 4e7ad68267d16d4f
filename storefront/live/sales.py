"""The sale side of a product's stock stream: a `sale` event when the stream opens and each
time the product's sale opens, ends or is moved, on the server's clock.

The product page renders its buy panel for the state it was served in; the stream tells it
when that state changes, and the page fetches the fresh panel (static/js/live-stock.js).
Because every stream says the current state as it opens, a browser that reconnects (or comes
back from the back-forward cache) after the start learns of it at once.

A sale event carries no SSE id, so it leaves the stream's resume point (a ledger position)
where it was. Streams of products with no sale window send none.
"""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sales.models import WEB
from sales.rules import window_state
from sales.selectors import rules_for
from storefront import drops
from storefront.live.reads import ProductReads

# How long a process trusts a product's window before reading it again: a sale moved by
# staff reaches open streams within this (plus a heartbeat), at one read per product per
# process however many streams watch it.
REFRESH_SECONDS = 10.0
# Wake this long after a boundary, so the state computed then is past it.
WAKE_MARGIN_SECONDS = 0.05


@dataclass(frozen=True)
class Window:
    """When the storefront's sale of a product opens and ends (either may be open-ended)."""

    starts_at: datetime | None
    ends_at: datetime | None


def read_window(product_id: int) -> Window | None:
    """Read the storefront channel's sale window of a product; None if it has none."""
    rules = rules_for(product_id, [WEB])[WEB]
    if rules.sale_starts_at is None and rules.sale_ends_at is None:
        return None
    return Window(rules.sale_starts_at, rules.sale_ends_at)


class SaleWindows(ProductReads[Window | None]):
    """A process's sale windows, each read at most once per REFRESH_SECONDS and shared by
    every stream of the product. `run` runs ORM code off the event loop (the hub's thread)."""

    def __init__(self, run: Callable[..., Awaitable]) -> None:
        super().__init__(
            run, read_window, refresh_seconds=lambda: REFRESH_SECONDS, what="sale window"
        )


class SaleWatch:
    """One stream's account of its product's sale: what it last said, and when to speak next."""

    def __init__(self, product_id: int) -> None:
        self.product_id = product_id
        self._window: Window | None = None
        self._said: dict | None = None

    def news(self, window: Window | None, now: datetime) -> bytes | None:
        """Return the `sale` event to send if the sale's state or window changed since the
        last one (the first one only if the product has a window), else None."""
        self._window = window
        if window is None and self._said is None:
            return None
        starts, ends = (None, None) if window is None else (window.starts_at, window.ends_at)
        message = {
            "productId": str(self.product_id),
            "state": window_state(starts, ends, now),
            "saleStartsAt": drops.iso(starts) or None,
            "saleEndsAt": drops.iso(ends) or None,
        }
        if message == self._said:
            return None
        self._said = message
        return f"event: sale\ndata: {json.dumps(message, separators=(',', ':'))}\n\n".encode()

    def _next_change(self, now: datetime) -> datetime | None:
        if self._window is None:
            return None
        return drops.next_change(self._window.starts_at, self._window.ends_at, now)

    def seconds_to_wait(self, now: datetime, *, at_most: float) -> float:
        """Return how long the stream may wait for stock before the sale changes state."""
        change = self._next_change(now)
        if change is None:
            return at_most
        return min(at_most, (change - now).total_seconds() + WAKE_MARGIN_SECONDS)

    def due(self, now: datetime) -> bool:
        """Tell whether the sale has changed state since the last event said it."""
        return (
            self._said is not None
            and self._window is not None
            and (
                self._said["state"]
                != window_state(self._window.starts_at, self._window.ends_at, now)
            )
        )

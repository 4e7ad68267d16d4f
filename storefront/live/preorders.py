"""The preorder side of a product's stock stream: a `preorder` event when the stream opens and
whenever a row's preorders open, fill up, close or change their places left or eta.

Placing a preorder writes no stock ledger entry (its units are not on hand), so the stream's
stock messages never show it. Instead each process reads a product's preorder boxes
(storefront.preorders) at most once per REFRESH_SECONDS, shared by every stream of the product
(storefront.live.reads), and each stream says so when they differ from what it last said. The
page fetches its buy panel again when the event disagrees with the panel
(static/js/live-stock.js), so "12 preorder places left" counts down with no reload.

Like a sale event, a preorder event carries no SSE id. Streams of products without preorder
terms send none, and wait no shorter for them.
"""

import json
import time
from collections.abc import Awaitable, Callable

from storefront.live.reads import ProductReads
from storefront.preorders import PreorderBox, boxes_of_product

# How long a process trusts a product's preorder places before reading them again: how late
# "N places left" may be on an open page, at one read per product per process.
REFRESH_SECONDS = 5.0


class PreorderPlaces(ProductReads[dict[int, PreorderBox]]):
    """A process's preorder boxes per product, shared by every stream of the product."""

    def __init__(self, run: Callable[..., Awaitable]) -> None:
        super().__init__(
            run, boxes_of_product, refresh_seconds=lambda: REFRESH_SECONDS, what="preorder places"
        )


class PreorderWatch:
    """One stream's account of its product's preorders: what it last said, and when it reads
    them again."""

    def __init__(self, product_id: int) -> None:
        self.product_id = product_id
        self._said: dict | None = None
        self._read_at: float | None = None
        self._has_terms = False

    def news(self, boxes: dict[int, PreorderBox] | None) -> bytes | None:
        """Return the `preorder` event to send if the boxes changed since the last one (the
        first one only if a row has terms), else None. None boxes (a failed read) say nothing."""
        self._read_at = time.monotonic()
        if boxes is None:
            return None
        self._has_terms = bool(boxes)
        if not boxes and self._said is None:
            return None
        message = {
            "productId": str(self.product_id),
            "offers": {str(w_id): box.as_message() for w_id, box in sorted(boxes.items())},
        }
        if message == self._said:
            return None
        self._said = message
        return f"event: preorder\ndata: {json.dumps(message, separators=(',', ':'))}\n\n".encode()

    def seconds_to_wait(self, *, at_most: float) -> float:
        """Return how long the stream may wait before reading the places again."""
        if not self._has_terms or self._read_at is None:
            return at_most
        return min(at_most, max(0.0, self._read_at + REFRESH_SECONDS - time.monotonic()))

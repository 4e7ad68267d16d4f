"""Preorders as the storefront shows them: what a sold-out row's buy panel offers.

A row whose preorders are on (its terms have a limit) and that has nothing available but units
coming is `open` while places are left and `full` when none are; any other row with terms on
shows nothing ("" : in stock again, or nothing coming). The product page and its live stream
(storefront.live.preorders) decide the state with this one rule, so the page fetches its buy
panel again exactly when the stream says something different from what it shows.
"""

from dataclasses import dataclass
from datetime import date

from reservations.services import preorders
from reservations.services.preorders import Offer

OPEN, FULL, NOTHING = "open", "full", ""


@dataclass(frozen=True)
class PreorderBox:
    """A row's preorders on its buy panel: their state, the places left and the eta."""

    warehouse_id: int
    state: str
    remaining: int
    eta: date | None

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    @property
    def is_full(self) -> bool:
        return self.state == FULL

    @property
    def eta_iso(self) -> str:
        return "" if self.eta is None else self.eta.isoformat()

    def as_message(self) -> dict:
        """Return what the live stream says of it (and the panel's data attributes hold)."""
        return {"state": self.state, "remaining": self.remaining, "eta": self.eta_iso}


def box_of(warehouse_id: int, offer: Offer | None) -> PreorderBox | None:
    """Describe a row's preorders; None when it has no terms or they are off."""
    if offer is None or offer.limit is None:
        return None
    if offer.available > 0 or offer.incoming <= 0:
        state = NOTHING
    else:
        state = OPEN if offer.is_open else FULL
    remaining = offer.remaining if state == OPEN else 0
    return PreorderBox(warehouse_id, state, remaining, offer.eta)


def boxes_of_product(product_id: int) -> dict[int, PreorderBox]:
    """The preorder boxes of a product's rows with terms on, by warehouse id (one query)."""
    offers = preorders.offers_of_product(product_id)
    boxes = {w_id: box_of(w_id, offer) for w_id, offer in offers.items()}
    return {w_id: box for w_id, box in boxes.items() if box is not None}

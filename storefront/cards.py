"""Product cards as the catalogue and the landing page show them: the art, the price, and
the units in the shopper's nearest warehouse with how many other warehouses stock it."""

from dataclasses import dataclass

from inventory.models import Inventory, Product
from storefront.places import DeliverTo
from warehouses.routing import Location, distance_km


@dataclass(frozen=True)
class Card:
    """A product with its stock rows, nearest first when the shopper said where to deliver."""

    product: Product
    stock: list[Inventory]
    nearest: Inventory | None  # None until the shopper says where to deliver

    @property
    def sold_out(self) -> bool:
        return self.product.total_available == 0

    @property
    def other_warehouses(self) -> int:
        """How many warehouses stock it besides the one the card names (or, without a place,
        besides the first)."""
        return max(0, len(self.stock) - 1)


def cards_for(products: list[Product], deliver_to: DeliverTo | None) -> list[Card]:
    """Cards of products fetched with their stock (inventory.selectors), in the same order."""
    cards = []
    for product in products:
        rows = list(product.inventory.all())
        if deliver_to is not None:
            origin = deliver_to.location
            rows.sort(
                key=lambda row: distance_km(origin, Location(row.warehouse.lat, row.warehouse.lng))
            )
        cards.append(Card(product, rows, rows[0] if deliver_to and rows else None))
    return cards

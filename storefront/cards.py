"""Product cards as the catalogue and the landing page show them: the art, the price, and
the units in the shopper's nearest warehouse with how many other warehouses stock it."""

from dataclasses import dataclass
from functools import cached_property

from inventory.models import Inventory, Product
from inventory.selectors import CatalogueFilters, product_list
from storefront.places import DeliverTo
from warehouses.models import Warehouse
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
        """How many other warehouses stock it than the nearest: the card's "+N warehouses"."""
        return max(0, len(self.stock) - 1)


def distance_from(place: DeliverTo, warehouse: Warehouse) -> float:
    """Kilometres from where the shopper wants delivery to a warehouse, as the crow flies."""
    return distance_km(place.location, Location(warehouse.lat, warehouse.lng))


def cards_for(products: list[Product], deliver_to: DeliverTo | None) -> list[Card]:
    """Cards of products fetched with their stock (inventory.selectors), in the same order."""
    cards = []
    for product in products:
        rows = list(product.inventory.all())
        if deliver_to is not None:
            rows.sort(key=lambda row: distance_from(deliver_to, row.warehouse))
        cards.append(Card(product, rows, rows[0] if deliver_to and rows else None))
    return cards


class CatalogueResults:
    """The catalogue's matching products as cards, queried only when first shown: a page
    whose list comes from the fragment cache (CATALOGUE_CACHE_SECONDS) sends no query for it."""

    def __init__(self, filters: CatalogueFilters, deliver_to: DeliverTo | None) -> None:
        self.filters = filters
        self.deliver_to = deliver_to

    @cached_property
    def _page(self) -> tuple[list[Card], int]:
        products, total = product_list(filters=self.filters, may_lag=True)  # replica allowed
        return cards_for(products, self.deliver_to), total

    @property
    def cards(self) -> list[Card]:
        return self._page[0]

    @property
    def total(self) -> int:
        return self._page[1]

    @property
    def cache_key(self) -> str:
        """What the list depends on besides the stock: the filters and the place."""
        place = self.deliver_to
        where = f"{place.lat:.5f},{place.lng:.5f}" if place else "-"
        return f"{self.filters.category}|{self.filters.search}|{where}"

"""The delivery check of a product page: which warehouses can ship a product to a pincode."""

from dataclasses import dataclass

from inventory.errors import ProductNotFound
from inventory.models import Inventory
from warehouses.delivery import DeliveryOption, delivery_options
from warehouses.errors import PincodeNotServiceable
from warehouses.models import Warehouse
from warehouses.pincodes import Place, place_for_pincode
from warehouses.routing import Location, StockOption


@dataclass(frozen=True)
class DeliveryQuote:
    place: Place
    options: list[tuple[Warehouse, DeliveryOption]]  # nearest first

    @property
    def recommended_warehouse_id(self) -> int | None:
        return next((w.id for w, option in self.options if option.is_recommended), None)


def quote_delivery(*, product_id: int, pincode: str, quantity: int = 1) -> DeliveryQuote:
    """Return each active warehouse's distance, stock, shipping and time to `pincode`.

    Raise PincodeNotServiceable for a malformed or unknown pincode, ProductNotFound for a
    product that is not sold (inactive, or stocked in no active warehouse). One query.
    """
    place = place_for_pincode(pincode)
    if place is None:
        raise PincodeNotServiceable(pincode=pincode)
    rows = list(
        Inventory.objects.sellable()
        .with_available()
        .filter(product_id=product_id)
        .select_related("warehouse")
    )
    if not rows:
        raise ProductNotFound(f"No product with id {product_id}.")
    warehouses = {row.warehouse_id: row.warehouse for row in rows}
    stock = [
        StockOption(
            row.warehouse_id, Location(row.warehouse.lat, row.warehouse.lng), row.available_units
        )
        for row in rows
    ]
    options = delivery_options(place.location, stock, quantity=quantity)
    return DeliveryQuote(place, [(warehouses[o.warehouse_id], o) for o in options])

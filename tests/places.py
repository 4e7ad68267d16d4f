"""The original's five warehouses, and a product stocked in each, for routing tests."""

from inventory.models import Inventory
from tests.factories import InventoryFactory, ProductFactory, WarehouseFactory
from warehouses.models import Warehouse

NEAR_MUMBAI = {"lat": 19.0, "lng": 72.9}
CITIES = {
    "CHN": ("Chennai", 13.0827, 80.2707),
    "BLR": ("Bangalore", 12.9716, 77.5946),
    "BOM": ("Mumbai", 19.0760, 72.8777),
    "DEL": ("Delhi", 28.6139, 77.2090),
    "HYD": ("Hyderabad", 17.3850, 78.4867),
}


def five_warehouses(units: int = 10, **per_code: int):
    """A new product stocked in the five original warehouses; return it and its rows by code."""
    product = ProductFactory()
    rows = {}
    for code, (city, lat, lng) in CITIES.items():
        warehouse = Warehouse.objects.filter(code=code).first() or WarehouseFactory(
            code=code, city=city, lat=lat, lng=lng
        )
        rows[code] = InventoryFactory(
            product=product, warehouse=warehouse, total_stock=per_code.get(code, units)
        )
    return product, rows


def held_in(rows: dict[str, Inventory]) -> dict[str, int]:
    for row in rows.values():
        row.refresh_from_db()
    return {code: row.reserved_stock for code, row in rows.items()}

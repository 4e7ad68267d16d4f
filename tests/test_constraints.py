"""The database itself refuses oversold or negative stock rows."""

import pytest
from django.db import IntegrityError, transaction

from inventory.models import Inventory
from tests.factories import InventoryFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def _update_rejected(row: Inventory, **values: int) -> bool:
    try:
        with transaction.atomic():
            Inventory.objects.filter(pk=row.pk).update(**values)
    except IntegrityError:
        return True
    return False


def test_reserving_more_than_the_total_is_rejected():
    row = InventoryFactory(total_stock=3, reserved_stock=3)
    assert _update_rejected(row, reserved_stock=4)
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (3, 3)


def test_negative_reserved_stock_is_rejected():
    row = InventoryFactory(total_stock=3, reserved_stock=0)
    assert _update_rejected(row, reserved_stock=-1)


def test_negative_total_stock_is_rejected():
    row = InventoryFactory(total_stock=0, reserved_stock=0)
    assert _update_rejected(row, total_stock=-1)


def test_shrinking_total_below_reserved_is_rejected():
    row = InventoryFactory(total_stock=5, reserved_stock=4)
    assert _update_rejected(row, total_stock=3)


def test_a_full_row_is_accepted():
    row = InventoryFactory(total_stock=5, reserved_stock=0)
    assert not _update_rejected(row, reserved_stock=5)


def test_one_row_per_product_and_warehouse():
    product, warehouse = ProductFactory(), WarehouseFactory()
    Inventory.objects.create(product=product, warehouse=warehouse, total_stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.create(product=product, warehouse=warehouse, total_stock=1)
    assert Inventory.objects.filter(product=product, warehouse=warehouse).count() == 1


def test_sku_is_unique():
    ProductFactory(sku="DUP-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(sku="DUP-1")


def test_warehouse_coordinates_must_be_on_earth():
    with pytest.raises(IntegrityError), transaction.atomic():
        WarehouseFactory(lat=91.0)

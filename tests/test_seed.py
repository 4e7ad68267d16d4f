"""`manage.py seed` loads the original catalogue once and never changes it on a rerun."""

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count

from inventory.models import Inventory, Product
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed", stdout=out)
    return out.getvalue()


def _snapshot() -> dict:
    return {
        "warehouses": list(Warehouse.objects.order_by("id").values()),
        "products": list(Product.objects.order_by("id").values()),
        "inventory": list(Inventory.objects.order_by("id").values()),
        "users": list(get_user_model().objects.order_by("id").values("id", "username", "password")),
    }


SOLD_OUT = {
    "Organic Vitamin C Serum (20%)",
    "Pro Resistance Band Set",
    "Limited Edition Smartwatch Pro",
}


def test_seed_loads_five_warehouses_53_products_and_265_rows_of_ten_but_three_sold_out():
    _seed()
    assert Warehouse.objects.count() == 5
    assert Product.objects.count() == 53
    assert Inventory.objects.count() == 265
    assert set(Inventory.objects.values_list("reserved_stock", flat=True)) == {0}
    empty = Inventory.objects.filter(total_stock=0)
    assert set(empty.values_list("product__name", flat=True)) == SOLD_OUT
    assert empty.count() == 15
    assert set(Inventory.objects.exclude(total_stock=0).values_list("total_stock", flat=True)) == {
        10
    }
    counts = dict(Product.objects.values_list("category").annotate(n=Count("id")))
    assert counts == {
        "Healthcare": 10,
        "Skincare": 11,
        "Fitness": 11,
        "Electronics": 11,
        "Lifestyle": 10,
    }


def test_seed_keeps_the_original_warehouse_coordinates():
    _seed()
    coordinates = {w.code: (w.city, w.lat, w.lng) for w in Warehouse.objects.all()}
    assert coordinates == {
        "CHN": ("Chennai", 13.0827, 80.2707),
        "BLR": ("Bangalore", 12.9716, 77.5946),
        "BOM": ("Mumbai", 19.0760, 72.8777),
        "DEL": ("Delhi", 28.6139, 77.2090),
        "HYD": ("Hyderabad", 17.3850, 78.4867),
    }


def test_every_product_has_sku_description_and_a_local_image():
    _seed()
    for product in Product.objects.all():
        assert product.sku and product.description
        assert not product.image.startswith(("http:", "https:", "//"))
        assert (Path(settings.BASE_DIR) / "static" / product.image).is_file()
    monitor = Product.objects.get(sku="HLT-OMRON-BP-MONITOR")
    assert (monitor.brand, monitor.price) == ("Omron", Decimal("1899"))


def test_running_seed_twice_changes_nothing(settings):
    settings.STOCKD_ADMIN_PASSWORD = "s3cret-pass"
    _seed()
    first = _snapshot()
    output = _seed()
    assert _snapshot() == first
    assert "0 created" in output and "already exists" in output


def test_seed_creates_the_staff_user_with_the_configured_password(settings):
    settings.STOCKD_ADMIN_PASSWORD = "s3cret-pass"
    _seed()
    user = get_user_model().objects.get(username="admin@stockd.com")
    assert user.is_staff and user.email == "admin@stockd.com"
    assert user.check_password("s3cret-pass")


def test_seed_uses_the_development_password_when_debug_is_on(settings):
    settings.DEBUG = True
    settings.STOCKD_ADMIN_PASSWORD = ""
    _seed()
    assert get_user_model().objects.get(username="admin@stockd.com").check_password("admin123")


def test_seed_creates_no_staff_user_without_password_when_debug_is_off(settings):
    settings.DEBUG = False
    settings.STOCKD_ADMIN_PASSWORD = ""
    output = _seed()
    assert not get_user_model().objects.exists()
    assert "No staff user created" in output and "STOCKD_ADMIN_PASSWORD" in output


def test_seed_does_not_reset_stock_that_is_held():
    _seed()
    Inventory.objects.filter(pk=Inventory.objects.first().pk).update(reserved_stock=4)
    _seed()
    assert Inventory.objects.filter(reserved_stock=4).count() == 1


def test_seed_loads_the_originals_size_colours_and_box_contents():
    _seed()
    thermometer = Product.objects.get(name="Digital Thermometer")
    assert thermometer.size == "14.5 cm"
    assert thermometer.colors == ["Yellow", "Purple"]
    assert (
        thermometer.box_contents
        == "Thermometer, 1× LR41 battery, protective cap, instruction sheet"
    )
    assert Product.objects.get(name="BP Monitor").colors == []
    assert Product.objects.get(name="Hot Water Bag").brand == "Nestlé"  # not the original's "Nestl"

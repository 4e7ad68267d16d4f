import factory
from factory.django import DjangoModelFactory

from inventory.models import Inventory, Product
from warehouses.models import Warehouse


class WarehouseFactory(DjangoModelFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"W{n:03d}")
    name = factory.LazyAttribute(lambda w: f"{w.city} Warehouse")
    location = factory.LazyAttribute(lambda w: f"{w.city}, India")
    city = factory.Sequence(lambda n: f"City {n}")
    lat = 19.0760
    lng = 72.8777


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"TST-SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n:04d}")
    brand = "Acme"
    category = "Fitness"
    price = factory.Faker("pydecimal", left_digits=4, right_digits=2, positive=True)
    description = "A product for tests."
    image = "img/categories/fitness.svg"


class InventoryFactory(DjangoModelFactory):
    class Meta:
        model = Inventory

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    total_stock = 10
    reserved_stock = 0

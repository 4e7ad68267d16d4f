"""The seed spelled a brand "Nestl" (the original's catalogue lost its "é"); mend seeded rows."""

from django.db import migrations

SKU = "HLT-NESTL-HOT-WATER-BAG"


def mend_brand(apps, schema_editor):
    Product = apps.get_model("inventory", "Product")
    Product.objects.filter(sku=SKU, brand="Nestl").update(brand="Nestlé")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_low_stock_threshold")]

    operations = [migrations.RunPython(mend_brand, migrations.RunPython.noop)]

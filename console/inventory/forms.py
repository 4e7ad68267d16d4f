"""Forms of inventory management: a row's total and alert threshold, products, warehouses,
the stock rows' filters and the CSV upload."""

from django import forms

from inventory.models import Product
from inventory.selectors import StaffStockFilters
from warehouses.models import Warehouse

MAX_UNITS = 1_000_000


class InventoryFilterForm(forms.Form):
    category = forms.CharField(required=False, max_length=60)
    q = forms.CharField(required=False, max_length=200, label="Search")
    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.order_by("id"), required=False, empty_label="All warehouses"
    )
    low = forms.BooleanField(required=False, label="Low only")

    def filters(self) -> StaffStockFilters:
        """Return the filters asked for; invalid input filters nothing."""
        cleaned = self.cleaned_data if self.is_valid() else {}
        warehouse = cleaned.get("warehouse")
        return StaffStockFilters(
            category=cleaned.get("category", "").strip(),
            search=cleaned.get("q", "").strip(),
            warehouse_id=warehouse.pk if warehouse else None,
            low_only=bool(cleaned.get("low")),
        )


class SetTotalForm(forms.Form):
    """A row's new total, the total the editor saw when the page loaded, and why."""

    total = forms.IntegerField(min_value=0, max_value=MAX_UNITS, label="New total")
    expected_total = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    reason = forms.CharField(required=False, max_length=200)


class StatesForm(forms.Form):
    """A row's safety, unsellable and incoming units, at the version the editor saw."""

    safety = forms.IntegerField(min_value=0, max_value=MAX_UNITS, label="Safety")
    unsellable = forms.IntegerField(min_value=0, max_value=MAX_UNITS, label="Unsellable")
    incoming = forms.IntegerField(min_value=0, max_value=MAX_UNITS, label="Incoming")
    expected_version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    reason = forms.CharField(required=False, max_length=200)


class ThresholdForm(forms.Form):
    """Alert at or below this many available units; blank: the LOW_STOCK_THRESHOLD setting."""

    threshold = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_UNITS, label="Alert at"
    )


class ColorsField(forms.CharField):
    """Colour names separated by commas, stored as a list."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        return [name.strip() for name in text.split(",") if name.strip()]


class ProductForm(forms.ModelForm):
    colors = ColorsField(
        required=False, max_length=500, help_text="Colour names separated by commas."
    )

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "brand",
            "category",
            "price",
            "description",
            "size",
            "colors",
            "box_contents",
            "active",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "box_contents": forms.Textarea(attrs={"rows": 2}),
        }

    def clean_price(self):
        price = self.cleaned_data["price"]
        if price is not None and price < 0:
            raise forms.ValidationError("The price cannot be negative.")
        return price

    def clean_sku(self) -> str:
        return self.cleaned_data["sku"].strip().upper()


class WarehouseForm(forms.ModelForm):
    lat = forms.FloatField(min_value=-90, max_value=90, label="Latitude")
    lng = forms.FloatField(min_value=-180, max_value=180, label="Longitude")

    class Meta:
        model = Warehouse
        fields = ["code", "name", "location", "city", "lat", "lng", "active"]

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="Columns: sku, warehouse, total_stock.")

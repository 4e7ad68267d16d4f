"""What the console's filter forms share: a product, a warehouse and a range of days."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from inventory.models import Product
from warehouses.models import Warehouse


def start_of_day(day: date) -> datetime:
    """Return midnight at the start of `day`, in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class ProductWarehouseDaysForm(forms.Form):
    """Product, warehouse and a range of days (all optional); the end may not precede the start.

    Subclasses add their own fields and set `field_order` to place them.
    """

    product = forms.ModelChoiceField(
        required=False,
        queryset=Product.objects.order_by("name", "id"),
        empty_label="Any product",
        error_messages={"invalid_choice": "Choose a product from the list."},
    )
    warehouse = forms.ModelChoiceField(
        required=False,
        queryset=Warehouse.objects.order_by("name", "id"),
        empty_label="Any warehouse",
        error_messages={"invalid_choice": "Choose a warehouse from the list."},
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def _common_filters(self) -> dict:
        """Return the product and warehouse ids and the time range of a valid form."""
        data = self.cleaned_data
        product, warehouse = data.get("product"), data.get("warehouse")
        since, until = data.get("since"), data.get("until")
        return {
            "product_id": product.pk if product else None,
            "warehouse_id": warehouse.pk if warehouse else None,
            "since": start_of_day(since) if since else None,
            # A whole day: up to the start of the next one.
            "until": start_of_day(until + timedelta(days=1)) if until else None,
        }

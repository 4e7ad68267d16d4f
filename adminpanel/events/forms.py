"""The event log's filters, shared by the page, its live tail and its CSV export."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from adminpanel.events.selectors import EventFilters
from core.ids import MAX_ID
from inventory.models import Product
from reservations.models import ReservationEvent
from warehouses.models import Warehouse


def _start_of_day(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class EventFilterForm(forms.Form):
    """Type, product, warehouse, actor and a range of days (all optional)."""

    type = forms.ChoiceField(
        required=False, choices=[("", "Any type"), *ReservationEvent.Type.choices]
    )
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
    actor = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "user:1, system, anonymous"}),
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_actor(self) -> str:
        return self.cleaned_data["actor"].strip()

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def filters(self) -> EventFilters:
        """The filters of a valid form."""
        data = self.cleaned_data
        product, warehouse = data.get("product"), data.get("warehouse")
        since, until = data.get("since"), data.get("until")
        return EventFilters(
            type=data.get("type") or "",
            product_id=product.pk if product else None,
            warehouse_id=warehouse.pk if warehouse else None,
            actor=data.get("actor") or "",
            since=_start_of_day(since) if since else None,
            # A whole day: up to the start of the next one.
            until=_start_of_day(until + timedelta(days=1)) if until else None,
        )


class TailForm(EventFilterForm):
    """A poll of the live tail: the page's filters and the newest event id it shows."""

    after = forms.IntegerField(min_value=0, max_value=MAX_ID)

"""The reservations page's filters and its release-by-hand form."""

import uuid
from datetime import datetime, time, timedelta

from django import forms
from django.http import QueryDict
from django.utils import timezone

from adminpanel.holds.selectors import HoldFilters
from inventory.models import Product
from reservations.models import Reservation
from warehouses.models import Warehouse

MAX_RELEASE = 200  # holds released by one submission: a page's worth, and then some


def start_of_day(day) -> datetime:
    """Midnight at the start of `day`, in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class HoldFilterForm(forms.Form):
    """Status, product, warehouse and a range of days the holds were made in (all optional)."""

    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Reservation.Status.choices]
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

    def filters(self) -> HoldFilters:
        """The filters of a valid form."""
        data = self.cleaned_data
        product, warehouse = data.get("product"), data.get("warehouse")
        since, until = data.get("since"), data.get("until")
        return HoldFilters(
            status=data.get("status") or "",
            product_id=product.pk if product else None,
            warehouse_id=warehouse.pk if warehouse else None,
            since=start_of_day(since) if since else None,
            # A whole day: up to the start of the next one.
            until=start_of_day(until + timedelta(days=1)) if until else None,
        )


class UUIDListField(forms.Field):
    """Several hold ids sent under one name (ticked checkboxes); each must be a UUID."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "One of the ticked holds is not a hold."}

    def to_python(self, value) -> list[uuid.UUID]:
        if not value:
            return []
        try:
            return [uuid.UUID(str(item)) for item in value]
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class ReleaseForm(forms.Form):
    """Which holds to release: the one whose own button was pressed, or the ticked ones.

    `back` is the query string of the page it was sent from (its filters and page number).
    """

    selected = UUIDListField(required=False)
    only = forms.UUIDField(required=False, error_messages={"invalid": "That is not a hold."})
    back = forms.CharField(required=False, max_length=2000)

    def clean_back(self) -> str:
        # Only a query string for our own page: re-encoded, it cannot point anywhere else.
        return QueryDict(self.cleaned_data["back"]).urlencode()

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        ids = [cleaned["only"]] if cleaned.get("only") else cleaned.get("selected", [])
        if not ids:
            raise forms.ValidationError("Tick the holds to release first.")
        if len(ids) > MAX_RELEASE:
            raise forms.ValidationError(f"Release at most {MAX_RELEASE} holds at once.")
        cleaned["reservation_ids"] = ids
        return cleaned

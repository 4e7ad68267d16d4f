"""The reservations page's filters and its release-by-hand form."""

import uuid

from django import forms
from django.http import QueryDict

from console.forms import ProductWarehouseDaysForm
from console.holds.selectors import HoldFilters
from reservations.models import Reservation

MAX_RELEASE = 200  # holds released by one submission: a page's worth, and then some


class HoldFilterForm(ProductWarehouseDaysForm):
    """Status, product, warehouse and a range of days the holds were made in (all optional)."""

    field_order = ["status", "product", "warehouse", "since", "until"]

    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Reservation.Status.choices]
    )

    def filters(self) -> HoldFilters:
        """The filters of a valid form."""
        return HoldFilters(status=self.cleaned_data.get("status") or "", **self._common_filters())


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
    Without `confirm` nothing is released: the view asks first.
    """

    selected = UUIDListField(required=False)
    confirm = forms.BooleanField(required=False)
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

"""The event log's filters, shared by the page, its live tail and its CSV export."""

from django import forms

from console.events.selectors import EventFilters
from console.forms import ProductWarehouseDaysForm
from core.ids import MAX_ID
from reservations.models import ReservationEvent


class EventFilterForm(ProductWarehouseDaysForm):
    """Type, product, warehouse, actor and a range of days (all optional)."""

    field_order = ["type", "product", "warehouse", "actor", "since", "until"]

    type = forms.ChoiceField(
        required=False, choices=[("", "Any type"), *ReservationEvent.Type.choices]
    )
    actor = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "user:1, system, anonymous"}),
    )

    def clean_actor(self) -> str:
        return self.cleaned_data["actor"].strip()

    def filters(self) -> EventFilters:
        """The filters of a valid form."""
        data = self.cleaned_data
        return EventFilters(
            type=data.get("type") or "",
            actor=data.get("actor") or "",
            **self._common_filters(),
        )


class TailForm(EventFilterForm):
    """A poll of the live tail: the page's filters and the newest event id it shows."""

    after = forms.IntegerField(min_value=0, max_value=MAX_ID)

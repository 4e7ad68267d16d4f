"""The stock matrix's filters."""

from django import forms

from inventory.selectors import StaffStockFilters


class MatrixFilterForm(forms.Form):
    category = forms.CharField(required=False, max_length=60)
    q = forms.CharField(required=False, max_length=200, label="Search")

    def filters(self) -> StaffStockFilters:
        """Return the filters asked for; invalid input filters nothing."""
        cleaned = self.cleaned_data if self.is_valid() else {}
        return StaffStockFilters(
            category=cleaned.get("category", "").strip(), search=cleaned.get("q", "").strip()
        )

from django import forms
from django.http import QueryDict

from storefront import places


class CatalogueFilterForm(forms.Form):
    """The catalogue's search box and category filter (both optional)."""

    q = forms.CharField(required=False, max_length=200)
    category = forms.CharField(required=False, max_length=60)

    @classmethod
    def query_of(cls, params: QueryDict) -> dict[str, str]:
        """The filters given in `params` that are not blank, in the form's order: what a clean
        catalogue URL carries."""
        values = {name: params.get(name, "").strip() for name in cls.base_fields}
        return {name: value for name, value in values.items() if value}

    @classmethod
    def has_blank(cls, params: QueryDict) -> bool:
        """Tell whether `params` carry a filter that is blank ("?q=&category=")."""
        return any(not params.get(name, "").strip() for name in cls.base_fields if name in params)


class DeliverToForm(forms.Form):
    """Where to deliver: a pincode or a city, or the browser's coordinates (both or neither)."""

    place = forms.CharField(required=False, max_length=80, label="Deliver to")
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("lat") is not None and cleaned.get("lng") is not None:
            cleaned["deliver_to"] = places.at_coordinates(cleaned["lat"], cleaned["lng"])
            return cleaned
        text = cleaned.get("place") or ""
        if not text.strip():
            raise forms.ValidationError("Enter a 6-digit pincode or a city.")
        cleaned["deliver_to"] = places.resolve(text)
        if cleaned["deliver_to"] is None:
            self.add_error("place", "We don't know that place. Try a 6-digit pincode or a city.")
        return cleaned

from django import forms


class CatalogueFilterForm(forms.Form):
    """The catalogue's search box and category filter (both optional)."""

    q = forms.CharField(required=False, max_length=200)
    category = forms.CharField(required=False, max_length=60)

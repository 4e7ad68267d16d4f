from django import forms


class CatalogueFilterForm(forms.Form):
    """The catalogue's search box and category filter (both optional)."""

    q = forms.CharField(required=False, max_length=200)
    category = forms.CharField(required=False, max_length=60)


class CheckoutActionForm(forms.Form):
    """What a shopper does with a hold on the checkout page."""

    action = forms.ChoiceField(
        choices=[("confirm", "Confirm"), ("release", "Cancel"), ("extend", "Extend")]
    )

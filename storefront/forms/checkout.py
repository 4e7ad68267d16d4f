from django import forms


class CheckoutActionForm(forms.Form):
    """What a shopper does with a hold on the checkout page."""

    action = forms.ChoiceField(
        choices=[("confirm", "Confirm"), ("release", "Cancel"), ("extend", "Extend")]
    )
